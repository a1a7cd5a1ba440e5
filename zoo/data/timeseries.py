"""Time series from CSV files: a timestamp column, then numeric columns, read onto a regular
grid and cut chronologically into training, validation and test parts.

    train       the first 1 - validation_fraction - test_fraction of the rows (70%)
    validation  the next validation_fraction (20%)
    test        the last test_fraction (10%), scored once

The series is a file path (plain or zipped CSV), a name in the data directory's `timeseries/`
folder (`greensboro_tmy3` reads `timeseries/greensboro_tmy3.csv`), or `jena_climate`: the
Jena weather record of TensorFlow's time-series tutorial, downloaded into keras' cache when
no data directory holds it. Each window's inputs come from one part only, as in the tutorial.

Rows are placed on a grid of `interval` (the series' most common step unless given); a
coarser interval keeps the rows at whole multiples of it (the tutorial's `df[5::6]` takes the
hourly rows of 10-minute data). A missing grid point or an empty cell is a gap: refused with
its position, or, with `gaps="interpolate"`, filled by linear interpolation in time. A time
given twice keeps its first row (the run's data record counts the rows dropped); times that go
backwards are refused.
Normalization statistics are fitted on the training part only.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.files import DataFile, download, find_local, sha256_of
from zoo.data.pipeline import Datasets, window_datasets
from zoo.errors import DataError, UsageError

FOLDER = "timeseries"
JENA = "jena_climate"
JENA_ORIGIN = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
               "jena_climate_2009_2016.csv.zip")
JENA_FILE = "jena_climate_2009_2016.csv.zip"
# tried in order on the first timestamp; every row must then have the same format
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
                "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400}
GAP_RULES = ("refuse", "interpolate")


def parse_interval(text: str) -> int:
    """Seconds in an interval written as `30s`, `10min`, `1h` or `1d`."""
    match = re.fullmatch(r"(\d+)\s*(s|min|h|d)", text.strip())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"interval={text!r} is not accepted; expected a number and a unit, "
                         "such as 30s, 10min, 1h or 1d (empty: the series' own step)")
    return int(match.group(1)) * UNITS[match.group(2)]


def format_interval(seconds: int) -> str:
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError(seconds)  # every whole number of seconds is a number of "s"


def locate(series: str, data_dir: Path | None) -> DataFile:
    """The series' file: a path, else `timeseries/<series>.csv[.zip]` in the data directory
    (checked against its manifest), else, for `jena_climate`, keras' cached download."""
    path = Path(series).expanduser()
    if path.is_file():
        return DataFile(path=path, sha256=sha256_of(path), source="path", file=path.name)
    names = [f"{series}.csv", f"{series}.csv.zip"] + ([JENA_FILE] if series == JENA else [])
    for name in names:
        found = find_local(data_dir, f"{FOLDER}/{name}")
        if found:
            return found
    if series == JENA:
        return download(JENA_FILE, JENA_ORIGIN, None, data_dir=data_dir,
                        relative=f"{FOLDER}/{JENA_FILE}")
    here = sorted(p.name.split(".")[0] for p in (data_dir / FOLDER).glob("*.csv*")) \
        if data_dir is not None and (data_dir / FOLDER).is_dir() else []
    raise UsageError(f"series={series!r} is neither a file nor a series in "
                     f"{data_dir / FOLDER if data_dir else 'a data directory'}"
                     + (f" (it holds {', '.join(here)})" if here else "")
                     + f"; expected the path of a CSV file, a series name there, or {JENA} "
                     "(downloaded)")


def read_text(path: Path) -> str:
    """A CSV file's text; a zip archive's one CSV member."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if m.endswith(".csv")]
                if len(members) != 1:
                    raise DataError(f"{path} is a zip archive holding {len(members)} CSV files; "
                                    "expected one")
                return archive.read(members[0]).decode("utf-8-sig")
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read {path} as a CSV file ({error})") from None


@dataclass
class Table:
    """A CSV's columns as read: seconds since 1970 per row, and each wanted column's values
    (NaN where a cell is empty)."""

    times: np.ndarray  # int64 seconds
    columns: dict[str, np.ndarray]


def read_table(path: Path, wanted: list[str]) -> Table:
    """The timestamps (first column) and the `wanted` columns of a CSV file; a missing column,
    an unreadable timestamp or a non-numeric cell is an error naming it."""
    rows = list(csv.reader(io.StringIO(read_text(path))))
    if not rows or len(rows[0]) < 2:
        raise DataError(f"{path} has no header of a timestamp column and value columns")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in wanted if name not in header[1:]]
    if missing:
        raise DataError(f"{path} has no column {', '.join(map(repr, missing))}; its columns "
                        f"are {', '.join(header[1:])} (after the timestamp column "
                        f"{header[0]!r})")
    body = [row for row in rows[1:] if row]
    if not body:
        raise DataError(f"{path} has a header but no rows")
    times = parse_times([row[0] for row in body], path)
    columns = {}
    for name in wanted:
        index = header.index(name)
        values = np.empty(len(body))
        for number, row in enumerate(body):
            cell = row[index].strip() if index < len(row) else ""
            try:
                values[number] = float(cell) if cell else np.nan
            except ValueError:
                raise DataError(f"{path} line {number + 2}: column {name!r} holds {cell!r}, "
                                "not a number") from None
            if np.isinf(values[number]):
                raise DataError(f"{path} line {number + 2}: column {name!r} holds {cell!r}; "
                                "expected a finite number")
        columns[name] = values
    return Table(times, columns)


def parse_times(texts: list[str], path: Path) -> np.ndarray:
    first = texts[0].strip()
    for fmt in TIME_FORMATS:
        try:
            datetime.strptime(first, fmt)
            break
        except ValueError:
            continue
    else:
        raise DataError(f"{path} line 2: timestamp {first!r} is in no format the zoo reads; "
                        "expected such as 2001-01-31 13:00, 2001/01/31 or 31.01.2001 13:00:00")
    epoch = datetime(1970, 1, 1)
    times = np.empty(len(texts), dtype=np.int64)
    for number, text in enumerate(texts):
        try:
            times[number] = (datetime.strptime(text.strip(), fmt) - epoch).total_seconds()
        except ValueError:
            raise DataError(f"{path} line {number + 2}: timestamp {text!r} is not in the "
                            f"format of the first row ({fmt})") from None
    return times


def show_time(seconds: int) -> str:
    return str(np.datetime64(int(seconds), "s")).replace("T", " ")


@dataclass
class Grid:
    """Values on a regular grid of times (NaN where there was nothing)."""

    times: np.ndarray
    values: np.ndarray  # (rows, columns)
    interval: int
    filled: int  # values that were gaps, filled by interpolation
    dropped: int  # rows off the grid (between its points)
    repeated: int  # rows whose time an earlier row had (the first is kept)


def regular_grid(table: Table, columns: list[str], interval: int | None, gaps: str,
                 path: Path) -> Grid:
    times = table.times
    steps = np.diff(times)
    bad = np.flatnonzero(steps < 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{path} lines {i + 2}-{i + 3}: timestamps {show_time(times[i])} then "
                        f"{show_time(times[i + 1])} are not increasing; sort the rows")
    # a time given twice (a logger's repeated record) keeps its first row
    first = np.concatenate([[True], steps > 0])
    times, steps = times[first], steps[steps > 0]
    if interval is None:
        if not steps.size:
            raise DataError(f"{path} has one row; a series needs many")
        values, counts = np.unique(steps, return_counts=True)
        interval = int(values[np.argmax(counts)])
    start = -(-times[0] // interval) * interval  # the first whole multiple of the interval
    on_grid = (times - start) % interval == 0
    grid_times = np.arange(start, times[-1] + 1, interval, dtype=np.int64)
    values = np.full((len(grid_times), len(columns)), np.nan)
    rows = (times[on_grid] - start) // interval
    for j, name in enumerate(columns):
        values[rows, j] = table.columns[name][first][on_grid]
    missing = np.isnan(values)
    filled = 0
    if missing.any():
        if gaps == "refuse":
            i, j = np.argwhere(missing)[0]
            absent = ~np.isin(grid_times, times)
            what = (f"no row for {show_time(grid_times[i])}" if absent[i] else
                    f"column {columns[j]!r} is empty at {show_time(grid_times[i])}")
            total = int(missing.any(axis=1).sum())
            raise DataError(f"{path} has gaps on its {format_interval(interval)} grid at "
                            f"{total} times, the first: {what}; set gaps=interpolate to fill "
                            "them linearly in time, or give a series without gaps")
        for j in range(len(columns)):
            known = ~missing[:, j]
            if known.sum() < 2:
                raise DataError(f"{path}: column {columns[j]!r} has fewer than two values; "
                                "nothing to interpolate from")
            values[:, j] = np.interp(grid_times, grid_times[known], values[known, j])
        filled = int(missing.sum())
    return Grid(grid_times, values.astype("float32"), interval, filled,
                int((~on_grid).sum()), int((~first).sum()))


@dataclass
class Series:
    """A series cut into parts, as the forecasting family's report and baselines need it.

    Attributes:
        columns: the input columns, the target first.
        times, values: the whole grid; `values[:, 0]` is the target.
        bounds: row indices (train_end, validation_end): the parts are
            values[:train_end], values[train_end:validation_end], values[validation_end:].
        interval: seconds between rows.
        history, horizon: rows read by a window, rows forecast after it.
        mean, std: per column, of the training part (std 1 for a constant column).
    """

    columns: list[str]
    times: np.ndarray
    values: np.ndarray
    bounds: tuple[int, int]
    interval: int
    history: int
    horizon: int
    mean: np.ndarray
    std: np.ndarray

    def part(self, name: str) -> np.ndarray:
        train_end, validation_end = self.bounds
        return {"train": self.values[:train_end],
                "validation": self.values[train_end:validation_end],
                "test": self.values[validation_end:]}[name]

    def windows(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Every (inputs (n, history, columns), targets (n, horizon)) pair in a part."""
        values = self.part(name)
        n = len(values) - self.history - self.horizon + 1
        inputs = np.lib.stride_tricks.sliding_window_view(values[:n + self.history - 1],
                                                          self.history, axis=0)
        targets = np.lib.stride_tricks.sliding_window_view(values[self.history:, 0],
                                                           self.horizon)
        return np.moveaxis(inputs, 2, 1), targets[:n]

    @property
    def steps_per_day(self) -> int:
        return 86400 // self.interval if 86400 % self.interval == 0 else 0


@dataclass
class SeriesDatasets(Datasets):
    """`Datasets` with the series they were cut from."""

    series: Series | None = None


def load(recipe: Any, data_dir: Path | None) -> SeriesDatasets:
    """Window pipelines for a forecasting recipe (see `zoo.models.forecast.recipe`)."""
    found = locate(recipe.series, data_dir)
    columns = recipe.columns
    table = read_table(found.path, columns)
    interval = parse_interval(recipe.interval) if recipe.interval else None
    grid = regular_grid(table, columns, interval, recipe.gaps, found.path)
    series = cut(grid, columns, recipe, found.path)
    info = {"dataset": "time series", "series": recipe.series, "path": str(found.path),
            "file": found.file, "sha256": found.sha256, "source": found.source,
            "columns": columns, "interval": format_interval(grid.interval),
            "rows": len(grid.times), "first": show_time(grid.times[0]),
            "last": show_time(grid.times[-1]), "gaps_filled": grid.filled,
            "rows_off_grid": grid.dropped, "rows_repeated": grid.repeated}
    windows = window_datasets(series, recipe)
    return SeriesDatasets(**{**vars(windows), "info": {**info, **windows.info},
                             "adapt": lambda model: model.adapt(series)}, series=series)


def cut(grid: Grid, columns: list[str], recipe: Any, path: Path) -> Series:
    rows = len(grid.times)
    train_end = int(round(rows * (1 - recipe.validation_fraction - recipe.test_fraction)))
    validation_end = int(round(rows * (1 - recipe.test_fraction)))
    window = recipe.history + recipe.horizon
    for name, size in (("training", train_end), ("validation", validation_end - train_end),
                       ("test", rows - validation_end)):
        if size < window:
            raise DataError(
                f"{path}: its {name} part has {size} rows of {format_interval(grid.interval)}, "
                f"fewer than one window (history {recipe.history} + horizon "
                f"{recipe.horizon} = {window} rows); give a longer series, a shorter history "
                "or horizon, or other fractions")
    train = grid.values[:train_end]
    std = train.std(axis=0)
    return Series(columns=columns, times=grid.times, values=grid.values,
                  bounds=(train_end, validation_end), interval=grid.interval,
                  history=recipe.history, horizon=recipe.horizon,
                  mean=train.mean(axis=0).astype("float32"),
                  std=np.where(std > 0, std, 1).astype("float32"))
