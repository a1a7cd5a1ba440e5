"""mnist_lstm and mnist_gru: the TF1 tutorials' row-sequence classifiers on MNIST."""

from __future__ import annotations

import functools

import keras

from zoo.data import mnist
from zoo.models.mnist_rnn import recipe, report, serving, tutorial
from zoo.models.mnist_rnn.model import COLUMNS, ROWS, build
from zoo.spec import Comparison, ModelSpec

TUTORIAL_MNIST = "~0.97 on the first 128 test images (TF1 tutorial)"


def example_batch(recipe, batch_size, rng):
    images = rng.random((batch_size, ROWS, COLUMNS), dtype="float32")
    return images, rng.integers(0, 10, size=(batch_size,)).astype("int64")


def mnist_spec(name: str, cell: str, input_projection: bool) -> ModelSpec:
    return ModelSpec(
        name=name,
        family="mnist_rnn",
        task="digit classification",
        dataset="MNIST (28 rows of 28 pixels)",
        reference=TUTORIAL_MNIST,
        recipe=recipe.MnistRnnRecipe(cell=cell, input_projection=input_projection),
        smoke=recipe.SMOKE,
        params=recipe.PARAMS[cell],
        build_model=build,
        load_data=mnist.load,
        loss=lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=lambda: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        example_batch=example_batch,
        serving=serving.digit_serving,
        serving_examples=serving.serving_examples,
        predict=serving.predict_digits,
        report=functools.partial(report.digit_report, title=name),
        search_space=recipe.SEARCH_SPACE,
        objective=("val_accuracy", "max"),
        comparison=Comparison(tutorial.bench_loop(cell), window_steps=40),
    )


SPECS = [mnist_spec("mnist_lstm", "lstm", True), mnist_spec("mnist_gru", "gru", False)]
