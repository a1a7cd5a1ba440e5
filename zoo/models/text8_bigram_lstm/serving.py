"""The language model's export: its signatures, example calls of them, and `zoo predict`'s
reading of a prime.

    serving_default  prefix string (batch,)  -> probabilities (batch, 27), next_character (batch,)
    sample           prime string (), length int32 (), temperature float32 (), seed int32 ()
                                             -> text string ()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.data import text8
from zoo.models.text8_bigram_lstm.sampling import check_sampling, context_ids, sample_ids
from zoo.spec import Serving


def text_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
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


def serving_examples(recipe, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    return {"serving_default": {"prefix": ["the film", "a", "good actor "]},
            "sample": {"prime": "the ", "length": 30, "temperature": 0.8, "seed": 5}}


def predict_samples(loaded, inputs: list[str], options: dict[str, Any]) -> list[str]:
    """`zoo predict`: each prime followed by `length` sampled characters."""
    length, temperature, seed = options["length"], options["temperature"], options["seed"]
    for prime in inputs:  # every input is checked before any is run
        check_sampling(prime, length, temperature, seed)
    return [loaded.signatures["sample"](prime=tf.constant(prime), length=tf.constant(length),
                                        temperature=tf.constant(temperature, tf.float32),
                                        seed=tf.constant(seed))["text"].numpy().decode()
            for prime in inputs]
