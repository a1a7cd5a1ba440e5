"""The shared runner: clipping, the run directory, seeds, step limits, checkpoints, resume."""

from __future__ import annotations

import hashlib
import json
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import build, callbacks, rundir, runner
from zoo import config as config_lib
from zoo.data import files, imdb
from zoo.errors import UsageError
from zoo.io import atomic_write
from zoo.registry import REGISTRY
from zoo.training import ClippedAdam, clip_gradients

SMOKE = dict(REGISTRY["imdb_lstm"].smoke, epochs=2)


def norm(t):
    return float(tf.norm(t))


def test_clip_by_norm_brings_each_large_gradient_to_exactly_the_clip_norm():
    big, small = tf.constant([30.0, 40.0]), tf.constant([0.3, 0.4])
    clipped_big, clipped_small, missing = clip_gradients([big, small, None], 5.0, "norm")
    assert norm(clipped_big) == pytest.approx(5.0, abs=1e-6)
    np.testing.assert_allclose(clipped_small, small)  # under the norm: untouched
    assert missing is None


def test_clipping_measures_an_embedding_gradient_after_summing_repeated_rows():
    # Two slices of the same row that cancel: the true gradient is zero, not clipped to 1.
    slices = tf.IndexedSlices(tf.constant([[3.0, 4.0], [-3.0, -4.0]]), tf.constant([0, 0]),
                              tf.constant([5, 2]))
    (clipped,) = clip_gradients([slices], 1.0, "norm")
    assert norm(clipped) == 0.0
    repeated = tf.IndexedSlices(tf.constant([[3.0, 4.0]] * 4), tf.constant([1] * 4),
                                tf.constant([5, 2]))
    (clipped,) = clip_gradients([repeated], 1.0, "norm")
    assert norm(clipped) == pytest.approx(1.0, abs=1e-6)  # true norm 20, clipped to 1


def test_clip_by_global_norm():
    grads = [tf.constant([30.0, 0.0]), tf.constant([0.0, 40.0])]
    clipped = clip_gradients(grads, 5.0, "global")
    assert float(tf.linalg.global_norm(clipped)) == pytest.approx(5.0, abs=1e-6)
    np.testing.assert_allclose(clipped[0], [3.0, 0.0], atol=1e-6)


def test_no_clip_norm_means_no_clipping():
    grads = [tf.constant([30.0, 40.0])]
    np.testing.assert_array_equal(clip_gradients(grads, None)[0], grads[0])


def linear_model():
    return keras.Sequential([keras.Input((3,)),
                             keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])


@pytest.mark.parametrize("mode", ["norm", "global"])
def test_fit_applies_the_clipped_gradient(mode):
    model = linear_model()
    model.compile(optimizer=ClippedAdam(1.0, clip_norm=0.5, clip_mode=mode), loss="mse")
    x = np.full((4, 3), 10.0, "float32")
    y = np.full((4, 1), 100.0, "float32")  # gradient norm ~3,500: far above 0.5
    model.train_on_batch(x, y)
    # Adam's first moment after one step is (1 - beta_1) times the gradient it was given
    (momentum,) = [v for v in model.optimizer.variables if v.name.endswith("momentum")]
    assert np.linalg.norm(momentum.numpy()) == pytest.approx(0.1 * 0.5, abs=1e-7)


def test_unknown_clip_mode_is_refused():
    with pytest.raises(UsageError, match="clip_mode='max'"):
        ClippedAdam(clip_norm=1.0, clip_mode="max")


def test_run_writes_the_whole_run_directory(tiny_data, tmp_path):
    out = tmp_path / "run"
    metrics = runner.run("imdb_lstm", SMOKE, data_dir=tiny_data, output=out, verbose=0)
    for name in ("config.json", "metrics.json", "history.json", "curves.png", "model.keras"):
        assert (out / name).is_file(), name
    assert list((out / "logs").rglob("events.out.tfevents.*")), "no TensorBoard logs"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["params"] == 757
    assert saved["config"]["units"] == 4 and saved["config"]["epochs"] == 2
    assert set(saved["test"]) >= {"loss", "accuracy"}
    assert len(saved["epoch_seconds"]) == 2 and saved["train_examples_per_second"] > 0
    assert saved["history"]["loss"] and saved["history"]["val_accuracy"]
    assert saved["data"]["sha256"] == files.sha256_of(tiny_data / "imdb" / "imdb.npz")

    # The test figure covers all 37 test reviews (batch 8: the last batch has 5).
    model = keras.saving.load_model(out / "model.keras")
    _, (x_test, y_test) = imdb.process(imdb.read_raw(tiny_data / "imdb" / "imdb.npz"), 50, 6)
    predicted = (model.predict(x_test, verbose=0)[:, 0] > 0.5).astype(int)
    assert saved["test"]["accuracy"] == pytest.approx(np.mean(predicted == y_test), abs=1e-6)
    assert runner.evaluate_run(out, data_dir=tiny_data, verbose=0) == pytest.approx(saved["test"])


def test_same_seed_same_run(tiny_data, tmp_path):
    first = runner.run("imdb_lstm", SMOKE, data_dir=tiny_data, output=tmp_path / "a", verbose=0)
    second = runner.run("imdb_lstm", SMOKE, data_dir=tiny_data, output=tmp_path / "b", verbose=0)
    assert first["history"] == second["history"]
    assert first["test"] == second["test"]


@pytest.mark.parametrize("restore_best", [True, False])
def test_restore_best_evaluates_the_epoch_with_lowest_validation_loss(tiny_data, tmp_path,
                                                                      restore_best):
    overrides = dict(SMOKE, epochs=4, learning_rate=0.05, restore_best=restore_best)
    out = tmp_path / "run"
    metrics = runner.run("imdb_lstm", overrides, data_dir=tiny_data, output=out, verbose=0)
    val_loss = metrics["history"]["val_loss"]
    expected = int(np.argmin(val_loss)) + 1 if restore_best else 4
    assert metrics["evaluated_epoch"] == expected
    assert metrics["steps_trained"] == 4 * 7  # 54 reviews in batches of 8, whatever is restored
    model = keras.saving.load_model(out / "model.keras")
    build.compile_model(REGISTRY["imdb_lstm"], config_lib.override(
        REGISTRY["imdb_lstm"].recipe, overrides), model)
    data = REGISTRY["imdb_lstm"].load_data(
        config_lib.override(REGISTRY["imdb_lstm"].recipe, overrides), tiny_data)
    validation = model.evaluate(data.validation, return_dict=True, verbose=0)
    assert validation["loss"] == pytest.approx(val_loss[expected - 1], rel=1e-5)


def test_max_steps_stops_mid_epoch(tiny_data, tmp_path):
    metrics = runner.run("imdb_lstm", dict(SMOKE, max_steps=3), data_dir=tiny_data,
                         output=tmp_path / "run", verbose=0)
    assert metrics["steps_trained"] == 3
    assert metrics["epochs_trained"] == 1


def test_resume_continues_from_the_last_checkpoint(tiny_data, tmp_path):
    out = tmp_path / "run"
    one = runner.run("imdb_lstm", dict(SMOKE, epochs=1), data_dir=tiny_data, output=out,
                     verbose=0)
    index = json.loads((out / "checkpoints" / "checkpoint.json").read_text())
    assert index["epoch"] == 1 and (out / "checkpoints" / index["weights"]).is_file()
    with pytest.raises(UsageError, match="already holds a run"):
        runner.run("imdb_lstm", SMOKE, data_dir=tiny_data, output=out, verbose=0)

    two = runner.run("imdb_lstm", {"epochs": 3}, data_dir=tiny_data, output=out, resume=True,
                     verbose=0)
    steps_per_epoch = one["steps_trained"]
    assert two["steps_trained"] == 3 * steps_per_epoch  # optimizer state carried on
    assert two["epochs_trained"] == 3
    assert two["history"]["loss"][0] == one["history"]["loss"][0]
    assert two["config"]["units"] == 4  # the run's own recipe, not the default
    assert {p.name for p in (out / "checkpoints").iterdir()} == {
        "checkpoint.json", "epoch-0003.weights.h5",
        f"best-epoch-{two['evaluated_epoch']:04d}.weights.h5"}


def test_resume_without_output_picks_the_run_started_last(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("zzz-named", "20261125-120000"):
        (tmp_path / "runs" / "imdb_lstm" / name).mkdir(parents=True)
        (tmp_path / "runs" / "imdb_lstm" / name / "config.json").write_text("{}")
        time.sleep(0.05)
    assert rundir.latest_run_dir("imdb_lstm").name == "20261125-120000"
    with pytest.raises(UsageError, match="no run of 'mnist_gru'"):
        rundir.latest_run_dir("mnist_gru")


class FakeModel:
    """Saves "weights" that say which epoch they are from."""

    epoch = 0
    optimizer = keras.optimizers.Adam()

    def save_weights(self, path):
        path.write_text(str(self.epoch))


def test_best_epoch_ignores_nan_and_index_names_only_complete_files(tmp_path, monkeypatch):
    saver = callbacks.EpochCheckpoint(tmp_path, callbacks.EpochRecord())
    saver.set_model(FakeModel())
    saver.model.epoch = 1
    saver.on_epoch_end(0, {"val_loss": float("nan")})
    assert saver.best is None
    saver.model.epoch = 2
    saver.on_epoch_end(1, {"val_loss": 0.5})
    assert saver.best["epoch"] == 2
    saver.model.epoch = 3

    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(callbacks, "write_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        saver.on_epoch_end(2, {"val_loss": 0.3})  # a new best, then the index write fails
    index = callbacks.read_checkpoint_index(tmp_path)
    assert index["best"] == {"epoch": 2, "val_loss": 0.5, "weights": "best-epoch-0002.weights.h5",
                             "sha256": hashlib.sha256(b"2").hexdigest()}
    assert (tmp_path / index["best"]["weights"]).read_text() == "2"  # still epoch 2's weights
    assert (tmp_path / index["weights"]).is_file()


def test_resume_with_settings_that_do_not_fit_the_checkpoint_changes_nothing(tiny_data, tmp_path):
    out = tmp_path / "run"
    first = runner.run("imdb_lstm", dict(SMOKE, epochs=1), data_dir=tiny_data, output=out,
                       verbose=0)
    before = (out / "config.json").read_text()
    with pytest.raises(UsageError, match="so units stays 4 .*only epochs and max_steps"):
        runner.run("imdb_lstm", {"units": 8}, data_dir=tiny_data, output=out, resume=True,
                   verbose=0)
    assert (out / "config.json").read_text() == before
    # the finished run is untouched: its model still gives its test figures
    assert runner.evaluate_run(out, data_dir=tiny_data, verbose=0) == pytest.approx(first["test"])


def test_an_interrupted_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def crash(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_runs_inside_a_distribution_strategy(tiny_data, tmp_path):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        metrics = runner.run("imdb_lstm", dict(SMOKE, epochs=1), data_dir=tiny_data,
                             output=tmp_path / "run", verbose=0)
    assert metrics["steps_trained"] == 7  # 54 training reviews in batches of 8
    assert set(metrics["test"]) == {"loss", "accuracy"}


@pytest.mark.parametrize("settings, train_examples, expected", [
    (dict(steps_per_execution=20), 128 * 1000, 20),        # 1000 steps an epoch
    (dict(steps_per_execution=20, max_steps=30), 128 * 1000, 10),
    (dict(steps_per_execution=17, max_steps=782), 54000, 1),  # 422 steps an epoch
    (dict(steps_per_execution=4), 0, 4),                     # no training planned
])
def test_steps_per_execution_keeps_calls_inside_epochs_and_max_steps(settings, train_examples,
                                                                     expected):
    spec = REGISTRY["imdb_lstm"]
    recipe = config_lib.override(spec.recipe, dict(SMOKE, batch_size=128, **settings))
    model = build.compile_model(spec, recipe, build.build_model(spec, recipe), train_examples)
    assert model.steps_per_execution == expected


def test_first_fit_traces_the_train_step_once():
    # Adam's slots are made at compile: made inside the first trace, they would have
    # `tf.function` trace the whole step a second time (the step of several a call too)
    spec = REGISTRY["imdb_lstm"]
    recipe = config_lib.override(spec.recipe, dict(SMOKE, steps_per_execution=2))
    model = build.compile_model(spec, recipe, build.build_model(spec, recipe), 16)
    assert model.steps_per_execution == 2 and model.optimizer.built
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)
        return step(data)

    model.train_step = counted
    x, y = spec.example_batch(recipe, 16, np.random.default_rng(0))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert len(traces) == 1


def test_adams_decay_rates_come_from_the_recipe():
    spec = REGISTRY["imdb_lstm"]
    recipe = config_lib.override(spec.recipe, dict(SMOKE, beta_1="0.6", beta_2="0.95"))
    optimizer = build.compile_model(spec, recipe, build.build_model(spec, recipe)).optimizer
    assert (optimizer.beta_1, optimizer.beta_2) == (0.6, 0.95)
    with pytest.raises(UsageError, match=r"beta_2=1.0 is not accepted; expected a number in"):
        config_lib.override(spec.recipe, {"beta_2": "1"})
