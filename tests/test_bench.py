"""`zoo bench` and the speed work it measures: the faster evaluation of imdb_lstm's two cells
computes what the cells compute, and the bench's command line refuses bad input."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import bench, cli, config
from zoo.errors import UsageError
from zoo.models.imdb_lstm.model import StackedLSTMClassifier
from zoo.registry import REGISTRY
from zoo.training import configure_threads

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def step_by_step(model: StackedLSTMClassifier, token_ids, training: bool):
    """The tutorial's evaluation: the two `LSTMCell`s called one word at a time."""
    model.cell_1.reset_dropout_mask()
    vectors = model.embedding(token_ids)
    batch = token_ids.shape[0]
    state_1 = [tf.zeros((batch, model.units)), tf.zeros((batch, model.units))]
    state_2 = [tf.zeros((batch, model.units)), tf.zeros((batch, model.units))]
    for word in tf.unstack(vectors, axis=1):
        output_1, state_1 = model.cell_1(word, state_1, training=training)
        output_2, state_2 = model.cell_2(output_1, state_2, training=training)
    return model.classifier(output_2)


@pytest.mark.parametrize("length", [80, 7])  # even: two steps per loop iteration; odd: one
@pytest.mark.parametrize("training", [False, True])
def test_imdb_lstm_fast_evaluation_equals_the_cells_step_by_step(length, training):
    keras.utils.set_random_seed(3)
    model = StackedLSTMClassifier(vocab_size=200, sequence_length=length, embedding_dim=24,
                                  units=16, dropout=0.2)
    token_ids = np.random.default_rng(0).integers(0, 200, (9, length)).astype("int32")
    model(token_ids)
    seed_state = model.cell_1.seed_generator.state.numpy()  # the same dropout mask for both
    with tf.GradientTape() as tape:
        fast = model(token_ids, training=training)
    fast_gradients = tape.gradient(fast, model.trainable_variables)
    model.cell_1.seed_generator.state.assign(seed_state)
    with tf.GradientTape() as tape:
        slow = step_by_step(model, token_ids, training)
    slow_gradients = tape.gradient(slow, model.trainable_variables)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), atol=1e-5)
    assert len(fast_gradients) == len(slow_gradients) == 9
    for variable, a, b in zip(model.trainable_variables, fast_gradients, slow_gradients):
        np.testing.assert_allclose(tf.convert_to_tensor(a).numpy(), tf.convert_to_tensor(b).numpy(),
                                   atol=1e-5, err_msg=variable.path)
    if training:  # dropout was on: a fresh mask gives another output
        assert not np.allclose(model(token_ids, training=True).numpy(), fast.numpy())


def test_bad_thread_setting_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ZOO_THREADS", "two")
    with pytest.raises(UsageError, match="ZOO_THREADS='two'"):
        configure_threads()
    assert cli.main(["run", "imdb_lstm", "--output", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "ZOO_THREADS='two'" in error and error.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["bench"], "name models or give --all"),
    (["bench", "imdb_lstm", "--all"], "name models or give --all"),
    (["bench", "resnet"], "unknown model 'resnet'"),
    (["bench", "imdb_lstm", "--windows", "0"], "--windows 0 must be"),
    (["bench", "imdb_lstm", "--window", "-3"], "--window -3 must be"),
])
def test_bench_refuses_bad_input(argv, message, capsys):
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_a_model_without_tutorial_code_is_benchmarked_alone(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "comparison", lambda name: None)  # as a spec without one
    # measured in the real-data bench below; here a fixed figure saves a process
    monkeypatch.setattr(bench, "measured_peaks", lambda: {"float32": 100.0, "bfloat16": 200.0})
    report = bench.bench(["imdb_lstm"], tiny_data, windows=1, window=2,
                         output=tmp_path / "bench.json", echo=lambda line: None)
    result = report["models"]["imdb_lstm"]
    assert "tutorial" not in result and result["ratio"] == {}
    assert result["zoo"]["train_per_s"] > 0 and result["zoo"]["infer_b1_per_s"] > 0
    row = bench.table(report).splitlines()[2]
    assert row.startswith("| imdb_lstm | ") and row.count(" / - ") == 5, row
    # 3 x the forward products of a review (formula in the recipe) x reviews per second
    expected = 3 * REGISTRY["imdb_lstm"].flops(bench.zoo_recipe("imdb_lstm")) \
        * result["zoo"]["train_per_s"] / 1e9
    assert result["zoo"]["gflops_per_s"] == pytest.approx(expected, abs=0.051)
    assert row.endswith(f" | {result['zoo']['gflops_per_s']} |")
    assert "float32 100.0, bfloat16 200.0 GFLOP/s" in bench.table(report)


def test_matmul_peaks_are_measured_for_both_precisions():
    peaks = bench.matmul_peaks(size=128, seconds=0.05)
    assert set(peaks) == {"float32", "bfloat16"} and all(v > 0.01 for v in peaks.values())


def test_flop_counts_follow_the_recipe():
    # imdb_lstm: 80 words x (LSTM 100 -> 64 and 64 -> 64: 2 x 4 x 64 x (in + 64)) + 2 x 64
    assert REGISTRY["imdb_lstm"].flops(REGISTRY["imdb_lstm"].recipe) == \
        80 * (2 * 256 * 164 + 2 * 256 * 128) + 128
    # a GRU step has 3 gates where the LSTM's has 4; the text model: a step and 27 logits
    text = REGISTRY["text8_bigram_lstm"]
    assert text.flops(text.recipe) == 2 * 4 * 256 * (128 + 256) + 2 * 256 * 27
    gru = config.override(text.recipe, {"cell": "gru"})
    assert text.flops(gru) == 2 * 3 * 256 * (128 + 256) + 2 * 256 * 27
    # without dropout its inputs' share is a 729-row table a call of 512 x 10 characters uses
    table = config.override(text.recipe, {"dropout": 0.0, "batch_size": 512})
    assert text.flops(table) == math.ceil(729 * 2 * 4 * 256 * 128 / 5120) + \
        2 * 4 * 256 * 256 + 2 * 256 * 27
    # a batch of fewer characters than the table's rows (64 x 10) multiplies each one's vector
    small = config.override(table, {"batch_size": 64})
    assert text.flops(small) == 2 * 4 * 256 * (128 + 256) + 2 * 256 * 27
    # MNIST: every cell reads the raw 28-pixel rows (a projection is folded into its kernel)
    mnist = REGISTRY["mnist_lstm"]
    assert mnist.flops(mnist.recipe) == 28 * 2 * 4 * 128 * (28 + 128) + 2 * 128 * 10


@pytest.mark.real_data
def test_bench_all_at_a_tiny_size(tmp_path, capsys):
    """Every model's zoo side trains, and so does the tutorial side of every model with
    tutorial code, each figure then with its ratio."""
    output = tmp_path / "bench.json"
    assert cli.main(["bench", "--all", "--windows", "1", "--window", "2",
                     "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert set(report["models"]) == set(REGISTRY)
    for name, result in report["models"].items():
        compared = REGISTRY[name].comparison is not None
        for side in ("tutorial", "zoo") if compared else ("zoo",):
            assert result[side]["train_per_s"] > 0 and result[side]["first_step_s"] > 0
            assert result[side]["peak_rss_mb"] > 100
        assert result["zoo"]["infer_b1_per_s"] > 0 and result["zoo"]["infer_b256_per_s"] > 0
        if compared:
            assert set(result["ratio"]) >= {"train_per_s", "first_step_s", "peak_rss_mb"}
        else:
            assert "tutorial" not in result and result["ratio"] == {}
    # the tutorial's fixed zero states refuse any batch but 128
    assert report["models"]["imdb_lstm"]["tutorial"]["infer_b256_per_s"].startswith("fails")
    assert "| text8_bigram_lstm (chars) |" in capsys.readouterr().out
    peaks = report["matmul_peaks_gflops"]
    assert peaks["float32"] > 1 and peaks["bfloat16"] > 1
    assert all(result["zoo"]["gflops_per_s"] > 0 for result in report["models"].values())


@pytest.mark.real_data
def test_race_all_at_a_tiny_budget(tmp_path):
    """Both sides of every raced model train and are scored on the real held-out data."""
    output = tmp_path / "quality.json"
    assert cli.main(["bench", "--to-quality", "--all", "--seeds", "1", "--budget-scale",
                     "0.02", "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert set(report["models"]) == {"imdb_lstm", "mnist_lstm", "mnist_gru",
                                     "text8_bigram_lstm"}
    for name, model in report["models"].items():
        for side in ("tutorial", "zoo"):
            run = model[side]["runs"][0]
            assert run["steps"] >= 1 and "error" not in run, (name, side)
            if model["metric"] == "accuracy":
                assert 0 < run["figure"] <= 1 and 0 < run["test"] <= 1, (name, side)
            else:  # a model that has learned a little: below 27 characters' uniform guess
                assert 1 < run["figure"] < 27, (name, side)
