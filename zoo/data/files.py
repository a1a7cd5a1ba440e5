"""Locating dataset files: a local data directory first, checked against its manifest.

A data directory (`--data-dir`, else `ZOO_DATA_DIR`) holds files at fixed relative paths,
such as `imdb/imdb.npz`. When it also holds a `SHA256SUMS` manifest (lines of
`<sha256>  <relative path>`, as `sha256sum` writes them), every file is checked against it
before it is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import DataError
from zoo.io import sha256_of

ENV_VAR = "ZOO_DATA_DIR"
MANIFEST = "SHA256SUMS"


@dataclass(frozen=True)
class DataFile:
    """A dataset file that was found and, where possible, checked."""

    path: Path
    sha256: str
    source: str  # "data directory", "download" or "path"
    file: str  # its path within a data directory, else its file name



def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The data directory given explicitly, else `ZOO_DATA_DIR`, else `None`."""
    chosen = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        where = "--data-dir" if data_dir is not None else ENV_VAR
        relative = "" if path.is_absolute() else f", relative to {Path.cwd()}"
        raise DataError(f"data directory {str(path)!r} (from {where}{relative}) is not a "
                        "directory")
    return path


def find_local(data_dir: Path | None, relative: str) -> DataFile | None:
    """Returns `data_dir/relative` checked against the manifest, or `None` if it is absent.

    Raises `DataError` when the manifest lists another hash, or exists but does not list
    the file: a file that cannot be checked is not read.
    """
    if data_dir is None:
        return None
    path = data_dir / relative
    if not path.is_file():
        return None
    actual = sha256_of(path)
    manifest = data_dir / MANIFEST
    if manifest.is_file():
        expected = read_manifest(manifest).get(relative)
        if expected is None:
            raise DataError(
                f"{path} is not listed in {manifest}; add its line "
                f"(cd {data_dir} && sha256sum {relative} >> {MANIFEST}) or remove the manifest"
            )
        if expected != actual:
            raise DataError(
                f"{path} has sha256 {actual} but {manifest} lists {expected}; "
                "the file is corrupt or was replaced"
            )
    return DataFile(path=path, sha256=actual, source="data directory", file=relative)


def read_manifest(manifest: Path) -> dict[str, str]:
    entries = {}
    try:
        text = manifest.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read {manifest} as a sha256sum manifest ({error})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name:
            raise DataError(
                f"{manifest} line {number} is {line!r}; expected '<sha256>  <relative path>'"
            )
        entries[name.removeprefix("./")] = digest.lower()
    return entries


def download(fname: str, origin: str, file_hash: str, *, data_dir: Path | None,
             relative: str) -> DataFile:
    """Keras' download and cache (`~/.keras/datasets`), with one clear error when offline.
    With a data directory given, the data comes from it alone: a file it lacks is an error,
    not a download."""
    if data_dir is not None:
        raise DataError(f"{data_dir / relative} does not exist: the data directory must hold "
                        f"it (without --data-dir and {ENV_VAR}, zoo downloads it from {origin})")
    import keras

    try:
        path = Path(keras.utils.get_file(fname=fname, origin=origin, file_hash=file_hash))
    except Exception as error:  # keras wraps every network failure in a bare Exception
        reason = " ".join(str(error).split())[:200]
        raise DataError(
            f"cannot get {relative}: no data directory was given, and downloading {origin} "
            f"failed ({reason}); "
            f"either go online, or pass --data-dir (or set {ENV_VAR}) to a folder holding "
            f"{relative}"
        ) from None
    return DataFile(path=path, sha256=sha256_of(path), source="download", file=fname)
