"""The one exporter: a trained run -> a TensorFlow SavedModel in TensorFlow Serving's layout.

    exports/<model>/<version>/   saved_model.pb, variables/, MODEL_CARD.md,
                                 assets.extra/zoo.json (its model and family)

`exports/` is in the current directory (git ignores it in a checkout); the exports shipped with
the zoo are in the repository's `saved_models/`, in the same layout. The version is the next
free integer. The SavedModel is written into a hidden staging folder beside its destination
and renamed into place, so a server never sees a half-written version; the staging folder of
an export that was killed is removed by the next export into the same place. Its signatures
(each family's `serving.py`) run with TensorFlow alone: `tf.saved_model.load(path)`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from zoo.data.files import resolve_data_dir
from zoo.errors import UsageError, ZooError

EXPORTS = Path("exports")
SAVED_MODELS = Path("saved_models")
STAGING = ".staging-"
MACHINE_PATHS = ("path", "corpus")  # where the data lay on the machine that trained it
CARD = "MODEL_CARD.md"
# TensorFlow Serving's folder for files beside a SavedModel that TensorFlow does not load
RECORD = Path("assets.extra") / "zoo.json"


def versions(root: Path) -> list[int]:
    """The integer-named version folders under `root`, in order."""
    return sorted(int(p.name) for p in root.glob("*") if p.is_dir() and p.name.isdigit())


def next_version(root: Path) -> int:
    """One more than the largest version under `root` (1 if none)."""
    return max(versions(root), default=0) + 1


def export_run(run_dir: str | Path, *, to: str | Path | None = None,
               root: str | Path = EXPORTS, data_dir: str | Path | None = None) -> Path:
    """Exports a run's trained model to `to`, else `root/<model>/<next version>/`; returns
    the path. `data_dir` supplies what the signatures carry inside (the IMDB word index)."""
    from zoo.build import build_model, copy_weights
    from zoo.runner import load_run_model

    run_dir = Path(run_dir)
    spec, recipe, model = load_run_model(run_dir)
    if to is None:
        destination = Path(root) / spec.name / str(next_version(Path(root) / spec.name))
    else:
        destination = Path(to)
        if destination.exists():
            raise UsageError(f"--to {str(destination)!r} already exists; name a new folder")
    # a fresh copy of the trained weights, without the optimizer's state
    inference = build_model(spec, recipe)
    copy_weights(model, inference)
    serving = spec.serving(inference, recipe, resolve_data_dir(data_dir))
    card = model_card(spec, recipe, run_dir)
    write_saved_model(inference, serving, destination, card,
                      {"model": spec.name, "family": spec.family})
    return destination


def write_saved_model(model, serving, destination: Path, card: str,
                      record: dict[str, str]) -> None:
    """Writes the SavedModel, its card and its record (`assets.extra/zoo.json`: which model
    and family it is, read by `zoo predict`) into a staging folder, then renames it into
    place."""
    import tensorflow as tf

    staging = None
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_staging(destination.parent)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{os.getpid()}-",
                                        dir=destination.parent))
        # A bare tf.Module holding the weights' tf.Variables: keras' ExportArchive would store
        # every weight twice (as the keras variable and as the tf.Variable it wraps).
        module = tf.Module()
        module.weights = [getattr(w, "value", w) for w in model.weights]
        module.resources = list(serving.resources)
        for name, function in serving.signatures.items():
            setattr(module, name, function)  # also callable as loaded.<name>(...)
        tf.saved_model.save(module, str(staging / "model"), signatures=serving.signatures)
        (staging / "model" / CARD).write_text(card)
        (staging / "model" / RECORD).parent.mkdir()
        (staging / "model" / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        os.rename(staging / "model", destination)
    except (OSError, tf.errors.OpError) as error:
        reason = " ".join(str(error).split())[:300]
        raise ZooError(f"cannot write the SavedModel to {destination}: {reason}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def remove_abandoned_staging(folder: Path) -> None:
    """Removes the staging folders in `folder` of exports whose process has ended (killed
    mid-export); a running export's folder is left alone."""
    for staging in folder.glob(f"{STAGING}*"):
        pid = staging.name[len(STAGING):].split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def model_card(spec, recipe, run_dir: Path) -> str:
    """A short markdown card: the commands that make the run and the export again, the
    recipe, the data (its file in a data directory and its sha256, no machine's paths), the
    test figures."""
    import keras
    import tensorflow as tf

    from zoo.runner import figures

    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    defaults = spec.recipe.to_dict()
    changed = [f"--set {k}={v}" for k, v in recipe.to_dict().items() if defaults[k] != v]
    data = metrics.get("data", {})
    from_data_dir = "ZOO_DATA_DIR=DATA " if data.get("source") == "data directory" else ""
    run = f"runs/{spec.name}/{run_dir.name}"
    trained = (f"trained {metrics['steps_trained']} steps in {sum(metrics['train_seconds']):.0f} s "
               f"(finished {metrics['finished']}); {metrics['params']:,} parameters"
               if metrics else "not finished: exported from its last checkpoint")
    lines = [
        f"# {spec.name}",
        "",
        f"{spec.task}, {spec.dataset}. Exported {datetime.now(timezone.utc).date().isoformat()} "
        f"with TensorFlow {tf.__version__} and Keras {keras.__version__} from run "
        f"`{run_dir.name}`: {trained}.",
        "",
        "## Made by",
        "",
        f"    {from_data_dir}zoo run {' '.join([spec.name, *changed])} --output {run}",
        f"    {from_data_dir}zoo export {run}",
        "",
        *(["DATA: a data directory holding the file below (such as the zoo's shared data).", ""]
          if from_data_dir else []),
        "## Test figures",
        "",
        *[f"- {key}: {value}" for key, value in figures(metrics.get("test", {}))],
        "",
        "## Data",
        "",
        *[f"- {key}: `{value}`" for key, value in data.items() if key not in MACHINE_PATHS],
        "",
        "## Recipe",
        "",
        *[f"- {key}: `{value}`" for key, value in recipe.to_dict().items()],
        "",
    ]
    return "\n".join(lines)
