"""Scoring a stream with the language model's state carried (the assignment's validation
perplexity and the held-out tail's), and rows each from a fresh state (the race's harness)."""

from __future__ import annotations

import math
import weakref

import numpy as np
import tensorflow as tf

from zoo.data import text8
from zoo.models.text8_bigram_lstm.metrics import nats
from zoo.models.text8_bigram_lstm.model import BigramLanguageModel


def stream_nats(model: BigramLanguageModel, chunks: tf.data.Dataset) -> tuple[float, int]:
    """Mean cross-entropy (nats per character) of a stream of (bigrams, targets) chunks of
    shape (1, time), scored in order with the state carried from chunk to chunk, as if the
    whole stream were fed one character at a time from a fresh state. Returns it and the
    number of characters scored."""

    @tf.function(reduce_retracing=True, autograph=False)
    def score(bigrams, targets, state):
        logits, state = model(bigrams, initial_state=state, return_state=True)
        return tf.reduce_sum(tf.cast(nats(targets, logits), tf.float64)), state

    state = model.zero_state(1)
    total, count = 0.0, 0
    for bigrams, targets in chunks:
        chunk_nats, state = score(bigrams, targets, state)
        total += float(chunk_nats)
        count += int(tf.size(targets))
    return total / count, count


def perplexity_report(model: BigramLanguageModel, data) -> dict[str, float]:
    """The assignment's validation perplexity on its 1000 characters, and perplexity and bits
    per character of the held-out tail, each scored as one stream."""
    valid, _ = stream_nats(model, data.validation)
    heldout, _ = stream_nats(model, data.test)
    return {
        "valid_perplexity_1000": math.exp(valid),
        "heldout_perplexity": math.exp(heldout),
        "heldout_bpc": heldout / math.log(2),
    }


_ROW_NATS = weakref.WeakKeyDictionary()  # a model's traced row scorer, traced once


def row_nats(model: BigramLanguageModel, rows: np.ndarray, _=None) -> np.ndarray:
    """Each row's mean nats per character for characters 2 onwards, each row from a zero
    state: the bigram of characters t-1 and t predicts character t+1 (the score of
    `zoo bench --to-quality`). Computed in the graph, so only one figure a row leaves it,
    chunk by chunk (the model called with `targets`)."""
    function = _ROW_NATS.get(model)
    if function is None:
        scored = weakref.ref(model)  # the cache must not keep the model alive

        @tf.function(reduce_retracing=True, autograph=False)
        def function(bigrams, targets):
            return scored()(bigrams, targets=targets)

        _ROW_NATS[model] = function
    return function(text8.bigram_ids(rows[:, :-1]).astype("int32"), rows[:, 2:]).numpy()
