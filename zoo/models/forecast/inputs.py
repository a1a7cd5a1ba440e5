"""What `zoo predict forecast_*` accepts, checked before TensorFlow loads: CSV files of recent
rows (a timestamp column and the model's columns), each forecast from its last rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.errors import UsageError

ACCEPTED = ("a CSV file (plain or zipped) whose first column is a timestamp and whose other "
            "columns include the model's, at least one window of rows long")


def check_windows(inputs: list[str], options: dict[str, Any]) -> None:
    for name in inputs:
        if not Path(name).is_file():
            raise UsageError(f"window {name!r} does not exist; expected {ACCEPTED}")
