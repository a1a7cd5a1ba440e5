"""Pictures of a run, drawn on matplotlib `Figure`s that are only written to files: pyplot's
global state and backend are left alone, so a notebook importing zoo keeps showing its plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from zoo.io import atomic_write


def _subplots(figsize: tuple[float, float], rows: int = 1, columns: int = 1, **kwargs):
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns, **kwargs)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100))
    return path


def training_curves(history: dict[str, list[float]], path: Path, title: str,
                    marked_epoch: int | None = None) -> Path:
    """One panel per metric (loss first): training and validation value per epoch, with a
    dashed line at `marked_epoch` (the epoch whose weights were evaluated)."""
    return _save(curves_figure(history, title, marked_epoch), path)


def curves_figure(history: dict[str, list[float]], title: str,
                  marked_epoch: int | None = None) -> Figure:
    """The figure `training_curves` saves; its epoch axis has whole epochs only."""
    names = [k for k in history if not k.startswith("val_")]
    names.sort(key=lambda k: (k != "loss", k))
    fig, axes = _subplots((4.5 * len(names), 3.5), 1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        if marked_epoch is not None:
            ax.axvline(marked_epoch, color="gray", linestyle="--", label="evaluated")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlim(0.5, len(epochs) + 0.5)  # one epoch is one point, not a fraction of a tick
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


def confusion_matrix(matrix: np.ndarray, path: Path, title: str) -> Path:
    """Counts of (true, predicted) classes, with the counts written in the cells."""
    n = matrix.shape[0]
    fig, ax = _subplots((6.5, 5.5))
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    for true in range(n):
        for predicted in range(n):
            count = int(matrix[true, predicted])
            ax.text(predicted, true, count, ha="center", va="center", fontsize=7,
                    color="white" if image.norm(np.log1p(count)) > 0.6 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title=title)
    return _save(fig, path)


def misclassified_digits(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                         path: Path, title: str, limit: int = 64) -> Path:
    """A grid of the first `limit` misclassified images, each titled "true -> predicted"."""
    wrong = np.flatnonzero(labels != predicted)[:limit]
    columns = 8
    rows = max(1, math.ceil(len(wrong) / columns))
    fig, axes = _subplots((1.4 * columns, 1.6 * rows), rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, wrong):
        ax.imshow(images[index], cmap="gray_r")
        ax.set_title(f"{labels[index]} -> {predicted[index]}", fontsize=9)
    fig.suptitle(f"{title}: {int(np.sum(labels != predicted))} misclassified (true -> predicted)")
    return _save(fig, path)


def search_progress(trials: list[int], scores: list[float], metric: str, direction: str,
                    path: Path, title: str) -> None:
    """Each trial's validation figure against its number, in trial order, and the best so
    far."""
    best = [min(scores[: i + 1]) if direction == "min" else max(scores[: i + 1])
            for i in range(len(scores))]
    figure, axes = _subplots((6, 4))
    axes.plot(trials, scores, "o", label=f"trial {metric}")
    axes.step(trials, best, where="post", label="best so far")
    axes.set_xlabel("trial (keras-tuner's number: trial_00 is 0)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(metric)
    axes.set_title(title)
    axes.legend()
    _save(figure, path)


def forecast_windows(history: np.ndarray, truth: np.ndarray, forecasts: dict[str, np.ndarray],
                     path: Path, title: str, unit: str) -> Path:
    """A few windows, one panel each: the rows read (history), what followed (truth) and each
    model's forecast of it, against the step (0 is the first forecast step)."""
    fig, axes = _subplots((4 * len(history), 3.2), 1, len(history), squeeze=False)
    for i, ax in enumerate(axes[0]):
        steps = np.arange(truth.shape[1])
        ax.plot(np.arange(-history.shape[1], 0), history[i], color="black", label="history")
        ax.plot(steps, truth[i], "o-", color="black", markersize=3, label="truth")
        for name, forecast in forecasts.items():
            ax.plot(steps, forecast[i], "x--" if truth.shape[1] > 1 else "x", label=name)
        ax.set(xlabel="step", ylabel=unit)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)


def error_by_step(errors: dict[str, np.ndarray], path: Path, title: str, unit: str) -> Path:
    """Mean absolute error at each forecast step, one line per model."""
    fig, ax = _subplots((6, 4))
    for name, by_step in errors.items():
        ax.plot(np.arange(1, len(by_step) + 1), by_step, "o-", markersize=3, label=name)
    ax.set(xlabel="steps ahead", ylabel=f"test MAE ({unit})", title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return _save(fig, path)
