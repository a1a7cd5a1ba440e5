"""The serving signatures of each model family: what an exported SavedModel takes and returns.

Each builder returns `tf.function`s with fixed input signatures (named inputs, fixed dtypes)
that return dicts (named outputs), plus any TensorFlow resources they use (lookup tables)
that the export must carry. Everything a signature needs (the word index, the alphabet)
is inside the SavedModel, so it runs with TensorFlow alone.

    imdb_lstm         serving_default  token_ids int32 (batch, 80)   -> probability (batch,)
                      predict_text     text string (batch,)          -> probability (batch,)
                      tokenize         text string (batch,)          -> token_ids (batch, 80)
    mnist_*           serving_default  images uint8 (batch, 28, 28)  -> probabilities (batch, 10),
                                                                        class int64 (batch,)
    text8_bigram_lstm serving_default  prefix string (batch,)        -> probabilities (batch, 27),
                                                                        next_character (batch,)
                      sample           prime string (), length int32 (), temperature float32 (),
                                       seed int32 ()                 -> text string ()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from zoo.data import imdb, text8


@dataclass
class Serving:
    """Signatures (name -> `tf.function` with an input signature) and the resources they use."""

    signatures: dict[str, Any]
    resources: list = field(default_factory=list)


def check_shape(tensor: tf.Tensor, shape: tuple, name: str) -> tf.Tensor:
    """A loaded signature does not check its input's shape: refuse a wrong one in one line
    rather than deep inside the recurrent loop. Returns `tensor`, usable only after the check
    (a check nothing depends on may run after the model has failed on the input)."""
    wanted = ", ".join("batch" if d is None else str(d) for d in shape)
    check = tf.debugging.assert_equal(tf.shape(tensor)[1:], tf.constant(shape[1:], tf.int32),
                                      message=f"{name} must have shape ({wanted})")
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def review_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
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


def digit_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28), tf.uint8, name="images")])
    def serving_default(images):
        images = check_shape(images, (None, 28, 28), "images")
        logits = model(tf.cast(images, tf.float32) / 255.0, training=False)
        return {"probabilities": tf.nn.softmax(logits),
                "class": tf.argmax(logits, axis=-1, output_type=tf.int64)}

    return Serving({"serving_default": serving_default})


def text_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
    from zoo.models.text8_bigram_lstm import context_ids, sample_ids

    alphabet = tf.constant(list(text8.ALPHABET))

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="prefix")])
    def serving_default(prefix):
        def next_probabilities(text):
            ids = context_ids(text)
            logits = model(text8.bigram_ids(ids)[None], training=False)
            return tf.nn.softmax(logits[0, -1])

        probabilities = tf.map_fn(next_probabilities, prefix,
                                  fn_output_signature=tf.TensorSpec((text8.VOCAB,), tf.float32))
        return {"probabilities": probabilities,
                "next_character": tf.gather(alphabet, tf.argmax(probabilities, axis=-1))}

    @tf.function(input_signature=[
        tf.TensorSpec((), tf.string, name="prime"), tf.TensorSpec((), tf.int32, name="length"),
        tf.TensorSpec((), tf.float32, name="temperature"), tf.TensorSpec((), tf.int32, name="seed"),
    ])
    def sample(prime, length, temperature, seed):
        tf.debugging.assert_positive(length, message="length must be at least 1")
        tf.debugging.assert_positive(temperature, message="temperature must be above 0")
        ids = sample_ids(model, context_ids(prime), length, temperature, seed)
        return {"text": prime + tf.strings.reduce_join(tf.gather(alphabet, ids))}

    return Serving({"serving_default": serving_default, "sample": sample})
