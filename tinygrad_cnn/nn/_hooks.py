"""Forward hooks of `Module`: the handle ``register_forward_hook`` returns and the call with hooks.

The order and rules are PyTorch's: pre-hooks (registration order, ``prepend`` puts one first)
may replace the positional args (a non-tuple is wrapped in one) or, ``with_kwargs``, return
``(args, kwargs)``; then ``forward``; then the forward hooks, each of which may replace the
output. A hook registered with ``always_call=True`` also runs when forward (or an earlier hook)
raises; an error it raises itself is then only a warning, so the original error comes through.
"""
import itertools
import warnings

__all__ = ["RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """What ``register_forward_hook`` and ``register_forward_pre_hook`` return: ``remove()``
    unregisters the hook (a second ``remove()`` does nothing); ``with handle:`` removes it on exit."""

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.id = next(_ids)
        extra = () if extra_dict is None else (extra_dict if isinstance(extra_dict, (list, tuple)) else (extra_dict,))
        self._dicts = (hooks_dict, *extra)

    def remove(self):
        for hooks in self._dicts:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()

    def __repr__(self):
        return f"<RemovableHandle id={self.id}>"


def _run_pre_hooks(module, args, kwargs):
    with_kwargs = module._forward_pre_hooks_with_kwargs
    for hook_id, hook in list(module._forward_pre_hooks.items()):
        if hook_id in with_kwargs:
            out = hook(module, args, kwargs)
            if out is not None:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError(
                        f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {out}."
                    )
                args, kwargs = out
        else:
            out = hook(module, args)
            if out is not None:
                args = out if isinstance(out, tuple) else (out,)
    return args, kwargs


def _run_hook(module, hook_id, hook, args, kwargs, result):
    if hook_id in module._forward_hooks_with_kwargs:
        out = hook(module, args, kwargs, result)
    else:
        out = hook(module, args, result)
    return result if out is None else out


def call_with_hooks(module, args, kwargs):
    """``module(*args, **kwargs)`` when the module has forward hooks or pre-hooks."""
    always = module._forward_hooks_always_called
    called, result = set(), None
    try:
        args, kwargs = _run_pre_hooks(module, args, kwargs)
        result = module.forward(*args, **kwargs)
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in always:
                called.add(hook_id)
            result = _run_hook(module, hook_id, hook, args, kwargs, result)
    except Exception:
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id not in always or hook_id in called:
                continue
            try:
                result = _run_hook(module, hook_id, hook, args, kwargs, result)
            except Exception as err:  # the error from forward is the one to report
                warnings.warn("forward hook with ``always_call=True`` raised an exception that was silenced as "
                              f"another error was raised in forward: {err}")
        raise
    return result
