"""Run directories: where a new run goes, which run `--resume` continues, and what a run
directory's `config.json` says it was made with."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from zoo import config as config_lib
from zoo.errors import UsageError, ZooError
from zoo.registry import get_spec
from zoo.spec import ModelSpec


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
        recipe = config_lib.override(spec.recipe, saved["config"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ZooError(f"{path} is not a zoo run config ({error!r})") from None
    return spec, recipe, saved.get("created")
