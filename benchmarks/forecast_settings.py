"""The settings the forecasters' defaults were chosen from, each run through the runner on
Greensboro; the choice is the lowest validation MAE (at the epoch the run keeps). Test MAE and
the least-squares baseline's are printed beside it, for the record, not for choosing.

    ZOO_DATA_DIR=../shared/data python benchmarks/forecast_settings.py [NAME ...]

About 50 s a run on 2 cores (training and every baseline); all 13 take about 11 minutes.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from zoo.data.files import resolve_data_dir
from zoo.runner import run

# the first recipe tried, for every set-up
FIRST = {"highway": True, "learning_rate": 3e-4, "dropout": 0.0}
CANDIDATES = {
    "forecast_uni_single": [FIRST, {"learning_rate": 1e-3},
                            {"highway": True, "learning_rate": 1e-3}],
    "forecast_multi_single": [FIRST, {"learning_rate": 1e-3},
                              {"highway": True, "learning_rate": 1e-3}],
    "forecast_uni_multi": [FIRST, {**FIRST, "learning_rate": 1e-4},
                           {**FIRST, "learning_rate": 1e-4, "dropout": 0.2}],
    "forecast_multi_multi": [FIRST, {**FIRST, "learning_rate": 1e-4},
                             {**FIRST, "learning_rate": 1e-4, "dropout": 0.2},
                             {**FIRST, "dropout": 0.2, "units": 32}],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(CANDIDATES))
    args = parser.parse_args()
    data_dir = resolve_data_dir(None)
    for name in args.names:
        for settings in CANDIDATES[name]:
            with tempfile.TemporaryDirectory() as scratch:
                # epochs 30: the single-step defaults' length, and twice the multi-step ones'
                metrics = run(name, {**settings, "epochs": 30}, data_dir=data_dir,
                              output=f"{scratch}/run", verbose=0)
            epoch = metrics["evaluated_epoch"]
            print(json.dumps({
                "model": name, "settings": settings, "epoch": epoch,
                "val_mae": round(metrics["history"]["val_mae"][epoch - 1], 4),
                "test_mae": round(metrics["test"]["mae"], 4),
                "linear_test_mae": round(metrics["test"]["baselines"]["linear"]["mae"], 4),
            }), flush=True)


if __name__ == "__main__":
    main()
