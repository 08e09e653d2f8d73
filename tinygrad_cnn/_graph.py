"""The one walk over the recorded graph, shared by ``backward``, ``viz`` and the ONNX export."""


def topological_order(roots, follow=None):
    """Every tensor reachable from ``roots`` through the op contexts (``t._ctx.parents``), each after
    its parents, first parents first.

    ``follow(parent)`` says whether to walk into a parent (default: every one; ``backward`` only
    follows tensors that require grad). An iterative depth-first search: no recursion limit, so a
    100,000-op chain is fine. Tensors are told apart by identity (``id``), never by ``==``.
    """
    order, seen = [], set()
    stack = [(t, False) for t in reversed(roots)]
    while stack:
        tensor, done = stack.pop()
        if done:
            order.append(tensor)  # ``order`` keeps every visited tensor alive, so ids stay unique
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        if tensor._ctx is not None:
            stack.extend((p, False) for p in reversed(tensor._ctx.parents)
                         if id(p) not in seen and (follow is None or follow(p)))
    return order
