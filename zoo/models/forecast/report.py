"""The forecasters' test report: the LSTM and every baseline on the same test windows, in the
target's units, and pictures of forecasts and of error by step ahead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from zoo import plots
from zoo.models.forecast import baselines

PICTURED_WINDOWS = 4


def forecast_report(model: keras.Model, data, run_dir: Path, *, title: str) -> dict[str, Any]:
    """`metrics.json["test"]` additions: `baselines` ({name: {mae, rmse}}), `mae_by_step`,
    the naive baseline's name and how far below it the LSTM's MAE is, in percent."""
    series = data.series
    inputs, targets = series.windows("test")
    # one eager call: `predict` would trace a function for every model a report makes
    forecasts = {"lstm": np.asarray(model(inputs, training=False))}
    candidates = {
        "last_value": baselines.last_value(series, inputs),
        "repeat_last_day": baselines.repeat_last_day(series, inputs),
        "linear": baselines.linear(series, inputs),
        "dense": baselines.dense(series, inputs, seed=0),
        "sarimax": baselines.sarimax(series, inputs),
        "var": baselines.var(series, inputs),
    }
    forecasts.update({name: f for name, f in candidates.items() if f is not None})
    errors = {name: np.abs(f - targets) for name, f in forecasts.items()}
    scores = {name: {"mae": float(e.mean()),
                     "rmse": float(np.sqrt(np.mean((forecasts[name] - targets) ** 2)))}
              for name, e in errors.items()}
    naive = "last_value" if series.horizon == 1 or "repeat_last_day" not in scores \
        else "repeat_last_day"
    unit = series.columns[0]
    plots.error_by_step({name: e.mean(axis=0) for name, e in errors.items()},
                        run_dir / "error_by_step.png", f"{title}: test error by step ahead",
                        unit)
    shown = np.linspace(0, len(inputs) - 1, PICTURED_WINDOWS).astype(int)
    plots.forecast_windows(inputs[shown, :, 0], targets[shown],
                           {name: forecasts[name][shown] for name in ("lstm", "linear", naive)},
                           run_dir / "forecasts.png", f"{title}: test windows", unit)
    lstm = scores.pop("lstm")
    return {
        "mae_by_step": [float(v) for v in errors["lstm"].mean(axis=0)],
        "naive": naive,
        "mae_below_naive_percent": 100 * (1 - lstm["mae"] / scores[naive]["mae"]),
        "baselines": scores,
    }
