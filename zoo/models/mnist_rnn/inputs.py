"""What `zoo predict mnist_lstm|mnist_gru` accepts, read without TensorFlow where it can be:
.npy arrays of one 28x28 image or a stack of them (N, 28, 28), and image files (PNG, JPEG, GIF,
BMP), which TensorFlow decodes later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import DataError, UsageError

ACCEPTED = "a PNG/JPEG/GIF/BMP image, or a .npy array of one 28x28 image or of N (N, 28, 28)"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")


def read_array(path: Path) -> np.ndarray:
    """The uint8 images (N, 28, 28) of a .npy file: uint8 pixels, or floats in [0, 1]."""
    try:
        images = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{path} is not a readable .npy array ({error})") from None
    if images.shape == (28, 28):
        images = images[None]
    if images.ndim != 3 or images.shape[1:] != (28, 28) or not len(images):
        raise DataError(f"{path} holds an array of shape {images.shape}; expected (28, 28) or "
                        "(N, 28, 28)")
    if images.dtype != np.uint8:
        if not (np.issubdtype(images.dtype, np.floating) and 0 <= images.min()
                and images.max() <= 1):
            raise DataError(f"{path} holds {images.dtype} values; expected uint8 pixels "
                            "(0-255) or floats in [0, 1]")
        images = np.round(images * 255).astype(np.uint8)
    return images


def check_images(inputs: list[str], options: dict[str, Any]) -> None:
    for name in inputs:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"image {name!r} does not exist; expected {ACCEPTED}")
        if path.suffix.lower() == ".npy":
            read_array(path)
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            raise UsageError(f"image {name!r} has suffix {path.suffix!r}; expected {ACCEPTED}")
