"""Bad input gets a clear error, raised where the user called, not from inside NumPy.

One table, one row per bad call: the call, the exception type it must raise (where the API follows
PyTorch, the class PyTorch raises for the same call: IndexError for a dim out of range, RuntimeError
for requires_grad on an integer tensor, ...) and a regex its message must match (the op's name and
the shapes or values involved). Each raised exception must
also be a builtin class (or one of ours), never a NumPy internal such as AxisError or
UFuncTypeError, and it must not be raised from inside NumPy without our message in front.

Further down: broken and missing files (weights and IDX), atomic writes, detect_anomaly, and the
calls that look suspicious but are fine (mixed float32/float64, 0-size tensors).
"""
import os
import re

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, detect_anomaly, nn, optim
from tinygrad_cnn.data import read_idx
from tinygrad_cnn.optim import lr_scheduler


def t(*shape, dtype=np.float32, grad=False):
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=grad)


def param():
    return [nn.Parameter(np.ones(2))]


class Weird:
    pass


# (id, call, exception type, regex the message must match)
BAD_CALLS = [
    # ---------------------------------------------------------------- Tensor construction
    ("tensor-from-string", lambda: Tensor("abc"), TypeError, r"Tensor: cannot make a tensor from str"),
    ("tensor-from-object", lambda: Tensor(Weird()), TypeError, r"Tensor: cannot make a tensor from Weird"),
    ("tensor-from-None", lambda: Tensor(None), TypeError, r"Tensor: .*NoneType"),
    ("tensor-from-dict", lambda: Tensor({"a": 1}), TypeError, r"Tensor: .*dict"),
    ("tensor-from-set", lambda: Tensor({1, 2}), TypeError, r"Tensor: .*set"),
    ("tensor-from-list-of-strings", lambda: Tensor(["a", "b"]), TypeError, r"Tensor: unsupported data type <U1"),
    ("tensor-from-object-array", lambda: Tensor(np.array([1, None])), TypeError,
     r"Tensor: unsupported data type object"),
    ("tensor-from-complex", lambda: Tensor(np.array([1j])), TypeError, r"Tensor: unsupported data type complex"),
    ("tensor-from-ragged-list", lambda: Tensor([[1, 2], [3]]), ValueError, r"Tensor: .*ragged"),
    ("tensor-bad-dtype-name", lambda: Tensor([1.0], dtype="floaty"), TypeError, r"Tensor: 'floaty' is not a dtype"),
    ("tensor-object-dtype", lambda: Tensor([1.0], dtype=object), TypeError, r"Tensor: unsupported dtype object"),
    ("tensor-complex-dtype", lambda: Tensor([1.0], dtype=np.complex64), TypeError,
     r"Tensor: unsupported dtype complex64"),
    # requires_grad on a non-float tensor, negative sizes, item()/bool() of many elements: RuntimeError, as torch
    ("int-tensor-requires-grad", lambda: Tensor(np.arange(3), requires_grad=True), RuntimeError,
     r"only floating-point tensors can require grad; this one is int64"),
    ("bool-tensor-requires-grad", lambda: Tensor(np.array([True]), requires_grad=True), RuntimeError,
     r"only floating-point tensors can require grad; this one is bool"),
    ("int-tensor-set-requires-grad", lambda: setattr(Tensor(np.arange(3)), "requires_grad", True), RuntimeError,
     r"only floating-point tensors can require grad; this one is int64"),
    ("tensor-fn-int-requires-grad", lambda: tg.tensor([1, 2], requires_grad=True), RuntimeError,
     r"only floating-point tensors can require grad; this one is int64"),
    ("tensor-float16", lambda: Tensor(np.ones(2, np.float16)), TypeError, r"Tensor: float16 is not supported"),
    ("zeros-int-requires-grad", lambda: Tensor.zeros(2, dtype=np.int64, requires_grad=True), RuntimeError,
     r"only floating-point tensors can require grad; this one is int64"),
    ("zeros-negative-dim", lambda: Tensor.zeros(-1, 2), RuntimeError, r"zeros: negative dimension in shape \(-1, 2\)"),
    ("ones-float-dim", lambda: Tensor.ones(2.5), TypeError, r"ones: sizes must be ints, got \(2\.5,\)"),
    ("zeros-string-dim", lambda: Tensor.zeros("3"), TypeError, r"zeros: sizes must be ints, got \('3',\)"),
    ("zeros-bad-dtype", lambda: Tensor.zeros(2, dtype="nope"), TypeError, r"zeros: 'nope' is not a dtype"),
    ("zeros-float16", lambda: tg.zeros(2, dtype=np.float16), TypeError, r"zeros: .*float16"),
    ("zeros-too-big", lambda: Tensor.zeros(10**12, 10**12), RuntimeError,  # torch: RuntimeError (allocation)
     r"zeros: a tensor of shape \(1000000000000, 1000000000000\) .*GiB"),
    ("randn-int-dtype", lambda: Tensor.randn(2, dtype=np.int64), NotImplementedError,  # torch: NotImplementedError
     r"randn: dtype must be floating point, got int64"),
    ("randn-negative-dim", lambda: Tensor.randn(-3), RuntimeError, r"randn: negative dimension in shape \(-3,\)"),
    ("uniform-low-above-high", lambda: Tensor.uniform(2, low=1.0, high=0.0), ValueError,
     r"Tensor\.uniform: low \(1\.0\) must not exceed high \(0\.0\)"),
    ("uniform-string-bound", lambda: Tensor.uniform(2, low="a"), TypeError, r"Tensor\.uniform: low must be a number"),
    ("uniform-infinite-bound", lambda: Tensor.uniform(2, high=float("inf")), ValueError,
     r"Tensor\.uniform: high must be finite"),
    ("grad-of-wrong-shape", lambda: setattr(t(2, grad=True), "grad", np.ones(3)), ValueError,
     r"Tensor\.grad: gradient shape \(3,\) does not match tensor shape \(2,\)"),
    ("grad-from-string", lambda: setattr(t(2, grad=True), "grad", "ab"), TypeError, r"Tensor\.grad: cannot use str"),
    ("astype-bad-dtype", lambda: t(2).astype("nope"), TypeError, r"astype: 'nope' is not a dtype"),
    ("astype-complex", lambda: t(2).astype(np.complex64), TypeError, r"astype: unsupported dtype complex64"),
    ("item-of-many", lambda: t(2).item(), RuntimeError,
     r"Tensor\.item: a Tensor with 2 elements cannot be converted to a Python number"),
    ("item-of-none", lambda: t(0).item(), RuntimeError, r"Tensor\.item: a Tensor with 0 elements"),
    ("bool-of-many", lambda: bool(t(2)), RuntimeError, r"Boolean value of a Tensor with 2 elements is ambiguous"),
    ("len-of-0d", lambda: len(t()), TypeError, r"len\(\) of a 0-d tensor"),
    # ---------------------------------------------------------------- elementwise and broadcasting
    ("add-broadcast", lambda: t(2, 3) + t(4, 3), ValueError,
     r"add: shapes \(2, 3\) and \(4, 3\) cannot be broadcast together"),
    ("sub-broadcast", lambda: t(2, 3) - t(2), ValueError, r"sub: shapes \(2, 3\) and \(2,\) cannot be broadcast"),
    ("mul-broadcast", lambda: t(5) * t(4), ValueError, r"mul: shapes \(5,\) and \(4,\)"),
    ("div-broadcast", lambda: t(2, 3) / t(3, 2), ValueError, r"div: shapes \(2, 3\) and \(3, 2\)"),
    ("pow-broadcast", lambda: t(2, 3) ** t(2), ValueError, r"pow: shapes \(2, 3\) and \(2,\)"),
    ("compare-broadcast", lambda: t(2, 3) < t(2), ValueError, r"less: shapes \(2, 3\) and \(2,\)"),
    # a non-numeric operand: the Tensor returns NotImplemented and Python raises its own TypeError, as in torch
    ("add-string", lambda: t(2) + "a", TypeError, r"unsupported operand type\(s\) for \+: 'Tensor' and 'str'"),
    ("add-None", lambda: t(2) + None, TypeError, r"unsupported operand type\(s\) for \+: 'Tensor' and 'NoneType'"),
    ("radd-object", lambda: Weird() + t(2), TypeError, r"unsupported operand type\(s\) for \+: 'Weird' and 'Tensor'"),
    ("mul-dict", lambda: t(2) * {}, TypeError, r"unsupported operand type\(s\) for \*: 'Tensor' and 'dict'"),
    ("mul-float-tensor-by-string", lambda: t() * "ab", TypeError,
     r"only integer tensors of a single element can be used as an index; this one is float32"),
    ("less-than-string", lambda: t(2) < "a", TypeError, r"'<' not supported between instances of 'Tensor' and 'str'"),
    ("neg-bool", lambda: -t(2, dtype=np.bool_), TypeError, r"neg: negating a bool tensor"),
    ("sub-bool-bool", lambda: t(2, dtype=np.bool_) - t(2, dtype=np.bool_), TypeError,
     r"sub: subtracting with a bool tensor"),
    ("int-negative-int-power", lambda: Tensor(np.arange(3)) ** Tensor(np.array(-1)), ValueError,
     r"pow: Integers to negative integer powers"),
    # ---------------------------------------------------------------- matmul
    ("matmul-inner-mismatch", lambda: t(2, 3) @ t(4, 5), ValueError,
     r"matmul: shapes \(2, 3\) and \(4, 5\) do not fit"),
    ("matmul-vectors", lambda: t(3) @ t(4), ValueError, r"matmul: shapes \(3,\) and \(4,\)"),
    ("matmul-matrix-vector", lambda: t(2, 3) @ t(4), ValueError, r"matmul: shapes \(2, 3\) and \(4,\)"),
    ("matmul-batch", lambda: t(2, 2, 3) @ t(3, 3, 4), ValueError,
     r"matmul: batch axes of shapes \(2, 2, 3\) and \(3, 3, 4\)"),
    ("matmul-0d", lambda: t() @ t(3), ValueError, r"matmul: both operands need at least 1 dimension.*\(\) and \(3,\)"),
    ("matmul-string", lambda: t(2, 2) @ "ab", TypeError, r"MatMul: cannot use str"),
    # ---------------------------------------------------------------- reductions
    # (a dim out of range is an IndexError, as in torch, with torch's wording after the op's name)
    ("sum-axis-out-of-range", lambda: t(2, 3).sum(axis=2), IndexError,
     r"sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("sum-dim-out-of-range", lambda: t(2, 3).sum(dim=(0, 2)), IndexError,
     r"sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("sum-negative-axis-out-of-range", lambda: t(2, 3).sum(axis=-3), IndexError,
     r"sum: dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)"),
    ("sum-axis-string", lambda: t(2, 3).sum(axis="0"), TypeError,
     r"sum: dim must be an int or a tuple of ints, got '0'"),
    ("sum-axis-float", lambda: t(2, 3).sum(axis=1.0), TypeError,
     r"sum: dim must be an int or a tuple of ints, got 1\.0"),
    ("sum-repeated-axis", lambda: t(2, 3).sum(axis=(1, -1)), RuntimeError,  # torch: RuntimeError
     r"sum: dim \(1, -1\) repeats a dimension"),
    ("sum-axis-and-dim", lambda: t(2, 3).sum(axis=0, dim=1), TypeError, r"sum: give dim or axis, not both"),
    ("sum-keepdims-string", lambda: t(2, 3).sum(keepdims="yes"), TypeError, r"sum: keepdims must be True or False"),
    ("sum-keepdim-None", lambda: t(2, 3).sum(0, keepdim=None), TypeError,
     r"sum: keepdim must be True or False, got None"),
    ("sum-0d-axis-1", lambda: t().sum(axis=1), IndexError,
     r"sum: dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"),
    ("mean-axis-out-of-range", lambda: t(2, 3).mean(axis=5), IndexError,
     r"mean: dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"),
    ("mean-of-int", lambda: t(2, dtype=np.int64).mean(), RuntimeError,
     r"mean\(\): could not infer output dtype\. Input dtype must be floating point, got int64"),
    ("mean-of-bool-over-dim", lambda: t(2, 2, dtype=np.bool_).mean(dim=0), RuntimeError, r"mean\(\): .*got bool"),
    ("max-of-empty", lambda: t(0, 3).max(), RuntimeError, r"max\(\): expected a non-empty tensor \(shape \(0, 3\)\)"),
    ("max-over-empty-axis", lambda: t(3, 0).max(axis=1), IndexError,
     r"max\(\): cannot reduce over dimension 1 of size 0 \(shape \(3, 0\)\)"),
    ("max-dim-tuple", lambda: t(2, 3).max(dim=(0, 1)), TypeError, r"max: dim must be a single int, got \(0, 1\)"),
    ("max-dim-out-of-range", lambda: t(2, 3).max(dim=2), IndexError,
     r"max: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("max-keepdim-without-dim", lambda: t(2, 3).max(keepdim=True), TypeError, r"max.*keepdim"),  # torch: TypeError
    ("min-of-empty", lambda: t(0).min(), RuntimeError, r"min\(\): expected a non-empty tensor \(shape \(0,\)\)"),
    ("argmax-of-empty", lambda: t(0, 2).argmax(), IndexError,  # torch: IndexError
     r"argmax\(\): expected a non-empty tensor \(shape \(0, 2\)\)"),
    ("argmax-axis-tuple", lambda: t(2, 3).argmax(axis=(0, 1)), TypeError,
     r"argmax: dim must be a single int, got \(0, 1\)"),
    ("argmax-axis-out-of-range", lambda: t(2, 3).argmax(axis=2), IndexError,
     r"argmax: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("softmax-no-dim", lambda: t(2, 3).softmax(), TypeError, r"softmax: the dim argument is required"),
    ("log-softmax-no-dim", lambda: t(2, 3).log_softmax(), TypeError, r"log_softmax: the dim argument is required"),
    ("softmax-axis-out-of-range", lambda: t(2, 3).softmax(dim=2), IndexError,
     r"softmax: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("softmax-axis-tuple", lambda: t(2, 3).softmax(dim=(0, 1)), TypeError,
     r"softmax: dim must be a single int, got \(0, 1\)"),
    ("log-softmax-axis-string", lambda: t(2, 3).log_softmax(dim="1"), TypeError,
     r"log_softmax: dim must be a single int, got '1'"),
    # ---------------------------------------------------------------- movement
    ("reshape-other-size", lambda: t(2, 3).reshape(4, 2), ValueError,
     r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\) \(8 elements\)"),
    ("reshape-minus-one-no-fit", lambda: t(2, 3).reshape(-1, 4), ValueError,
     r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(-1, 4\)"),
    ("reshape-two-minus-ones", lambda: t(2, 3).reshape(-1, -1), ValueError, r"reshape: only one dimension can be -1"),
    ("reshape-negative", lambda: t(2, 3).reshape(-2, -3), ValueError, r"reshape: invalid target shape \(-2, -3\)"),
    ("reshape-float", lambda: t(2, 3).reshape(2.0, 3), TypeError, r"reshape: sizes must be ints, got \(2\.0, 3\)"),
    ("reshape-to-0d", lambda: t(2, 3).reshape(), ValueError, r"reshape: .*\(6 elements\) into \(\) \(1 elements\)"),
    ("view-other-size", lambda: t(4).view(3), ValueError, r"reshape: .*\(4 elements\) into \(3,\)"),
    ("permute-repeated", lambda: t(2, 3).permute(0, 0), RuntimeError,  # torch: RuntimeError (duplicate dims)
     r"permute: dim repeated in \(0, 0\), which is not a permutation of the 2 dims"),
    ("permute-too-few", lambda: t(2, 3, 4).permute(0, 1), RuntimeError,  # torch: RuntimeError
     r"permute: the number of dims \(2\) does not match the tensor's \(3, shape \(2, 3, 4\)\)"),
    ("permute-out-of-range", lambda: t(2, 3).permute(0, 2), IndexError,  # a dim out of range, as torch
     r"permute: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("permute-string", lambda: t(2, 3).permute("a", 0), TypeError, r"permute: sizes must be ints, got \('a', 0\)"),
    ("transpose-out-of-range", lambda: t(2, 3).transpose(0, 2), IndexError,
     r"transpose: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("transpose-tuple", lambda: t(2, 3).transpose((0, 1), 1), TypeError,
     r"transpose: dim must be a single int, got \(0, 1\)"),
    ("flatten-reversed", lambda: t(2, 3, 4).flatten(2, 1), ValueError, r"flatten: start_dim 2 comes after end_dim 1"),
    ("flatten-out-of-range", lambda: t(2, 3).flatten(5), IndexError,
     r"flatten: dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"),
    ("flatten-None", lambda: t(2, 3).flatten(0, None), TypeError, r"flatten: dim must be a single int, got None"),
    ("unsqueeze-out-of-range", lambda: t(2, 3).unsqueeze(4), IndexError,  # a new dim: range [-3, 2] for 2-D
     r"unsqueeze: dimension out of range \(expected to be in range of \[-3, 2\], but got 4\)"),
    ("squeeze-out-of-range", lambda: t(2, 3).squeeze(2), IndexError,
     r"squeeze: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("cat-shape-mismatch", lambda: Tensor.cat([t(2, 3), t(2, 4)]), ValueError,
     r"cat: tensor 1 has shape \(2, 4\), which does not match tensor 0's shape \(2, 3\) outside axis 0"),
    ("cat-rank-mismatch", lambda: Tensor.cat([t(2, 3), t(3)], axis=1), ValueError,
     r"cat: tensor 1 has shape \(3,\).*\(2, 3\)"),
    ("cat-0d", lambda: Tensor.cat([t(), t()]), RuntimeError,  # torch: RuntimeError
     r"cat: zero-dimensional tensor \(at position 0\) cannot be concatenated"),
    ("cat-nothing", lambda: Tensor.cat([]), ValueError, r"cat: needs at least one tensor"),
    ("cat-axis-out-of-range", lambda: Tensor.cat([t(2), t(2)], axis=1), IndexError,
     r"cat: dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"),
    ("cat-dim-out-of-range", lambda: tg.cat([t(2), t(2)], dim=-2), IndexError,
     r"cat: dimension out of range \(expected to be in range of \[-1, 0\], but got -2\)"),
    ("cat-a-tensor", lambda: Tensor.cat(t(2, 3)), TypeError, r"cat: expected a list or tuple of Tensors, got Tensor"),
    ("cat-None", lambda: Tensor.cat(None), TypeError, r"cat: expected a list or tuple of Tensors, got NoneType"),
    ("cat-string-item", lambda: Tensor.cat([t(2), "ab"]), TypeError, r"cat: item 1 is not a tensor"),
    ("stack-shape-mismatch", lambda: Tensor.stack([t(2, 3), t(3, 2)]), ValueError,
     r"stack: tensor 1 has shape \(3, 2\) but tensor 0 has shape \(2, 3\)"),
    ("stack-axis-out-of-range", lambda: Tensor.stack([t(2), t(2)], axis=3), IndexError,  # the result has 2 dims
     r"stack: dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)"),
    ("stack-nothing", lambda: Tensor.stack([]), ValueError, r"stack: needs at least one tensor"),
    # ---------------------------------------------------------------- indexing (IndexError, as Python and PyTorch)
    ("index-out-of-range", lambda: t(2, 3)[5], IndexError,
     r"index 5 is invalid for a tensor of shape \(2, 3\).*out of bounds for axis 0 with size 2"),
    ("index-negative-out-of-range", lambda: t(2, 3)[-3], IndexError, r"index -3 is invalid .*\(2, 3\)"),
    ("index-second-axis", lambda: t(2, 3)[0, 3], IndexError, r"index \(0, 3\) is invalid .*axis 1 with size 3"),
    ("index-too-many", lambda: t(2, 3)[0, 0, 0], IndexError, r"too many indices"),
    ("index-0d", lambda: t()[0], IndexError, r"index 0 is invalid for a tensor of shape \(\)"),
    ("index-list-out-of-range", lambda: t(3)[[0, 7]], IndexError, r"index 7 is out of bounds"),
    ("index-bool-mask-wrong-length", lambda: t(3)[np.array([True, False])], IndexError, r"boolean index did not match"),
    ("index-string", lambda: t(3)["a"], IndexError, r"index 'a' is invalid"),
    ("index-float", lambda: t(3)[1.0], TypeError, r"index: float 1\.0 cannot be an index"),
    ("index-float-array", lambda: t(3)[np.array([0.5])], TypeError, r"index: arrays used as indices must be integer"),
    ("index-slice-string", lambda: t(3)["a":], TypeError, r"index slice\('a'.*slice indices must be integers"),
    ("index-slice-step-0", lambda: t(3)[::0], ValueError, r"index slice\(None, None, 0\).*slice step cannot be zero"),
    ("index-ragged-list", lambda: t(3, 3)[[[0, 1], [1]]], IndexError, r"index: the list .* is not a regular array"),
    # ---------------------------------------------------------------- autograd misuse (RuntimeError, as PyTorch)
    ("backward-without-grad", lambda: t(2).sum().backward(), RuntimeError,
     r"backward: this tensor does not require grad"),
    ("backward-non-scalar", lambda: (t(2, grad=True) * 2).backward(), RuntimeError,
     r"backward: a gradient can be implied only for a one-element output; this output has shape \(2,\)"),
    ("backward-gradient-wrong-shape", lambda: (t(2, grad=True) * 2).backward(np.ones(3)), ValueError,
     r"backward: gradient has shape \(3,\) but the tensor has shape \(2,\)"),
    ("backward-gradient-string", lambda: (t(2, grad=True) * 2).backward("ab"), TypeError,
     r"backward: gradient must be numeric"),
    ("backward-gradient-Nones", lambda: (t(2, grad=True) * 2).backward([None, None]), TypeError,
     r"backward: gradient must be numeric"),
    ("backward-twice", lambda: (lambda y: (y.backward(), y.backward()))((t(2, grad=True) * 2).sum()), RuntimeError,
     r"backward through the graph a second time"),
    ("requires-grad-off-non-leaf", lambda: setattr(t(2, grad=True) * 2, "requires_grad", False), RuntimeError,
     r"cannot turn off requires_grad of a non-leaf"),
    # ---------------------------------------------------------------- conv2d
    ("conv-channel-mismatch", lambda: t(1, 3, 5, 5).conv2d(t(2, 2, 3, 3)), ValueError,
     r"conv2d: input has 3 channels but weight \(2, 2, 3, 3\) expects 2"),
    ("conv-kernel-larger-than-input", lambda: t(1, 1, 2, 2).conv2d(t(1, 1, 3, 3)), ValueError,
     r"conv2d: the kernel \(3 rows.*larger than the padded input \(2 \+ 0 padding = 2 rows\)"),
    ("conv-dilated-kernel-too-large", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), dilation=3), ValueError,
     r"conv2d: the kernel \(7 rows with dilation\) is larger than the padded input"),
    ("conv-3d-input", lambda: t(1, 5, 5).conv2d(t(1, 1, 3, 3)), ValueError,
     r"conv2d: input must be 4-D \(N, C, H, W\), got shape \(1, 5, 5\)"),
    ("conv-5d-input", lambda: t(1, 1, 1, 5, 5).conv2d(t(1, 1, 3, 3)), ValueError, r"conv2d: input must be 4-D"),
    ("conv-3d-weight", lambda: t(1, 1, 5, 5).conv2d(t(1, 3, 3)), ValueError,
     r"conv2d: weight must be 4-D .*got shape \(1, 3, 3\)"),
    ("conv-stride-0", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), stride=0), ValueError,
     r"conv2d: stride must be positive, got 0"),
    ("conv-stride-negative", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), stride=(1, -2)), ValueError,
     r"conv2d: stride must be positive, got \(1, -2\)"),
    ("conv-stride-string", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), stride="2"), TypeError,
     r"conv2d: stride must be an int or a pair of ints, got '2'"),
    ("conv-stride-float", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), stride=1.5), TypeError,
     r"conv2d: stride must be an int or a pair"),
    ("conv-stride-triple", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), stride=(1, 1, 1)), TypeError,
     r"conv2d: stride must be an int or a pair"),
    ("conv-dilation-0", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), dilation=0), ValueError,
     r"conv2d: dilation must be positive"),
    ("conv-negative-padding", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), padding=-1), ValueError,
     r"conv2d: padding must be non-negative, got -1"),
    ("conv-padding-string", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), padding="full"), ValueError,
     r"conv2d: padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    ("conv-same-with-stride-2", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), stride=2, padding="same"), ValueError,
     r"conv2d: padding='same' needs stride 1, got stride \(2, 2\)"),
    ("conv-huge-padding", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), padding=10**9), ValueError,
     r"conv2d: a padded input of shape \(1, 1, 2000000005, 2000000005\).*GiB"),
    ("conv-bias-length", lambda: t(1, 1, 5, 5).conv2d(t(2, 1, 3, 3), bias=np.zeros(3, np.float32)), ValueError,
     r"conv2d: bias must have shape \(2,\) \(one per output channel\), got \(3,\)"),
    ("conv-bias-2d", lambda: t(1, 1, 5, 5).conv2d(t(2, 1, 3, 3), bias=np.zeros((2, 1), np.float32)), ValueError,
     r"conv2d: bias must have shape \(2,\)"),
    ("conv-groups-not-dividing-channels", lambda: t(1, 4, 5, 5).conv2d(t(4, 2, 3, 3), groups=3), ValueError,
     r"conv2d: input has 4 channels but weight \(4, 2, 3, 3\) expects 6 \(in_channels/groups = 2, groups = 3\)"),
    ("conv-groups-not-dividing-out-channels", lambda: t(1, 4, 5, 5).conv2d(t(3, 2, 3, 3), groups=2), ValueError,
     r"conv2d: out_channels \(3\) must be divisible by groups \(2\)"),
    ("conv-groups-0", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), groups=0), ValueError,
     r"conv2d: groups must be a positive int, got 0"),
    ("conv-groups-float", lambda: t(1, 2, 5, 5).conv2d(t(2, 1, 3, 3), groups=2.0), TypeError,
     r"conv2d: groups must be a positive int, got 2\.0"),
    ("conv-int-input", lambda: t(1, 1, 5, 5, dtype=np.int64).conv2d(t(1, 1, 3, 3)), TypeError,
     r"conv2d: input must be floating point, got int64"),
    ("conv-bool-weight", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3, dtype=np.bool_)), TypeError,
     r"conv2d: weight must be floating point, got bool"),
    ("conv-string-weight", lambda: t(1, 1, 5, 5).conv2d("w"), TypeError,
     r"conv2d: weight must be a Tensor or an array"),
    ("conv-string-bias", lambda: t(1, 1, 5, 5).conv2d(t(1, 1, 3, 3), bias="b"), TypeError,
     r"conv2d: bias must be a Tensor or an array"),
    ("conv-empty-batch", lambda: t(0, 1, 5, 5).conv2d(t(1, 1, 3, 3)), ValueError,
     r"conv2d: empty input \(0, 1, 5, 5\)"),
    # ---------------------------------------------------------------- pooling
    ("maxpool-kernel-larger-than-input", lambda: t(1, 1, 2, 2).max_pool2d(3), ValueError,
     r"max_pool2d: the kernel \(3 rows.*larger than the padded input \(2 \+ 0 padding = 2 rows\)"),
    ("avgpool-kernel-larger-than-input", lambda: t(1, 1, 4, 2).avg_pool2d((2, 3)), ValueError,
     r"avg_pool2d: the kernel \(3 columns.*2 columns\)"),
    ("maxpool-3d-input", lambda: t(1, 4, 4).max_pool2d(2), ValueError,
     r"max_pool2d: input must be 4-D \(N, C, H, W\), got shape \(1, 4, 4\)"),
    ("avgpool-2d-input", lambda: t(4, 4).avg_pool2d(2), ValueError, r"avg_pool2d: input must be 4-D"),
    ("maxpool-stride-0", lambda: t(1, 1, 4, 4).max_pool2d(2, stride=0), ValueError,
     r"max_pool2d: stride must be positive, got 0"),
    ("avgpool-stride-negative", lambda: t(1, 1, 4, 4).avg_pool2d(2, stride=-1), ValueError,
     r"avg_pool2d: stride must be positive, got -1"),
    ("maxpool-kernel-0", lambda: t(1, 1, 4, 4).max_pool2d(0), ValueError, r"max_pool2d: kernel_size must be positive"),
    ("maxpool-kernel-string", lambda: t(1, 1, 4, 4).max_pool2d("2"), TypeError,
     r"max_pool2d: kernel_size must be an int or a pair"),
    ("maxpool-padding-over-half-kernel", lambda: t(1, 1, 4, 4).max_pool2d(2, padding=2), ValueError,
     r"max_pool2d: padding \(2, 2\) must be at most half the kernel size \(2, 2\)"),
    ("avgpool-negative-padding", lambda: t(1, 1, 4, 4).avg_pool2d(2, padding=-1), ValueError,
     r"avg_pool2d: padding must be non-negative"),
    ("maxpool-int-input", lambda: t(1, 1, 4, 4, dtype=np.int64).max_pool2d(2), TypeError,
     r"max_pool2d: input must be floating point, got int64"),
    ("maxpool-empty", lambda: t(0, 1, 4, 4).max_pool2d(2), ValueError, r"max_pool2d: empty input"),
    # ---------------------------------------------------------------- cross_entropy
    # (a class index out of range is an IndexError in torch: "Target 3 is out of bounds.")
    ("ce-label-too-large", lambda: t(2, 3).cross_entropy([0, 3]), IndexError,
     r"cross_entropy: target 3 is out of range for 3 classes \(valid: 0 to 2"),
    ("ce-label-negative", lambda: t(2, 3).cross_entropy(np.array([-1, 0])), IndexError,
     r"cross_entropy: target -1 is out of range for 3 classes"),
    ("ce-label-huge-unsigned", lambda: t(2, 3).cross_entropy(np.array([0, 2**63], np.uint64)), IndexError,
     r"cross_entropy: target 9223372036854775808 is out of range"),
    ("ce-too-many-labels", lambda: t(2, 3).cross_entropy([0, 1, 2]), ValueError,
     r"cross_entropy: target must have shape \(2,\) to match input \(2, 3\), got \(3,\)"),
    ("ce-too-few-labels", lambda: t(2, 3).cross_entropy([0]), ValueError, r"target must have shape \(2,\).*got \(1,\)"),
    ("ce-2d-labels", lambda: t(2, 3).cross_entropy(np.zeros((2, 1), np.int64)), ValueError,
     r"target must have shape \(2,\).*got \(2, 1\)"),
    ("ce-float-labels", lambda: t(2, 3).cross_entropy(np.array([0.0, 1.0])), TypeError,
     r"cross_entropy: target must hold integer class indices .*got dtype float64"),
    ("ce-float-tensor-labels", lambda: t(2, 3).cross_entropy(Tensor([0, 1])), TypeError,
     r"cross_entropy: target must hold integer class indices .*float32"),
    ("ce-bool-labels", lambda: t(2, 3).cross_entropy(np.array([True, False])), TypeError,
     r"cross_entropy: target must hold integer .*bool"),
    ("ce-string-labels", lambda: t(2, 3).cross_entropy("ab"), TypeError, r"cross_entropy: target must hold integer"),
    ("ce-None-labels", lambda: t(2, 3).cross_entropy(None), TypeError, r"cross_entropy: target must hold integer"),
    # (1-D logits are one unbatched sample, as in torch: they take a 0-d target)
    ("ce-1d-logits", lambda: t(3).cross_entropy([0, 1]), ValueError,
     r"cross_entropy: target must have shape \(\) to match input \(3,\), got \(2,\)"),
    ("ce-0d-logits", lambda: t().cross_entropy(0), ValueError,
     r"cross_entropy: input must have shape \(C,\), \(N, C\)"),
    ("ce-int-logits", lambda: t(2, 3, dtype=np.int64).cross_entropy([0, 1]), NotImplementedError,  # as torch
     r"cross_entropy: not implemented for 'Long' \(input has dtype int64\)"),
    ("ce-no-classes", lambda: t(2, 0).cross_entropy([0, 0]), IndexError,  # torch: "Target 0 is out of bounds."
     r"cross_entropy: input \(2, 0\) has no classes"),
    ("ce-bad-reduction", lambda: t(2, 3).cross_entropy([0, 1], reduction="avg"), ValueError,
     r"cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    ("ce-smoothing-out-of-range", lambda: t(2, 3).cross_entropy([0, 1], label_smoothing=1.5), ValueError,
     r"cross_entropy: label_smoothing must be a number in \[0, 1\], got 1\.5"),
    ("ce-smoothing-string", lambda: t(2, 3).cross_entropy([0, 1], label_smoothing="a"), TypeError,
     r"cross_entropy: label_smoothing must be a number"),
    # ---------------------------------------------------------------- nn layers
    ("linear-wrong-in-features", lambda: nn.Linear(3, 2)(t(4, 5)), ValueError,
     r"Linear: expected input with last dimension 3 \(in_features\), got shape \(4, 5\)"),
    ("linear-0d-input", lambda: nn.Linear(3, 2)(t()), ValueError, r"Linear: expected input with last dimension 3"),
    ("linear-ndarray-input", lambda: nn.Linear(3, 2)(np.ones((1, 3))), TypeError,
     r"Linear: expected a Tensor input, got ndarray"),
    ("linear-in-features-0", lambda: nn.Linear(0, 2), ValueError,
     r"Linear: in_features must be a positive integer, got 0"),
    ("linear-in-features-string", lambda: nn.Linear("3", 2), TypeError,
     r"Linear: in_features must be a positive integer"),
    ("linear-out-features-float", lambda: nn.Linear(3, 2.0), TypeError, r"Linear: out_features must be a positive"),
    ("linear-huge", lambda: nn.Linear(10**9, 10**9), ValueError,
     r"Linear: a weight of shape \(1000000000, 1000000000\)"),
    ("conv-layer-channel-mismatch", lambda: nn.Conv2d(3, 4, 3)(t(1, 2, 5, 5)), ValueError,
     r"Conv2d: expected a 4-D input \(N, 3, H, W\) for in_channels=3, got shape \(1, 2, 5, 5\)"),
    ("conv-layer-3d-input", lambda: nn.Conv2d(1, 4, 3)(t(1, 5, 5)), ValueError, r"Conv2d: expected a 4-D input"),
    ("conv-layer-kernel-too-large", lambda: nn.Conv2d(1, 4, 7)(t(1, 1, 5, 5)), ValueError,
     r"conv2d: the kernel \(7 rows.*\(5 \+ 0 padding = 5 rows\)"),
    ("conv-layer-groups", lambda: nn.Conv2d(4, 4, 3, groups=3), ValueError,
     r"Conv2d: in_channels \(4\) must be divisible by groups \(3\)"),
    ("conv-layer-out-groups", lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError,
     r"Conv2d: out_channels \(3\) must be divisible by groups \(2\)"),
    ("conv-layer-stride-0", lambda: nn.Conv2d(1, 1, 3, stride=0), ValueError,
     r"Conv2d: stride must be positive, got 0"),
    ("conv-layer-kernel-0", lambda: nn.Conv2d(1, 1, 0), ValueError, r"Conv2d: kernel_size must be positive, got 0"),
    ("conv-layer-negative-padding", lambda: nn.Conv2d(1, 1, 3, padding=-1), ValueError,
     r"Conv2d: padding must be non-negative"),
    ("conv-layer-same-stride-2", lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same"), ValueError,
     r"Conv2d: padding='same' is not supported for strided convolutions"),
    ("conv-layer-in-channels-string", lambda: nn.Conv2d("1", 1, 3), TypeError,
     r"Conv2d: in_channels must be a positive"),
    ("conv-layer-kernel-string", lambda: nn.Conv2d(1, 1, "3"), TypeError,
     r"Conv2d: kernel_size must be an int or a pair"),
    ("conv-layer-int-input", lambda: nn.Conv2d(1, 1, 3)(t(1, 1, 5, 5, dtype=np.int64)), TypeError,
     r"conv2d: input must be floating point"),
    ("conv-layer-huge-kernel", lambda: nn.Conv2d(1, 1, 10**6), ValueError, r"Conv2d: a weight of shape"),
    ("maxpool-layer-kernel-larger-than-input", lambda: nn.MaxPool2d(3)(t(1, 1, 2, 2)), ValueError,
     r"max_pool2d: the kernel \(3 rows"),
    ("maxpool-layer-2d-input", lambda: nn.MaxPool2d(2)(t(4, 4)), RuntimeError,  # (C, H, W) is fine; torch: RuntimeError
     r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(4, 4\)"),
    ("maxpool-layer-padding", lambda: nn.MaxPool2d(2, padding=2), ValueError,
     r"MaxPool2d: padding \(2, 2\) must be at most half the kernel size \(2, 2\)"),
    ("maxpool-layer-stride-0", lambda: nn.MaxPool2d(2, stride=0), ValueError, r"MaxPool2d: stride must be positive"),
    ("dropout-p-above-1", lambda: nn.Dropout(1.5), ValueError,
     r"Dropout: probability has to be between 0 and 1, but got 1\.5"),
    ("dropout-p-negative", lambda: nn.Dropout(-0.1), ValueError, r"Dropout: probability has to be between 0 and 1"),
    ("dropout-p-nan", lambda: nn.Dropout(float("nan")), ValueError, r"Dropout: probability .* nan"),
    ("dropout-p-string", lambda: nn.Dropout("0.5"), TypeError, r"Dropout: probability has to be a number"),
    ("dropout-int-input", lambda: nn.Dropout(0.5)(t(3, dtype=np.int64)), RuntimeError,  # training; torch: RuntimeError
     r"dropout: input must be floating point, got int64"),
    ("batchnorm-channels", lambda: nn.BatchNorm2d(3)(t(2, 2, 4, 4)), ValueError,
     r"BatchNorm2d: expected 3 channels \(num_features\), got input of shape \(2, 2, 4, 4\)"),
    ("batchnorm-3d-input", lambda: nn.BatchNorm2d(3)(t(2, 3, 4)), ValueError,
     r"BatchNorm2d: expected a 4-D input \(N, C, H, W\), got shape \(2, 3, 4\)"),
    ("batchnorm-2d-input", lambda: nn.BatchNorm2d(3)(t(2, 3)), ValueError, r"BatchNorm2d: expected a 4-D input"),
    ("batchnorm-one-value", lambda: nn.BatchNorm2d(3)(t(1, 3, 1, 1)), ValueError,
     r"BatchNorm2d: expected more than 1 value per channel when training"),
    ("batchnorm-int-input", lambda: nn.BatchNorm2d(3)(t(2, 3, 2, 2, dtype=np.int64)), TypeError,
     r"BatchNorm2d: input must be floating point, got int64"),
    ("batchnorm-num-features-0", lambda: nn.BatchNorm2d(0), ValueError,
     r"BatchNorm2d: num_features must be a positive"),
    ("batchnorm-eps-negative", lambda: nn.BatchNorm2d(3, eps=-1e-5), ValueError,
     r"BatchNorm2d: eps must be a non-negative"),
    ("batchnorm-eps-string", lambda: nn.BatchNorm2d(3, eps="1e-5"), TypeError,
     r"BatchNorm2d: eps must be a non-negative"),
    ("batchnorm-momentum", lambda: nn.BatchNorm2d(3, momentum=1.5), ValueError,
     r"BatchNorm2d: momentum must be in \[0, 1\] or None, got 1\.5"),
    ("relu-layer-ndarray", lambda: nn.ReLU()(np.ones(3)), TypeError, r"ReLU: expected a Tensor input, got ndarray"),
    ("flatten-layer-list", lambda: nn.Flatten()([1, 2]), TypeError, r"Flatten: expected a Tensor input, got list"),
    ("flatten-layer-out-of-range", lambda: nn.Flatten(3)(t(2, 3)), IndexError,
     r"flatten: dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)"),
    ("softmax-layer-dim", lambda: nn.Softmax(dim=2)(t(2, 3)), IndexError,
     r"softmax: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("ce-loss-reduction", lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
     r"CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    ("ce-loss-smoothing", lambda: nn.CrossEntropyLoss(label_smoothing=2.0), ValueError,
     r"CrossEntropyLoss: label_smoothing must be a number in \[0, 1\], got 2\.0"),
    ("ce-loss-ndarray-logits", lambda: nn.CrossEntropyLoss()(np.ones((2, 3)), [0, 1]), TypeError,
     r"CrossEntropyLoss: expected a Tensor input, got ndarray"),
    ("ce-loss-labels-out-of-range", lambda: nn.CrossEntropyLoss()(t(2, 3), np.array([0, 5])), IndexError,
     r"cross_entropy: target 5 is out of range for 3 classes"),
    ("sequential-non-module", lambda: nn.Sequential(nn.ReLU(), 3), TypeError, r"Sequential: argument 1 is a int"),
    ("sequential-index", lambda: nn.Sequential(nn.ReLU())[3], IndexError,
     r"index 3 is out of range for Sequential of length 1"),
    ("assign-array-as-parameter", lambda: setattr(nn.Linear(2, 2), "weight", np.ones((2, 2))), TypeError,
     r"cannot assign 'ndarray' as parameter 'weight' of Linear"),
    ("module-to-int", lambda: nn.Linear(2, 2).to(np.int64), TypeError,
     r"Module\.to: nn\.Module\.to only accepts floating point dtypes, but got desired dtype=int64"),
    ("module-to-nonsense", lambda: nn.Linear(2, 2).to("floaty"), RuntimeError,  # a string is a device, as in torch
     r"Module\.to: device 'floaty' is not available"),
    ("train-mode-string", lambda: nn.Linear(2, 2).train("yes"), ValueError,
     r"train: training mode is expected to be boolean, got 'yes'"),
    # ---------------------------------------------------------------- load_state_dict
    ("load-state-dict-wrong-keys", lambda: nn.Linear(2, 2).load_state_dict({"w": np.ones((2, 2))}), RuntimeError,
     r"Error\(s\) in loading state_dict for Linear:\n  missing keys: 'weight', 'bias'\n  unexpected keys: 'w'"),
    ("load-state-dict-wrong-shape",
     lambda: nn.Linear(2, 2).load_state_dict({"weight": np.ones((2, 3)), "bias": np.ones(2)}), RuntimeError,
     r"weight: expected \(2, 2\), got \(2, 3\)"),
    ("load-state-dict-strings",
     lambda: nn.Linear(2, 2).load_state_dict({"weight": np.array([["a", "b"], ["c", "d"]]), "bias": np.ones(2)}),
     RuntimeError, r"weight: expected a numeric array, got array of <U1"),
    ("load-state-dict-list", lambda: nn.Linear(2, 2).load_state_dict([1, 2]), TypeError,
     r"load_state_dict: expected a dict of arrays, got list"),
    # ---------------------------------------------------------------- optimizers and schedulers
    ("sgd-negative-lr", lambda: optim.SGD(param(), lr=-0.1), ValueError, r"SGD: Invalid learning rate: -0\.1"),
    ("sgd-nan-lr", lambda: optim.SGD(param(), lr=float("nan")), ValueError, r"SGD: Invalid learning rate: nan"),
    ("sgd-infinite-lr", lambda: optim.SGD(param(), lr=float("inf")), ValueError, r"SGD: Invalid learning rate: inf"),
    ("sgd-string-lr", lambda: optim.SGD(param(), lr="0.1"), TypeError, r"SGD: lr must be a number, got '0\.1'"),
    ("sgd-negative-momentum", lambda: optim.SGD(param(), lr=0.1, momentum=-0.9), ValueError,
     r"SGD: Invalid momentum value: -0\.9"),
    ("sgd-negative-weight-decay", lambda: optim.SGD(param(), lr=0.1, weight_decay=-1), ValueError,
     r"SGD: Invalid weight_decay value: -1\.0"),
    ("sgd-nesterov-without-momentum", lambda: optim.SGD(param(), lr=0.1, nesterov=True), ValueError,
     r"SGD: Nesterov momentum requires a momentum and zero dampening"),
    ("sgd-nesterov-with-dampening", lambda: optim.SGD(param(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     ValueError, r"Nesterov momentum requires a momentum and zero dampening"),
    ("adam-negative-lr", lambda: optim.Adam(param(), lr=-1e-3), ValueError, r"Adam: Invalid learning rate"),
    ("adam-beta1-is-1", lambda: optim.Adam(param(), betas=(1.0, 0.999)), ValueError,
     r"Adam: Invalid beta parameter at index 0: 1\.0"),
    ("adam-beta2-negative", lambda: optim.Adam(param(), betas=(0.9, -0.1)), ValueError,
     r"Adam: Invalid beta parameter at index 1: -0\.1"),
    ("adam-beta-nan", lambda: optim.Adam(param(), betas=(float("nan"), 0.9)), ValueError,
     r"Adam: Invalid beta parameter at index 0: nan"),
    ("adam-three-betas", lambda: optim.Adam(param(), betas=(0.9, 0.9, 0.9)), ValueError, r"Adam: betas must be a pair"),
    ("adam-beta-string", lambda: optim.Adam(param(), betas=("a", 0.9)), TypeError,
     r"Adam: betas\[0\] must be a number"),
    ("adam-negative-eps", lambda: optim.Adam(param(), eps=-1e-8), ValueError, r"Adam: Invalid epsilon value"),
    ("adamw-negative-weight-decay", lambda: optim.AdamW(param(), weight_decay=-0.01), ValueError,
     r"AdamW: Invalid weight_decay value"),
    ("group-negative-lr", lambda: optim.SGD([{"params": param(), "lr": -1.0}], lr=0.1), ValueError,
     r"SGD: Invalid learning rate: -1\.0"),
    ("optimizer-params-None", lambda: optim.SGD(None, lr=0.1), TypeError,
     r"params argument given to the optimizer should be an iterable of Tensors or dicts, but got NoneType"),
    ("optimizer-params-tensor", lambda: optim.SGD(param()[0], lr=0.1), TypeError, r"iterable of Tensors or dicts"),
    ("optimizer-params-empty", lambda: optim.SGD([], lr=0.1), ValueError, r"optimizer got an empty parameter list"),
    ("optimizer-params-arrays", lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError,
     r"optimizer can only optimize Tensors, but one of the params is ndarray"),
    ("optimizer-int-tensor", lambda: optim.SGD([Tensor(np.arange(2))], lr=0.1), ValueError,
     r"optimizer got a parameter that does not require grad"),
    ("optimizer-params-twice", lambda: (lambda p: optim.SGD(p + p, lr=0.1))(param()), ValueError,
     r"same parameter more than once"),
    ("optimizer-load-junk",
     lambda: optim.SGD(param(), lr=0.1).load_state_dict({"state": "x", "param_groups": [{"params": [0]}]}),
     ValueError, r"optimizer state_dict: 'state' must be a dict"),
    ("optimizer-load-no-params",
     lambda: optim.SGD(param(), lr=0.1).load_state_dict({"state": {}, "param_groups": [{}]}),
     ValueError, r"optimizer state_dict: 'param_groups' must be a list of dicts, each with a 'params' list"),
    ("steplr-step-size-0", lambda: lr_scheduler.StepLR(optim.SGD(param(), lr=0.1), step_size=0), ValueError,
     r"StepLR: step_size must be a positive integer, got 0"),
    ("steplr-gamma-string", lambda: lr_scheduler.StepLR(optim.SGD(param(), lr=0.1), 1, gamma="a"), TypeError,
     r"StepLR: gamma must be a number"),
    ("cosine-t-max-0", lambda: lr_scheduler.CosineAnnealingLR(optim.SGD(param(), lr=0.1), T_max=0), ValueError,
     r"CosineAnnealingLR: T_max must be a positive integer"),
    ("scheduler-not-optimizer", lambda: lr_scheduler.StepLR(object(), 1), TypeError, r"object is not an Optimizer"),
    # ---------------------------------------------------------------- saving, seeds, gradcheck
    ("save-non-string-key", lambda: tg.save({1: np.ones(2)}, "unused.safetensors"), TypeError,
     r"save: keys must be strings, got 1 \(int\)"),
    ("save-string-value", lambda: tg.save({"a": "x"}, "unused.safetensors"), TypeError,
     r"save: value of 'a' must be an ndarray or Tensor, got str"),
    ("save-object-array", lambda: tg.save({"a": np.array([None])}, "unused.safetensors"), TypeError,
     r"save: value of 'a' has dtype object"),
    ("save-list", lambda: tg.save([np.ones(2)], "unused.safetensors"), TypeError,
     r"save: state_dict must be a dict of name -> array, got list"),
    ("save-metadata-int", lambda: tg.save({"a": np.ones(1)}, "unused.safetensors", metadata={"epoch": 3}), TypeError,
     r"save: metadata must map str to str"),
    ("save-path-None", lambda: tg.save({"a": np.ones(1)}, None), TypeError,
     r"save: path must be a str or os\.PathLike"),
    ("load-path-None", lambda: tg.load(None), TypeError, r"load: path must be a str or os\.PathLike, got NoneType"),
    ("manual-seed-negative", lambda: tg.manual_seed(-1), ValueError,
     r"manual_seed: seed must be a non-negative integer"),
    ("manual-seed-string", lambda: tg.manual_seed("1"), TypeError, r"manual_seed: seed must be a non-negative integer"),
    ("gradcheck-no-grad", lambda: tg.gradcheck(lambda x: x, (t(2),)), ValueError, r"gradcheck: no input requires grad"),
    ("gradcheck-not-callable", lambda: tg.gradcheck(3, (t(2, grad=True),)), TypeError,
     r"gradcheck: fn must be callable"),
]


@pytest.mark.parametrize("call, error, pattern", [row[1:] for row in BAD_CALLS], ids=[row[0] for row in BAD_CALLS])
def test_bad_call_gives_a_clear_error(call, error, pattern):
    with np.errstate(all="raise"):  # a NumPy warning on the way would be a sign of a missing check
        with pytest.raises(error) as info:
            call()
    err = info.value
    assert type(err).__module__ in ("builtins", "tinygrad_cnn.errors") or type(err).__name__ in ("AnomalyError",), (
        f"{type(err).__module__}.{type(err).__name__} leaked from the internals: {err}"
    )
    assert re.search(pattern, str(err)), f"message {str(err)!r} does not match {pattern!r}"


def test_the_table_ids_are_unique():
    ids = [row[0] for row in BAD_CALLS]
    assert len(ids) == len(set(ids))


def test_errors_are_raised_from_the_public_entry_point():
    """No NumPy frame between the user's call and the raise: the check happens up front."""
    # (the exception types are pinned in BAD_CALLS; a class index out of range is IndexError in torch)
    for call in (lambda: t(2, 3) @ t(4, 5), lambda: t(2, 3).reshape(4, 2), lambda: t(1, 3, 5, 5).conv2d(t(2, 2, 3, 3)),
                 lambda: t(2, 3).cross_entropy([0, 3]), lambda: t(2, 3) + t(4, 3), lambda: t(2, 3).sum(dim=2)):
        with pytest.raises((ValueError, IndexError)) as info:
            call()
        assert not any("numpy" in (entry.path.as_posix() if hasattr(entry, "path") else str(entry))
                       for entry in info.traceback)


# ----------------------------------------------------------------------------------------------
# calls that look suspicious but are fine


def test_mixing_float32_and_float64_promotes_instead_of_failing():
    a, b = t(2, 3, grad=True), Tensor(np.ones((3, 2)), requires_grad=True)
    for out in (a @ b, a + b.T, a * b.T, Tensor.cat([a, b.T])):
        assert out.dtype == np.float64
    conv = t(1, 1, 4, 4, grad=True).conv2d(Tensor(np.ones((1, 1, 2, 2)), requires_grad=True))
    assert conv.dtype == np.float64
    (a @ b).sum().backward()
    conv.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64  # each gradient in its tensor's dtype
    assert nn.Linear(3, 2)(Tensor(np.ones((1, 3)))).dtype == np.float64
    assert (t(2) + 1.5).dtype == np.float32  # Python numbers never upcast


def test_zero_size_tensors():
    x = t(0, 3, grad=True)
    out = (x * 2 + 1).relu().sum(axis=0)
    assert out.shape == (3,)
    out.sum().backward()
    assert x.grad.shape == (0, 3)
    assert (t(0, 3) @ t(3, 2)).shape == (0, 2)
    np.testing.assert_array_equal((t(2, 0) @ t(0, 2)).numpy(), np.zeros((2, 2)))
    assert t(0, 3).reshape(-1).shape == (0,)
    assert t(0, 3).flatten().shape == (0,)
    assert t(3, 0).flatten(1).shape == (3, 0)
    assert t(3, 0).softmax(dim=1).shape == (3, 0)
    values, indices = t(0, 3).max(dim=1)  # a (values, indices) pair, as torch
    assert values.shape == indices.shape == (0,) and indices.dtype == np.int64
    assert t(0, 3).max(axis=1).values.shape == (0,)
    assert t(0, 3).sum().item() == 0
    assert np.isnan(t(0, 3).mean().item())  # the mean over zero elements is nan, as in torch
    assert t(3, 0).mean(dim=1).shape == (3,) and np.isnan(t(3, 0).mean(dim=1).numpy()).all()
    assert t(0, 3).mean(dim=0).shape == (3,)
    assert np.isnan(t(0, 3).cross_entropy(np.zeros(0, np.int64)).item())  # mean over an empty batch: nan, as torch
    assert t(0, 3).cross_entropy(np.zeros(0, np.int64), reduction="sum").item() == 0
    assert t(0, 3).cross_entropy(np.zeros(0, np.int64), reduction="none").shape == (0,)
    assert t(0, 3)[[]].shape == (0, 3)
    assert Tensor.cat([t(0, 2), t(1, 2)]).shape == (1, 2)
    assert nn.Linear(3, 2)(t(0, 3)).shape == (0, 2)
    assert nn.BatchNorm2d(3).eval()(t(0, 3, 2, 2)).shape == (0, 3, 2, 2)


def test_zero_dim_tensors_take_axis_0_and_minus_1():
    s = t(grad=True)
    assert s.sum(axis=0).shape == () and s.sum(axis=-1).shape == ()
    assert s.softmax(dim=0).item() == 1.0 and s.softmax(dim=-1).item() == 1.0
    assert s.transpose(0, -1).shape == () and s.transpose(0, -1).item() == 1.0
    assert s.flatten().shape == (1,) and s.unsqueeze(0).shape == (1,) and s.unsqueeze(-1).shape == (1,)
    assert s.argmax(axis=0).item() == 0 and s.argmax(dim=-1).item() == 0
    values, indices = s.max(dim=0)
    assert values.shape == indices.shape == () and values.item() == 1.0 and indices.item() == 0


def test_integer_and_bool_tensors_in_float_ops_are_promoted_like_pytorch():
    ints = Tensor(np.array([0, 1, 2]))
    for out in (ints.exp(), ints.sigmoid(), ints.tanh(), ints.softmax(dim=0, dtype=np.float32),
                t(2, dtype=np.bool_).exp()):
        assert out.dtype == np.float32
    with pytest.raises(TypeError, match="softmax: not implemented for int64"):  # as torch: no implicit promotion
        ints.softmax(dim=0)
    assert (ints * 0.5).dtype == np.float32 and (ints / ints).dtype == np.float32  # torch's promotion rules
    assert (t(2) + Tensor(np.array(1.0))).dtype == np.float32  # a 0-d float64 tensor does not upcast float32
    assert Tensor(np.array([3, 1, 2], np.uint8)).min().item() == 1  # no negation trick on unsigned ints
    assert t(2, grad=True).astype(np.int64).requires_grad is False  # an int cast leaves the graph


def test_unbatched_inputs_are_fine_as_in_pytorch():
    assert nn.MaxPool2d(2)(t(1, 4, 4)).shape == (1, 2, 2)  # (C, H, W)
    loss = Tensor([0.0, 0.0, 0.0]).cross_entropy(Tensor(np.array(1)))  # (C,) logits with a 0-d target
    assert loss.shape == () and abs(loss.item() - np.log(3)) < 1e-6


def test_huge_strides_and_one_tap_dilations_are_legal():
    x = t(1, 8, 5, 5, grad=True)
    out = x.conv2d(t(2, 8, 3, 3), stride=10**30, dilation=(1, 1))
    assert out.shape == (1, 2, 1, 1)
    out.sum().backward()
    assert x.conv2d(t(2, 8, 1, 1), dilation=10**30).shape == (1, 2, 5, 5)
    assert x.max_pool2d(2, stride=10**30).shape == (1, 8, 1, 1)


# ----------------------------------------------------------------------------------------------
# files: broken, truncated, missing; atomic writes


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "model.safetensors"
    tg.save({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(3, np.int64)}, path,
            metadata={"epoch": "3"})
    return path


def _damaged(path, data):
    broken = path.with_name("broken.safetensors")
    broken.write_bytes(data)
    return broken


@pytest.mark.parametrize("damage", [
    pytest.param(lambda b: b"", id="empty"),
    pytest.param(lambda b: b[:5], id="shorter-than-header-length"),
    pytest.param(lambda b: b[:20], id="truncated-header"),
    pytest.param(lambda b: b[:-7], id="truncated-data"),
    pytest.param(lambda b: b + b"\0" * 4, id="trailing-bytes"),
    pytest.param(lambda b: b"\xff" * 8 + b[8:], id="huge-header-length"),
    pytest.param(lambda b: b[:8] + b"[" + b[9:], id="header-not-json"),
    pytest.param(lambda b: (2).to_bytes(8, "little") + b"[]", id="header-a-list"),
    pytest.param(lambda b: b.replace(b'"F32"', b'"Q99"'), id="unknown-dtype"),
    pytest.param(lambda b: b.replace(b"[3,4]", b"[9,9]"), id="shape-beyond-data"),
    pytest.param(lambda b: __import__("pickle").dumps({"w": np.ones(2)}), id="a-pickle"),
    pytest.param(lambda b: b"PK\x03\x04" + bytes(60), id="a-zip-torch-file"),
    pytest.param(lambda b: b"hello, this is not a weight file\n" * 3, id="text"),
])
def test_broken_weight_files_are_rejected_naming_the_file(weights, damage):
    broken = _damaged(weights, damage(weights.read_bytes()))
    with pytest.raises(ValueError, match=rf"load: '{re.escape(str(broken))}' is not a valid safetensors file"):
        tg.load(broken)


@pytest.mark.parametrize("damage", [lambda b: b[:5], lambda b: b"\xff" * 8 + b[8:], lambda b: b[:8] + b"[" + b[9:]])
def test_broken_weight_files_are_rejected_by_load_metadata(weights, damage):
    broken = _damaged(weights, damage(weights.read_bytes()))
    with pytest.raises(ValueError, match=re.escape(str(broken))):
        tg.load_metadata(broken)


def test_missing_and_directory_weight_files(tmp_path):
    missing = tmp_path / "absent.safetensors"
    for fn in (tg.load, tg.load_metadata):
        with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
            fn(missing)
        with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
            fn(tmp_path)
    with pytest.raises(IsADirectoryError, match=r"save: .* is a directory"):
        tg.save({"a": np.ones(1)}, tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg.save({"a": np.ones(1)}, tmp_path / "no" / "such" / "dir.safetensors")


def test_loading_never_executes_code(tmp_path, monkeypatch):
    """A pickle that would run code on unpickling is rejected as data, and pickle is never imported
    by load for it."""
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Boom()))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("load used pickle"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("load used pickle"))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        tg.load(path)
    assert not (tmp_path / "pwned").exists()


def test_empty_state_dict_with_empty_metadata_round_trips(tmp_path):
    path = tmp_path / "empty.safetensors"
    tg.save({}, path, metadata={})
    assert tg.load(path) == {} and tg.load_metadata(path) == {}


def test_failed_save_leaves_old_file_and_no_temporary(weights, monkeypatch):
    before = weights.read_bytes()

    def exploding_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", exploding_replace)
    with pytest.raises(OSError, match="disk on fire"):
        tg.save({"x": np.zeros(5)}, weights)
    monkeypatch.undo()
    assert weights.read_bytes() == before
    assert sorted(p.name for p in weights.parent.iterdir()) == ["model.safetensors"]
    with pytest.raises(TypeError, match="save: keys must be strings"):
        tg.save({2: np.zeros(1)}, weights)  # checked before the disk is touched
    assert weights.read_bytes() == before
    assert sorted(p.name for p in weights.parent.iterdir()) == ["model.safetensors"]


def test_viz_dot_files_are_written_atomically(tmp_path, monkeypatch):
    from tinygrad_cnn.viz import render

    y = (t(2, grad=True) * 2).sum()
    path = tmp_path / "graph.dot"
    path.write_text("old")
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("no rename today")))
    with pytest.raises(OSError, match="no rename today"):
        render(y, path)
    monkeypatch.undo()
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["graph.dot"]
    render(y, path)
    assert path.read_text().startswith("digraph") and [p.name for p in tmp_path.iterdir()] == ["graph.dot"]


def _idx(tmp_path, payload, name="data.idx"):
    path = tmp_path / name
    path.write_bytes(payload)
    return path


# (test_data.py covers IDX truncation, bad magic, unknown type codes and corrupt gzip in depth;
#  these rows check the reader's contract from the outside: a ValueError naming the file.)
@pytest.mark.parametrize("payload, problem", [
    (b"\0\0\x08\x03" + (2).to_bytes(4, "big") * 3 + b"\0" * 7, "truncated IDX data"),
    (b"\0\0\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff", "truncated IDX data"),
    (b"\0\0\x08\xff", "truncated IDX header"),
    (b"\0\0\x08\x00", "0 dimensions"),
    (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
])
def test_broken_idx_files_name_the_file(tmp_path, payload, problem):
    path = _idx(tmp_path, payload)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*{problem}"):
        read_idx(path)


def test_missing_idx_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.idx"))):
        read_idx(tmp_path / "nope.idx")


# ----------------------------------------------------------------------------------------------
# detect_anomaly


def test_detect_anomaly_names_the_first_op_in_forward():
    x = Tensor([1.0, -1.0], requires_grad=True)
    with detect_anomaly(), np.errstate(invalid="ignore"):
        y = x * 2  # fine
        with pytest.raises(FloatingPointError, match=r"detect_anomaly: Log\.forward produced nan values"):
            (y.log() * 3).exp()  # log is first; Mul and Exp never run
    assert y.shape == (2,)


def test_detect_anomaly_names_the_first_op_in_backward():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly(), np.errstate(divide="ignore"):
        y = (x.sqrt() * 2).sum()  # finite forward; d sqrt/dx = inf at 0
        with pytest.raises(FloatingPointError, match=r"Sqrt\.backward produced inf"):
            y.backward()


def test_detect_anomaly_catches_nan_inputs_at_the_first_op_that_sees_them():
    with detect_anomaly():
        with pytest.raises(RuntimeError, match=r"Conv2d\.forward produced nan"):  # also a RuntimeError, like torch
            Tensor(np.full((1, 1, 3, 3), np.nan, np.float32)).conv2d(t(1, 1, 2, 2))
        with pytest.raises(FloatingPointError, match=r"CrossEntropy\.forward produced nan"):
            Tensor([[np.nan, 0.0]]).cross_entropy([1])
        with pytest.raises(FloatingPointError, match=r"MatMul\.forward produced inf"):
            Tensor([[np.inf, 1.0]]) @ t(2, 1)


def test_detect_anomaly_is_a_context_manager_that_restores_the_mode():
    with detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError):
            Tensor([0.0]).log()
    with np.errstate(divide="ignore"):
        assert Tensor([0.0]).log().item() == -np.inf  # off again outside the block
