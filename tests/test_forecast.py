"""The forecasting family: reading series (grids, gaps, bad cells), windows, the least-squares
start, the baselines, the report, the export and `zoo predict` on CSV windows."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import WEATHER_COLUMNS, weather, write_manifest, write_series

from zoo import config as config_lib
from zoo import export, runner
from zoo.build import compile_model
from zoo.cli import main
from zoo.data import timeseries
from zoo.errors import DataError, UsageError
from zoo.models.forecast import baselines
from zoo.models.forecast.model import build
from zoo.registry import REGISTRY


def recipe_for(name: str = "forecast_multi_multi", **settings):
    spec = REGISTRY[name]
    return config_lib.override(spec.recipe, {**spec.smoke, **settings})


def load(path: Path, name: str = "forecast_multi_multi", **settings):
    return timeseries.load(recipe_for(name, series=str(path), **settings), None)


def test_windows_are_the_series_rows_in_order_and_each_part_alone(tmp_path):
    values = weather(300)
    data = load(write_series(tmp_path / "s.csv", values))
    series = data.series
    assert series.bounds == (210, 270)
    np.testing.assert_allclose(series.values, values, atol=1e-3)
    inputs, targets = series.windows("test")
    assert len(inputs) == 30 - 6 - 3 + 1
    np.testing.assert_array_equal(inputs[0], series.values[270:276])
    np.testing.assert_array_equal(targets[-1], series.values[-3:, 0])
    # the pipelines give exactly these windows: in order for test, all of them for training
    x, y = (np.concatenate(parts) for parts in zip(*data.test.as_numpy_iterator()))
    np.testing.assert_array_equal(x, inputs)
    np.testing.assert_array_equal(y, targets)
    train_x, _ = (np.concatenate(parts) for parts in zip(*data.train.as_numpy_iterator()))
    expected, _ = series.windows("train")
    assert data.train_examples == len(expected) == len(train_x)
    order = np.lexsort(train_x[:, 0, :].T)
    np.testing.assert_array_equal(train_x[order], expected[np.lexsort(expected[:, 0, :].T)])


def test_normalization_comes_from_the_training_part_only(tmp_path):
    values = weather(300)
    before = load(write_series(tmp_path / "a.csv", values)).series
    values[250:] += 100  # validation and test parts only
    after = load(write_series(tmp_path / "b.csv", values)).series
    np.testing.assert_array_equal(before.mean, after.mean)
    np.testing.assert_array_equal(before.std, after.std)
    np.testing.assert_allclose(before.mean, values[:210].mean(axis=0), rtol=1e-4)


def test_a_coarser_interval_keeps_the_rows_the_tutorial_keeps(tmp_path):
    # Jena's 10-minute rows from 00:10; the tutorial's df[5::6] keeps 01:00, 02:00, ...
    values = np.arange(6 * 200, dtype=float)[:, None]
    path = write_series(tmp_path / "jena.csv", values, ["T (degC)"], start="2009-01-01T00:10",
                        step_minutes=10, time_format="%d.%m.%Y %H:%M:%S")
    data = load(path, "forecast_uni_single", target="T (degC)", interval="1h")
    np.testing.assert_array_equal(data.series.values[:, 0], values[5::6, 0])
    assert data.info["interval"] == "1h" and data.info["first"] == "2009-01-01 01:00:00"
    assert data.info["rows_off_grid"] == 6 * 200 - 200


def test_jena_climate_is_read_from_the_data_directory_zip(tmp_path):
    import zipfile

    columns = ["p (mbar)", "T (degC)", "rh (%)"]
    csv = write_series(tmp_path / "jena_climate_2009_2016.csv", weather(300)[:, :3], columns,
                       start="2009-01-01T01:00", time_format="%d.%m.%Y %H:%M:%S")
    data_dir = tmp_path / "data"
    (data_dir / "timeseries").mkdir(parents=True)
    with zipfile.ZipFile(data_dir / "timeseries" / timeseries.JENA_FILE, "w") as archive:
        archive.write(csv, csv.name)
    write_manifest(data_dir, f"timeseries/{timeseries.JENA_FILE}")
    recipe = recipe_for("forecast_multi_single", series="jena_climate", target="T (degC)",
                        features="p (mbar),rh (%)")
    data = timeseries.load(recipe, data_dir)
    assert data.series.columns == ["T (degC)", "p (mbar)", "rh (%)"]
    assert data.info["file"] == f"timeseries/{timeseries.JENA_FILE}"


def test_gaps_are_refused_with_their_place_or_interpolated(tmp_path):
    values = weather(300)
    kept = np.delete(np.arange(300), [100, 101, 102])
    lines = write_series(tmp_path / "full.csv", values).read_text().splitlines()
    path = tmp_path / "gap.csv"
    path.write_text("\n".join([lines[0], *(lines[i + 1] for i in kept)]) + "\n")
    with pytest.raises(DataError, match=r"gaps on its 1h grid at 3 times, the first: no row "
                                        r"for 2001-01-05 04:00:00; set gaps=interpolate"):
        load(path)
    filled = load(path, gaps="interpolate")
    assert filled.info["gaps_filled"] == 3 * 8
    np.testing.assert_allclose(filled.series.values[101],
                               values[99] + (values[103] - values[99]) * 2 / 4, atol=1e-3)


def set_cell(lines: list[str], line: int, column: int, value: str) -> list[str]:
    cells = lines[line].split(",")
    cells[column] = value
    return [*lines[:line], ",".join(cells), *lines[line + 1:]]


def test_a_repeated_time_keeps_its_first_row(tmp_path):
    lines = write_series(tmp_path / "s.csv", weather(300)).read_text().splitlines()
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([*lines[:51], set_cell(lines, 50, 1, "99")[50], *lines[51:]]))
    data = load(path)
    assert data.info["rows_repeated"] == 1 and data.info["rows"] == 300
    assert data.series.values[49, 0] == pytest.approx(float(lines[50].split(",")[1]))


@pytest.mark.parametrize("edit, message", [
    (lambda lines: [lines[0].replace("dewpoint_c", "dew")] + lines[1:],
     r"has no column 'dewpoint_c'; its columns are temp_c, dew, "),
    (lambda lines: set_cell(lines, 50, 1, "warm"),
     r"line 51: column 'temp_c' holds 'warm', not a number"),
    (lambda lines: set_cell(lines, 50, 2, ""),
     r"column 'dewpoint_c' is empty at 2001-01-03 01:00:00"),
    (lambda lines: lines[:50] + [lines[52], lines[51], lines[50]] + lines[53:],
     r"lines 51-52: timestamps .* are not increasing"),
    (lambda lines: set_cell(lines, 50, 0, "yesterday"),
     r"line 51: timestamp 'yesterday' is not in the format of the first row"),
    (lambda lines: lines[:61], r"its test part has 6 rows of 1h, fewer than one window "
                               r"\(history 6 \+ horizon 3 = 9 rows\)"),
])
def test_bad_series_are_refused_in_one_line(edit, message, tmp_path):
    lines = write_series(tmp_path / "s.csv", weather(300)).read_text().splitlines()
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(edit(lines)) + "\n")
    with pytest.raises(DataError, match=message) as caught:
        load(path)
    assert "\n" not in str(caught.value)


def test_unknown_series_and_bad_settings_name_what_is_accepted(tiny_data):
    with pytest.raises(UsageError, match=r"series='nosuch' is neither a file nor a series in .*"
                                         r"\(it holds greensboro_tmy3\)"):
        timeseries.load(recipe_for(series="nosuch"), tiny_data)
    with pytest.raises(UsageError, match=r"interval='1 week' is not accepted; expected"):
        recipe_for(interval="1 week")
    with pytest.raises(UsageError, match=r"test_fraction=0.9 is not accepted; expected a "
                                         r"fraction between 0 and 0.8"):
        recipe_for(test_fraction=0.9)
    with pytest.raises(UsageError, match="features='a,a' is not accepted"):
        recipe_for(features="a,a")


def test_the_highway_starts_the_model_at_least_squares(tmp_path):
    data = load(write_series(tmp_path / "s.csv", weather(300)), highway=True)
    model = build(recipe_for(highway=True))
    data.adapt(model)
    inputs, _ = data.series.windows("test")
    np.testing.assert_allclose(model.predict(inputs, verbose=0),
                               baselines.linear(data.series, inputs), atol=1e-3)


def test_baselines_forecast_what_they_should_on_made_up_series(tmp_path):
    # a daily cycle repeats exactly: repeating the last day is perfect; a linear trend is
    # extrapolated exactly by least squares; the last value is the last value
    hours = np.arange(1000)
    cycle = np.stack([np.sin(2 * np.pi * hours / 24), np.cos(hours)], axis=1) * 5
    data = load(write_series(tmp_path / "c.csv", cycle), history=24, horizon=30,
                features="dewpoint_c")
    inputs, targets = data.series.windows("test")
    np.testing.assert_allclose(baselines.repeat_last_day(data.series, inputs), targets,
                               atol=2e-3)
    np.testing.assert_array_equal(baselines.last_value(data.series, inputs)[:, -1],
                                  inputs[:, -1, 0])
    trend = np.stack([hours * 0.25 + 3, np.sin(hours)], axis=1)[:400]
    data = load(write_series(tmp_path / "t.csv", trend), history=4, horizon=2,
                features="dewpoint_c")
    inputs, targets = data.series.windows("test")
    np.testing.assert_allclose(baselines.linear(data.series, inputs), targets, atol=2e-2)
    assert baselines.var(data.series, inputs).shape == targets.shape


def test_a_run_scores_the_lstm_and_every_baseline_on_the_test_windows(tiny_data, tmp_path):
    settings = {**REGISTRY["forecast_multi_multi"].smoke, "history": 24}
    metrics = runner.run("forecast_multi_multi", settings, data_dir=tiny_data,
                         output=tmp_path / "run", verbose=0)
    test = metrics["test"]
    assert set(test["baselines"]) == {"last_value", "repeat_last_day", "linear", "dense",
                                      "sarimax", "var"}
    assert test["naive"] == "repeat_last_day"
    assert len(test["mae_by_step"]) == 3
    assert test["mae"] == pytest.approx(np.mean(test["mae_by_step"]), rel=1e-5)
    naive = test["baselines"][test["naive"]]["mae"]
    assert test["mae_below_naive_percent"] == pytest.approx(100 * (1 - test["mae"] / naive))
    for picture in ("forecasts.png", "error_by_step.png", "curves.png"):
        assert (tmp_path / "run" / picture).stat().st_size > 5000


def test_autoregressive_decoder_trains_and_feeds_its_steps_back():
    recipe = recipe_for(decoder="autoregressive", horizon=4, learning_rate=3e-2)
    model = build(recipe)
    x = np.random.default_rng(0).normal(10, 5, (8, 6, 8)).astype("float32")
    first = model(x).numpy()
    # the first step reads only the window; the later ones also read the fed-back steps, so
    # changing the head's weights of a non-target column changes them and not the first
    kernel, bias = model.head.get_weights()
    kernel[:, 1:] += 0.5
    model.head.set_weights([kernel, bias])
    second = model(x).numpy()
    np.testing.assert_allclose(second[:, 0], first[:, 0], atol=1e-6)
    assert np.abs(second[:, 1:] - first[:, 1:]).min() > 1e-6
    compile_model(REGISTRY["forecast_multi_multi"], recipe, model)
    y = x[:, :4, 0] + 1
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    for _ in range(10):
        model.train_on_batch(x, y)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] < 0.98 * before


def window_csv(path: Path, hours: int, columns: int) -> Path:
    return write_series(path, weather(hours)[:, :columns], start="2001-06-01T00")


def test_export_forecasts_raw_windows_and_refuses_bad_ones(tiny_data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    runner.run("forecast_multi_multi", REGISTRY["forecast_multi_multi"].smoke,
               data_dir=tiny_data, output=run_dir, verbose=0)
    path = export.export_run(run_dir, root=tmp_path / "exports")
    loaded = tf.saved_model.load(str(path))
    model = keras.saving.load_model(run_dir / "model.keras")
    window = weather(6).astype("float32")[None]
    np.testing.assert_allclose(loaded.signatures["serving_default"](window=window)["forecast"],
                               model(window), atol=1e-4)
    meta = loaded.signatures["metadata"]()
    assert [c.decode() for c in meta["columns"].numpy()] == WEATHER_COLUMNS
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"window must have shape "
                                                             r"\(batch, 6, 8\)"):
        loaded.signatures["serving_default"](window=tf.zeros((1, 5, 8)))
    bad = window.copy()
    bad[0, 2, 3] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="window holds NaN or infinite"):
        loaded.signatures["serving_default"](window=tf.constant(bad))

    # zoo predict: the last 6 rows of a CSV, each forecast with its time
    csv = window_csv(tmp_path / "recent.csv", 30, 8)
    assert main(["predict", str(path), str(csv)]) == 0
    out = capsys.readouterr()
    expected = model(np.round(weather(30)[-6:], 3).astype("float32")[None]).numpy()[0]
    assert out.out.strip() == ("temp_c from 2001-06-02 06:00:00, every 1h: "
                               + ", ".join(f"{v:.2f}" for v in expected) + f" ({csv})")
    assert "30 rows; forecasting from the last 6" in out.err
    short = window_csv(tmp_path / "short.csv", 4, 8)
    assert main(["predict", str(path), str(short)]) == 1
    assert capsys.readouterr().err.strip().endswith(
        f"{short} has 4 rows; the model reads windows of 6 rows of {', '.join(WEATHER_COLUMNS)}")
    narrow = window_csv(tmp_path / "narrow.csv", 10, 3)
    assert main(["predict", str(path), str(narrow)]) == 1
    assert "has no column 'pressure_mbar', 'wind_speed'" in capsys.readouterr().err
    assert main(["predict", str(path), str(tmp_path / "none.csv")]) == 2
    assert "window" in capsys.readouterr().err


def test_run_on_a_users_own_csv_from_the_command_line(tmp_path, capsys):
    csv = write_series(tmp_path / "mine.csv", weather(300)[:, :2], ["load_kw", "outdoor_c"])
    argv = ["run", "forecast_multi_single", "--set", f"series={csv}", "--set", "target=load_kw",
            "--set", "features=outdoor_c", "--set", "epochs=1", "--set", "units=4",
            "--output", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["data"]["columns"] == ["load_kw", "outdoor_c"]
    assert metrics["data"]["source"] == "path"
    # LSTM 4*4*(2+4+1) + head 4*1+1 (the single-step set-ups have no highway)
    assert metrics["params"] == 117
    assert "baselines.sarimax.mae" in capsys.readouterr().out
