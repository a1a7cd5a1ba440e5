"""The four forecasting set-ups of the Keras LSTM write-ups and TensorFlow's time-series
tutorial: univariate or multivariate inputs, the next step or the next day."""

from __future__ import annotations

from zoo.config import override
from zoo.models.forecast import recipe
from zoo.models.forecast.inputs import check_windows
from zoo.spec import ModelSpec, lazy

PACKAGE = "zoo.models.forecast"
TASKS = {
    "forecast_uni_single": "forecast: a series' next value from its own past",
    "forecast_uni_multi": "forecast: a series' next day from its own past",
    "forecast_multi_single": "forecast: a series' next value from several series",
    "forecast_multi_multi": "forecast: a series' next day from several series",
}
# TensorFlow's tutorial on Jena climate: the LSTM's test MAE below the naive baseline's
REFERENCE = {"single": "TF tutorial: LSTM MAE 39% below last value (Jena, 1 h)",
             "multi": "TF tutorial: LSTM MAE 27% below repeating the last day (Jena, 24 h)"}


def example_batch(recipe, batch_size, rng):
    windows = rng.normal(10, 5, (batch_size, recipe.history, len(recipe.columns)))
    return windows.astype("float32"), rng.normal(10, 5, (batch_size, recipe.horizon)).astype(
        "float32")


def forecast_spec(name: str) -> ModelSpec:
    report = lazy(f"{PACKAGE}.report:forecast_report")
    defaults = override(recipe.ForecastRecipe(), recipe.SETUPS[name])
    return ModelSpec(
        name=name,
        family="forecast",
        task=TASKS[name],
        dataset=f"hourly weather (Greensboro, {'temperature' if 'uni' in name else '8 columns'})",
        reference=REFERENCE[name.rsplit("_", 1)[1]],
        recipe=defaults,
        smoke=recipe.SMOKE,
        params=recipe.PARAMS[name],
        build_model=lazy(f"{PACKAGE}.model:build"),
        load_data=lazy("zoo.data.timeseries:load"),
        loss=lazy(f"{PACKAGE}.model:loss"),
        metrics=lazy(f"{PACKAGE}.model:metrics"),
        example_batch=example_batch,
        serving=lazy(f"{PACKAGE}.serving:forecast_serving"),
        serving_examples=lazy(f"{PACKAGE}.serving:serving_examples"),
        check_inputs=check_windows,
        predict=lazy(f"{PACKAGE}.serving:predict_forecasts"),
        report=lambda model, data, run_dir: report(model, data, run_dir, title=name),
        search_space=recipe.SEARCH_SPACE,
        objective=("val_mae", "min"),
        flops=recipe.flops,
    )


SPECS = [forecast_spec(name) for name in recipe.SETUPS]
