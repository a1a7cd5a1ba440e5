"""The runner's callbacks: per-epoch timing and logs, the step limit, and checkpoints with
their index (`checkpoints/checkpoint.json`)."""

from __future__ import annotations

import math
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from zoo.checkpoints import CHECKPOINT_INDEX, read_checkpoint_index
from zoo.io import atomic_write, sha256_of, write_json


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
    """Times each epoch's training (up to validation), keeps the per-epoch logs, and with
    `echo` reports each epoch in one line: readable in a log file, unlike Keras' progress bar,
    and true to the steps run when `max_steps` ends an epoch early.

    Args:
        record: where the figures go.
        batch_size, examples_per_epoch: to count the examples trained on.
        planned_epochs: the epochs the run will take (`max_steps` included), for "epoch 2/3".
        echo: prints a line; None prints nothing.
    """

    def __init__(self, record: EpochRecord, batch_size: int, examples_per_epoch: int,
                 planned_epochs: int | None = None, echo: Callable[[str], Any] | None = None):
        super().__init__()
        self.record = record
        self.batch_size = batch_size
        self.examples_per_epoch = examples_per_epoch
        self.planned_epochs = planned_epochs
        self.echo = echo

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
        if self.echo is not None:
            figures = ", ".join(f"{key} {float(value):.4f}" for key, value in (logs or {}).items())
            self.echo(f"epoch {epoch + 1}/{self.planned_epochs or '?'}: {self._batches} steps, "
                      f"{end - self._start:.1f} s; {figures}")


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first step whose loss is NaN or infinite (as Keras'
    `TerminateOnNaN`), and remembers the step for the run's error message."""

    def __init__(self):
        super().__init__()
        self.stopped_at: int | None = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.stopped_at = int(self.model.optimizer.iterations.numpy())
            self.model.stop_training = True


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
    validation loss), then an index naming them with their sha256, which `checked` verifies
    before a file is loaded. Each file is written atomically and the index last, so an
    interrupted save leaves the index pointing at complete files.

    Not Keras' `ModelCheckpoint` or `BackupAndRestore`: both write their files in place (a
    kill mid-save leaves a torn file), and neither keeps the best epoch beside the latest
    with the run's record in one index that `--resume` continues from.
    """

    MONITOR = "val_loss"

    def __init__(self, directory: Path, record: EpochRecord, best: dict[str, Any] | None = None):
        super().__init__()
        self.directory = directory
        self.record = record
        # {"epoch": int, "val_loss": float, "weights": file name, "sha256": its digest}
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite((logs or {}).get("loss", 0.0)):
            return  # weights gone NaN are no checkpoint: the index keeps the last good epoch
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        atomic_write(self.directory / name, self.model.save_weights)
        digest = sha256_of(self.directory / name)
        value = (logs or {}).get(self.MONITOR)
        if (value is not None and math.isfinite(value)
                and (self.best is None or value < self.best[self.MONITOR])):
            best_name = f"best-epoch-{epoch + 1:04d}.weights.h5"
            # the weights just saved, not a second serialization of them
            atomic_write(self.directory / best_name,
                         lambda tmp: shutil.copyfile(self.directory / name, tmp))
            self.best = {"epoch": epoch + 1, self.MONITOR: float(value), "weights": best_name,
                         "sha256": digest}
        previous = read_checkpoint_index(self.directory)
        write_json(
            self.directory / CHECKPOINT_INDEX,
            {"weights": name, "sha256": digest, "epoch": epoch + 1,
             "steps": int(self.model.optimizer.iterations.numpy()), "best": self.best,
             "record": self.record.__dict__},
        )
        # Files the new index no longer names go only after it is written.
        if previous:
            kept = {name, self.best and self.best["weights"]}
            stale = {previous["weights"], previous["best"] and previous["best"]["weights"]}
            for old in stale - kept - {None}:
                (self.directory / old).unlink(missing_ok=True)
