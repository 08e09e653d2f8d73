"""Exception classes that are PyTorch's and the project's at once.

PyTorch reports many bad arguments as RuntimeError (or IndexError, NotImplementedError) where
Python's convention, and this project's before it followed PyTorch, is ValueError or TypeError.
These classes inherit from both, so ``except RuntimeError`` in pasted PyTorch code and
``except ValueError`` in older code of ours catch the same error.
"""


class ArgumentError(RuntimeError, ValueError):
    """A bad argument value: PyTorch's RuntimeError, and a ValueError."""


class OutOfRangeError(IndexError, ValueError):
    """An index or class label out of range: PyTorch's IndexError, and a ValueError."""


class DtypeError(RuntimeError, TypeError):
    """A tensor of a dtype the op does not take: PyTorch's RuntimeError, and a TypeError."""


class NotImplementedForDtype(NotImplementedError, TypeError):
    """PyTorch's "not implemented for 'Long'" (a NotImplementedError), and a TypeError."""
