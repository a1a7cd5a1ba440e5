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
from zoo.models.text8_bigram_lstm.inputs import MAX_SAMPLE, read_prime
from zoo.models.text8_bigram_lstm.sampling import context_ids, sample_ids
from zoo.serving import after
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
        # checked before anything reads them, as `zoo sample` checks them
        checks = [
            tf.debugging.assert_positive(length, message="length must be at least 1"),
            tf.debugging.assert_less_equal(length, MAX_SAMPLE,
                                           message=f"length must be at most {MAX_SAMPLE}"),
            tf.debugging.assert_equal(tf.math.is_finite(temperature) & (temperature > 0), True,
                                      message="temperature must be a finite number above 0"),
            tf.debugging.assert_non_negative(seed, message="seed must be 0 or more"),
        ]
        length, temperature, seed = after(checks, length, temperature, seed)
        ids = sample_ids(model, context_ids(prime), length, temperature, seed)
        return {"text": prime + tf.strings.reduce_join(tf.gather(alphabet, ids))}

    return Serving({"serving_default": serving_default, "sample": sample})


def serving_examples(recipe, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    return {"serving_default": {"prefix": ["the film", "a", "good actor "]},
            "sample": {"prime": "the ", "length": 30, "temperature": 0.8, "seed": 5}}


def predict_samples(loaded, inputs: list[str], options: dict[str, Any]
                    ) -> tuple[list[str], list[str]]:
    """`zoo predict`: each prime (lowercased, with a note, unless `options["keep_case"]`)
    followed by `length` sampled characters."""
    primes, notes = [], []
    for prime in inputs:
        read, note = read_prime(prime, options.get("keep_case", False))
        primes.append(read)
        notes += [note] if note else []
    sample = loaded.signatures["sample"]
    lines = [sample(prime=tf.constant(prime), length=tf.constant(options["length"]),
                    temperature=tf.constant(options["temperature"], tf.float32),
                    seed=tf.constant(options["seed"]))["text"].numpy().decode()
             for prime in primes]
    return lines, notes
