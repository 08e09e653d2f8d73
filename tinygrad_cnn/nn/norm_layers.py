"""Normalisation, dropout, embedding and unflatten layers with PyTorch's constructor arguments,
defaults, parameter and buffer names, initialisation, reprs and errors.

The layers check their configuration and the input's shape (so the error names the layer), keep
the running statistics, and call the functionals (``F.batch_norm``, ``F.layer_norm``,
``F.group_norm``, ``F.instance_norm``, ``F.embedding``, dropout), whose fused ops do the math.
"""
import math
import numbers
import warnings

import numpy as np

from .._memory import check_memory
from .._tensor import Tensor
from ..device import check_device
from ..errors import ArgumentError, NotImplementedForDtype
from ..ops._checks import is_int
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "Dropout",
           "Dropout1d", "Dropout2d", "Embedding", "Unflatten"]


def _count(value, name, layer, minimum=1):
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if not is_int(value):
        raise TypeError(f"{layer}: {name} must be {what}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}")
    return int(value)


def _eps(eps, layer):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{layer}: eps must be a non-negative number, got {eps!r}")
    if not 0 <= eps < float("inf"):
        raise ValueError(f"{layer}: eps must be a non-negative number, got {eps!r}")
    return eps


def _tensor(x, layer):
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor input, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise NotImplementedForDtype(f"{layer}: input must be floating point, got {x.dtype}")


def _factory(module, device, dtype):
    """PyTorch's ``device`` / ``dtype`` constructor arguments: the CPU only; a floating dtype for
    the parameters and floating buffers (never silently ignored)."""
    check_device(device, type(module).__name__)
    if dtype is not None:
        if np.dtype(dtype).kind != "f":
            raise TypeError(f"{type(module).__name__}: dtype must be a floating point dtype, got {dtype}")
        module.to(dtype)


def _vector(value, size, layer):
    check_memory(layer, 4 * math.prod(size), f"a weight of shape {tuple(size)}")
    return np.full(size, value, dtype=np.float32)


def _affine_parameters(module, affine, bias, shape):
    """``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None slots, as PyTorch registers them."""
    for name, present, value in (("weight", affine, 1.0), ("bias", affine and bias, 0.0)):
        module.register_parameter(name, Parameter(_vector(value, shape, type(module).__name__)) if present else None)


# ----------------------------------------------------------------------------------- batch and instance norm


class _NormBase(Module):
    """The parameters and buffers shared by BatchNorm and InstanceNorm, PyTorch's names:
    ``weight`` (ones), ``bias`` (zeros) when affine; ``running_mean`` (zeros), ``running_var``
    (ones) and ``num_batches_tracked`` (int64 0-d) when tracking running statistics."""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats, bias):
        super().__init__()
        layer = type(self).__name__
        self.num_features = _count(num_features, "num_features", layer)
        self.eps = _eps(eps, layer)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)):
            raise TypeError(f"{layer}: momentum must be in [0, 1] or None, got {momentum!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{layer}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum, self.affine, self.track_running_stats = momentum, affine, track_running_stats
        c = (self.num_features,)
        _affine_parameters(self, affine, bias, c)
        if track_running_stats:
            self.register_buffer("running_mean", _vector(0.0, c, layer))
            self.register_buffer("running_var", _vector(1.0, c, layer))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """Training: normalise with the batch's mean and biased variance, and move the running
    statistics by ``momentum`` towards the batch's (unbiased variance for ``running_var``;
    ``momentum=None``: a cumulative average over ``num_batches_tracked``). Evaluation: normalise
    with the running statistics, or with the batch's when there are none
    (``track_running_stats=False``)."""

    _dims, _expected = (), ""

    def __init__(self, num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias)
        _factory(self, device, dtype)

    def forward(self, x):
        layer = type(self).__name__
        _tensor(x, layer)
        if x.ndim not in self._dims:
            raise ValueError(f"{layer}: expected a {self._expected}, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ArgumentError(f"{layer}: expected {self.num_features} channels (num_features), got input of shape "
                             f"{x.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        if use_batch and x.numel() // x.shape[1] <= 1:
            raise ValueError(f"{layer}: expected more than 1 value per channel when training, got input of shape "
                             f"{x.shape}")
        keep = not self.training or self.track_running_stats  # buffers to update or to use
        return F.batch_norm(x, self.running_mean if keep else None, self.running_var if keep else None,
                            self.weight, self.bias, use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C."""

    _dims, _expected = (2, 3), "2-D (N, C) or 3-D (N, C, L) input"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C; one fused op forward and backward."""

    _dims, _expected = (4,), "4-D input (N, C, H, W)"


class _InstanceNorm(_NormBase):
    """Normalise each channel of each sample over its positions. With ``track_running_stats``,
    training also moves the running statistics by ``momentum`` towards the batch's average per
    channel, and evaluation uses them (``num_batches_tracked`` stays 0, as in PyTorch). A
    channel count other than num_features is only an error with ``affine`` (a warning otherwise)."""

    _spatial = 0

    def __init__(self, num_features, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias)
        _factory(self, device, dtype)

    def forward(self, x):
        layer = type(self).__name__
        _tensor(x, layer)
        dims = self._spatial + 1
        if x.ndim not in (dims, dims + 1):
            raise ValueError(f"{layer}: expected a {dims}-D (C, {'L' if dims == 2 else 'H, W'}) or {dims + 1}-D "
                             f"(N, C, ...) input, got shape {x.shape}")
        feature_dim = x.ndim - dims
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{layer}: expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), got input of shape {x.shape}")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          f"warning by not passing in num_features, which is not used because affine=False",
                          UserWarning, stacklevel=2)
        if x.ndim == dims:
            return self._normalise(x.unsqueeze(0)).squeeze(0)
        return self._normalise(x)

    def _normalise(self, x):
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               self.training or not self.track_running_stats,
                               0.0 if self.momentum is None else self.momentum, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) inputs."""

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) inputs."""

    _spatial = 2


# ----------------------------------------------------------------------------------- layer and group norm


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims of each input (an int or a sequence);
    ``weight`` (ones) and ``bias`` (zeros) of that shape when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if is_int(normalized_shape):
            normalized_shape = (normalized_shape,)
        if not isinstance(normalized_shape, (tuple, list)) or not all(is_int(d) and d >= 0 for d in normalized_shape):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a sequence of non-negative ints, got "
                            f"{normalized_shape!r}")
        self.normalized_shape = tuple(int(d) for d in normalized_shape)
        self.eps, self.elementwise_affine = _eps(eps, "LayerNorm"), elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape)
        _factory(self, device, dtype)

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        _tensor(x, "LayerNorm")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise each of ``num_groups`` groups of channels of each sample of an (N, C, *) input;
    per-channel ``weight`` (ones) and ``bias`` (zeros) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-05, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_groups = _count(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _count(num_channels, "num_channels", "GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = _eps(eps, "GroupNorm"), affine
        _affine_parameters(self, affine, bias, (self.num_channels,))
        _factory(self, device, dtype)

    reset_parameters = LayerNorm.reset_parameters

    def forward(self, x):
        _tensor(x, "GroupNorm")
        if x.ndim < 2 or (self.affine and x.shape[1] != self.num_channels):  # without affine: as F.group_norm
            raise ArgumentError(f"GroupNorm: expected an input (N, {self.num_channels}, *) for num_channels="
                               f"{self.num_channels}, got shape {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


# ----------------------------------------------------------------------------------- dropout


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        layer = type(self).__name__
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"{layer}: probability has to be a number between 0 and 1, but got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{layer}: probability has to be between 0 and 1, but got {p!r}")
        self.p = p
        self.inplace = inplace  # accepted for API compatibility; a new tensor is always returned

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p during training and scale the rest by 1/(1-p)
    ("inverted" dropout), so nothing needs rescaling at evaluation, where it is the identity.

    Masks come from the library generator, so ``manual_seed`` reproduces them.
    """

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Dropout: expected a Tensor input, got {type(x).__name__}")
        return F.dropout(x, self.p, self.training)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or unbatched (C, L) inputs with probability p while
    training (scaling the rest by 1/(1-p))."""

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Dropout1d: expected a Tensor input, got {type(x).__name__}")
        if x.ndim not in (2, 3):
            raise ArgumentError(f"Dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {x.shape}")
        batched = x if x.ndim == 3 else x.unsqueeze(0)
        out = F.dropout2d(batched.unsqueeze(-1), self.p, self.training).squeeze(-1)
        return out if x.ndim == 3 else out.squeeze(0)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) or unbatched (C, H, W) inputs with probability p while
    training (scaling the rest by 1/(1-p)); as ``F.dropout2d``."""

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Dropout2d: expected a Tensor input, got {type(x).__name__}")
        return F.dropout2d(x, self.p, self.training)


# ----------------------------------------------------------------------------------- embedding, unflatten


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim) for each index i of an
    integer input, output shape input.shape + (embedding_dim,). ``weight`` ~ N(0, 1), with the
    ``padding_idx`` row zeroed; that row never gets a gradient. ``max_norm`` and ``sparse=True``
    are not supported (NotImplementedError)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = _count(num_embeddings, "num_embeddings", "Embedding", 0)
        self.embedding_dim = _count(embedding_dim, "embedding_dim", "Embedding", 0)
        if padding_idx is not None:
            if not is_int(padding_idx):
                raise TypeError(f"Embedding: padding_idx must be an int or None, got {padding_idx!r}")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), got "
                                 f"{padding_idx}")
            padding_idx = int(padding_idx) % self.num_embeddings
        if max_norm is not None:
            raise NotImplementedError(f"Embedding: max_norm is not supported (got max_norm={max_norm!r})")
        if sparse:
            raise NotImplementedError("Embedding: sparse=True (sparse gradients) is not supported")
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            self.weight = Parameter(_vector(0.0, shape, "Embedding"), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != shape:
                raise ValueError(f"Embedding: _weight must have shape {shape} (num_embeddings, embedding_dim), got "
                                 f"{tuple(_weight.shape)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        _factory(self, device, dtype)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding (a copy of) the 2-D ``embeddings``; frozen (no gradient) unless freeze=False."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"Embedding: expected a Tensor of indices, got {type(input).__name__}")
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (a tuple or list of ints; one may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r} (named dimensions are not supported)")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, size in enumerate(unflattened_size):
            if not is_int(size):
                raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {i}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Unflatten: expected a Tensor input, got {type(x).__name__}")
        sizes = tuple(self.unflattened_size)
        if -x.ndim <= self.dim < x.ndim:  # (Tensor.unflatten reports a bad dim)
            known, n = math.prod(s for s in sizes if s != -1), x.shape[self.dim]
            if sizes.count(-1) > 1 or (n != known if -1 not in sizes else known == 0 or n % known):
                raise ArgumentError(f"Unflatten: sizes {sizes} don't multiply up to the size of dim {self.dim} ({n}) "
                                   f"of the input of shape {x.shape}")
        return x.unflatten(self.dim, sizes)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
