"""Hyperparameter search with keras-tuner over a registered model's search space.

Each trial is the registry's model built from the default recipe with the trial's values,
trained by the shared runner's `fit` (clipping, schedules and step limits included) and scored
on the validation split carved from the training data; the test set is never touched. The
search directory holds keras-tuner's state (so running the same command again resumes it), a
plot of the search (`search.png`) and the best values (`best_hparams.json`), which
`zoo run NAME --hparams FILE` trains with and tests once.

Distributed search is keras-tuner's own: every process runs the same `zoo tune` command with
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` set, and `KERASTUNER_TUNER_ID=chief` on
the one that holds the oracle (`tuner0`, `tuner1`, ... on the workers that run trials).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt

from zoo import config as config_lib
from zoo import plots
from zoo.build import build_and_compile
from zoo.data.files import resolve_data_dir
from zoo.errors import ZooError
from zoo.io import write_json
from zoo.registry import get_spec
from zoo.runner import fit
from zoo.spec import ModelSpec

TUNERS = dict(zip(config_lib.TUNER_NAMES,
                  (kt.RandomSearch, kt.BayesianOptimization, kt.Hyperband)))
BEST = "best_hparams.json"
SECONDS = "seconds.json"


def is_worker() -> bool:
    """Whether this process is a worker of a distributed search (keras-tuner's variables)."""
    return ("KERASTUNER_ORACLE_IP" in os.environ
            and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", ""))


class RecipeHyperModel(kt.HyperModel):
    """The registry's model with a trial's values for the recipe's settings."""

    def __init__(self, spec: ModelSpec, recipe: config_lib.Recipe, space: dict[str, list],
                 data_dir: Path | None):
        super().__init__(name=spec.name)
        self.spec, self.recipe, self.space, self.data_dir = spec, recipe, space, data_dir
        self.data = None

    def trial_recipe(self, hp: kt.HyperParameters) -> config_lib.Recipe:
        values = {}
        for key, candidates in self.space.items():
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in candidates):
                values[key] = hp.Choice(key, candidates)
            else:  # None, strings and booleans travel as text and are parsed by the recipe
                values[key] = hp.Choice(key, [str(v).lower() if v is None or isinstance(v, bool)
                                              else str(v) for v in candidates])
        return config_lib.override(self.recipe, values)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        recipe = self.trial_recipe(hp)
        keras.utils.set_random_seed(recipe.seed)
        self.data = self.spec.load_data(recipe, self.data_dir)
        return build_and_compile(self.spec, recipe, self.data)

    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0,
            verbose="auto", **kwargs):
        # Hyperband passes its own epochs and initial_epoch; the other tuners take the recipe's.
        return fit(model, self.data, self.trial_recipe(hp), callbacks or [], epochs=epochs,
                   initial_epoch=initial_epoch, verbose=verbose)


def _timed(tuner_class: type, echo: Callable[[str], Any] | None) -> type:
    class Timed(tuner_class):
        """Keeps each trial's wall time beside its keras-tuner state, and reports each trial
        as it ends (`echo`)."""

        def run_trial(self, trial, *args, **kwargs):
            start = time.perf_counter()
            result = super().run_trial(trial, *args, **kwargs)
            write_json(Path(self.get_trial_dir(trial.trial_id)) / SECONDS,
                       {"seconds": round(time.perf_counter() - start, 1)})
            return result

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            if echo is not None:
                metric, _ = self.hypermodel.spec.objective
                values = ", ".join(f"{k}={v}" for k, v in _searched(trial).items())
                score = "failed" if trial.score is None else f"{metric} {trial.score:.4f}"
                echo(f"trial {int(trial.trial_id)} of at most {self.oracle.max_trials}: "
                     f"{values}: {score}")

    Timed.__name__ = f"Timed{tuner_class.__name__}"
    return Timed


def _searched(trial) -> dict[str, Any]:
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}


@dataclass
class TrialRow:
    """One trial as the table, the plot and best_hparams.json show it: numbered as
    keras-tuner numbers its folders (trial_00 is trial 0)."""

    trial: int
    hparams: dict[str, Any]
    score: float | None
    seconds: float | None


def make_tuner(name: str, *, tuner: str = "bayesian", max_trials: int = 10,
               epochs: int | None = None, directory: str | Path | None = None,
               overwrite: bool = False, space: dict[str, str] | None = None,
               settings: dict[str, Any] | None = None,
               data_dir: str | Path | None = None,
               echo: Callable[[str], Any] | None = None) -> kt.Tuner:
    """A keras-tuner tuner over `name`'s search space; `settings` fix other recipe values;
    `echo` receives a line as each trial ends."""
    spec = get_spec(name)
    recipe, space = config_lib.check_search(spec, tuner, max_trials, epochs, settings, space)
    data_dir = resolve_data_dir(data_dir)
    # Missing or bad data is one clear error now, not a failed trial inside keras-tuner.
    spec.load_data(recipe, data_dir)
    hypermodel = RecipeHyperModel(spec, recipe, space, data_dir)
    metric, direction = spec.objective
    options = dict(objective=kt.Objective(metric, direction), seed=recipe.seed,
                   directory=str(directory or Path("runs") / name / "tune"),
                   project_name=tuner, overwrite=overwrite, max_consecutive_failed_trials=1)
    if tuner == "hyperband":
        found = _timed(kt.Hyperband, echo)(hypermodel, max_epochs=recipe.epochs, **options)
        found.oracle.max_trials = max_trials  # Hyperband has no cap of its own
        return found
    return _timed(TUNERS[tuner], echo)(hypermodel, max_trials=max_trials, **options)


def trial_rows(tuner: kt.Tuner) -> list[TrialRow]:
    """Every trial, best first (unscored trials last)."""
    metric, direction = tuner.hypermodel.spec.objective
    rows = []
    for trial in tuner.oracle.trials.values():
        seconds_file = Path(tuner.get_trial_dir(trial.trial_id)) / SECONDS
        seconds = json.loads(seconds_file.read_text())["seconds"] if seconds_file.is_file() \
            else None
        rows.append(TrialRow(int(trial.trial_id), _searched(trial), trial.score, seconds))
    sign = 1 if direction == "min" else -1
    return sorted(rows, key=lambda r: (r.score is None, sign * (r.score or 0), r.trial))


def summarize(tuner: kt.Tuner) -> tuple[list[TrialRow], Path]:
    """Writes best_hparams.json and search.png into the search's project folder; returns the
    ranked trials and the path of best_hparams.json."""
    spec = tuner.hypermodel.spec
    metric, direction = spec.objective
    rows = trial_rows(tuner)
    project = Path(tuner.project_dir)
    scored = [r for r in rows if r.score is not None]
    if not scored:
        raise ZooError(f"no trial of the search in {project} has finished yet")
    best = scored[0]
    recipe = tuner.hypermodel.trial_recipe(
        {int(k): t for k, t in tuner.oracle.trials.items()}[best.trial].hyperparameters.copy())
    defaults = spec.recipe.to_dict()
    write_json(project / BEST, {
        "model": spec.name,
        "hparams": {key: getattr(recipe, key) for key in tuner.hypermodel.space},
        # what every trial had besides (--set, --epochs), so --hparams retrains the same model
        "settings": {key: value for key, value in recipe.to_dict().items()
                     if key not in tuner.hypermodel.space and value != defaults[key]},
        "objective": metric, "score": best.score, "trial": best.trial,
        "trials": len(rows),
    })
    by_id = sorted(scored, key=lambda r: r.trial)
    plots.search_progress([r.trial for r in by_id], [r.score for r in by_id], metric, direction,
                          project / "search.png", f"{spec.name}: {project.name} search")
    return rows, project / BEST
