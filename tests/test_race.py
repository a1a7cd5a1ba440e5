"""`zoo bench --to-quality`: the harness scores what it is given and nothing else (padding
left out, perplexity as one stream's), the race stops where the target is reached, its
summary is the median and MLPerf's trimmed mean, and bad input is one line. The real-data
race at a tiny budget is in `test_bench.py`."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from zoo import cli, race
from zoo.data import text8
from zoo.errors import ZooError
from zoo.models.text8_bigram_lstm.model import BigramLanguageModel
from zoo.models.text8_bigram_lstm.scoring import row_nats, stream_nats
from zoo.models.text8_bigram_lstm.tutorial import AssignmentLoop
from zoo.registry import REGISTRY

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class CountingSide:
    """Scores 1.0 where x's first column equals y and is below 40 x its quality, which
    climbs 0.25 a `run`."""

    examples_per_step = 128  # imdb_lstm's, whose target the tests borrow

    def __init__(self):
        self.calls, self.steps, self.quality = [], 0, 0.0

    def run(self, steps):
        self.steps += steps
        self.quality = min(1.0, self.quality + 0.25)
        return steps

    def score(self, x, y):
        self.calls.append(len(x))
        return ((x[:, 0] == y) & (x[:, 0] < self.quality * 40)).astype("float32")


def test_evaluation_pads_to_the_batch_and_counts_only_real_rows():
    side = CountingSide()
    side.quality = 1.0
    x = np.arange(23)[:, None].repeat(2, 1)
    y = np.where(np.arange(23) < 9, np.arange(23), -1)  # 9 of 23 right
    assert race.evaluate(side, (x, y), "accuracy", 5) == pytest.approx(9 / 23)
    assert side.calls == [5, 5, 5, 5, 5]  # 23 padded to 25: the model sees one size only

    class Nats:
        def score(self, x, y):
            return x[:, 0].astype("float64")

    rows = np.array([[0.5], [1.5], [1.0]])
    assert race.evaluate(Nats(), (rows, np.zeros(3)), "perplexity", 2) == pytest.approx(math.e)


def test_the_summary_is_the_median_its_spread_and_mlperfs_trimmed_mean():
    runs = [{"seconds": s, "steps": 10 * s, "reached": True, "test": 0.8} for s in (5, 1, 4, 2)]
    runs.append({"seconds": 3, "steps": 30, "reached": False, "test": 0.7})
    summary = race.summary(runs)
    assert summary["median_s"] == 4 and summary["min_s"] == 1 and math.isinf(summary["max_s"])
    assert summary["mlperf_mean_s"] == pytest.approx((2 + 4 + 5) / 3)  # fastest, slowest out
    assert summary["reached"] == 4 and summary["median_steps"] == 40
    assert "mlperf_mean_s" not in race.summary(runs[:3])


@pytest.fixture
def counting_target(monkeypatch):
    """imdb_lstm's target with a counting tutorial and hand-made held-out data."""
    x = np.arange(40)[:, None]
    goal = dataclasses.replace(
        race.target("imdb_lstm"), value=0.75, eval_every=3 * 128, eval_batch=8,
        tutorial=lambda data_dir, seed: CountingSide(),
        evaluation=lambda recipe, data_dir: ((x, x[:, 0]), (x, x[:, 0])))
    monkeypatch.setattr(race, "target", lambda name: goal)
    return goal


def test_a_side_stops_at_the_evaluation_that_reaches_the_target(counting_target, monkeypatch):
    result = race.race_one("imdb_lstm", "tutorial", None, 1, None, 1.0)
    # 3 steps between evaluations (384 examples, 128 a step); quality 0.25, 0.5, 0.75: reached
    assert [entry[0] for entry in result["history"]] == [3, 6, 9]
    assert [entry[2] for entry in result["history"]] == [0.25, 0.5, 0.75]
    assert result["reached"] and result["steps"] == 9 and result["examples"] == 9 * 128
    assert result["test"] == 0.75  # scored on the test pair, off the clock
    assert result["seconds"] == pytest.approx(result["train_s"] + result["eval_s"], abs=0.02)

    never = dataclasses.replace(counting_target, value=1.5)
    monkeypatch.setattr(race, "target", lambda name: never)
    result = race.race_one("imdb_lstm", "tutorial", None, 1, None, 0.01)  # 2 x 700 x 0.01
    assert not result["reached"] and result["steps"] == 14
    whole = race.race_one("imdb_lstm", "tutorial", None, 1, None, 0.01, stop_at_target=False)
    assert whole["steps"] == 14 and len(whole["history"]) == 5


def test_the_race_alternates_sides_and_reports_the_ratio(counting_target, tmp_path):
    order = []

    def run(name, side, data_dir, seed, settings, budget_scale):
        order.append((side, seed))
        seconds = {"tutorial": 12.0, "zoo": 3.0}[side] + seed
        return {"reached": True, "seconds": seconds, "steps": 100, "figure": 0.8, "test": 0.79,
                "history": []}

    lines = []
    report = race.race(["imdb_lstm"], None, seeds=3, output=tmp_path / "q.json",
                       echo=lines.append, run=run)
    assert order == [("tutorial", 1), ("zoo", 1), ("tutorial", 2), ("zoo", 2), ("tutorial", 3),
                     ("zoo", 3)]
    model = report["models"]["imdb_lstm"]
    assert model["ratio"] == round(14 / 5, 2)
    assert json.loads((tmp_path / "q.json").read_text())["models"]["imdb_lstm"]["ratio"] == 2.8
    assert "| imdb_lstm | accuracy >= 0.75 | 5.0 (4.0-6.0) | 14.0 (13.0-15.0) |" in lines[-2]


def test_a_failed_run_is_recorded_and_the_race_goes_on(counting_target, tmp_path):
    def run(name, side, data_dir, seed, settings, budget_scale):
        if side == "tutorial" and seed == 2:
            raise ZooError("bench imdb_lstm: the tutorial worker died (exit code -9)")
        return {"reached": True, "seconds": 10.0 if side == "tutorial" else 2.0, "steps": 5,
                "figure": 0.8, "test": 0.79, "history": []}

    lines = []
    report = race.race(["imdb_lstm"], None, seeds=3, output=tmp_path / "q.json",
                       echo=lines.append, run=run)
    tutorial = report["models"]["imdb_lstm"]["tutorial"]
    assert tutorial["count"] == 3 and tutorial["failed"] == 1 and tutorial["reached"] == 2
    assert "exit code -9" in tutorial["runs"][1]["error"]
    assert any("tutorial seed 2: failed" in line for line in lines)
    assert tutorial["median_s"] == 10.0 and tutorial["median_test"] == 0.79
    assert json.loads((tmp_path / "q.json").read_text())["models"]["imdb_lstm"]["ratio"] == 5.0


def test_the_zoo_side_trains_its_recipe_at_a_tiny_size(tiny_data, monkeypatch):
    goal = dataclasses.replace(race.target("mnist_gru"), value=1.5, eval_every=16,
                               eval_batch=7)
    monkeypatch.setattr(race, "target", lambda name: goal)
    smoke = {**REGISTRY["mnist_gru"].smoke, "max_steps": 3}
    result = race.race_one("mnist_gru", "zoo", tiny_data, 1, smoke, 1.0)
    assert not result["reached"] and result["steps"] == 3  # its budget: the recipe's steps
    assert [entry[0] for entry in result["history"]] == [1, 2, 3]
    assert 0 <= result["figure"] <= 1 and 0 <= result["test"] <= 1


def test_the_language_models_score_is_its_stream_perplexity_row_by_row():
    model = BigramLanguageModel(embedding_dim=8, units=12, dropout=0.0, stream_batch_size=4)
    rows = np.random.default_rng(0).integers(0, text8.VOCAB, (3, 40)).astype("int32")
    model(text8.bigram_ids(rows[:, :-1]))
    got = row_nats(model, rows, None)
    for row, nats in zip(rows, got):
        expected, count = stream_nats(model, text8.stream_chunks(row, chunk=7))
        assert count == 38
        assert nats == pytest.approx(expected, rel=1e-5)


def test_the_assignments_score_steps_its_cell_from_a_zero_state():
    loop = AssignmentLoop(text8.decode(np.random.default_rng(1).integers(0, 27, 2000)))
    rows = np.random.default_rng(2).integers(0, text8.VOCAB, (2, 9)).astype("int32")
    got = loop.score(rows, None)
    for row, nats in zip(rows, got):
        output = state = tf.zeros([1, 64])
        total = 0.0
        for t in range(len(row) - 1):
            output, state = loop.lstm_cell(tf.one_hot(row[t:t + 1], 27), output, state)
            if t >= 1:  # its first prediction (of character 1) is not scored
                logits = tf.matmul(output, loop.w) + loop.b
                total += float(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=row[t + 1:t + 2], logits=logits)[0])
        assert nats == pytest.approx(total / (len(row) - 2), rel=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["bench", "--to-quality", "forecast_uni_single"],
     "forecast_uni_single has no tutorial target; models with one: imdb_lstm"),
    (["bench", "--to-quality", "imdb_lstm", "--seeds", "0"], "--seeds 0 must be"),
    (["bench", "--to-quality", "imdb_lstm", "--budget-scale", "0"], "--budget-scale 0.0 must"),
    (["bench", "--to-quality", "imdb_lstm", "--set", "unit=3"], "unknown setting 'unit'"),
    (["bench", "--to-quality", "imdb_lstm", "--set", "precision=half"],
     "precision='half' is not accepted"),
    (["bench", "imdb_lstm", "--set", "units=many"], "units='many' is not a valid int"),
    (["bench", "--to-quality", "imdb_lstm", "--set", "vocab_size=20000"],
     "--set vocab_size: the race fixes seed, vocab_size, sequence_length, validation_split"),
    (["bench", "--to-quality", "text8_bigram_lstm", "--set", "heldout_chars=5000"],
     "the race fixes seed, corpus, clean_text, valid_chars, heldout_chars"),
    (["bench", "--to-quality", "mnist_gru", "--set", "seed=4"], "--set seed: the race fixes"),
    (["bench", "--to-quality", "mnist_gru", "--set", "batch_size=96"],
     "--set batch_size=96: mnist_gru is evaluated every 6,400 examples, which 96"),
    (["bench", "--to-quality", "imdb_lstm", "--windows", "3"], "--windows is for the speed"),
    (["bench", "--to-quality", "imdb_lstm", "--same-threads"], "--same-threads is for the"),
    (["bench", "imdb_lstm", "--seeds", "3"], "--seeds is for --to-quality"),
    (["bench", "imdb_lstm", "--to-quality", "--budget-scale", "2"], "must be a number in (0, 1]"),
])
def test_the_race_refuses_bad_input_in_one_line(argv, message, capsys, tmp_path):
    # a data directory that is not there: were a check to pass, the command stops there,
    # not after minutes of racing
    assert cli.main([*argv, "--data-dir", str(tmp_path / "absent")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_every_race_recipe_has_a_budget_and_is_evaluated_where_its_tutorial_is():
    assert set(race.raced_models()) == {"imdb_lstm", "mnist_lstm", "mnist_gru",
                                        "text8_bigram_lstm"}
    for name in race.raced_models():
        recipe, goal = race.zoo_recipe_record(name), race.target(name)
        assert recipe.max_steps > 0, name  # the race's budget is its schedule's length
        race.check_settings(name, {})  # its batch divides the evaluation interval
        # the data settings it may not change are those the tutorial's side reads
        registered = REGISTRY[name].recipe
        for key in goal.data_settings:
            assert hasattr(registered, key), (name, key)


def test_the_loop_goes_on_from_the_batches_its_first_call_trained_on():
    import keras

    from zoo.bench_loops import KerasLoop

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    batches = tf.data.Dataset.range(10).map(lambda i: (tf.fill([3, 1], tf.cast(i, "float32")),
                                                      tf.zeros([3, 1])))
    loop = KerasLoop(model, batches, 3)
    assert loop.run(2) == 2  # `fit`'s one call of 2 steps: batches 0 and 1
    assert next(loop.iterator)[0][0, 0] == 2
