"""The one place where in-memory arrays become `tf.data` pipelines. TensorFlow is imported
only when a pipeline is built: the data modules locate and check files without it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.config import HeldOutRecipe
from zoo.errors import UsageError

if TYPE_CHECKING:
    import tensorflow as tf


@dataclass
class Datasets:
    """What every dataset module hands the runner.

    Attributes:
        train: shuffled training batches.
        validation: batches held out from the training data, used during training.
        test: every test example (the last partial batch included), evaluated once.
        train_examples: examples in one pass over `train`.
        info: where the data came from (paths, sha256s), recorded in `metrics.json`.
        steps_per_epoch: batches per epoch when `train` is endless (a text stream).
        adapt: sets a fresh model's data-dependent state before training, as Keras'
            `adapt` does (a forecaster's normalization, fitted on the training part).
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    train_examples: int
    info: dict[str, Any] = field(default_factory=dict)
    steps_per_epoch: int | None = None
    adapt: Callable[[Any], None] | None = None


def evaluation_arrays(data: Datasets) -> tuple[tuple[np.ndarray, np.ndarray],
                                               tuple[np.ndarray, np.ndarray]]:
    """The validation and test examples of array pipelines as numpy (x, y) pairs, in order."""
    def arrays(dataset):
        parts = list(dataset.as_numpy_iterator())
        return (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))

    return arrays(data.validation), arrays(data.test)


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float):
    """Holds out the last `fraction` of the (already shuffled) training examples."""
    held_out = max(1, int(round(len(x) * fraction)))
    if held_out >= len(x):
        raise UsageError(
            f"validation_split={fraction} leaves none of the {len(x)} training examples to train on"
        )
    return (x[:-held_out], y[:-held_out]), (x[-held_out:], y[-held_out:])


def array_datasets(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                   y_test: np.ndarray, recipe: HeldOutRecipe, info: dict[str, Any],
                   augment: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None = None
                   ) -> Datasets:
    """Cached, shuffled, batched and prefetched pipelines over training, validation and test.

    `augment(x, seed)`, if given, maps each training input (never validation or test) with a
    stateless random op seeded by `seed`, a (2,) int64 tensor.
    """
    import tensorflow as tf

    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, recipe.validation_split)
    # A batch larger than the data is all of it, as in Keras; tf.data would reserve room for
    # the whole batch size first (--batch-size 1000000000 never reached a step).
    batch_size = min(recipe.batch_size, len(x_fit))
    train = (
        tf.data.Dataset.from_tensor_slices((x_fit, y_fit))
        .cache()
        .shuffle(len(x_fit), seed=recipe.seed, reshuffle_each_iteration=True)
    )
    if augment is not None:
        # Each example gets its own stateless seed from a seeded stream, so parallel mapping
        # stays repeatable; the stream differs from epoch to epoch.
        seeds = tf.data.Dataset.random(seed=recipe.seed, rerandomize_each_iteration=True)
        train = tf.data.Dataset.zip((train, seeds.batch(2))).map(
            lambda xy, seed: (augment(xy[0], seed), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    train = train.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return Datasets(
        train=train,
        validation=_evaluation(x_val, y_val, min(recipe.batch_size, len(x_val))),
        test=_evaluation(x_test, y_test, min(recipe.batch_size, len(x_test))),
        train_examples=len(x_fit),
        info={**info, "train_examples": len(x_fit), "validation_examples": len(x_val),
              "test_examples": len(x_test)},
    )


def _evaluation(x: np.ndarray, y: np.ndarray, batch_size: int) -> tf.data.Dataset:
    import tensorflow as tf

    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(batch_size)
        .cache()
        .prefetch(tf.data.AUTOTUNE)
    )


def window_datasets(series: Any, recipe: Any) -> Datasets:
    """Pipelines of (window (batch, history, columns), next values of column 0 (batch,
    horizon)) over each part of a `zoo.data.timeseries.Series`: the training windows
    reshuffled each epoch, validation and test in order. Windows are gathered from the part's
    rows batch by batch, never stored whole."""
    import tensorflow as tf

    history, horizon = series.history, series.horizon

    def pipeline(name: str, shuffle: bool) -> tuple[tf.data.Dataset, int]:
        rows = series.part(name)
        values = tf.constant(rows)
        count = len(rows) - history - horizon + 1
        starts = tf.data.Dataset.range(count)
        if shuffle:
            starts = starts.shuffle(count, seed=recipe.seed, reshuffle_each_iteration=True)

        def gather(first):
            first = tf.cast(first, tf.int32)[:, None]
            return (tf.gather(values, first + tf.range(history)),
                    tf.gather(values[:, 0], first + history + tf.range(horizon)))

        batched = starts.batch(min(recipe.batch_size, count)).map(gather)
        return (batched if shuffle else batched.cache()).prefetch(tf.data.AUTOTUNE), count

    train, train_windows = pipeline("train", True)
    validation, validation_windows = pipeline("validation", False)
    test, test_windows = pipeline("test", False)
    return Datasets(train=train, validation=validation, test=test, train_examples=train_windows,
                    info={"train_examples": train_windows,
                          "validation_examples": validation_windows,
                          "test_examples": test_windows})
