"""The forecasters' recipe, the four set-ups' defaults, smoke size, search space and parameter
counts."""

from __future__ import annotations

import dataclasses

from zoo.config import CELLS, Recipe, require, step_flops
from zoo.data.timeseries import GAP_RULES, parse_interval

DECODERS = ("single_shot", "autoregressive")
# Greensboro's columns besides the temperature: the multivariate set-ups read them all
WEATHER = "dewpoint_c,rel_humidity,pressure_mbar,wind_speed,wind_dir_deg,ghi_wm2,total_cloud_tenths"


@dataclasses.dataclass(frozen=True)
class ForecastRecipe(Recipe):
    """An LSTM reads `history` rows of a series and forecasts its target's next `horizon`
    values (beside a linear highway, started at the training part's least-squares fit).

    Defaults: Greensboro's hourly weather, a chronological 70/20/10 split, one day of history
    for the next hour (`SETUPS` below: three days for the next day). Trained on mean absolute
    error, the figure the set-ups are judged by; the validation loss picks the epoch. Each
    set-up's settings were chosen on validation MAE alone, among those `benchmarks/README.md`
    lists: for the next hour a plain LSTM (Adam 1e-3) did best; for the next day the plain
    LSTM overfits the year's ~6,000 windows within an epoch or two, and only the highway kept
    it level with or ahead of least squares.

        ZOO_DATA_DIR=../shared/data zoo run forecast_uni_single   # the README's table

    Attributes, beyond `Recipe`'s:
        series: a CSV path, a series in the data directory's timeseries/ folder (such as
            "greensboro_tmy3"), or "jena_climate" (TensorFlow's tutorial data, downloaded).
        target: the column forecast.
        features: other columns read as inputs, comma-separated ("": the target alone).
        interval: the grid's step, such as 1h or 10min ("": the series' most common step).
        gaps: "refuse" a missing time or an empty cell, or "interpolate" it linearly.
        history: rows each forecast reads.
        horizon: rows forecast after them.
        validation_fraction: the part after the training part, for choosing the epoch.
        test_fraction: the series' last part, scored once.
        units: size of the LSTM state.
        decoder: "single_shot" (every step from the last state at once) or "autoregressive"
            (one step at a time, each fed back to the LSTM).
        highway: add a linear map of the whole window, started at least squares on the
            training part, to the LSTM's output (its head starts at zero).
        dropout: fraction of the LSTM's outputs dropped in training.
        cell: "lstm" or another of `zoo.models.cells`: peephole, cifg, no_forget or gru.
    """

    series: str = "greensboro_tmy3"
    target: str = "temp_c"
    features: str = ""
    interval: str = ""
    gaps: str = "refuse"
    history: int = 24
    horizon: int = 1
    validation_fraction: float = 0.2
    test_fraction: float = 0.1
    units: int = 64
    decoder: str = "single_shot"
    highway: bool = False
    dropout: float = 0.0
    cell: str = "lstm"
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "series", bool(self.series.strip()), "a CSV path or a series name")
        require(self, "target", bool(self.target.strip()), "a column name")
        names = [n.strip() for n in self.features.split(",") if n.strip()]
        require(self, "features", len(set(names)) == len(names), "column names, each once")
        if self.interval:
            parse_interval(self.interval)
        require(self, "gaps", self.gaps in GAP_RULES, " or ".join(GAP_RULES))
        require(self, "history", self.history >= 1, "an integer >= 1")
        require(self, "horizon", self.horizon >= 1, "an integer >= 1")
        require(self, "validation_fraction", 0 < self.validation_fraction < 1,
                "a fraction between 0 and 1")
        require(self, "test_fraction",
                0 < self.test_fraction < 1 - self.validation_fraction,
                f"a fraction between 0 and {1 - self.validation_fraction:g} (1 - "
                "validation_fraction), leaving rows to train on")
        require(self, "units", self.units >= 1, "an integer >= 1")
        require(self, "decoder", self.decoder in DECODERS, " or ".join(DECODERS))
        require(self, "dropout", 0 <= self.dropout < 1, "a fraction in [0, 1)")
        require(self, "cell", self.cell in CELLS, ", ".join(CELLS))

    @property
    def columns(self) -> list[str]:
        """The input columns, the target first (named again in `features`, it is read once)."""
        target = self.target.strip()
        return [target] + [n.strip() for n in self.features.split(",")
                           if n.strip() and n.strip() != target]


# the next day: the best epoch came within the first 7, so 15 epochs leave the result as 30 did
NEXT_DAY = dict(history=72, horizon=24, highway=True, epochs=15)
SETUPS = {
    "forecast_uni_single": dict(),
    "forecast_uni_multi": dict(NEXT_DAY, learning_rate=3e-4),
    "forecast_multi_single": dict(features=WEATHER),
    "forecast_multi_multi": dict(NEXT_DAY, features=WEATHER, learning_rate=1e-4, dropout=0.2),
}

SMOKE = dict(units=4, batch_size=8, epochs=2, history=6, horizon=3, highway=False,
             dropout=0.2)


# LSTM 4*units*(columns+units+1) + head units*horizon+horizon + highway
# history*columns*horizon+horizon; smoke (4 units, 6 rows -> 3, no highway): no highway term
PARAMS = {
    # 4*64*(1+64+1) + 64*1+1 (no highway); smoke 4*4*(1+4+1) + 4*3+3
    "forecast_uni_single": (16_961, 111),
    # 4*64*(1+64+1) + 64*24+24 + 72*1*24+24; smoke as above
    "forecast_uni_multi": (20_208, 111),
    # 4*64*(8+64+1) + 64*1+1 (no highway); smoke 4*4*(8+4+1) + 4*3+3
    "forecast_multi_single": (18_753, 223),
    # 4*64*(8+64+1) + 64*24+24 + 72*8*24+24; smoke as above
    "forecast_multi_multi": (34_096, 223),
}

SEARCH_SPACE = dict(units=[32, 64, 128], learning_rate=[1e-4, 3e-4, 1e-3],
                    dropout=[0.0, 0.2], history=[24, 48, 72])


def flops(recipe: ForecastRecipe) -> int:
    """Matrix products of one window's forward pass: a cell step a row (and one a further
    forecast step for the autoregressive decoder), the head, the highway."""
    columns = len(recipe.columns)
    fed_back = recipe.horizon - 1 if recipe.decoder == "autoregressive" else 0
    outputs = recipe.horizon if recipe.decoder == "single_shot" else columns
    highway = 2 * recipe.history * columns * recipe.horizon if recipe.highway else 0
    return ((recipe.history + fed_back) * step_flops(recipe.cell, columns, recipe.units)
            + (1 + fed_back) * 2 * recipe.units * outputs + highway)
