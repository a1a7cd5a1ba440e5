"""imdb_reviews_bilstm's export: raw review text in, the vectorization inside the graph.

    serving_default  text string (batch,) -> probability (batch,)
    read             text string (batch,) -> words, words_read, known_words_read (batch,)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.models.imdb_lstm.inputs import shown
from zoo.spec import Serving


def text_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
    # every word of a review, not only those read: the same vocabulary and splitting as the
    # model's own layer, without its length limit
    every_word = keras.layers.TextVectorization(
        vocabulary=model.vectorize.get_vocabulary()[2:], ragged=True)

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
    def serving_default(text):
        return {"probability": tf.sigmoid(model(text, training=False))[:, 0]}

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
    def read(text):
        ids = model.vectorize(text)
        return {"words": tf.cast(every_word(text).row_lengths(), tf.int32),
                "words_read": tf.reduce_sum(tf.cast(ids > 0, tf.int32), axis=1),
                "known_words_read": tf.reduce_sum(tf.cast(ids > 1, tf.int32), axis=1)}

    return Serving({"serving_default": serving_default, "read": read},
                   resources=[model.vectorize, every_word])


def serving_examples(recipe, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    texts = ["A wonderful, moving film.", "dull and far too long", "w1 w2 w3 " * 10]
    return {"serving_default": {"text": texts}, "read": {"text": texts}}


def predict_reviews(loaded, inputs: list[str], options: dict[str, Any]
                    ) -> tuple[list[str], list[str]]:
    """`zoo predict`: positive or negative and the probability of positive, one line per
    review; notes say how many words were read, and when none was known."""
    text = tf.constant(inputs)
    probability = loaded.signatures["serving_default"](text=text)["probability"].numpy()
    read = {k: v.numpy() for k, v in loaded.signatures["read"](text=text).items()}
    lines, notes = [], []
    for i, review in enumerate(inputs):
        label = "positive" if probability[i] >= 0.5 else "negative"
        lines.append(f"{label} (probability of positive {probability[i]:.4f}): {shown(review)}")
        words, taken, known = read["words"][i], read["words_read"][i], \
            read["known_words_read"][i]
        if taken < words:
            notes.append(f"{shown(review)}: read its first {taken} of {words} words")
        if known == 0:
            notes.append(f"{shown(review)}: none of its words is in the vocabulary; the "
                         "probability says nothing about it")
    return lines, notes
