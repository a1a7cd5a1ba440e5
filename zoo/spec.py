"""What a model family tells the rest of the zoo: one `ModelSpec` per registered model.

Each family folder (`zoo/models/<family>/`) builds its specs from its own model, recipe,
serving signatures and `zoo predict` parser; `zoo.registry` only collects them. Nothing
outside a family's folder branches on a model's class or name: the runner, exporter,
command line, bench and tests read these fields.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.config import Recipe


def lazy(target: str) -> Callable[..., Any]:
    """`"module:name"` as a callable that imports the module when it is first called.

    A spec names its model, data and serving code this way, so reading the registry imports
    no TensorFlow: the command line checks names, settings and inputs in a fraction of a
    second, and loads TensorFlow only for work that needs it."""
    module, _, name = target.partition(":")

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = f"lazy({target})"
    return call


@dataclass
class Serving:
    """Signatures (name -> `tf.function` with an input signature) and the resources they use
    (lookup tables) that the export must carry."""

    signatures: dict[str, Any]
    resources: list = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """What `zoo bench` compares a model with: its tutorial's own code.

    Attributes:
        tutorial: (data directory) -> the tutorial's training loop, an object with
            `run(steps) -> steps run`, `examples_per_step` and `predictor(batch)`.
        window_steps: training steps in a timed window (about a second or more on 2 cores).
        unit: what `train_per_s` counts: "examples", or "chars" for a language model.
        zoo_settings: changes to the zoo's registered recipe for the comparison.
        target: the quality both are trained to for `zoo bench --to-quality`.
    """

    tutorial: Callable[[Path | None], Any]
    window_steps: int
    unit: str = "examples"
    zoo_settings: dict[str, Any] = field(default_factory=dict)
    target: QualityTarget | None = None


@dataclass(frozen=True)
class QualityTarget:
    """What `zoo bench --to-quality` races a model and its tutorial's code to: the tutorial's
    own final figure on held-out data, scored by one harness for both (`zoo.race`).

    Attributes:
        metric: "accuracy" (reached at or above `value`) or "perplexity" (at or below).
        value: the tutorial's quality on the held-out data, which its own runs reach
            (`benchmarks/tutorial_targets.py` measures them).
        eval_every: training examples between two evaluations (characters for a language
            model), the same for both sides; a tutorial's whole number of steps.
        eval_batch: examples per evaluation call (a tutorial's model may take one size only).
        tutorial: (data directory, seed) -> the tutorial's training loop on the zoo's training
            part, an object with `run(steps)`, `examples_per_step` and `score(x, y)`.
        tutorial_steps: the tutorial's own length; a tutorial run that has not reached
            `value` after twice that many steps stops as "not reached".
        evaluation: (recipe, data directory) -> (held-out (x, y), test (x, y) or None): the
            arrays both sides are scored on (None: the held-out data is the test data).
        score: (zoo's model, x, y) -> one figure per example: 1.0 or 0.0 (right or wrong) for
            accuracy, mean nats per predicted character for perplexity.
        zoo_settings: the zoo's recipe for the race (its `fast` recipe): changes to the
            registered one. Its `max_steps` is its budget, the length of its schedule.
        data_settings: recipe settings that shape the data both sides see (the tutorial's
            are fixed): `--set` may not change them in a race.
    """

    metric: str
    value: float
    eval_every: int
    eval_batch: int
    tutorial: Callable[[Path | None, int], Any]
    tutorial_steps: int
    evaluation: Callable[[Any, Path | None], tuple]
    score: Callable[[Any, Any, Any], Any]
    zoo_settings: dict[str, Any] = field(default_factory=dict)
    data_settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """Everything the runner, the command line, the bench and the tests know of one model.

    Fields that need TensorFlow are `lazy` callables: building a spec imports none of it.

    Attributes:
        name: the registry key, as typed on the command line.
        family: the folder under `zoo/models/` the model comes from; recorded in exports.
        task, dataset, reference: shown by `zoo list`; `reference` is the tutorial's figure.
        recipe: the default recipe; its fields are the settings `--set` accepts.
        smoke: overrides that shrink the recipe for a fast run of the same code path.
        params: trainable parameters of (the default recipe's, the smoke recipe's) model,
            worked out by hand; the tests check them.
        build_model: recipe -> an unbuilt `keras.Model`.
        load_data: (recipe, data directory or None) -> `zoo.data.pipeline.Datasets`.
        loss, metrics: fresh loss and metric objects for `compile`.
        example_batch: (recipe, batch size, numpy Generator) -> (inputs, targets) of the
            right shapes, dtypes and ranges; builds the model and feeds the test battery.
        serving: (trained model, recipe, data directory or None) -> its export's `Serving`.
        serving_examples: (recipe, numpy Generator) -> {signature: {input: value}}, an
            example call of every signature (tests, bench).
        check_inputs: (inputs as typed, options) -> None, raising `UsageError` or `DataError`
            for inputs the model cannot take; runs before TensorFlow is loaded. `options` holds
            the command line's `length`, `temperature`, `seed`, `keep_case`, `read_all` and
            `invert`.
        predict: (loaded SavedModel, inputs as typed, options) -> (one printable line per
            input, notes on how inputs were read): `zoo predict`'s reader and presenter.
        search_space: recipe setting -> candidate values, for `zoo tune`.
        objective: (validation metric, "min" or "max") that `zoo tune` optimizes.
        evaluate: (trained model, `Datasets`) -> test figures, instead of the compiled
            metrics over `Datasets.test` (a language model scores its held-out stream with
            the state carried).
        report: (trained model, `Datasets`, run directory) -> extra test figures for
            `metrics.json` (numbers, names, lists by step, or nested {name: {figure:
            number}} such as a forecaster's baselines); may also draw pictures into the run
            directory.
        sample: (trained model, prime, length, temperature, seed, keep_case) -> (text, notes
            on how the prime was read), for a model that generates (`zoo sample`).
        comparison: the tutorial code `zoo bench` runs beside the model; without one the
            model is benchmarked alone.
        prepare: (fresh model, example inputs) -> None: sets the data-dependent state that
            training data would (a vocabulary) from example inputs, so the test battery calls
            a model that reads them as a trained one does.
        flops: recipe -> floating-point operations of the matrix products of one example's
            forward pass (a language model's: one character's), 2 per multiply-add; a
            training step is about 3 times that (`zoo bench`'s GFLOP/s).
    """

    name: str
    family: str
    task: str
    dataset: str
    reference: str
    recipe: Recipe
    smoke: dict[str, Any]
    params: tuple[int, int]
    build_model: Callable[[Any], Any]
    load_data: Callable[[Any, Path | None], Any]
    loss: Callable[[], Any]
    metrics: Callable[[], list]
    example_batch: Callable[[Any, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
    serving: Callable[[Any, Any, Path | None], Serving]
    serving_examples: Callable[[Any, np.random.Generator], dict[str, dict[str, Any]]]
    check_inputs: Callable[[list[str], dict[str, Any]], None]
    predict: Callable[[Any, list[str], dict[str, Any]], tuple[list[str], list[str]]]
    search_space: dict[str, list] = field(default_factory=dict)
    objective: tuple[str, str] = ("val_loss", "min")
    evaluate: Callable[[Any, Any], dict[str, float]] | None = None
    report: Callable[[Any, Any, Path], dict[str, Any]] | None = None
    sample: Callable[..., tuple[str, list[str]]] | None = None
    comparison: Comparison | None = None
    prepare: Callable[[Any, Any], None] | None = None
    flops: Callable[[Any], float] | None = None
