"""Run directories: where a new run goes, which run `--resume` continues, and what a run
directory's `config.json` says it was made with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zoo import config as config_lib
from zoo.checkpoints import read_checkpoint_index
from zoo.errors import UsageError, ZooError
from zoo.registry import get_spec
from zoo.spec import ModelSpec

# Settings a recipe had once and has no more: a run's config.json that holds one still opens.
RETIRED = {"validation_split"}  # the language model validates on its corpus' first characters


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
    if not Path(run_dir).is_dir():
        raise UsageError(f"run directory {str(run_dir)!r} does not exist; expected a folder "
                         "that `zoo run` wrote")
    if not path.is_file():
        raise UsageError(f"{str(run_dir)!r} is not a run directory (it has no config.json)")
    try:
        saved = json.loads(path.read_text())
        spec = get_spec(saved["model"])
        if not isinstance(saved["config"], dict):
            raise TypeError("config is not a mapping")
        known = config_lib.fields(spec.recipe)
        recipe = config_lib.override(spec.recipe, {k: v for k, v in saved["config"].items()
                                                   if k in known or k not in RETIRED})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ZooError(f"{path} is not a zoo run config ({error!r})") from None
    return spec, recipe, saved.get("created")


@dataclass
class RunStart:
    """Where a run goes and what it starts from: a new run, or the checkpoint it resumes."""

    run_dir: Path
    recipe: config_lib.Recipe
    created: str
    checkpoint: dict[str, Any] | None


# What --resume may change: how far the run goes. Anything else would train another model
# than the one its checkpoints hold.
RESUMABLE = ("epochs", "max_steps")


def start(spec: ModelSpec, overrides: dict[str, Any], output: str | Path | None,
          resume: bool, writer: bool = True) -> RunStart:
    """The run directory and recipe of a new run, or of the run `--resume` continues; writes
    nothing. A process that will not write the run (a `multi_worker` worker other than the
    chief) does not check that a new run's directory is free: the chief may have begun it."""
    if not resume:
        run_dir = Path(output) if output else default_run_dir(spec.name)
        if run_dir.exists() and not run_dir.is_dir():
            raise UsageError(f"--output {str(run_dir)!r} is a file, not a directory")
        if writer:
            check_new(run_dir)
        created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        return RunStart(run_dir, config_lib.override(spec.recipe, overrides), created, None)
    run_dir = Path(output) if output else latest_run_dir(spec.name)
    saved_spec, saved_recipe, created = read_run_config(run_dir)
    if saved_spec.name != spec.name:
        raise UsageError(f"{run_dir} is a run of {saved_spec.name!r}, not of {spec.name!r}")
    recipe = config_lib.override(saved_recipe, overrides)
    for key in overrides:
        old, new = getattr(saved_recipe, key), getattr(recipe, key)
        if key not in RESUMABLE and new != old:
            raise UsageError(f"--resume continues {run_dir} with its own recipe, so {key} stays "
                             f"{old!r} (not {new!r}); only {' and '.join(RESUMABLE)} may change. "
                             "Start a new run for other settings")
    checkpoint = read_checkpoint_index(run_dir / "checkpoints")
    steps = checkpoint and checkpoint.get("steps")
    if checkpoint and (run_dir / "metrics.json").is_file() and not more_to_train(
            recipe, checkpoint["epoch"], steps):
        further = (f"--set max_steps above {recipe.max_steps} (0: no limit)"
                   if stopped_by_max_steps(recipe, steps)
                   else f"--epochs above {checkpoint['epoch']}")
        raise UsageError(
            f"{run_dir} is finished ({checkpoint['epoch']} epochs, "
            f"{checkpoint.get('steps', '?')} steps); `zoo eval {run_dir}` evaluates it again, "
            f"--resume with {further} trains it further")
    return RunStart(run_dir, recipe, created, checkpoint)


def check_new(run_dir: Path) -> None:
    if (run_dir / "config.json").exists():
        raise UsageError(
            f"{run_dir} already holds a run; pass --resume to continue it, or another --output"
        )


def more_to_train(recipe: config_lib.Recipe, epochs: int, steps: int | None) -> bool:
    """Whether a run that has trained `epochs` epochs and `steps` steps (None: not known) has
    more to train under `recipe`."""
    return epochs < recipe.epochs and not stopped_by_max_steps(recipe, steps)


def stopped_by_max_steps(recipe: config_lib.Recipe, steps: int | None) -> bool:
    return bool(recipe.max_steps) and steps is not None and steps >= recipe.max_steps
