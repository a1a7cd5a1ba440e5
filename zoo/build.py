"""Building, compiling and loading a registered model: what the runner, the tuner, the
exporter and the bench share."""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np

from zoo import config as config_lib
from zoo.errors import ZooError
from zoo.runtime import resolve_precision
from zoo.spec import ModelSpec
from zoo.training import ClippedAdam


def build_model(spec: ModelSpec, recipe: config_lib.Recipe) -> keras.Model:
    """The spec's model, built (weights created) by calling it on an example batch, in the
    recipe's `precision` ("auto" resolved for this machine): the model takes it as its dtype
    policy, and hands it to its layers (but to its output layer, which computes in float32),
    so a copy made from its config (`model.keras`) has it too."""
    with global_dtype_policy(resolve_precision(recipe.precision)):
        model = spec.build_model(recipe)
        inputs, _ = spec.example_batch(recipe, 2, np.random.default_rng(0))
        model(inputs)
    return model


@contextlib.contextmanager
def global_dtype_policy(name: str) -> Iterator[None]:
    """Keras' global dtype policy set to `name` inside the block, and put back after it: a
    layer takes the global policy when it is made, so a policy left set would change every
    model made after this one in the process."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def total_steps(recipe: config_lib.Recipe, train_examples: int) -> int:
    """Training steps the run will take: its epochs, cut short by `max_steps` if set."""
    steps = recipe.epochs * math.ceil(train_examples / recipe.batch_size)
    return min(steps, recipe.max_steps) if recipe.max_steps else steps


def compile_model(spec: ModelSpec, recipe: config_lib.Recipe, model: keras.Model,
                  train_examples: int = 0) -> keras.Model:
    """Compiles with Adam clipped as the recipe says (`ClippedAdam`), the spec's loss and
    metrics.
    `train_examples` (one epoch's) sets the length of a learning-rate schedule and keeps each
    call of several training steps (`steps_per_execution`) inside one epoch and short of
    `max_steps`, so a run stops where one step per call would have stopped."""
    steps = total_steps(recipe, train_examples) if train_examples else 1
    learning_rate = recipe.learning_rate
    if recipe.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, steps))
    epoch_steps = math.ceil(train_examples / recipe.batch_size)
    model.compile(
        optimizer=ClippedAdam(learning_rate, beta_1=recipe.beta_1, beta_2=recipe.beta_2,
                              clip_norm=recipe.clip_norm, clip_mode=recipe.clip_mode),
        loss=spec.loss(),
        metrics=spec.metrics(),
        steps_per_execution=math.gcd(recipe.steps_per_execution, recipe.max_steps, epoch_steps),
    )
    if model.built:
        # Adam's slots made now, not inside the first traced step: a `tf.function` that makes
        # variables when first traced is traced a second time without them, and Keras leaves
        # them to the trace outside a `tf.distribute` scope (the train step traced twice cost
        # text8_bigram_lstm's race 0.4-0.65 s of its first call, benchmarks/README.md)
        model.optimizer.build(model.trainable_variables)
    return model


def build_and_compile(spec: ModelSpec, recipe: config_lib.Recipe, data=None) -> keras.Model:
    """The spec's model, built and compiled for the recipe (in whatever `tf.distribute`
    strategy scope the caller entered: the runner enters `--strategy`'s). Given the
    `Datasets` it will train on, its schedule fits their length, and their `adapt` sets its
    data-dependent state."""
    model = build_model(spec, recipe)
    if data is not None and data.adapt is not None:
        data.adapt(model)
    return compile_model(spec, recipe, model, data.train_examples if data is not None else 0)


def load_weights(model: keras.Model, path: Path) -> None:
    """Loads weights and optimizer state saved by this runner into a compiled model."""
    model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(path)
    except Exception as error:
        reason = " ".join(str(error).split())[:300]
        raise ZooError(f"cannot load weights from {path}: {reason}") from None


def count_params(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Gives `target`, a model of the same spec and recipe, `source`'s weights through a
    weights file, which also carries what a layer keeps beside its weights (a vocabulary),
    and the optimizer's state when both are compiled."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.weights.h5"
        source.save_weights(path)
        if getattr(target, "optimizer", None) is None:  # not compiled
            target.load_weights(path)
        else:
            load_weights(target, path)
