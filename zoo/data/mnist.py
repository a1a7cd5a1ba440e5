"""MNIST digits as `keras.datasets.mnist.load_data()` yields them, pixels scaled to [0, 1].

The `mnist.npz` (keras' format: `x_train` (60000, 28, 28) uint8, `y_train`, `x_test`, `y_test`)
comes from the data directory when it holds `mnist/mnist.npz`, else from keras' download.
Validation is held out from the end of the 60,000 training images.
"""

from __future__ import annotations

import zipfile
import zlib

import numpy as np

from zoo.config import HeldOutRecipe
from zoo.data.files import DataFile, download, find_local
from zoo.data.pipeline import Datasets, array_datasets
from zoo.errors import DataError

RELATIVE_PATH = "mnist/mnist.npz"
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def locate(data_dir) -> DataFile:
    """The checked local `mnist/mnist.npz`, else keras' cached download."""
    return find_local(data_dir, RELATIVE_PATH) or download(
        "mnist.npz", ORIGIN, KERAS_SHA256, data_dir=data_dir, relative=RELATIVE_PATH
    )


def read(path) -> dict[str, np.ndarray]:
    """The four arrays of keras' `mnist.npz` (plain numeric arrays: nothing is unpickled)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path} is not a readable MNIST .npz file ({error})") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise DataError(
                f"{path}: x_{split} {x.shape} and y_{split} {y.shape} are not "
                "(n, 28, 28) images with (n,) labels"
            )
    return arrays


def scale(images: np.ndarray) -> np.ndarray:
    return images.astype("float32") / 255.0


def random_shift(pixels: int):
    """`shift(image, seed)` moves an image by up to `pixels` rows and columns, filling with
    background (0); the same seed gives the same shift."""

    import tensorflow as tf

    def shift(image, seed):
        padded = tf.pad(image, [[pixels, pixels], [pixels, pixels]])
        return tf.image.stateless_random_crop(padded, tf.shape(image), seed=seed)

    return shift


def load(recipe: HeldOutRecipe, data_dir) -> Datasets:
    """Pipelines for a recipe; one with `shift_pixels` > 0 randomly shifts training images."""
    found = locate(data_dir)
    arrays = read(found.path)
    info = {"dataset": "mnist", "path": str(found.path), "file": found.file,
            "sha256": found.sha256,
            "source": found.source}
    shift_pixels = getattr(recipe, "shift_pixels", 0)
    augment = random_shift(shift_pixels) if shift_pixels else None
    return array_datasets(scale(arrays["x_train"]), arrays["y_train"].astype("int64"),
                          scale(arrays["x_test"]), arrays["y_test"].astype("int64"),
                          recipe, info, augment)
