"""Reading digit images (PNG/JPEG with Pillow, or .npy) and the ``predict`` command."""
import json
import sys
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, no_grad
from tinygrad_cnn.data import normalize

from .checkpoint import load_for_cli
from .errors import fail

IMAGE_HINT = "pip install -e '.[image]'"


def _read_npy(path):
    """A (28, 28) uint8 image from a .npy array: uint8 0-255, other ints 0-255 or floats in [0, 1]."""
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as err:
        fail(f"cannot read {path} as a .npy array: {err}")
    if array.shape == (1, 28, 28):
        array = array[0]
    if array.shape != (28, 28):
        fail(f"{path}: expected an array of shape (28, 28) or (1, 28, 28), got {array.shape}")
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            fail(f"{path}: a float image must hold values in [0, 1] (got {array.min():.3g} to {array.max():.3g}); "
                 f"use uint8 for 0-255")
        return np.rint(array * 255).astype(np.uint8)
    if array.dtype.kind in "iu" and array.size and array.min() >= 0 and array.max() <= 255:
        return array.astype(np.uint8)
    fail(f"{path}: expected uint8 pixels 0-255 or floats in [0, 1], got {array.dtype}")


def _read_picture(path):
    """A (28, 28) uint8 grayscale image read with Pillow (an optional dependency, imported here);
    other sizes are resized with a note on stderr."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        fail(f"reading {path.suffix or 'image'} files needs Pillow, which is not installed: {IMAGE_HINT} "
             f"(or pass a .npy array)")
    try:
        with Image.open(path) as img:
            img = img.convert("L")
            if img.size != (28, 28):
                print(f"note: {path} is {img.size[0]}x{img.size[1]}; resized to 28x28 (MNIST digits are "
                      f"about 20x20, centred in a 28x28 frame)", file=sys.stderr)
                img = img.resize((28, 28), Image.Resampling.LANCZOS)
            return np.asarray(img, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as err:
        fail(f"cannot read image {path}: {err}")


def load_image(path, invert=False):
    """A (28, 28) uint8 image, white digit on black background (MNIST's convention)."""
    path = Path(path)
    if not path.is_file():
        fail(f"image {path} does not exist")
    image = _read_npy(path) if path.suffix.lower() == ".npy" else _read_picture(path)
    if invert:
        image = 255 - image
    elif image.mean() > 127:
        print(f"note: {path} looks like a dark digit on a light background; the models expect a white "
              f"digit on black (MNIST), pass --invert", file=sys.stderr)
    return image


def cmd_predict(args):
    images = np.stack([load_image(p, args.invert) for p in args.images])  # bad paths fail before loading weights
    model, name, path = load_for_cli(args)
    with no_grad():
        probs = model(Tensor(normalize(images))).softmax(axis=1).numpy().astype(np.float64)
    entries = []
    for p, row in zip(args.images, probs):
        digit = int(row.argmax())
        entries.append({"path": str(p), "digit": digit, "probability": float(row[digit]),
                        "probabilities": [round(float(v), 6) for v in row]})
        if not args.json:
            print(f"{p}: {digit} (probability {row[digit]:.4f})")
    if args.json:
        print(json.dumps({"command": "predict", "model": name, "weights": str(path), "predictions": entries}))
    return 0
