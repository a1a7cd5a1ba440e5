"""The checkpoint index (`checkpoints/checkpoint.json`): which weights files a run's
checkpoints are, with their sha256, and the run's record so far; read without TensorFlow, so
`--resume` is checked before it loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.io import sha256_of

CHECKPOINT_INDEX = "checkpoint.json"
# the fields of `zoo.callbacks.EpochRecord`, saved with each checkpoint
RECORD_FIELDS = {"history", "epoch_seconds", "train_seconds", "train_examples"}


def read_checkpoint_index(directory: Path) -> dict[str, Any] | None:
    index = directory / CHECKPOINT_INDEX
    if not index.is_file():
        return None
    try:
        saved = json.loads(index.read_text())
        if not {"weights", "epoch", "best", "record"} <= set(saved):
            raise ValueError("it lacks weights, epoch, best or record")
        if not isinstance(saved["record"], dict) or set(saved["record"]) != RECORD_FIELDS:
            raise ValueError(f"its record does not hold {', '.join(sorted(RECORD_FIELDS))}")
    except (OSError, ValueError, TypeError) as error:
        raise ZooError(f"{index} is not a checkpoint index ({error}); it is unusable") from None
    return saved


def checked(directory: Path, entry: dict[str, Any]) -> Path:
    """The weights file an index entry names (the index itself or its `best`), after checking
    it still has the sha256 recorded when it was written."""
    path = directory / entry["weights"]
    expected = entry.get("sha256")  # indexes written before checksums were kept have none
    if expected is not None and path.is_file():
        actual = sha256_of(path)
        if actual != expected:
            raise ZooError(f"{path} has sha256 {actual}, not the {expected} recorded when it was "
                           "written: it was changed or damaged since, and is not loaded")
    return path
