"""Ops that move data without computing on it: reshape, permute, indexing, concatenation."""
import math

import numpy as np

from ..function import Function


def resolve_shape(old_shape, new_shape):
    """Fill in one -1 of a reshape target; error (with element counts) when sizes differ."""
    size = int(math.prod(old_shape))
    if new_shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {new_shape}")
    if any(n < -1 for n in new_shape):
        raise ValueError(f"reshape: invalid target shape {new_shape}")
    if -1 in new_shape:
        known = int(math.prod([n for n in new_shape if n != -1]))
        if known == 0 or size % known:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {tuple(old_shape)} ({size} elements) into {new_shape}"
            )
        new_shape = tuple(size // known if n == -1 else n for n in new_shape)
    if int(math.prod(new_shape)) != size:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {tuple(old_shape)} ({size} elements) into "
            f"{new_shape} ({int(math.prod(new_shape))} elements)"
        )
    return new_shape


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(np.argsort(ctx.axes))


def normalize_index(index, shape):
    """Check an index (ints, slices, None, Ellipsis, integer/bool arrays) up front, so an
    out-of-range index says so in our words. Tensors in it must already be arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, list):
            try:
                p = np.asarray(p) if p else np.zeros(0, dtype=np.intp)  # [] selects nothing, as in NumPy
            except ValueError as err:
                raise IndexError(f"index: the list {p!r} is not a regular array of indices ({err})") from None
        if isinstance(p, np.ndarray) and p.dtype.kind not in "iub":
            raise TypeError(f"index: arrays used as indices must be integer or bool, got {p.dtype}")
        if isinstance(p, float):
            raise TypeError(f"index: float {p!r} cannot be an index (use an int)")
        out.append(p)
    index = tuple(out) if isinstance(index, tuple) else out[0]
    try:
        np.broadcast_to(np.int8(0), shape)[index]  # dry run on a zero-stride view: validates, copies nothing big
    except IndexError as err:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {tuple(shape)}: {err}") from None
    except TypeError as err:  # e.g. a slice bound that is not an int
        raise TypeError(f"index {index!r} is invalid for a tensor of shape {tuple(shape)}: {err}") from None
    except ValueError as err:  # e.g. a slice step of 0
        raise ValueError(f"index {index!r} is invalid for a tensor of shape {tuple(shape)}: {err}") from None
    return index


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad  # basic indexing never selects an element twice
        else:
            np.add.at(out, ctx.index, grad)  # an integer array may repeat an index: add, don't overwrite
        return out


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        first = arrays[0]
        for i, a in enumerate(arrays[1:], 1):
            others, first_others = a.shape[:axis] + a.shape[axis + 1:], first.shape[:axis] + first.shape[axis + 1:]
            if a.ndim != first.ndim or others != first_others:
                raise ValueError(
                    f"cat: tensor {i} has shape {a.shape}, which does not match tensor 0's shape {first.shape} "
                    f"outside axis {axis}"
                )
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.splits, axis=ctx.axis))


class Expand(Function):
    """A broadcast (read-only) view to a larger shape; backward sums over the stretched axes."""

    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine sums a broadcast gradient down to the input's shape


class Repeat(Function):
    """``np.tile``: the tensor repeated ``reps`` times along each axis (PyTorch's ``repeat``)."""

    @staticmethod
    def forward(ctx, a, reps):
        ctx.shape, ctx.reps = (1,) * (len(reps) - a.ndim) + a.shape, reps
        return np.tile(a, reps)

    @staticmethod
    def backward(ctx, grad):
        # view axis d of size r*n as (r, n) and sum the r copies
        split = [x for r, n in zip(ctx.reps, ctx.shape) for x in (r, n)]
        return grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))


class SetItem(Function):
    """``a`` with ``a[index] = value``, as a new array: the out-of-place form of item assignment."""

    @staticmethod
    def forward(ctx, a, value, index):
        ctx.index, ctx.value_shape = index, value.shape
        out = a.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_a = grad_v = None
        if ctx.needs_input_grad[0]:
            grad_a = grad.copy()
            grad_a[ctx.index] = 0
        if ctx.needs_input_grad[1]:
            grad_v = np.asarray(grad[ctx.index])
        return grad_a, grad_v


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Constant(Function):
    """An array computed outside the graph (max pooling's indices, one_hot), returned as a Tensor."""

    @staticmethod
    def forward(ctx, array):
        return array

    @staticmethod
    def backward(ctx, grad):
        return None
