"""The one runner: trains any registered model, evaluates it once on the test set, and keeps
everything a run produced in one run directory.

    config.json     model name and every setting used
    checkpoints/    weights and optimizer state after each epoch (for --resume)
    logs/           TensorBoard logs
    history.json    per-epoch training and validation metrics
    curves.png      the same, as training curves
    model.keras     the trained model (keras.saving.load_model, after import zoo.registry)
    metrics.json    test metrics, timings, parameter count, data checksums
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo import config as config_lib
from zoo import plots
from zoo.data.files import resolve_data_dir
from zoo.errors import UsageError, ZooError
from zoo.io import atomic_write, write_json
from zoo.registry import ModelSpec, get_spec

CHECKPOINT_INDEX = "checkpoint.json"


def build_model(spec: ModelSpec, recipe: config_lib.Recipe) -> keras.Model:
    """The spec's model, built (weights created) by calling it on an example batch."""
    model = spec.build_model(recipe)
    inputs, _ = spec.example_batch(recipe, 2, np.random.default_rng(0))
    model(inputs)
    return model


def total_steps(recipe: config_lib.Recipe, train_examples: int) -> int:
    """Training steps the run will take: its epochs, cut short by `max_steps` if set."""
    steps = recipe.epochs * math.ceil(train_examples / recipe.batch_size)
    return min(steps, recipe.max_steps) if recipe.max_steps else steps


def compile_model(spec: ModelSpec, recipe: config_lib.Recipe, model: keras.Model,
                  train_examples: int = 0) -> keras.Model:
    """Compiles with Adam, the spec's loss and metrics, and the recipe's clipping.
    `train_examples` (one epoch's) sets the length of a learning-rate schedule and keeps each
    call of several training steps (`steps_per_execution`) inside one epoch and short of
    `max_steps`, so a run stops where one step per call would have stopped."""
    steps = total_steps(recipe, train_examples) if train_examples else 1
    learning_rate = recipe.learning_rate
    if recipe.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, steps))
    epoch_steps = math.ceil(train_examples / recipe.batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=spec.loss(),
        metrics=spec.metrics(),
        clip_norm=recipe.clip_norm,
        clip_mode=recipe.clip_mode,
        steps_per_execution=math.gcd(recipe.steps_per_execution, recipe.max_steps, epoch_steps),
    )
    return model


def build_and_compile(spec: ModelSpec, recipe: config_lib.Recipe,
                      train_examples: int = 0) -> keras.Model:
    """Builds and compiles inside the current `tf.distribute` strategy's scope (the default
    strategy unless the caller entered another), so multi-device training is a setting."""
    with tf.distribute.get_strategy().scope():
        return compile_model(spec, recipe, build_model(spec, recipe), train_examples)


@dataclass
class EpochRecord:
    """What the run has learnt so far; saved with each checkpoint so --resume continues it."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    train_examples: list[int] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.epoch_seconds)

    def examples_per_second(self) -> float | None:
        """Training examples per second (validation excluded), median over the epochs after
        the first, whose time includes tracing; the first epoch's when it is the only one."""
        rates = [n / s for n, s in zip(self.train_examples, self.train_seconds) if s > 0]
        if not rates:
            return None
        return statistics.median(rates[1:] or rates)


class EpochRecorder(keras.callbacks.Callback):
    """Times each epoch's training (up to validation) and keeps the per-epoch logs."""

    def __init__(self, record: EpochRecord, batch_size: int, examples_per_epoch: int):
        super().__init__()
        self.record = record
        self.batch_size = batch_size
        self.examples_per_epoch = examples_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._train_end = None
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches = batch + 1  # the last step's index: one call may run several steps

    def on_test_begin(self, logs=None):
        if self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        train_end = self._train_end or end
        self.record.epoch_seconds.append(round(end - self._start, 3))
        self.record.train_seconds.append(round(train_end - self._start, 3))
        self.record.train_examples.append(
            min(self._batches * self.batch_size, self.examples_per_epoch)
        )
        for key, value in (logs or {}).items():
            self.record.history.setdefault(key, []).append(float(value))


class StepLimit(keras.callbacks.Callback):
    """Stops training after `max_steps` optimizer steps in all (resumed steps included)."""

    def __init__(self, max_steps: int):
        super().__init__()
        self.max_steps = max_steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.max_steps:
            self.model.stop_training = True


class EpochCheckpoint(keras.callbacks.Callback):
    """After each epoch: weights and optimizer state, the best epoch's weights (lowest
    validation loss), then an index naming them. Each file is written atomically and the
    index last, so an interrupted save leaves the index pointing at complete files.
    """

    MONITOR = "val_loss"

    def __init__(self, directory: Path, record: EpochRecord, best: dict[str, Any] | None = None):
        super().__init__()
        self.directory = directory
        self.record = record
        self.best = best  # {"epoch": int, "val_loss": float, "weights": file name}

    def on_epoch_end(self, epoch, logs=None):
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        atomic_write(self.directory / name, self.model.save_weights)
        value = (logs or {}).get(self.MONITOR)
        if (value is not None and math.isfinite(value)
                and (self.best is None or value < self.best[self.MONITOR])):
            best_name = f"best-epoch-{epoch + 1:04d}.weights.h5"
            # the weights just saved, not a second serialization of them
            atomic_write(self.directory / best_name,
                         lambda tmp: shutil.copyfile(self.directory / name, tmp))
            self.best = {"epoch": epoch + 1, self.MONITOR: float(value), "weights": best_name}
        previous = read_checkpoint_index(self.directory)
        write_json(
            self.directory / CHECKPOINT_INDEX,
            {"weights": name, "epoch": epoch + 1, "best": self.best,
             "record": self.record.__dict__},
        )
        # Files the new index no longer names go only after it is written.
        if previous:
            kept = {name, self.best and self.best["weights"]}
            stale = {previous["weights"], previous["best"] and previous["best"]["weights"]}
            for old in stale - kept - {None}:
                (self.directory / old).unlink(missing_ok=True)


def read_checkpoint_index(directory: Path) -> dict[str, Any] | None:
    index = directory / CHECKPOINT_INDEX
    if not index.is_file():
        return None
    try:
        saved = json.loads(index.read_text())
        if not {"weights", "epoch", "best", "record"} <= set(saved):
            raise ValueError("it lacks weights, epoch, best or record")
    except (ValueError, TypeError) as error:
        raise ZooError(f"{index} is not a checkpoint index ({error}); it is unusable") from None
    return saved


def default_run_dir(name: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / name / stamp


def latest_run_dir(name: str) -> Path:
    """The run of `name` under runs/ that was started last."""
    configs = list((Path("runs") / name).glob("*/config.json"))
    if not configs:
        raise UsageError(f"--resume found no run of {name!r} under runs/{name}/; pass --output DIR")

    def created(path: Path) -> str:
        try:
            return str(json.loads(path.read_text()).get("created") or "")
        except (ValueError, AttributeError):
            return ""

    return max(configs, key=created).parent


def read_run_config(run_dir: Path) -> tuple[ModelSpec, config_lib.Recipe, str | None]:
    """The spec and recipe a run directory was made with, and when it was created."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise UsageError(f"{str(run_dir)!r} is not a run directory (it has no config.json)")
    try:
        saved = json.loads(path.read_text())
        spec = get_spec(saved["model"])
        if not isinstance(saved["config"], dict):
            raise TypeError("config is not a mapping")
        recipe = config_lib.override(spec.recipe, saved["config"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ZooError(f"{path} is not a zoo run config ({error!r})") from None
    return spec, recipe, saved.get("created")


def run(
    name: str,
    overrides: dict[str, Any] | None = None,
    *,
    data_dir: str | Path | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    verbose: int | str = "auto",
) -> dict[str, Any]:
    """Trains `name` with its recipe plus `overrides`, evaluates on the test set once, and
    writes the run directory. Returns the contents of `metrics.json`."""
    spec = get_spec(name)
    overrides = dict(overrides or {})
    if resume:
        run_dir = Path(output) if output else latest_run_dir(name)
        saved_spec, saved_recipe, created = read_run_config(run_dir)
        if saved_spec.name != name:
            raise UsageError(f"{run_dir} is a run of {saved_spec.name!r}, not of {name!r}")
        recipe = config_lib.override(saved_recipe, overrides)
        checkpoint = read_checkpoint_index(run_dir / "checkpoints")
    else:
        run_dir = Path(output) if output else default_run_dir(name)
        if (run_dir / "config.json").exists():
            raise UsageError(
                f"{run_dir} already holds a run; pass --resume to continue it, or another --output"
            )
        recipe = config_lib.override(spec.recipe, overrides)
        checkpoint = None
        created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--output {str(run_dir)!r} is a file, not a directory")
    keras.utils.set_random_seed(recipe.seed)
    data = spec.load_data(recipe, resolve_data_dir(data_dir))
    model = build_and_compile(spec, recipe, data.train_examples)

    record = EpochRecord()
    initial_epoch = 0
    if checkpoint:
        load_weights(model, run_dir / "checkpoints" / checkpoint["weights"])
        record = EpochRecord(**checkpoint["record"])
        initial_epoch = checkpoint["epoch"]
    # Only now is it a run: a bad setting, missing data or a checkpoint that does not fit the
    # settings leaves the run directory as it was.
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create run directory {str(run_dir)!r}: {error}") from None
    write_json(run_dir / "config.json",
               {"model": name, "created": created, "config": recipe.to_dict()})
    saver = EpochCheckpoint(run_dir / "checkpoints", record, checkpoint and checkpoint["best"])

    callbacks: list[keras.callbacks.Callback] = [
        EpochRecorder(record, recipe.batch_size, data.train_examples),
        saver,
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs")),
    ]
    started = datetime.now(timezone.utc)
    if initial_epoch < recipe.epochs and not _step_limit_reached(model, recipe):
        fit(model, data, recipe, callbacks, initial_epoch=initial_epoch, verbose=verbose)
    steps_trained = int(model.optimizer.iterations.numpy())
    evaluated_epoch = record.epochs
    if recipe.restore_best and saver.best:
        load_weights(model, run_dir / "checkpoints" / saver.best["weights"])
        evaluated_epoch = saver.best["epoch"]
    test = evaluate_test(spec, model, data, run_dir, verbose)

    atomic_write(run_dir / "model.keras", model.save)
    write_json(run_dir / "history.json", record.history)
    plots.training_curves(record.history, run_dir / "curves.png", f"{name} ({run_dir.name})",
                          evaluated_epoch)
    metrics = {
        "model": name,
        "config": recipe.to_dict(),
        "params": count_params(model),
        "test": test,
        "history": record.history,
        "epochs_trained": record.epochs,
        "steps_trained": steps_trained,
        "evaluated_epoch": evaluated_epoch,
        "epoch_seconds": record.epoch_seconds,
        "train_seconds": record.train_seconds,
        "train_examples_per_second": _round(record.examples_per_second()),
        "data": data.info,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "run_dir": str(run_dir),
    }
    write_json(run_dir / "metrics.json", metrics)
    return metrics


def load_run_model(run_dir: str | Path) -> tuple[ModelSpec, config_lib.Recipe, keras.Model]:
    """A run's spec, recipe and compiled model with its trained weights (or, if the run did
    not finish, its last checkpoint's)."""
    run_dir = Path(run_dir)
    spec, recipe, _ = read_run_config(run_dir)
    weights = run_dir / "model.keras"
    if not weights.is_file():
        checkpoint = read_checkpoint_index(run_dir / "checkpoints")
        if checkpoint is None:
            raise ZooError(f"{run_dir} has neither model.keras nor a checkpoint to load")
        weights = run_dir / "checkpoints" / checkpoint["weights"]
    model = build_and_compile(spec, recipe)
    load_weights(model, weights)
    return spec, recipe, model


def fit(model: keras.Model, data, recipe: config_lib.Recipe, callbacks: list, *,
        initial_epoch: int = 0, epochs: int | None = None,
        verbose: int | str = "auto") -> keras.callbacks.History:
    """Trains on `data.train`, validating on `data.validation` after each epoch, for the
    recipe's epochs (or `epochs`) and at most its `max_steps`."""
    if recipe.max_steps:
        callbacks = [*callbacks, StepLimit(recipe.max_steps)]
    return model.fit(
        data.train,
        validation_data=data.validation,
        epochs=epochs or recipe.epochs,
        steps_per_epoch=data.steps_per_epoch,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the training pipeline shuffles
    )


def evaluate_run(run_dir: str | Path, *, data_dir: str | Path | None = None,
                 verbose: int | str = "auto") -> dict[str, float]:
    """Evaluates a run's trained model (or its last checkpoint) on the test set."""
    spec, recipe, model = load_run_model(run_dir)
    data = spec.load_data(recipe, resolve_data_dir(data_dir))
    return evaluate_test(spec, model, data, Path(run_dir), verbose)


def evaluate_test(spec: ModelSpec, model: keras.Model, data, run_dir: Path,
                  verbose: int | str) -> dict[str, float]:
    """The compiled metrics on every test example (or the spec's own evaluation), plus the
    spec's report."""
    if spec.evaluate is not None:
        test = spec.evaluate(model, data)
    else:
        test = model.evaluate(data.test, return_dict=True, verbose=verbose)
    test = {k: float(v) for k, v in test.items()}
    if spec.report is not None:
        test.update(spec.report(model, data, run_dir))
    return test


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


def _step_limit_reached(model: keras.Model, recipe: config_lib.Recipe) -> bool:
    return bool(recipe.max_steps) and int(model.optimizer.iterations.numpy()) >= recipe.max_steps


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
