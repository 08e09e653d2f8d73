"""Layer, group and instance normalisation, each one fused `Function` with a closed-form
backward, and their functionals (``torch.nn.functional`` names and arguments).

Like BatchNorm2dFunction (ops/norm.py) the normalisations work on a view whose reduced values
are laid out as in memory, so a channels-last conv output (an NCHW-shaped view of NHWC memory)
is neither copied nor walked across its strides, and the output keeps the input's memory order:

* layer_norm: the normalised trailing block is one row of a 2-D (rows, K) view when those axes
  are the innermost ones in memory (always for C-contiguous input, and for normalized_shape
  (C, H, W) of a channels-last conv output); otherwise the input is copied to C order first.
* group_norm / instance_norm: (N, C, L) for channels-first memory, (N, L, C) for channels-last;
  statistics are per-(n, c) sums added up per group.

Statistics are two-pass (mean, then the mean of squared deviations). Only the input and the
small (N, G) statistics are kept for backward (no normalised copy). The work is split into
batch (or row) slices that run on the ``tinygrad_cnn.parallel`` workers; sums over slices are
added in a fixed order, so results do not depend on the thread count.
"""
import math

import numpy as np

from .. import parallel
from ..errors import ArgumentError
from ..function import Function
from ._checks import flag, is_tensor, real, tensor_input

__all__ = ["layer_norm", "group_norm", "instance_norm"]


def _inverse(perm):
    return tuple(int(i) for i in np.argsort(perm))


def _memory_order(x):
    """The axis order in which ``x``'s memory is C-contiguous, or None (e.g. a strided slice)."""
    if x.flags.c_contiguous:
        return tuple(range(x.ndim))
    perm = tuple(sorted(range(x.ndim), key=lambda i: -x.strides[i]))
    return perm if x.transpose(perm).flags.c_contiguous else None


def _affine(inputs, has_weight, has_bias):
    weight = inputs[0] if has_weight else None
    return weight, (inputs[-1] if has_bias else None)


def _needs(ctx):
    """(dx, dweight, dbias) wanted? The inputs are x, then weight and/or bias as ctx.flags says."""
    needs, (has_weight, has_bias) = ctx.needs_input_grad, ctx.flags
    return needs[0], has_weight and needs[1], has_bias and needs[1 + has_weight]


def _total(partial_sums, length, dtype):
    """The sum of the parts' partial sums, in order (zeros when there were no parts)."""
    parts = [s for s in partial_sums if s is not None]
    return sum(parts[1:], parts[0]) if parts else np.zeros(length, dtype=dtype)


# ----------------------------------------------------------------------------------- layer norm


class _Rows:
    """An array (..., *normalized) as a 2-D (M, K) view whose rows are the normalised blocks in
    memory order; per-element (normalized-shape) vectors are reordered the same way."""

    def __init__(self, x, dims):
        lead = x.ndim - dims
        perm = _memory_order(x)
        if perm is None or sorted(perm[lead:]) != list(range(lead, x.ndim)):
            x, perm = np.ascontiguousarray(x), tuple(range(x.ndim))
        self.perm, self.inner = perm, tuple(p - lead for p in perm[lead:])
        self.mem_shape = tuple(x.shape[p] for p in perm)
        self.norm_shape = x.shape[lead:]
        self.shape = (math.prod(x.shape[:lead]), math.prod(self.norm_shape))
        self.r = self.rows(x)

    def rows(self, a):
        return a.transpose(self.perm).reshape(self.shape)

    def unrows(self, r):
        return r.reshape(self.mem_shape).transpose(_inverse(self.perm))

    def vec(self, v, dtype):
        return v.transpose(self.inner).reshape(-1).astype(dtype, copy=False)

    def unvec(self, v):
        return v.reshape(tuple(self.norm_shape[i] for i in self.inner)).transpose(_inverse(self.inner))


class LayerNormFunction(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last ``dims`` axes of x.

    Inputs: x, then weight and/or bias (of the normalised shape) as told by ``has_weight`` /
    ``has_bias``. Backward, per row with g' = g * weight and xhat the normalised row:
    dx = rstd * (g' - mean(g') - xhat * mean(g' * xhat)), dweight = sum g * xhat, dbias = sum g.
    """

    @staticmethod
    def forward(ctx, x, *affine, dims=1, eps=1e-5, has_weight=False, has_bias=False):
        weight, bias = _affine(affine, has_weight, has_bias)
        dtype = np.result_type(x, *affine)
        rows = _Rows(x, dims)
        m, k = rows.shape
        w = None if weight is None else rows.vec(weight, dtype)
        b = None if bias is None else rows.vec(bias, dtype)
        y = np.empty(rows.shape, dtype=dtype)
        mean, rstd = np.zeros(m, dtype=dtype), np.zeros(m, dtype=dtype)
        parts = parallel.split(m, y.size) if k else []

        def work(i):
            p, out = parts[i], y[parts[i]]
            mean[p] = rows.r[p].sum(axis=1, dtype=dtype) / k
            np.subtract(rows.r[p], mean[p, None], out=out)
            rstd[p] = 1.0 / np.sqrt(np.vecdot(out, out) / k + dtype.type(eps))
            out *= rstd[p, None]
            if w is not None:
                out *= w
            if b is not None:
                out += b

        parallel.run_parts(work, len(parts), 4 * y.nbytes)  # ~4 passes
        ctx.save_for_backward(x, mean, rstd, *affine)
        ctx.rows, ctx.parts, ctx.flags = rows, parts, (has_weight, has_bias)
        return rows.unrows(y)

    @staticmethod
    def backward(ctx, grad):
        x, mean, rstd, *affine = ctx.saved_tensors
        weight, bias = _affine(affine, *ctx.flags)
        rows, parts = ctx.rows, ctx.parts
        r, g = rows.r, rows.rows(grad)
        need_x, need_w, need_b = _needs(ctx)
        w = None if weight is None else rows.vec(weight, g.dtype)
        dx = np.empty(rows.shape, dtype=g.dtype) if need_x else None
        sums_gx, sums_g = [None] * len(parts), [None] * len(parts)

        def work(i):
            p = parts[i]
            xhat = (r[p] - mean[p, None]) * rstd[p, None]
            if need_b:
                sums_g[i] = g[p].sum(axis=0)
            if need_w:
                sums_gx[i] = np.einsum("mk,mk->k", g[p], xhat)
            if need_x:
                gw = g[p] * w if w is not None else g[p].copy()
                a, c = gw.mean(axis=1), np.vecdot(gw, xhat) / rows.shape[1]
                xhat *= c[:, None]
                gw -= a[:, None]
                gw -= xhat
                np.multiply(gw, rstd[p, None], out=dx[p])

        parallel.run_parts(work, len(parts), 4 * g.nbytes)  # ~4 passes
        grads = [None if dx is None else rows.unrows(dx).astype(x.dtype, copy=False)]
        for t, needed, sums in ((weight, need_w, sums_gx), (bias, need_b, sums_g)):
            if t is not None:
                grads.append(rows.unvec(_total(sums, rows.shape[1], g.dtype)).astype(t.dtype, copy=False)
                             if needed else None)
        return tuple(grads)


# ----------------------------------------------------------------------------------- group norm


class _Channels:
    """An (N, C, *spatial) array as a 3-D view in memory order: (N, C, L) for channels-first
    memory, (N, L, C) for channels-last; (N, C) per-sample-and-channel arrays broadcast with ``per``."""

    def __init__(self, x):
        self.shape = x.shape
        self.to_last = (0, *range(2, x.ndim), 1)
        self.last = x.ndim > 2 and not x.flags.c_contiguous and x.transpose(self.to_last).flags.c_contiguous
        if not self.last and not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        self.length = math.prod(x.shape[2:])
        self.v = self.view(x)

    def view(self, a):
        n, c = self.shape[:2]
        if self.last:
            return a.transpose(self.to_last).reshape(n, self.length, c)
        return a.reshape(n, c, self.length)

    def unview(self, v):
        if self.last:
            return v.reshape((self.shape[0], *self.shape[2:], self.shape[1])).transpose(_inverse(self.to_last))
        return v.reshape(self.shape)

    def per(self, nc):
        return nc[:, None, :] if self.last else nc[:, :, None]

    def sums(self, a):
        """(N, C) sums over the spatial positions."""
        return np.einsum("nlc->nc", a) if self.last else a.sum(axis=2)

    def dots(self, a, b):
        """(N, C) sums of a * b over the spatial positions."""
        return np.einsum("nlc,nlc->nc", a, b) if self.last else np.vecdot(a, b)


def _per_group(nc, groups):
    """(N, C) -> (N, G): sums over each group's channels."""
    return nc.reshape(nc.shape[0], groups, nc.shape[1] // groups).sum(axis=2)


def _per_channel(ng, channels):
    """(N, G) -> (N, C): each group's value repeated for its channels."""
    return np.repeat(ng, channels // ng.shape[1], axis=1)


def group_stats(x, groups):
    """Mean and biased variance, each (N, groups), of an (N, C, *) array over each group of
    C / groups channels and all positions (two passes)."""
    lay = _Channels(x)
    count = lay.length * (x.shape[1] // groups)
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty group: NaN, as in PyTorch
        mean = _per_group(lay.sums(lay.v), groups) / count
        centred = lay.v - lay.per(_per_channel(mean.astype(x.dtype), x.shape[1]))
        return mean.astype(x.dtype), (_per_group(lay.dots(centred, centred), groups) / count).astype(x.dtype)


class GroupNormFunction(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias with the statistics of each group of
    C / ``groups`` channels of each sample (instance norm: groups = C); weight, bias per channel.

    Inputs: x (N, C, *), then weight and/or bias (C,) as ``has_weight`` / ``has_bias`` say.
    ``mean`` / ``var`` (N, groups): statistics to use instead of computing them; with
    ``batch_stats=True`` they must be x's own (from `group_stats`) and get the gradient as if
    computed here, with ``batch_stats=False`` they are constants (instance norm in eval mode).
    Backward, with M values per group, g' = g * weight and sums per group:
    dx = rstd * (g' - sum(g') / M - xhat * sum(g' * xhat) / M); dweight = sum g * xhat, dbias = sum g.
    """

    @staticmethod
    def forward(ctx, x, *affine, groups=1, eps=1e-5, has_weight=False, has_bias=False, mean=None, var=None,
                batch_stats=True):
        weight, bias = _affine(affine, has_weight, has_bias)
        dtype = np.result_type(x, *affine)
        n, c = x.shape[:2]
        lay = _Channels(x)
        count = lay.length * (c // groups)
        given = mean is not None
        mean_c, rstd_c = np.empty((n, c), dtype=dtype), np.empty((n, c), dtype=dtype)
        if given:
            mean_c[...] = _per_channel(np.asarray(mean, dtype=dtype), c)
            rstd_c[...] = _per_channel(1.0 / np.sqrt(np.asarray(var, dtype=dtype) + dtype.type(eps)), c)
        w = None if weight is None else weight.astype(dtype, copy=False)
        b = None if bias is None else bias.astype(dtype, copy=False)[None]
        y = np.empty(lay.v.shape, dtype=dtype)
        parts = parallel.split(n, y.size)

        def work(i):
            p, out = parts[i], y[parts[i]]
            if not given:  # two passes: the group means, then the mean squared deviations
                mean_c[p] = _per_channel(_per_group(lay.sums(lay.v[p]), groups) / count, c)
            np.subtract(lay.v[p], lay.per(mean_c[p]), out=out)
            if not given:
                group_var = _per_group(lay.dots(out, out), groups) / count
                rstd_c[p] = _per_channel(1.0 / np.sqrt(group_var + dtype.type(eps)), c)
            out *= lay.per(rstd_c[p] if w is None else rstd_c[p] * w)
            if b is not None:
                out += lay.per(b)

        with np.errstate(invalid="ignore", divide="ignore"):  # an empty group: NaN statistics, as in PyTorch
            parallel.run_parts(work, len(parts), 4 * y.nbytes)  # ~4 passes
        ctx.save_for_backward(x, mean_c, rstd_c, *affine)
        ctx.lay, ctx.parts, ctx.flags = lay, parts, (has_weight, has_bias)
        ctx.groups, ctx.batch_stats = groups, batch_stats
        return lay.unview(y)

    @staticmethod
    def backward(ctx, grad):
        x, mean_c, rstd_c, *affine = ctx.saved_tensors
        weight, bias = _affine(affine, *ctx.flags)
        lay, parts, groups = ctx.lay, ctx.parts, ctx.groups
        g = lay.view(grad)
        need_x, need_w, need_b = _needs(ctx)
        n, c = lay.shape[:2]
        if g.size == 0:
            return (np.zeros(x.shape, x.dtype) if need_x else None,) + tuple(np.zeros_like(t) for t in affine)
        w = np.ones(c, dtype=g.dtype) if weight is None else weight.astype(g.dtype, copy=False)
        count = lay.length * (c // groups)
        dx = np.empty(g.shape, dtype=g.dtype) if need_x else None
        sum_g, sum_gx = np.zeros((n, c), dtype=g.dtype), np.zeros((n, c), dtype=g.dtype)
        full = need_x and ctx.batch_stats

        def work(i):
            p = parts[i]
            if need_b or full:
                sum_g[p] = lay.sums(g[p])
            xhat = None
            if need_w or full:
                xhat = (lay.v[p] - lay.per(mean_c[p])) * lay.per(rstd_c[p])
                sum_gx[p] = lay.dots(g[p], xhat)
            if not need_x:
                return
            np.multiply(g[p], lay.per(rstd_c[p] * w), out=dx[p])
            if full:  # the statistics depend on x: subtract the group means of g' and g' * xhat
                a = _per_channel(_per_group(sum_g[p] * w, groups), c) * (rstd_c[p] / count)
                b = _per_channel(_per_group(sum_gx[p] * w, groups), c) * (rstd_c[p] / count)
                xhat *= lay.per(b)
                xhat += lay.per(a)
                dx[p] -= xhat

        parallel.run_parts(work, len(parts), 4 * g.nbytes)  # ~4 passes
        grads = [None if dx is None else lay.unview(dx).astype(x.dtype, copy=False)]
        for t, needed, sums in ((weight, need_w, sum_gx), (bias, need_b, sum_g)):
            if t is not None:
                grads.append(sums.sum(axis=0).astype(t.dtype, copy=False) if needed else None)
        return tuple(grads)


# ----------------------------------------------------------------------------------- functionals


def _optional_tensor(fn, name, value):
    if value is not None and not is_tensor(value):
        raise TypeError(f"{fn}: {name} must be a Tensor or None, got {type(value).__name__}")
    return value


def _vectors(fn, c, what, **tensors):
    """ArgumentError (a RuntimeError and a ValueError) unless every given tensor has shape (c,)."""
    for name, t in tensors.items():
        if _optional_tensor(fn, name, t) is not None and tuple(t.shape) != (c,):
            raise ArgumentError(f"{fn}: {name} must have shape ({c},), one value per {what}, got {tuple(t.shape)}")


def _eps(fn, eps):
    eps = real(fn, "eps", eps)
    if eps < 0:
        raise ValueError(f"{fn}: eps must be non-negative, got {eps}")
    return eps


def _present(weight, bias):
    affine = tuple(t for t in (weight, bias) if t is not None)
    return affine, {"has_weight": weight is not None, "has_bias": bias is not None}


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """Normalise over the trailing ``normalized_shape`` dims (an int or a sequence of ints) with
    each block's mean and biased variance; ``weight`` / ``bias`` have the normalised shape."""
    fn = "layer_norm"
    tensor_input(fn, input)
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    if not isinstance(normalized_shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in normalized_shape):
        raise TypeError(f"{fn}: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}")
    shape = tuple(int(d) for d in normalized_shape)
    if not shape:
        raise ArgumentError(f"{fn}: normalized_shape must have at least one dimension, got {shape}")
    if tuple(input.shape[input.ndim - len(shape):]) != shape or input.ndim < len(shape):
        raise ArgumentError(f"{fn}: given normalized_shape={shape}, expected an input of shape (*, "
                           f"{', '.join(map(str, shape))}), got {tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if _optional_tensor(fn, name, t) is not None and tuple(t.shape) != shape:
            raise ArgumentError(f"{fn}: {name} must have the normalized_shape {shape}, got {tuple(t.shape)}")
    affine, flags = _present(weight, bias)
    return LayerNormFunction.apply(input, *affine, dims=len(shape), eps=_eps(fn, eps), **flags)


def _channels_input(fn, input):
    tensor_input(fn, input)
    if input.ndim < 2:
        raise ArgumentError(f"{fn}: expected an input with at least 2 dimensions (N, C, *), got shape "
                           f"{tuple(input.shape)}")
    return input.shape[1]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Normalise each group of C / num_groups channels of each sample of an (N, C, *) input;
    ``weight`` / ``bias`` (C,) scale and shift each channel."""
    fn = "group_norm"
    c = _channels_input(fn, input)
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"{fn}: num_groups must be a positive int, got {num_groups!r}")
    if num_groups <= 0 or c % num_groups:
        raise ArgumentError(f"{fn}: the number of channels must be divisible by num_groups, got input of shape "
                           f"{tuple(input.shape)} and num_groups={num_groups}")
    _vectors(fn, c, "channel", weight=weight, bias=bias)
    if input.shape[0] * (c // num_groups) * math.prod(input.shape[2:]) == 1:  # PyTorch's check, as it words it
        raise ValueError(f"{fn}: expected more than 1 value per channel when training, got input of shape "
                         f"{tuple(input.shape)} and num_groups={num_groups}")
    affine, flags = _present(weight, bias)
    return GroupNormFunction.apply(input, *affine, groups=int(num_groups), eps=_eps(fn, eps), **flags)


def _running_update(running_mean, running_var, mean, var, momentum, length):
    """running = (1 - momentum) * running + momentum * batch, in place, with the batch's mean over
    the samples of each channel's mean and unbiased variance (PyTorch's instance-norm rule)."""
    rm, rv = running_mean.numpy(), running_var.numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        unbiased = var * (length / (length - 1))
    rm *= 1.0 - momentum
    rm += (momentum * mean.mean(axis=0)).astype(rm.dtype, copy=False)
    rv *= 1.0 - momentum
    rv += (momentum * unbiased.mean(axis=0)).astype(rv.dtype, copy=False)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-05):
    """Normalise each channel of each sample of an (N, C, *) input over its positions.

    ``use_input_stats=True``: with each (sample, channel)'s own mean and biased variance; running
    statistics, if given, move by ``momentum`` towards the samples' average (unbiased variance),
    in place. Otherwise: with the running statistics (which must be given)."""
    fn = "instance_norm"
    c = _channels_input(fn, input)
    _vectors(fn, c, "channel", running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    use_input_stats, momentum = flag(fn, "use_input_stats", use_input_stats), real(fn, "momentum", momentum)
    eps = _eps(fn, eps)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{fn}: give both running_mean and running_var, or neither")
    affine, flags = _present(weight, bias)
    n, length = input.shape[0], math.prod(input.shape[2:])
    if not use_input_stats:
        if running_mean is None:
            raise ArgumentError(f"{fn}: running_mean and running_var must be given when use_input_stats=False")
        stats = [np.broadcast_to(t.numpy(), (n, c)) for t in (running_mean, running_var)]
        return GroupNormFunction.apply(input, *affine, groups=c, eps=eps, mean=stats[0], var=stats[1],
                                       batch_stats=False, **flags)
    if length <= 1:
        raise ValueError(f"{fn}: expected more than 1 spatial element when training, got input of shape "
                         f"{tuple(input.shape)}")
    mean = var = None
    if running_mean is not None:
        mean, var = group_stats(input.numpy(), c)
        _running_update(running_mean, running_var, mean, var, momentum, length)
    return GroupNormFunction.apply(input, *affine, groups=c, eps=eps, mean=mean, var=var, **flags)
