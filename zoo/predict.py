"""`zoo predict`: run an exported SavedModel on what a person has: review text, digit images,
a prime for the language model. The export's record (`assets.extra/zoo.json`) names its model,
whose family reads the inputs and presents the outputs; the model runs from the SavedModel's
signatures alone, with no data directory and no training code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.errors import DataError, UsageError
from zoo.export import EXPORTS, RECORD, SAVED_MODELS, versions
from zoo.registry import REGISTRY, get_spec
from zoo.spec import ModelSpec

REPO_SAVED_MODELS = Path(__file__).resolve().parent.parent / SAVED_MODELS


def resolve_saved_model(model: str) -> tuple[Path, str | None]:
    """The SavedModel `model` names, and how it was chosen (None when given as a path): a
    registered model's newest version under ./exports (where `zoo export` writes), else its
    shipped export in the repository's saved_models/; or a folder holding a SavedModel."""
    if model in REGISTRY:
        for root, kind in ((EXPORTS, "your newest export"),
                           (REPO_SAVED_MODELS, "the zoo's shipped export")):
            # a version without its record (written before exports had one) is not a choice
            found = [v for v in versions(root / model)
                     if (root / model / str(v) / "saved_model.pb").is_file()
                     and (root / model / str(v) / RECORD).is_file()]
            if found:
                return root / model / str(found[-1]), f"{kind} of {model}; name a SavedModel " \
                    "folder to use another"
        raise UsageError(f"no export of {model} under {EXPORTS / model} or "
                         f"{REPO_SAVED_MODELS / model}; make one with `zoo export RUN_DIR`, or "
                         "pass the path of a SavedModel")
    path = Path(model).expanduser()
    if not (path / "saved_model.pb").is_file():
        raise UsageError(f"{model!r} is neither a registered model nor a folder holding a "
                         "SavedModel (saved_model.pb)")
    return path, None


def exported_spec(path: Path) -> ModelSpec:
    """The spec of the model an export records it was made from."""
    record_path = path / RECORD
    try:
        record = json.loads(record_path.read_text())
        name = record["model"]
    except FileNotFoundError:
        raise UsageError(f"{path} is not a zoo export: it has no {RECORD} naming its model "
                         "(export its run again with `zoo export`)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{record_path} is not a zoo export record ({error!r})") from None
    if not isinstance(name, str) or name not in REGISTRY:
        raise DataError(f"{record_path} names model {name!r}, which this zoo does not have; "
                        f"registered models: {', '.join(REGISTRY)}")
    return get_spec(name)


def predict(path: Path, spec: ModelSpec, inputs: list[str], options: dict[str, Any]
            ) -> tuple[list[str], list[str]]:
    """One printable line per input, and notes on how inputs were read, from the export at
    `path` of `spec`'s model. `options`: see `ModelSpec.check_inputs`."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as error:  # TF raises several types for a damaged SavedModel
        reason = " ".join(str(error).split())[:200]
        raise DataError(f"cannot load the SavedModel in {path}: {reason}") from None
    return spec.predict(loaded, inputs, options)
