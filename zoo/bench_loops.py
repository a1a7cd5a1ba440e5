"""Training loops that `zoo bench` times: Keras' compiled step on a persistent iterator, used
for the zoo's side of every model and for a tutorial written as a `keras.Model`."""

from __future__ import annotations

import math


class KerasLoop:
    """`model.fit`'s inner loop without its callbacks: the compiled train function called on
    one persistent iterator over the (repeated) training pipeline.

    `predictor(batch) -> callable` (set by whoever builds the loop) gives a forward pass on
    `batch` examples, for the inference figures."""

    def __init__(self, model, dataset, examples_per_step: int):
        self.model = model
        self.dataset = dataset
        self.examples_per_step = examples_per_step
        self.iterator = None
        self.predictor = None

    def run(self, steps: int) -> int:
        """Trains about `steps` steps, whole calls of the compiled function (the first call:
        `fit` on one call's batches, which builds the step); returns how many."""
        ran = 0
        per_call = self.model.steps_per_execution
        if self.iterator is None:  # the first call builds the step as `fit` does
            self.model.fit(self.dataset.repeat().take(per_call), epochs=1, verbose=0,
                           shuffle=False)
            # and the iterator goes on from the batches `fit` trained on (a seeded order, a
            # text stream whose state the model carries)
            self.iterator = iter(self.dataset.repeat().skip(per_call))
            ran = per_call
        logs = None
        for _ in range(math.ceil(max(0, steps - ran) / per_call)):
            logs = self.model.train_function(self.iterator)
            ran += per_call
        if logs is not None:
            float(logs.get_value()["loss"] if hasattr(logs, "get_value") else logs["loss"])
        return ran


def keras_predictor(model, example, batch: int):
    """A Keras model's own forward pass on `batch` copies of `example[:1]` (it may refuse the
    size)."""
    import tensorflow as tf

    inputs = tf.repeat(example[:1], batch, axis=0)
    predict = tf.function(lambda x: model(x, training=False))
    predict(inputs)
    return lambda: predict(inputs)
