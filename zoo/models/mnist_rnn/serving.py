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

from zoo.errors import DataError
from zoo.models.mnist_rnn.inputs import ACCEPTED, read_array
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


def predict_digits(loaded, inputs: list[str], options: dict[str, Any]
                   ) -> tuple[list[str], list[str]]:
    """`zoo predict`: each image's digit and its probability, one line per image (a stacked
    .npy array gives one per image in it). Images are read as MNIST draws them, a light digit
    on a dark background: a dark-on-light image is inverted, and another size is resized, each
    with a note; `options["invert"]` ("auto", "yes" or "no") overrides the inversion."""
    images, names, notes = [], [], []
    for name in inputs:
        read, read_notes = read_images(Path(name), options.get("invert", "auto"))
        images.append(read)
        notes += read_notes
        names += [name] if len(read) == 1 else [f"{name}[{i}]" for i in range(len(read))]
    result = loaded.signatures["serving_default"](images=tf.constant(np.concatenate(images)))
    lines = [f"{digit} (probability {p[digit]:.4f}): {name}" for digit, p, name
             in zip(result["class"].numpy(), result["probabilities"].numpy(), names)]
    return lines, notes


def read_images(path: Path, invert: str = "auto") -> tuple[np.ndarray, list[str]]:
    """(N, 28, 28) uint8 images, white digit on black as MNIST, from a .npy array or an image
    file (colour turned to grey, another size resized), and notes on what was changed."""
    notes = []
    if path.suffix.lower() == ".npy":
        images = read_array(path)
    else:
        try:
            decoded = tf.io.decode_image(path.read_bytes(), channels=1, expand_animations=False)
        except tf.errors.InvalidArgumentError:
            raise DataError(f"{path} is not {ACCEPTED}") from None
        height, width = decoded.shape[:2]
        if (height, width) != (28, 28):
            decoded = tf.image.resize(decoded, (28, 28), antialias=True)
            notes.append(f"{path} is {width}x{height} pixels; resized to 28x28"
                         + ("" if height == width else ", which changes its proportions"))
        images = np.asarray(tf.cast(tf.round(decoded[:, :, 0]), tf.uint8))[None]
    dark_on_light = [bool(np.median(border(image)) > 127) for image in images]
    if invert == "yes" or (invert == "auto" and any(dark_on_light)):
        flip = [True] * len(images) if invert == "yes" else dark_on_light
        images = np.where(np.array(flip)[:, None, None], 255 - images, images).astype(np.uint8)
        if invert == "auto":
            notes.append(f"{path}: {sum(flip)} of {len(images)} images look dark on a light "
                         "background; inverted to MNIST's light on dark (--invert no keeps them)")
    return images, notes


def border(image: np.ndarray) -> np.ndarray:
    """The pixels of an image's outermost rows and columns: its background."""
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])
