"""imdb_lstm's export: its signatures, example calls of them, and `zoo predict`'s reading of
review text.

    serving_default  token_ids int32 (batch, 80)  -> probability (batch,)
    predict_text     text string (batch,)         -> probability (batch,)
    tokenize         text string (batch,)         -> token_ids (batch, 80)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.data import imdb
from zoo.errors import UsageError
from zoo.serving import check_shape
from zoo.spec import Serving


def review_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
    """The signatures; keras' word index (from the data directory or keras' download) is
    carried inside the export, so `predict_text` needs no file."""
    word_index = imdb.load_word_index(data_dir)
    ranks = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(list(word_index)),
                                            tf.constant(list(word_index.values()), tf.int64)),
        default_value=-1)

    @tf.function(input_signature=[
        tf.TensorSpec((None, recipe.sequence_length), tf.int32, name="token_ids")])
    def serving_default(token_ids):
        token_ids = check_shape(token_ids, (None, recipe.sequence_length), "token_ids")
        return {"probability": model(token_ids, training=False)[:, 0]}

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
    def tokenize(text):
        tf.debugging.assert_greater(
            tf.strings.length(tf.strings.strip(text)), 0,
            message="predict_text and tokenize need non-empty review text")
        return {"token_ids": imdb.tokenize(text, ranks, recipe.vocab_size,
                                           recipe.sequence_length)}

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
    def predict_text(text):
        return serving_default(tokenize(text)["token_ids"])

    return Serving({"serving_default": serving_default, "predict_text": predict_text,
                    "tokenize": tokenize}, [ranks])


def serving_examples(recipe, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    ids = rng.integers(0, recipe.vocab_size, size=(3, recipe.sequence_length)).tolist()
    texts = ["w4 w5 w6, W7!", "w9 w12000 unknown", "w1"]
    return {"serving_default": {"token_ids": ids}, "predict_text": {"text": texts},
            "tokenize": {"text": texts}}


def predict_reviews(loaded, inputs: list[str], options: dict[str, Any]) -> list[str]:
    """`zoo predict`: each review's probability of being positive, and the review."""
    for text in inputs:  # every input is checked before any is run
        if not text.strip():
            raise UsageError("review text '' is empty; expected the words of a review")
    probabilities = loaded.signatures["predict_text"](text=tf.constant(inputs))["probability"]
    return [f"{p:.4f} {'positive' if p >= 0.5 else 'negative'}: {text}"
            for p, text in zip(probabilities.numpy(), inputs)]
