"""PyTorch's dtype names, as NumPy dtypes: ``x.dtype == tinygrad_cnn.float32`` and
``x.to(tinygrad_cnn.int64)`` read as in PyTorch. (float16 and complex types are not supported.)"""
import numpy as np

float32 = float = np.dtype(np.float32)  # noqa: A001 (PyTorch's names shadow the builtins here only)
float64 = double = np.dtype(np.float64)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)  # noqa: A001
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # noqa: A001

__all__ = ["float32", "float", "float64", "double", "int64", "long", "int32", "int", "int16", "short", "int8",
           "uint8", "bool"]
