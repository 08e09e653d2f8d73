"""Batch normalisation over (N, C, H, W) as one fused op, forward and backward side by side.

Written as a single `Function` rather than a chain of mean/sub/mul ops because the chain would
keep half a dozen full-size intermediates alive for backward and walk the activations many
times; the closed-form backward needs only the normalised input and two per-channel sums.

Memory order matters for speed. The conv ops hand over NCHW-shaped views of channels-last
(NHWC) memory, and the next conv is fastest when it gets NHWC back. So the work is done on a
2-D view whose rows are contiguous in memory, chosen by `layout.ChannelRows`:

* NCHW memory: rows are (n, c) planes of H*W values; per-channel vectors broadcast down a column.
* NHWC memory: rows are whole images (H*W*C values, channels fastest); per-channel vectors are
  tiled H*W times into one row. Broadcasting a C-vector over the 4-D view instead would make
  NumPy's inner loop only C elements long, which is 3-5x slower for small C.

The output keeps the input's memory order. Every pass runs on the worker threads of
``tinygrad_cnn.parallel``, each on a slice of whole images; per-channel sums are added up from
the workers' partial sums in a fixed order. Updating running statistics is the caller's job
(see :func:`batch_norm2d`), so the Function itself never mutates anything it is given.
"""
import numpy as np

from ..function import Function
from ..grad_mode import is_grad_enabled
from ._checks import is_tensor
from .layout import ChannelRows, pixels_per_run


def batch_stats(x):
    """Per-channel mean and *biased* variance of an (N, C, H, W) array over axes (0, 2, 3).

    Two passes (mean first, then the mean of squared deviations) rather than E[x^2] - E[x]^2,
    which cancels catastrophically in float32 when |mean| >> std.
    """
    layout = ChannelRows(x)
    return _stats(layout, layout.rows(x))


def _stats(layout, r):
    inv_count = r.dtype.type(1.0 / layout.count)
    mean = layout.total(lambda part: layout.channel_sum(r[part])) * inv_count
    expanded = layout.expand(mean)

    def squares(part):
        centred = r[part] - layout.at(expanded, part)
        return layout.channel_dot(centred, centred)

    return mean, layout.total(squares) * inv_count


class BatchNorm2dFunction(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel of an (N, C, H, W) input.

    Inputs: ``x`` (N, C, H, W), ``weight`` (C,), ``bias`` (C,). Keyword options:

    - ``mean=None, var=None``: statistics to normalise with. When left out, the batch statistics
      of ``x`` are used (training mode) and the gradient flows through them.
    - ``batch_stats``: set it to True when you pass ``mean``/``var`` that *are* the biased batch
      statistics of ``x`` (computed with :func:`batch_stats`, e.g. because you also need them
      for running averages); they are then treated exactly as if computed here. With
      ``batch_stats=False`` the given statistics are constants (evaluation mode), the op is a
      per-channel affine map, and its backward is the affine map's.
    - ``eps``: added to the variance before the square root.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps=1e-5, mean=None, var=None, batch_stats=None):
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2dFunction: expected a 4-D (N, C, H, W) input, got shape {x.shape}")
        c = x.shape[1]
        if weight.shape != (c,) or bias.shape != (c,):
            raise ValueError(
                f"BatchNorm2dFunction: weight and bias must have shape ({c},) for {c} channels, "
                f"got {weight.shape} and {bias.shape}"
            )
        dtype = np.result_type(x, weight, bias)
        layout = ChannelRows(x)
        r = layout.rows(x)
        if mean is None or var is None:
            if mean is not None or var is not None:
                raise ValueError("BatchNorm2dFunction: pass both mean and var, or neither")
            batch_stats = True
            mean, var = _stats(layout, r)
        else:
            batch_stats = bool(batch_stats)
            mean = np.asarray(mean, dtype=x.dtype)
            var = np.asarray(var, dtype=x.dtype)
            if mean.shape != (c,) or var.shape != (c,):
                raise ValueError(
                    f"BatchNorm2dFunction: mean and var must have shape ({c},), got {mean.shape} and {var.shape}"
                )
        invstd = 1.0 / np.sqrt(var + x.dtype.type(eps))
        if not batch_stats and not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return _affine_inference(layout, r, dtype, weight * invstd, bias - mean * (weight * invstd))
        shift, scale = layout.expand(mean), layout.expand(invstd)
        gamma, beta = layout.expand(weight.astype(dtype, copy=False)), layout.expand(bias.astype(dtype, copy=False))
        xhat, y = np.empty(r.shape, dtype=r.dtype), np.empty(r.shape, dtype=dtype)

        def normalise(i, part):
            xh = xhat[part]
            np.subtract(r[part], layout.at(shift, part), out=xh)
            xh *= layout.at(scale, part)
            np.multiply(xh, layout.at(gamma, part), out=y[part])
            y[part] += layout.at(beta, part)

        layout.each_part(normalise)
        ctx.save_for_backward(xhat, weight, invstd)
        ctx.layout, ctx.batch_stats = layout, batch_stats
        return layout.unrows(y)

    @staticmethod
    def backward(ctx, grad):
        xhat, weight, invstd = ctx.saved_tensors
        layout = ctx.layout
        g = layout.rows(grad)
        need_x, need_w, need_b = ctx.needs_input_grad
        full = need_x and ctx.batch_stats
        sum_g = layout.total(lambda part: layout.channel_sum(g[part])) if (need_b or full) else None
        sum_gx = layout.total(lambda part: layout.channel_dot(g[part], xhat[part])) if (need_w or full) else None
        grad_x = None
        if need_x:
            scale = layout.expand((weight * invstd).astype(grad.dtype, copy=False))
            grad_x = np.empty(g.shape, dtype=grad.dtype)
            if full:
                # The batch mean and variance depend on x too. With M values per channel:
                #   dx = gamma * invstd / M * (M * g - sum(g) - xhat * sum(g * xhat))
                inv_count = 1.0 / layout.count
                mean_gx = layout.expand((sum_gx * inv_count).astype(grad.dtype, copy=False))
                mean_g = layout.expand((sum_g * inv_count).astype(grad.dtype, copy=False))

                def input_grad(i, part):
                    dx = grad_x[part]
                    np.multiply(xhat[part], layout.at(mean_gx, part), out=dx)
                    dx += layout.at(mean_g, part)
                    np.subtract(g[part], dx, out=dx)
                    dx *= layout.at(scale, part)
            else:
                def input_grad(i, part):
                    np.multiply(g[part], layout.at(scale, part), out=grad_x[part])

            layout.each_part(input_grad)
            grad_x = layout.unrows(grad_x)
        return grad_x, (sum_gx if need_w else None), (sum_g if need_b else None)


def _affine_inference(layout, r, dtype, scale, shift):
    """Inference with running statistics, no gradient: y = x * scale + shift per channel, two
    passes and no normalised copy kept (scale = weight / sqrt(var + eps), shift = bias - mean *
    scale; PyTorch's CPU kernel folds it the same way)."""
    y = np.empty(r.shape, dtype=dtype)
    scale, shift = scale.astype(dtype, copy=False), shift.astype(dtype, copy=False)
    if layout.channels_last:  # rows of `pixels` whole pixels: the per-channel vectors tiled to one short row,
        n, c, h, w = layout.shape  # not to a whole image (ResNet's stem: 2 x 3 MB of tiles, 30-40% slower)
        pixels = pixels_per_run(h * w, c)
        r_rows, y_rows = r.reshape(-1, pixels * c), y.reshape(-1, pixels * c)
        scale, shift = np.tile(scale, pixels), np.tile(shift, pixels)
        per_image = h * w // pixels

        def transform(i, part):
            rows = slice(part.start * per_image, part.stop * per_image)
            np.multiply(r_rows[rows], scale, out=y_rows[rows])
            y_rows[rows] += shift
    else:
        scale, shift = layout.expand(scale), layout.expand(shift)

        def transform(i, part):
            np.multiply(r[part], layout.at(scale, part), out=y[part])
            y[part] += layout.at(shift, part)

    layout.each_part(transform)
    return layout.unrows(y)


def batch_norm2d(x, weight=None, bias=None, running_mean=None, running_var=None, training=True,
                 momentum=0.1, eps=1e-5, num_batches_tracked=None):
    """Functional batch norm on Tensors (like ``torch.nn.functional.batch_norm``).

    In training mode (or when there are no running statistics) it normalises with the batch
    statistics and, if running buffers are given, updates them *in place* with
    ``(1 - momentum) * running + momentum * batch``, using the unbiased batch variance for
    ``running_var`` as PyTorch does. ``momentum=None`` means a cumulative average, which needs
    ``num_batches_tracked`` (already incremented for this batch). Otherwise it normalises with the
    running statistics. ``weight``/``bias`` of None mean 1 and 0 (no affine parameters).
    """
    c = x.shape[1]
    dtype = x.dtype
    weight = weight if weight is not None else np.ones(c, dtype=dtype)
    bias = bias if bias is not None else np.zeros(c, dtype=dtype)
    rm = running_mean._data if is_tensor(running_mean) else running_mean
    rv = running_var._data if is_tensor(running_var) else running_var
    if training or rm is None or rv is None:
        mean, var = batch_stats(x._data)
        if training and rm is not None and rv is not None:
            count = x.shape[0] * x.shape[2] * x.shape[3]
            factor = 1.0 / float(num_batches_tracked) if momentum is None else float(momentum)
            unbiased = var * (count / (count - 1))
            rm *= 1.0 - factor
            rm += (factor * mean).astype(rm.dtype, copy=False)
            rv *= 1.0 - factor
            rv += (factor * unbiased).astype(rv.dtype, copy=False)
        return BatchNorm2dFunction.apply(x, weight, bias, eps=eps, mean=mean, var=var, batch_stats=True)
    return BatchNorm2dFunction.apply(x, weight, bias, eps=eps, mean=rm, var=rv, batch_stats=False)
