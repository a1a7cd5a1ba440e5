"""The forecasters' export: windows of raw values in, forecasts in the target's units out,
the normalization inside the graph; and `zoo predict`'s reading of CSV windows.

    serving_default  window float32 (batch, history, columns) -> forecast (batch, horizon)
    metadata         () -> columns (the target first), history, horizon
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from zoo.data.timeseries import format_interval, read_table, regular_grid, show_time
from zoo.errors import DataError
from zoo.serving import check_shape
from zoo.spec import Serving


def forecast_serving(model: keras.Model, recipe, data_dir: Path | None) -> Serving:
    shape = (None, recipe.history, len(recipe.columns))

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="window")])
    def serving_default(window):
        window = check_shape(window, shape, "window")
        window = tf.debugging.assert_all_finite(
            window, "window holds NaN or infinite values; expected finite numbers")
        return {"forecast": model(window, training=False)}

    @tf.function(input_signature=[])
    def metadata():
        return {"columns": tf.constant(recipe.columns), "history": tf.constant(recipe.history),
                "horizon": tf.constant(recipe.horizon)}

    return Serving({"serving_default": serving_default, "metadata": metadata})


def serving_examples(recipe, rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    window = rng.normal(10, 5, (3, recipe.history, len(recipe.columns))).astype("float32")
    return {"serving_default": {"window": window.tolist()}, "metadata": {}}


def predict_forecasts(loaded, inputs: list[str], options: dict[str, Any]
                      ) -> tuple[list[str], list[str]]:
    """`zoo predict`: each CSV's forecast, from its last `history` rows, one line per file,
    each value with its time (the file's own step after its last row)."""
    meta = loaded.signatures["metadata"]()
    columns = [c.decode() for c in meta["columns"].numpy()]
    history = int(meta["history"])
    windows, ends, notes = [], [], []
    for name in inputs:
        path = Path(name)
        grid = regular_grid(read_table(path, columns), columns, None, "refuse", path)
        rows = len(grid.times)
        if rows < history:
            raise DataError(f"{name} has {rows} rows; the model reads windows of {history} "
                            f"rows of {', '.join(columns)}")
        if rows > history:
            notes.append(f"{name}: {rows} rows; forecasting from the last {history}, "
                         f"{show_time(grid.times[-history])} to {show_time(grid.times[-1])}")
        windows.append(grid.values[-history:])
        ends.append((int(grid.times[-1]), grid.interval))
    forecast = loaded.signatures["serving_default"](window=tf.constant(np.stack(windows)))
    lines = []
    for name, values, (end, step) in zip(inputs, forecast["forecast"].numpy(), ends):
        steps = ", ".join(f"{value:.2f}" for value in values)
        when = (f"at {show_time(end + step)}" if len(values) == 1 else
                f"from {show_time(end + step)}, every {format_interval(step)}")
        lines.append(f"{columns[0]} {when}: {steps} ({name})")
    return lines, notes
