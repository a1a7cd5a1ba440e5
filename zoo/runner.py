"""The one runner: trains any registered model, evaluates it once on the test set, and keeps
everything a run produced in one run directory.

    config.json     model name and every setting used
    checkpoints/    weights and optimizer state after each epoch (for --resume)
    logs/           TensorBoard logs
    history.json    per-epoch training and validation metrics
    curves.png      the same, as training curves
    model.keras     the trained model (`load_run_model` below, which imports its classes)
    metrics.json    test metrics, timings, parameter count, data checksums

Its parts live beside it: `zoo.build` (model, optimizer, weights), `zoo.callbacks` (timing,
step limit, checkpoints), `zoo.checkpoints` (the checkpoint index), `zoo.rundir` (where runs
go, what they were made with, what `--resume` may change), `zoo.distribute` (`--strategy`:
training on several devices or machines).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import math
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from zoo import config as config_lib
from zoo import plots
from zoo.build import build_and_compile, count_params, load_weights
from zoo.callbacks import (
    EpochCheckpoint,
    EpochRecord,
    EpochRecorder,
    StepLimit,
    StopOnNonFiniteLoss,
)
from zoo.checkpoints import checked, read_checkpoint_index
from zoo.data.files import resolve_data_dir
from zoo.distribute import (
    check_batches,
    check_strategy,
    describe,
    make_strategy,
    train_on_replicas,
    writes_run_dir,
)
from zoo.errors import UsageError, ZooError
from zoo.io import atomic_write, write_json
from zoo.registry import get_spec
from zoo.rundir import check_new, more_to_train, read_run_config, start
from zoo.spec import ModelSpec


@contextlib.contextmanager
def locked(run_dir: Path):
    """Holds a lock on `run_dir` (a hidden file beside it, locked with `flock`) while a run
    writes into it: a second `zoo run` on the same directory is refused at once instead of
    overwriting the first one's files. The lock ends with the process, however it ends."""
    try:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = open(run_dir.parent / f".{run_dir.name}.lock", "a+")
    except OSError as error:
        raise UsageError(f"cannot create run directory {str(run_dir)!r}: {error}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{run_dir} is in use by another zoo run; wait for it to end, or "
                             "pass another --output") from None
        yield


def run(
    name: str,
    overrides: dict[str, Any] | None = None,
    *,
    data_dir: str | Path | None = None,
    output: str | Path | None = None,
    resume: bool = False,
    verbose: int | str = "auto",
    echo: Callable[[str], Any] | None = None,
    strategy: str = "default",
) -> dict[str, Any]:
    """Trains `name` with its recipe plus `overrides`, evaluates on the test set once, and
    writes the run directory. Returns the contents of `metrics.json`.

    `verbose` is Keras' (0: silent, 1: progress bars, 2: a line per epoch); `echo`, if given,
    receives one line per epoch (steps, seconds, every figure) from the runner itself.
    `strategy` is `zoo.distribute`'s: "default" (one device, or the `tf.distribute` scope the
    caller entered), "mirrored" or "multi_worker". A `multi_worker` process other than the
    chief trains its share, writes only a scratch folder, and returns what it trained."""
    spec = get_spec(name)
    check_strategy(strategy)
    writer = writes_run_dir(strategy)
    begun = start(spec, dict(overrides or {}), output, resume, writer=writer)
    run_dir, recipe, checkpoint = begun.run_dir, begun.recipe, begun.checkpoint
    distribution = make_strategy(strategy)
    keras.utils.set_random_seed(recipe.seed)
    data = spec.load_data(recipe, resolve_data_dir(data_dir))
    check_batches(recipe.batch_size, data.train_examples, data.steps_per_epoch is not None,
                  distribution.num_replicas_in_sync)
    with distribution.scope():
        model = build_and_compile(spec, recipe, data)
        record, initial_epoch = EpochRecord(), 0
        if checkpoint:
            load_weights(model, checked(run_dir / "checkpoints", checkpoint))
            record, initial_epoch = EpochRecord(**checkpoint["record"]), checkpoint["epoch"]
    # validation and the test on one device: the strategy's model itself, or a copy, which
    # takes the trained weights and what `adapt` set through weights files (adapting it
    # too would read the training data once more, and so shift its seeded shuffle)
    evaluation_model = model if strategy == "default" else build_and_compile(spec, recipe)
    if not writer:
        with tempfile.TemporaryDirectory(prefix="zoo-worker-") as scratch:
            _train(spec, recipe, data, model, evaluation_model, Path(scratch), checkpoint,
                   record, initial_epoch, verbose, None)
        return {"model": name, "run_dir": None, "chief_run_dir": str(run_dir),
                "strategy": describe(distribution),
                "steps_trained": int(model.optimizer.iterations.numpy())}
    with locked(run_dir):
        # again, now that no other run can be writing it
        if not resume:
            check_new(run_dir)
        elif read_checkpoint_index(run_dir / "checkpoints") != checkpoint:
            raise UsageError(f"{run_dir} was checkpointed by another run while this one "
                             "started; run the command again")
        # Only now is it a run: a bad setting, missing data or a checkpoint that does not fit
        # the settings leaves the run directory as it was.
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot create run directory {str(run_dir)!r}: {error}") from None
        write_json(run_dir / "config.json",
                   {"model": name, "created": begun.created, "config": recipe.to_dict()})
        return _train_and_test(spec, recipe, data, model, evaluation_model, run_dir,
                               checkpoint, record, initial_epoch, verbose, echo,
                               describe(distribution))


def _train(spec, recipe, data, model, evaluation_model, run_dir, checkpoint, record,
           initial_epoch, verbose, echo) -> EpochCheckpoint:
    """Trains for what is left of the recipe, checkpointing into `run_dir`; returns the
    checkpointer (which knows the best epoch)."""
    saver = EpochCheckpoint(run_dir / "checkpoints", record, checkpoint and checkpoint["best"])
    nonfinite = StopOnNonFiniteLoss()
    callbacks = [EpochRecorder(record, recipe.batch_size, data.train_examples,
                               planned_epochs(recipe, data), echo),
                 saver, nonfinite, keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"))]
    if more_to_train(recipe, initial_epoch, int(model.optimizer.iterations.numpy())):
        train = fit if evaluation_model is model else functools.partial(
            train_on_replicas, evaluation_model=evaluation_model)
        train(model, data, recipe, callbacks, initial_epoch=initial_epoch, verbose=verbose)
    if nonfinite.stopped_at is not None:
        write_json(run_dir / "history.json", record.history)
        kept = f"the best epoch's weights ({saver.best['weights']}) are kept in " \
            f"{run_dir / 'checkpoints'}" if saver.best else "no epoch ended with a finite loss"
        raise ZooError(f"training stopped at step {nonfinite.stopped_at}: the loss is no longer "
                       f"a finite number; {kept}. Try a lower learning_rate or a clip_norm")
    return saver


def _train_and_test(spec, recipe, data, model, evaluation_model, run_dir, checkpoint, record,
                    initial_epoch, verbose, echo, strategy) -> dict[str, Any]:
    started = datetime.now(timezone.utc)
    saver = _train(spec, recipe, data, model, evaluation_model, run_dir, checkpoint, record,
                   initial_epoch, verbose, echo)
    steps_trained = int(model.optimizer.iterations.numpy())
    evaluated_epoch = record.epochs
    best = recipe.restore_best and saver.best
    if best:
        evaluated_epoch = saver.best["epoch"]
    if best or evaluation_model is not model:
        # the weights a strategy trained reach the one-device model through the checkpoint
        entry = saver.best if best else read_checkpoint_index(run_dir / "checkpoints")
        load_weights(evaluation_model, checked(run_dir / "checkpoints", entry))
    model = evaluation_model
    test = evaluate_test(spec, model, data, run_dir, verbose)

    atomic_write(run_dir / "model.keras", model.save)
    write_json(run_dir / "history.json", record.history)
    plots.training_curves(record.history, run_dir / "curves.png",
                          f"{spec.name} ({run_dir.name})", evaluated_epoch)
    metrics = {
        "model": spec.name,
        "config": recipe.to_dict(),
        "params": count_params(model),
        "test": test,
        "history": record.history,
        "epochs_trained": record.epochs,
        "steps_trained": steps_trained,
        "evaluated_epoch": evaluated_epoch,
        "evaluated_weights": "best" if best else "last",
        "epoch_seconds": record.epoch_seconds,
        "train_seconds": record.train_seconds,
        "train_examples_per_second": _round(record.examples_per_second()),
        "data": data.info,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "strategy": strategy,
        "dtype_policy": model.dtype_policy.name,  # the recipe's precision, "auto" resolved
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "run_dir": str(run_dir),
    }
    write_json(run_dir / "metrics.json", metrics)
    return metrics


def planned_epochs(recipe: config_lib.Recipe, data) -> int:
    """The epochs the run will end at: the recipe's, or fewer where `max_steps` ends it."""
    if not recipe.max_steps:
        return recipe.epochs
    epoch_steps = data.steps_per_epoch or math.ceil(data.train_examples / recipe.batch_size)
    return min(recipe.epochs, math.ceil(recipe.max_steps / epoch_steps))


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
        weights = checked(run_dir / "checkpoints", checkpoint)
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


def figures(test: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Test figures as (name, printed value) pairs: numbers to four places, nested figures
    (a forecaster's baselines) under dotted names; lists (figures by step) are left to
    metrics.json."""
    pairs = []
    for key, value in test.items():
        if isinstance(value, dict):
            pairs += figures(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)):
            pairs.append((prefix + key, f"{value:.4f}"))
        elif isinstance(value, str):
            pairs.append((prefix + key, value))
    return pairs


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
