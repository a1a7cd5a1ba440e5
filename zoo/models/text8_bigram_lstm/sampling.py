"""Text from the language model: a prime's character ids checked in the graph, then sampled
characters, the same graph for `zoo sample` and the exported `sample` signature."""

from __future__ import annotations

import tensorflow as tf

from zoo.data.text8 import BYTE_TO_ID, VOCAB, bigram_ids, decode
from zoo.models.text8_bigram_lstm.inputs import check_sampling, read_prime
from zoo.models.text8_bigram_lstm.model import BigramLanguageModel
from zoo.serving import after


def context_ids(text):
    """Character ids (int32) of a scalar string tensor of `[a-z ]`, checked inside the graph
    before anything reads them. A one-character text is read as following a space: the first
    bigram needs two."""
    byte_to_id = tf.constant(list(BYTE_TO_ID), tf.int32)
    ids = tf.gather(byte_to_id, tf.cast(tf.io.decode_raw(text, tf.uint8), tf.int32))
    checks = [tf.debugging.assert_greater(tf.size(ids), 0, message="the text is empty"),
              tf.debugging.assert_less(ids, VOCAB,
                                       message="the text has characters outside [a-z ]")]
    ids = after(checks, ids)
    return tf.cond(tf.size(ids) > 1, lambda: ids, lambda: tf.concat([[0], ids], 0))


@tf.function(reduce_retracing=True)
def sample_ids(model, context, length, temperature, seed):
    logits, state = model(bigram_ids(context)[None], initial_state=None, return_state=True)
    logits = logits[:, -1]
    previous = context[-1]
    sampled = tf.TensorArray(tf.int32, size=length)
    for i in tf.range(length):
        drawn = tf.random.stateless_categorical(logits / temperature, 1,
                                                seed=tf.stack([seed, i]), dtype=tf.int32)[0, 0]
        sampled = sampled.write(i, drawn)
        step_input = tf.reshape(previous * VOCAB + drawn, (1, 1))
        logits, state = model(step_input, initial_state=state, return_state=True)
        logits = logits[:, -1]
        previous = drawn
    return sampled.stack()


def sample(model: BigramLanguageModel, prime: str, length: int, temperature: float = 1.0,
           seed: int = 1) -> str:
    """`prime` followed by `length` sampled characters; the same seed gives the same text."""
    check_sampling(prime, length, temperature, seed)
    ids = sample_ids(model, context_ids(tf.constant(prime)), tf.constant(length, tf.int32),
                     tf.constant(temperature, tf.float32), tf.constant(seed, tf.int32))
    return prime + decode(ids.numpy())


def sample_text(model: BigramLanguageModel, prime: str, length: int, temperature: float,
                seed: int, keep_case: bool = False) -> tuple[str, list[str]]:
    """`zoo sample`: `sample` from the prime as the model reads it (lowercased unless
    `keep_case`), and a note when that differs from the one given."""
    read, note = read_prime(prime, keep_case)
    return sample(model, read, length, temperature, seed), [note] if note else []
