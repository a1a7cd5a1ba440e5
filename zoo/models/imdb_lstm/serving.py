"""imdb_lstm's export: its signatures, example calls of them, and `zoo predict`'s reading of
review text.

    serving_default  token_ids int32 (batch, 80)  -> probability (batch,)
    predict_text     text string (batch,)         -> probability (batch,)
    tokenize         text string (batch,)         -> token_ids (batch, 80)

`zoo predict` checks its inputs first without TensorFlow (`inputs.py`), then reads them here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.data import imdb
from zoo.models.imdb_lstm.inputs import shown, words
from zoo.serving import after, check_shape
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
        # an out-of-range id would be read as another word (a negative one wraps around)
        in_range = tf.debugging.assert_equal(
            tf.reduce_all((token_ids >= 0) & (token_ids < recipe.vocab_size)), True,
            message=f"token_ids must be word ids from 0 to {recipe.vocab_size - 1}")
        token_ids = after([in_range], token_ids)
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


def predict_reviews(loaded, inputs: list[str], options: dict[str, Any]
                    ) -> tuple[list[str], list[str]]:
    """`zoo predict`: each review's probability of being positive, how many of its words the
    model read and knew, and notes where that makes the figure weak. A review longer than the
    model's window is judged by its last words, or with `options["read_all"]` by the mean over
    consecutive windows that cover it all."""
    signatures = loaded.signatures
    tokens = signatures["tokenize"](text=tf.constant(inputs))["token_ids"].numpy()
    window = tokens.shape[1]
    probabilities = signatures["serving_default"](token_ids=tf.constant(tokens))["probability"]
    lines, notes = [], []
    for text, ids, p in zip(inputs, tokens, probabilities.numpy()):
        count = len(words(text))
        read = min(count, window)
        known = int(np.sum(ids >= imdb.INDEX_FROM))
        detail = f"{known} of {read} words known"
        if count > window:
            if options.get("read_all"):
                p = _mean_over_windows(signatures, words(text), window)
                detail += f"; mean over {-(-count // (window - 1))} windows of all {count} words"
            else:
                detail += f"; read the last {read} of {count} words"
                notes.append(f"{shown(text)} has {count} words; the model read its last "
                             f"{read} (--read-all averages over windows covering them all)")
        if known == 0:
            notes.append(f"{shown(text)}: none of its words is in the model's vocabulary, so "
                         f"{p:.4f} says nothing about it")
        label = "positive" if p >= 0.5 else "negative"
        lines.append(f"{p:.4f} {label}: {shown(text)} ({detail})")
    return lines, notes


def _mean_over_windows(signatures, review_words: list[str], window: int) -> float:
    """The mean probability over consecutive pieces of `window - 1` words, each read as a
    whole review (a start id, then its words), as the training data was made."""
    size = window - 1
    pieces = [" ".join(review_words[i:i + size]) for i in range(0, len(review_words), size)]
    ids = signatures["tokenize"](text=tf.constant(pieces))["token_ids"]
    return float(np.mean(signatures["serving_default"](token_ids=ids)["probability"].numpy()))
