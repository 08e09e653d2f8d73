"""Ready-made models built on tinygrad_cnn (this package imports the library, never the reverse).

``models.mnist``: the MNIST digit classifiers (``MnistCNN``, ``SeedCNN``) and their command line
(``python -m models.mnist train | evaluate | predict | show-filters | export``); see models/README.md.
"""
__all__ = ["MnistCNN", "SeedCNN", "MODELS", "SHIPPED_WEIGHTS", "load_weights"]


def __getattr__(name):
    # imported lazily so that `python -m models.mnist` does not import the module twice
    if name in __all__:
        from . import mnist
        return getattr(mnist, name)
    raise AttributeError(f"module 'models' has no attribute '{name}'")
