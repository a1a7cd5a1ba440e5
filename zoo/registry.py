"""The one registry: a model's name maps to its model, data, loss, metrics and default recipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from zoo.config import Recipe
from zoo.data import imdb
from zoo.data.pipeline import Datasets
from zoo.errors import UsageError
from zoo.models import imdb_lstm


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
        smoke: overrides that shrink the recipe for a fast run of the same code path.
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
    smoke: dict[str, Any] = field(default_factory=dict)


def _review_batch(recipe, batch_size, rng):
    ids = rng.integers(0, recipe.vocab_size, size=(batch_size, recipe.sequence_length))
    return ids.astype("int32"), rng.integers(0, 2, size=(batch_size,)).astype("float32")


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
            metrics=lambda: [
                keras.metrics.BinaryAccuracy(name="accuracy"),
                keras.metrics.AUC(name="auc"),
            ],
            example_batch=_review_batch,
            smoke=dict(vocab_size=50, sequence_length=6, embedding_dim=8, units=4, batch_size=8),
        ),
    ]
}


def get_spec(name: str) -> ModelSpec:
    """The registered model called `name`; an unknown name lists the accepted ones."""
    if name not in REGISTRY:
        raise UsageError(f"unknown model {name!r}; registered models: {', '.join(REGISTRY)}")
    return REGISTRY[name]
