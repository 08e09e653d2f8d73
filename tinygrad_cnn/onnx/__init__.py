"""ONNX: ``export`` a model to an ONNX file, ``load`` an ONNX CNN as a trainable Module.

Both need the optional ``onnx`` package (``pip install 'tinygrad_cnn[onnx]'``); importing this
subpackage does not import it, nor does ``import tinygrad_cnn``. The supported ops are listed in
docs/api.md ("ONNX").
"""
from ._export import DEFAULT_OPSET, export
from ._load import OnnxLoadError, OnnxModule, load
from ._trace import OnnxExportError

__all__ = ["export", "load", "OnnxExportError", "OnnxLoadError", "OnnxModule", "DEFAULT_OPSET"]
