"""The MNIST classifiers' export: the signature, an example call, and `zoo predict`'s reading
of digit images.

    serving_default  images uint8 (batch, 28, 28)  -> probabilities (batch, 10), class (batch,)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import DataError, UsageError
from zoo.serving import check_shape
from zoo.spec import Serving


def digit_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28), tf.uint8, name="images")])
    def serving_default(images):
        images = check_shape(images, (None, 28, 28), "images")
        logits = model(tf.cast(images, tf.float32) / 255.0, training=False)
        return {"probabilities": tf.nn.softmax(logits),
                "class": tf.argmax(logits, axis=-1, output_type=tf.int64)}

    return Serving({"serving_default": serving_default})


def serving_examples(recipe, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    return {"serving_default": {"images": rng.integers(0, 256, (3, 28, 28)).tolist()}}


def predict_digits(loaded, inputs: list[str], options: dict[str, Any]) -> list[str]:
    """`zoo predict`: each image's digit and its probability."""
    images = np.stack([read_digit(Path(image)) for image in inputs])
    result = loaded.signatures["serving_default"](images=tf.constant(images))
    return [f"{digit} (probability {p[digit]:.4f}): {image}" for digit, p, image
            in zip(result["class"].numpy(), result["probabilities"].numpy(), inputs)]


def read_digit(path: Path) -> np.ndarray:
    """A 28x28 uint8 image, white digit on black as MNIST, from a .npy array or an image file
    (PNG, JPEG, GIF, BMP; colour is turned to grey, other sizes resized to 28x28)."""
    accepted = "a PNG/JPEG/GIF/BMP image or a .npy array of 28x28 pixels"
    if not path.is_file():
        raise UsageError(f"image {str(path)!r} does not exist; expected {accepted}")
    if path.suffix.lower() == ".npy":
        try:
            image = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"{path} is not a readable .npy array ({error})") from None
        if image.shape != (28, 28):
            raise DataError(f"{path} holds an array of shape {image.shape}; expected (28, 28)")
        if image.dtype != np.uint8:
            if not (np.issubdtype(image.dtype, np.floating) and 0 <= image.min()
                    and image.max() <= 1):
                raise DataError(f"{path} holds {image.dtype} values; expected uint8 pixels "
                                "(0-255) or floats in [0, 1]")
            image = np.round(image * 255).astype(np.uint8)
        return image
    try:
        decoded = tf.io.decode_image(path.read_bytes(), channels=1, expand_animations=False)
    except tf.errors.InvalidArgumentError:
        raise DataError(f"{path} is not {accepted}") from None
    if decoded.shape[:2] != (28, 28):
        decoded = tf.image.resize(decoded, (28, 28), antialias=True)
    return np.asarray(tf.cast(tf.round(decoded[:, :, 0]), tf.uint8))
