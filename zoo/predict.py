"""`zoo predict`: run an exported SavedModel on what a person has: review text, digit images,
a prime for the language model. Needs no data directory and no `zoo` model code: only the
SavedModel's signatures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.errors import DataError, UsageError
from zoo.export import SAVED_MODELS, versions

REPO_SAVED_MODELS = Path(__file__).resolve().parent.parent / SAVED_MODELS


def resolve_saved_model(model: str) -> Path:
    """A registered model's newest version under ./saved_models (else the repository's), or
    a folder holding a SavedModel."""
    from zoo.registry import REGISTRY

    if model in REGISTRY:
        for root in (SAVED_MODELS, REPO_SAVED_MODELS):
            found = [v for v in versions(root / model)
                     if (root / model / str(v) / "saved_model.pb").is_file()]
            if found:
                return root / model / str(found[-1])
        raise UsageError(f"no export of {model} under {SAVED_MODELS / model}; make one with "
                         "`zoo export RUN_DIR`, or pass the path of a SavedModel")
    path = Path(model).expanduser()
    if not (path / "saved_model.pb").is_file():
        raise UsageError(f"{model!r} is neither a registered model nor a folder holding a "
                         "SavedModel (saved_model.pb)")
    return path


def predict(model: str, inputs: list[str], *, length: int = 200, temperature: float = 1.0,
            seed: int = 1) -> list[str]:
    """One printable line per input."""
    path = resolve_saved_model(model)
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as error:  # TF raises several types for a damaged SavedModel
        reason = " ".join(str(error).split())[:200]
        raise DataError(f"cannot load the SavedModel in {path}: {reason}") from None
    signatures = loaded.signatures
    # every input is checked before any is run: one bad input, one error, no partial output
    if "predict_text" in signatures:
        for text in inputs:
            if not text.strip():
                raise UsageError("review text '' is empty; expected the words of a review")
        probabilities = signatures["predict_text"](text=tf.constant(inputs))["probability"]
        return [f"{p:.4f} {'positive' if p >= 0.5 else 'negative'}: {text}"
                for p, text in zip(probabilities.numpy(), inputs)]
    if "sample" in signatures:
        from zoo.models.text8_bigram_lstm import check_sampling

        for prime in inputs:
            check_sampling(prime, length, temperature, seed)
        return [signatures["sample"](prime=tf.constant(prime), length=tf.constant(length),
                                     temperature=tf.constant(temperature, tf.float32),
                                     seed=tf.constant(seed))["text"].numpy().decode()
                for prime in inputs]
    serving = signatures.get("serving_default")
    if serving is None or "images" not in serving.structured_input_signature[1]:
        raise UsageError(f"{path} is not a zoo export: it has none of the signatures "
                         "predict_text, sample, or serving_default taking images")
    images = np.stack([read_digit(Path(image)) for image in inputs])
    result = serving(images=tf.constant(images))
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
