"""The one registry: a model's name maps to its model, data, loss, metrics and default recipe."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from zoo import reports, serving
from zoo.config import Recipe
from zoo.data import imdb, mnist, text8
from zoo.data.pipeline import Datasets
from zoo.errors import UsageError
from zoo.models import imdb_lstm, mnist_rnn, text8_bigram_lstm


@dataclass(frozen=True)
class ModelSpec:
    """Everything the runner, the command line and the tests need to know about one model.

    Attributes:
        name: the registry key, as typed on the command line.
        task, dataset, reference: shown by `zoo list`; `reference` is the tutorial's figure.
        recipe: the default recipe; its fields are the settings `--set` accepts.
        build_model: recipe -> an unbuilt `ZooModel`.
        load_data: (recipe, data directory or None) -> `Datasets`.
        loss, metrics: fresh loss and metric objects for `compile`.
        example_batch: (recipe, batch size, numpy Generator) -> (inputs, targets) of the
            right shapes, dtypes and ranges; builds the model and feeds the test battery.
        serving: (trained model, recipe, data directory or None) -> the `serving.Serving`
            signatures of its SavedModel export.
        smoke: overrides that shrink the recipe for a fast run of the same code path.
        search_space: recipe setting -> candidate values, for `zoo tune`.
        objective: (validation metric, "min" or "max") that `zoo tune` optimizes.
        evaluate: (trained model, `Datasets`) -> test figures, instead of the compiled
            metrics over `Datasets.test` (a language model scores its held-out stream with
            the state carried).
        report: (trained model, `Datasets`, run directory) -> extra test figures for
            `metrics.json`; may also draw pictures into the run directory.
    """

    name: str
    task: str
    dataset: str
    reference: str
    recipe: Recipe
    build_model: Callable[[Any], keras.Model]
    load_data: Callable[[Any, Any], Datasets]
    loss: Callable[[], keras.losses.Loss]
    metrics: Callable[[], list]
    example_batch: Callable[[Any, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
    serving: Callable[[keras.Model, Any, Path | None], Any]
    smoke: dict[str, Any] = field(default_factory=dict)
    search_space: dict[str, list] = field(default_factory=dict)
    objective: tuple[str, str] = ("val_loss", "min")
    evaluate: Callable[[keras.Model, Datasets], dict[str, float]] | None = None
    report: Callable[[keras.Model, Datasets, Path], dict[str, float]] | None = None


def _review_batch(recipe, batch_size, rng):
    ids = rng.integers(0, recipe.vocab_size, size=(batch_size, recipe.sequence_length))
    return ids.astype("int32"), rng.integers(0, 2, size=(batch_size,)).astype("float32")


def _digit_batch(recipe, batch_size, rng):
    images = rng.random((batch_size, mnist_rnn.ROWS, mnist_rnn.COLUMNS), dtype="float32")
    return images, rng.integers(0, 10, size=(batch_size,)).astype("int64")


def _bigram_batch(recipe, batch_size, rng):
    chars = rng.integers(0, text8.VOCAB, size=(batch_size, recipe.unrollings + 2))
    return (text8.bigram_ids(chars[:, :-1]).astype("int32"), chars[:, 2:].astype("int32"))


TUTORIAL_MNIST = "~0.97 on the first 128 test images (TF1 tutorial)"


def _mnist_spec(name: str, cell: str, input_projection: bool, reference: str) -> ModelSpec:
    return ModelSpec(
        name=name,
        task="digit classification",
        dataset="MNIST (28 rows of 28 pixels)",
        reference=reference,
        recipe=mnist_rnn.MnistRnnRecipe(cell=cell, input_projection=input_projection),
        build_model=mnist_rnn.build,
        load_data=mnist.load,
        loss=lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=lambda: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        example_batch=_digit_batch,
        smoke=dict(units=8, batch_size=16, epochs=1),
        report=functools.partial(reports.digit_report, title=name),
        serving=serving.digit_serving,
        search_space=dict(units=[64, 128, 256], learning_rate=[1e-3, 3e-3, 1e-2],
                          batch_size=[64, 128, 256], shift_pixels=[0, 1, 2]),
        objective=("val_accuracy", "max"),
    )


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="imdb_lstm",
            task="binary sentiment",
            dataset="IMDB (10k words, 80 ids)",
            reference="83.4% test accuracy (TF2 tutorial)",
            recipe=imdb_lstm.ImdbLstmRecipe(),
            build_model=imdb_lstm.build,
            load_data=imdb.load,
            loss=keras.losses.BinaryCrossentropy,
            metrics=lambda: [keras.metrics.BinaryAccuracy(name="accuracy")],
            example_batch=_review_batch,
            smoke=dict(vocab_size=50, sequence_length=6, embedding_dim=8, units=4, batch_size=8),
            serving=serving.review_serving,
            search_space=dict(units=[32, 64, 128], embedding_dim=[32, 64, 100, 128],
                              dropout=[0.0, 0.2, 0.4], learning_rate=[5e-4, 1e-3, 2e-3, 4e-3],
                              batch_size=[64, 128, 256], clip_norm=[None, 1.0, 5.0],
                              lr_schedule=["constant", "cosine"]),
            objective=("val_accuracy", "max"),
        ),
        _mnist_spec("mnist_lstm", "lstm", True, TUTORIAL_MNIST),
        _mnist_spec("mnist_gru", "gru", False, TUTORIAL_MNIST),
        ModelSpec(
            name="text8_bigram_lstm",
            task="character language model",
            dataset="text8-format corpus (27 symbols)",
            reference="valid perplexity ~4.25 after 7001 steps (Udacity 6_lstm)",
            recipe=text8_bigram_lstm.BigramLstmRecipe(),
            build_model=text8_bigram_lstm.build,
            load_data=text8.load,
            loss=lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=lambda: [text8_bigram_lstm.Perplexity()],
            example_batch=_bigram_batch,
            smoke=dict(embedding_dim=8, units=8, unrollings=5, batch_size=4, steps_per_epoch=3,
                       epochs=2, valid_chars=20, heldout_chars=50),
            evaluate=text8_bigram_lstm.perplexity_report,
            serving=serving.text_serving,
            search_space=dict(units=[128, 256, 512], embedding_dim=[64, 128],
                              dropout=[0.0, 0.1, 0.2], learning_rate=[2e-3, 5e-3, 1e-2]),
        ),
    ]
}


def get_spec(name: str) -> ModelSpec:
    """The registered model called `name`; an unknown name lists the accepted ones."""
    if name not in REGISTRY:
        raise UsageError(f"unknown model {name!r}; registered models: {', '.join(REGISTRY)}")
    return REGISTRY[name]
