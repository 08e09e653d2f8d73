"""Ready-made models built on tinygrad_cnn (this package imports the library, never the reverse).

``models.mnist``: the MNIST digit classifiers (``MnistCNN``, ``SeedCNN``) and their command line
(``python -m models.mnist train | evaluate | predict | show-filters | export``); see models/README.md.
"""
from .mnist import MODELS, SHIPPED_WEIGHTS, MnistCNN, SeedCNN, load_weights

__all__ = ["MnistCNN", "SeedCNN", "MODELS", "SHIPPED_WEIGHTS", "load_weights"]
