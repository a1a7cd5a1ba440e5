"""The language model's metric."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class Perplexity(keras.metrics.Mean):
    """exp(mean cross-entropy) of integer targets under logits: per-symbol perplexity."""

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(nats, sample_weight=sample_weight)

    def result(self):
        return ops.exp(super().result())
