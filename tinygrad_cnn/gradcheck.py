"""`gradcheck`: compare an op's analytic Jacobian with central differences, as ``torch.autograd.gradcheck``.

For every input that requires grad, column k of the numerical Jacobian is
``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``; row j of the analytic Jacobian is what
``backward`` gives for the one-hot output gradient ``e_j``. They must agree elementwise within
``atol + rtol * |numerical|``. Use float64 inputs: in float32 the differences are mostly rounding.
"""
import warnings

import numpy as np

from ._tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """The analytic and numerical Jacobians differ; the message says where and by how much."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(o).__name__}")
    return outs


def _numerical_jacobian(fn, inputs, tensor, eps):
    """(n_out, n_in) matrix of central differences, perturbing ``tensor`` one element at a time."""
    original = tensor._data
    work = np.array(original, dtype=original.dtype, copy=True, order="C")  # reshape(-1) must be a view
    flat = work.reshape(-1)
    columns = []
    try:
        tensor._data = work
        with no_grad():
            for k in range(flat.size):
                saved = flat[k]
                flat[k] = saved + eps
                plus = np.concatenate([o._data.reshape(-1) for o in _outputs(fn, inputs)]).astype(np.float64)
                flat[k] = saved - eps
                minus = np.concatenate([o._data.reshape(-1) for o in _outputs(fn, inputs)]).astype(np.float64)
                flat[k] = saved
                columns.append((plus - minus) / (2 * eps))
    finally:
        tensor._data = original
    if columns:
        return np.stack(columns, axis=1)
    return np.zeros((sum(o.numel() for o in _outputs(fn, inputs)), 0))  # an empty input: no columns


def _analytic_jacobians(fn, inputs, wrt):
    """One (n_out, n_in) matrix per tensor in ``wrt``, one backward pass per output element."""
    saved_grads = [t.grad for t in wrt]
    outs = _outputs(fn, inputs)
    sizes = [o.numel() for o in outs]
    jacobians = [np.zeros((sum(sizes), t.numel())) for t in wrt]
    try:
        row = 0
        for o, size in zip(outs, sizes):
            for j in range(size):
                for t in wrt:
                    t.grad = None
                if o.requires_grad:
                    seed = np.zeros(o.numel(), dtype=o.dtype)
                    seed[j] = 1
                    o.backward(seed.reshape(o.shape), retain_graph=True)
                for jac, t in zip(jacobians, wrt):
                    if t.grad is not None:
                        jac[row] = t.grad._data.reshape(-1)
                row += 1
    finally:
        for t, g in zip(wrt, saved_grads):
            t.grad = g
    return jacobians


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check ``fn``'s gradients with respect to every input Tensor that requires grad.

    ``fn(*inputs)`` returns a Tensor (or a tuple of them). Returns True when every element of every
    Jacobian agrees; otherwise raises `GradcheckError` naming the input, the worst element, the
    analytic and numerical values and the error (or returns False if ``raise_exception=False``).
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad; pass Tensors created with requires_grad=True")
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {t.dtype}, not float64; central differences in low precision "
                f"are mostly rounding error and the check may fail or pass by chance",
                stacklevel=2,
            )
    analytic = _analytic_jacobians(fn, inputs, wrt)
    for t, a in zip(wrt, analytic):
        index = next(i for i, x in enumerate(inputs) if x is t)
        n = _numerical_jacobian(fn, inputs, t, eps)
        if a.shape != n.shape:
            raise GradcheckError(f"gradcheck: Jacobian shapes differ for input {index}: {a.shape} vs {n.shape}")
        error = np.abs(a - n)
        excess = error - (atol + rtol * np.abs(n))
        bad = np.where(np.isfinite(a) & np.isfinite(n), excess, np.inf)  # NaN/inf on either side fails
        if a.size and (bad > 0).any():
            out_j, in_k = np.unravel_index(np.argmax(bad), bad.shape)
            if not raise_exception:
                return False
            element = np.unravel_index(in_k, t.shape) if t.ndim else ()
            raise GradcheckError(
                f"gradcheck: Jacobian mismatch for input {index} (shape {t.shape}) at input element "
                f"{tuple(int(e) for e in element)}, output element {int(out_j)}: analytic {a[out_j, in_k]:.10g} "
                f"vs numerical {n[out_j, in_k]:.10g}, error {error[out_j, in_k]:.3g} > "
                f"atol + rtol * |numerical| = {atol + rtol * abs(n[out_j, in_k]):.3g}"
            )
    return True
