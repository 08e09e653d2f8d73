"""``interpolate`` (and the deprecated ``upsample*``): resampling of (N, C, L) and (N, C, H, W) inputs
with torch's modes, output sizes and source-index formulas.

Everything is separable: each spatial axis is resampled on its own, channels-last inside (the
W pass first, on the smaller array, then the H pass, whose gathers copy whole rows).

* 'nearest' / 'nearest-exact': one gather per axis. Source indices are computed as torch does,
  in float32 (``floor(dst * scale)``, resp. ``floor((dst + 0.5) * scale)``, clipped; scale =
  1/scale_factor when given, else in/out; 2-D 'nearest' takes out == in and out == 2*in exactly).
  An integer upsampling (out = r*in, source dst // r) is a broadcast write instead of a gather.
* 'bilinear' / 'linear': two gathers per axis and their weights, src = (dst + 0.5)*scale - 0.5
  clipped at 0 (align_corners=False) or dst*(in-1)/(out-1) (True), in the input's precision.
* Backward, the adjoint: source indices never decrease along an axis, so the gradient of each
  input position is a sum over one run of output positions: ``np.add.reduceat`` per gather (an
  integer upsampling: a reshape and a sum). No scatter.
* 'area' is adaptive average pooling (as in torch).
"""
import math
import numbers
import warnings

import numpy as np

from .._memory import check_memory
from ..errors import ArgumentError
from ..function import Function
from ._blocks import Blocks
from ._checks import check_tensor
from .adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from .layout import nhwc

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR = ("linear", "bilinear", "bicubic", "trilinear")


# ----------------------------------------------------------------------------- source indices


def _scale(size, out, scale, dtype):
    """in/out, or 1/scale_factor when one was given (torch's compute_scales_value), in ``dtype``."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(size) / dtype.type(out)


def nearest_index(size, out, scale, exact, shortcuts=True):
    """Source index of each output position along an axis (torch's float32 arithmetic; its 2-D
    'nearest' kernels, not the 1-D one, take out == in and out == 2*in as exact ``shortcuts``)."""
    if shortcuts and not exact and out == size:
        return np.arange(out)
    if shortcuts and not exact and out == 2 * size:
        return np.arange(out) >> 1
    s = _scale(size, out, scale, np.dtype(np.float32))
    dst = np.arange(out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s if exact else dst * s)
    return np.minimum(src.astype(np.int64), size - 1)


def linear_taps(size, out, scale, align_corners, dtype):
    """(index0, index1, weight0, weight1) of each output position along an axis, in ``dtype``."""
    dtype = np.dtype(dtype)
    dst = np.arange(out, dtype=dtype)
    if align_corners:
        s = dtype.type(size - 1) / dtype.type(out - 1) if out > 1 else dtype.type(0)
        src = s * dst
    else:
        s = _scale(size, out, scale, dtype)
        src = np.maximum(s * (dst + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    w1 = np.clip(src - i0.astype(dtype), 0, 1).astype(dtype)
    i1 = i0 + (i0 < size - 1)
    return i0, i1, (dtype.type(1) - w1).astype(dtype), w1


# ----------------------------------------------------------------------------- one axis


def _repeat_factor(index, size):
    """r when ``index`` is arange(r * size) // r (an integer upsampling), else None."""
    r = len(index) // size
    if r >= 1 and len(index) == r * size and np.array_equal(index, np.arange(len(index)) // r):
        return r
    return None


def _along(vector, axis):
    """A per-position vector shaped to broadcast along NHWC axis 1 or 2."""
    return vector.reshape((-1,) + (1,) * (3 - axis))


def _at(a, axis, index):
    """a[..., index, ...] along ``axis``."""
    return a[(slice(None),) * axis + (index,)]


def _as_slice(positions):
    """A slice for sorted positions in arithmetic progression (a view instead of a gather), else
    the positions themselves."""
    if len(positions) == 1 or (len(positions) > 1 and np.all(np.diff(positions) == positions[1] - positions[0])
                               and positions[1] > positions[0]):
        step = int(positions[1] - positions[0]) if len(positions) > 1 else 1
        return slice(int(positions[0]), int(positions[-1]) + 1, step)
    return positions


def _split(a, axis, r):
    """View axis ``axis`` of length size*r as (size, r)."""
    return a.reshape(a.shape[:axis] + (a.shape[axis] // r, r) + a.shape[axis + 1:])


def _repeat(x, r, axis, out=None):
    """Each position along ``axis`` repeated r times: one broadcast write."""
    out = np.empty(x.shape[:axis] + (x.shape[axis] * r,) + x.shape[axis + 1:], dtype=x.dtype) if out is None else out
    _split(out, axis, r)[...] = np.expand_dims(x, axis + 1)
    return out


def _repeat_adjoint(g, r, axis):
    """The sum of each run of r positions: r - 1 strided slice-adds."""
    parts = _split(g, axis, r)
    out = np.array(_at(parts, axis + 1, 0)) if r == 1 else np.add(_at(parts, axis + 1, 0), _at(parts, axis + 1, 1))
    for k in range(2, r):
        out += _at(parts, axis + 1, k)
    return out


def _gather_adjoint(g, index, size, axis):
    """The adjoint of a gather along ``axis`` with a non-decreasing ``index``: input position i
    gets the sum of g over the run of outputs that read it. Runs are walked by offset k: the k-th
    element of every run longer than k is one gather (a strided view when evenly spaced) added
    into distinct input positions (a slice when contiguous), so no scatter is needed."""
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    lengths = np.diff(np.r_[starts, len(index)])
    values = index[starts]
    first = _at(g, axis, _as_slice(starts))
    if len(values) == size:  # every input position is read: values is arange(size)
        out = np.array(first)
    else:
        out = np.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1:], dtype=g.dtype)
        out[(slice(None),) * axis + (values,)] = first
    for k in range(1, int(lengths.max())):
        keep = lengths > k
        part = _at(g, axis, _as_slice(starts[keep] + k))
        target = _as_slice(values[keep])
        if isinstance(target, slice):
            _at(out, axis, target)[...] += part
        else:  # distinct positions: a fancy += is exact
            out[(slice(None),) * axis + (target,)] += part
    return out


def _linear(x, taps, axis, out=None):
    """x[i0] * w0 + x[i1] * w1 along ``axis``: two gathers, weighted in place."""
    i0, i1, w0, w1 = taps
    out = _take(x, i0, axis, out)
    out *= _along(w0, axis)
    other = _take(x, i1, axis)
    other *= _along(w1, axis)
    out += other
    return out


def _take(x, index, axis, out=None):
    """x[..., index, ...] along ``axis``: a copy (a strided view's, for evenly spaced positions)."""
    where = _as_slice(index)
    if not isinstance(where, slice):
        return np.take(x, where, axis=axis, out=out, mode="clip")  # (valid indices; "raise" buffers out)
    if out is None:
        return np.array(_at(x, axis, where))
    np.copyto(out, _at(x, axis, where))
    return out


def _linear_adjoint(g, taps, size, axis):
    i0, i1, w0, w1 = taps
    return _gather_adjoint(g * _along(w0, axis), i0, size, axis) + _gather_adjoint(g * _along(w1, axis), i1, size,
                                                                                    axis)


def _phase_offsets(r):
    """For an integer upsampling by r with align_corners=False, output r*q + ph reads input
    q + f_ph, f_ph = (ph + 0.5) / r - 0.5: its two neighbours, clamped at the ends."""
    return tuple((ph + 0.5) / r - 0.5 for ph in range(r))


def _phases(x, r, axis, out=None):
    """Linear upsampling by an integer r: per phase, its two neighbours (shifted slices) weighted
    into a contiguous temporary, then one write into the phase's strided view of the output."""
    size, t = x.shape[axis], x.dtype.type
    shape = x.shape[:axis] + (size * r,) + x.shape[axis + 1:]
    out = np.empty(shape, dtype=x.dtype) if out is None else out
    phases = _split(out, axis, r)
    lo, hi = _at(x, axis, slice(0, size - 1)), _at(x, axis, slice(1, size))
    first, last = slice(0, 1), slice(-1, None)
    a, b = np.empty(lo.shape, dtype=x.dtype), np.empty(lo.shape, dtype=x.dtype)
    for ph, f in enumerate(_phase_offsets(r)):
        o = _at(phases, axis + 1, ph)
        inner, edge = (slice(0, size - 1), last) if f >= 0 else (slice(1, size), first)
        np.multiply(lo, t(1 - f if f >= 0 else -f), out=a)
        np.multiply(hi, t(f if f >= 0 else 1 + f), out=b)
        np.add(a, b, out=_at(o, axis, inner))
        _at(o, axis, edge)[...] = _at(x, axis, edge)
    return out


def _phases_adjoint(g, r, size, axis):
    parts, t = _split(g, axis, r), g.dtype.type
    out = np.zeros(g.shape[:axis] + (size,) + g.shape[axis + 1:], dtype=g.dtype)
    lo, hi = _at(out, axis, slice(0, size - 1)), _at(out, axis, slice(1, size))
    first, last = slice(0, 1), slice(-1, None)
    for ph, f in enumerate(_phase_offsets(r)):
        gp = _at(parts, axis + 1, ph)
        inner, edge = (slice(0, size - 1), last) if f >= 0 else (slice(1, size), first)
        part = _at(gp, axis, inner)
        lo += part * t(1 - f if f >= 0 else -f)
        hi += part * t(f if f >= 0 else 1 + f)
        _at(out, axis, edge)[...] += _at(gp, axis, edge)
    return out


_FORWARD = {"repeat": _repeat, "phases": _phases, "gather": _take, "linear": _linear}


def _adjoint(kind, g, plan, size, axis):
    if kind == "repeat":
        return _repeat_adjoint(g, plan, axis)
    if kind == "phases":
        return _phases_adjoint(g, plan, size, axis)
    if kind == "gather":
        return _gather_adjoint(g, plan, size, axis)
    return _linear_adjoint(g, plan, size, axis)


class Resample(Function):
    """Separable resampling of a 4-D input: per NHWC axis (W = 2 first, then H = 1) a plan
    (axis, kind, data): ('repeat', r), ('gather', index), ('phases', r) or ('linear', taps);
    ``out_shape``: the result's NCHW shape."""

    @staticmethod
    def forward(ctx, x, plans, out_shape):
        xs = nhwc(x)
        out = np.empty(_planned_shape(xs.shape, plans), dtype=x.dtype)
        ctx.geometry = (xs.shape, plans, out.shape)

        def block(worker, blk):
            y = xs[blk]
            for k, (axis, kind, plan) in enumerate(plans):  # the last pass writes the output itself
                y = _FORWARD[kind](y, plan, axis, out=out[blk] if k == len(plans) - 1 else None)
            if not plans:
                out[blk] = y

        _run(xs.shape, plans, x.dtype, block)
        return out.transpose(0, 3, 1, 2).reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        shape, plans, (n, oh, ow, c) = ctx.geometry
        g = nhwc(grad.reshape(n, c, oh, ow))
        dx = np.empty(shape, dtype=grad.dtype)

        def block(worker, blk):
            y = g[blk]
            for axis, kind, plan in reversed(plans):
                y = _adjoint(kind, y, plan, shape[axis], axis)
            dx[blk] = y

        _run(shape, plans, grad.dtype, block)
        return dx.transpose(0, 3, 1, 2)


def _planned_shape(shape, plans):
    """The NHWC shape after the plans."""
    shape = list(shape)
    for axis, kind, plan in plans:
        shape[axis] = shape[axis] * plan if kind in ("repeat", "phases") else len(plan if kind == "gather" else plan[0])
    return tuple(shape)


def _run(shape, plans, dtype, block):
    """block(worker, batch slice) over cache-sized batch blocks (every pass of a block then runs
    in cache), on the worker threads."""
    if not shape[0]:
        return
    sizes, step = [shape[1:]], list(shape)
    for plan in plans:
        step = list(_planned_shape(step, [plan]))
        sizes.append(step[1:])
    blocks = Blocks(shape[0], 1, 0, dtype, item_bytes=sum(math.prod(s) for s in sizes) * np.dtype(dtype).itemsize)
    blocks.run(block)


# ----------------------------------------------------------------------------- the functional


def _sizes(input, size, scale_factor, recompute_scale_factor, dims):
    """torch's output sizes and the scales handed to the kernels (None: computed from the sizes)."""
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(f"interpolate: Input and output must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {spatial} and output size of {size}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                             f"(o1, o2, ...,oK) format.")
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"interpolate: expected size to be one of int or Tuple[int] or Tuple[int, int], but "
                            f"got size {size!r}")
        return [int(s) for s in sizes], [None] * dims
    if scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * dims
    if len(scales) != dims:
        raise ValueError(f"interpolate: Input and scale_factor must have the same number of spatial dimensions, but "
                         f"got input with spatial dimensions of {spatial} and scale_factor of shape {scale_factor}. "
                         f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                         f"(s1, s2, ...,sK) format.")
    if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) and math.isfinite(s) for s in scales):
        raise TypeError(f"interpolate: scale_factor must be a finite number or a tuple of them, got {scale_factor!r}")
    sizes = [math.floor(float(n * s)) for n, s in zip(spatial, scales)]
    return sizes, [None] * dims if recompute_scale_factor else [float(s) for s in scales]


def _check_mode(input, mode, align_corners, antialias):
    ndim = input.ndim
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{ndim}D) for the modes: nearest | linear | bilinear | bicubic | trilinear | area "
                                  f"| nearest-exact (got {mode})")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if align_corners is not None and not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"interpolate: align_corners must be True, False or None, got {align_corners!r}")
    if antialias and (mode not in ("bilinear", "bicubic") or ndim != 4):
        raise ValueError("interpolate: Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
                         "requires a 4-D tensor as input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    needs = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}.get(mode)
    if needs is not None and needs != ndim:
        raise NotImplementedError(f"interpolate: Got {ndim}D input, but {mode} mode needs {needs}D input")
    if ndim == 5 or mode in ("bicubic", "trilinear"):
        raise NotImplementedError(f"interpolate: mode={mode!r} with a {ndim}-D input is not supported (supported: "
                                  f"'nearest', 'nearest-exact', 'area' for 3-D and 4-D inputs, 'linear' for 3-D, "
                                  f"'bilinear' for 4-D)")


def _plan(mode, n_in, n_out, scale, align_corners, dtype, dims):
    """(kind, data) resampling one axis from n_in to n_out positions, or None for the identity."""
    r = n_out // n_in
    integer = n_out == r * n_in and (scale is None or scale == r)
    if mode in ("nearest", "nearest-exact"):
        index = nearest_index(n_in, n_out, scale, mode == "nearest-exact", shortcuts=dims == 2)
        if n_in == n_out and np.array_equal(index, np.arange(n_out)):
            return None
        return ("repeat", _repeat_factor(index, n_in)) if _repeat_factor(index, n_in) else ("gather", index)
    if n_in == n_out == 1:
        return None
    if integer and r > 1 and not align_corners:
        return "phases", r
    return "linear", linear_taps(n_in, n_out, scale, align_corners, dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """``torch.nn.functional.interpolate`` for (N, C, L) and (N, C, H, W) inputs: modes 'nearest',
    'nearest-exact', 'area', 'linear' (3-D), 'bilinear' (4-D); output size from ``size`` or
    floor(in * scale_factor), the kernels then using the given scale unless
    ``recompute_scale_factor``. antialias=True and 'bicubic' are refused."""
    check_tensor(input, "interpolate")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: nearest | linear | bilinear | bicubic | trilinear "
                                  f"| area | nearest-exact (got {mode})")
    dims = input.ndim - 2
    sizes, scales = _sizes(input, size, scale_factor, recompute_scale_factor, dims)
    _check_mode(input, mode, align_corners, antialias)
    if input.dtype.kind != "f":
        raise TypeError(f"interpolate: input must be floating point, got {input.dtype}")
    spatial = tuple(input.shape[2:])
    if min(spatial + tuple(sizes)) <= 0:
        raise ArgumentError(f"interpolate: Input and output sizes should be greater than 0, but got input "
                           f"{spatial} output {tuple(sizes)}")
    if input.shape[1] == 0:
        raise ArgumentError(f"interpolate: Non-empty data tensor expected but got a tensor with sizes "
                           f"{list(input.shape)}")
    out_shape = tuple(input.shape[:2]) + tuple(sizes)
    check_memory("interpolate", 3 * math.prod(out_shape) * input.dtype.itemsize, f"an output of shape {out_shape}",
                 "; check size and scale_factor")
    if mode == "area":
        return (adaptive_avg_pool1d if dims == 1 else adaptive_avg_pool2d)(input, sizes[0] if dims == 1 else sizes)
    shape4 = tuple(input.shape) if dims == 2 else tuple(input.shape[:2]) + (1, spatial[0])
    sizes4, scales4 = ([1] if dims == 1 else []) + sizes, ([None] if dims == 1 else []) + scales
    plans = []
    for axis in (2, 1):  # NHWC axes: W first, then H
        n_in, n_out, scale = shape4[axis + 1], sizes4[axis - 1], scales4[axis - 1]
        plan = _plan(mode, n_in, n_out, scale, bool(align_corners), input.dtype, dims)
        if plan is not None:
            plans.append((axis,) + plan)
    x4 = input if dims == 2 else input.reshape(shape4)
    return Resample.apply(x4, plans=tuple(plans), out_shape=out_shape)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of `interpolate` (torch warns too)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
