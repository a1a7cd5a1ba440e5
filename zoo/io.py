"""Atomic file writes: a reader sees the old file or the whole new one, never half of one."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Calls `write(tmp_path)` on a temporary path beside `path`, then renames it to `path`.

    The temporary file keeps `path`'s suffixes (".weights.h5"), because some writers (Keras,
    matplotlib) choose the format from them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.tmp-", suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes files owner-only
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Writes `data` as indented JSON, atomically; a NaN or infinite number is written as
    null (JSON has no NaN: Python's bare `NaN` makes a file other readers refuse)."""
    text = json.dumps(finite(data), indent=2, sort_keys=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def finite(data: Any) -> Any:
    """`data` with every NaN or infinite float replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(value) for value in data]
    return data


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
