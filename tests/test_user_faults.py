"""What a new user trips on and what a fault-injection catalogue broke (issue 14), each kept
fixed: one test (or more) per item, numbered as the issue numbers them."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, make_tiny_data

from zoo import config as config_lib
from zoo import export, plots, runner
from zoo.cli import main
from zoo.data import files, mnist
from zoo.errors import DataError, UsageError, ZooError
from zoo.models.mnist_rnn.serving import read_images
from zoo.registry import REGISTRY


@pytest.fixture(autouse=True)
def no_data_dir_from_the_environment(monkeypatch):
    """Each test names its data directory, whatever ZOO_DATA_DIR the shell holds."""
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_tiny_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """name -> (run directory, export folder) of a one-epoch smoke run, made once."""
    made = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in made:
            folder = tmp_path_factory.mktemp(name)
            runner.run(name, {**REGISTRY[name].smoke, "epochs": 1}, data_dir=data,
                       output=folder / "run", verbose=0)
            made[name] = (folder / "run", export.export_run(folder / "run", to=folder / "export",
                                                            data_dir=data))
        return made[name]

    return get


def zoo(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`zoo ARGV` in a fresh process, as a person runs it (stdout and stderr to pipes)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "zoo", *argv], capture_output=True, text=True,
                          cwd=cwd, env=env)


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


# 1. The notebooks' data path ---------------------------------------------------------------

def test_1_a_relative_data_dir_error_names_its_source_and_base(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZOO_DATA_DIR", "../shared/data")
    where = re.escape(str(tmp_path))
    with pytest.raises(DataError, match=rf"from ZOO_DATA_DIR, relative to {where}\)"):
        files.resolve_data_dir(None)
    with pytest.raises(DataError, match=r"from --data-dir, relative to"):
        files.resolve_data_dir("nowhere")


def test_1_the_readmes_name_the_install_and_an_absolute_data_dir_for_jupyter():
    readme = (REPO / "README.md").read_text() + (REPO / "notebooks" / "README.md").read_text()
    assert 'pip install -e ".[notebooks]"' in readme
    assert 'ZOO_DATA_DIR="$PWD/../shared/data" jupyter lab notebooks/' in readme
    assert "jupyterlab" in (REPO / "pyproject.toml").read_text()


# 2, 3 and 4. Quiet, fast, readable ---------------------------------------------------------

def test_2_zoo_list_prints_no_tensorflow_lines():
    listed = zoo("list")
    assert listed.returncode == 0 and listed.stderr == ""
    assert "imdb_lstm" in listed.stdout


def test_3_refusals_happen_before_tensorflow_is_imported():
    script = """
import sys
from zoo.cli import main
codes = [main(["run", "nosuchmodel"]), main(["predict", "imdb_lstm", ""]),
         main(["run", "imdb_lstm", "--set", "units=abc"]), main(["list"])]
print(codes, [m for m in ("tensorflow", "keras", "keras_tuner", "matplotlib") if m in sys.modules])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[2, 2, 2, 0] []", result.stderr


def test_4_a_run_written_to_a_file_is_one_line_per_epoch_and_says_what_it_tested(data,
                                                                                   tmp_path):
    result = zoo("run", "mnist_gru", "--set", "units=8", "--set", "batch_size=16",
                 "--set", "max_steps=6", "--epochs", "3", "--data-dir", str(data),
                 "--output", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr and "\x1b" not in result.stdout + result.stderr
    # 72 training images in batches of 16: 5 steps an epoch, so max_steps=6 ends in epoch 2
    assert result.stderr.splitlines()[0].startswith("zoo: epoch 1/2: 5 steps")
    assert result.stderr.splitlines()[1].startswith("zoo: epoch 2/2: 1 steps")
    assert all(line.startswith("zoo: epoch") for line in result.stderr.splitlines())
    assert "(the weights of epoch" in result.stdout and "lowest validation loss" in result.stdout
    quiet = zoo("run", "mnist_gru", "--set", "units=8", "--set", "max_steps=2", "--quiet",
                "--data-dir", str(data), "--output", str(tmp_path / "quiet"))
    assert quiet.returncode == 0 and quiet.stderr == "" and len(quiet.stdout.splitlines()) == 1


# 5. Exports outside the checkout; predict names what it used --------------------------------

def test_5_export_defaults_to_exports_and_predict_says_which(trained, data, tmp_path,
                                                             monkeypatch, capsys):
    run_dir, _ = trained("imdb_lstm")
    monkeypatch.chdir(tmp_path)
    assert export.export_run(run_dir, data_dir=data) == Path("exports/imdb_lstm/1")
    assert "exports/" in (REPO / ".gitignore").read_text().split()
    assert main(["predict", "imdb_lstm", "w4 w5"]) == 0
    assert "using exports/imdb_lstm/1 (your newest export of imdb_lstm" in capsys.readouterr().err


# 6, 7, 8. What predict reads --------------------------------------------------------------

def test_6_reviews_say_what_was_read(trained, capsys):
    _, path = trained("imdb_lstm")
    long_review = " ".join(["w4"] * 10)  # the smoke model reads 6 ids: a start id and 5 words
    assert main(["predict", str(path), "w4 w5 w6", "zzz qqq", long_review]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].endswith("'w4 w5 w6' (3 of 3 words known)")
    assert lines[1].endswith("'zzz qqq' (0 of 2 words known)")
    assert "none of its words is in the model's vocabulary" in err
    assert lines[2].endswith("(6 of 6 words known; read the last 6 of 10 words)")
    assert main(["predict", str(path), long_review, "--read-all"]) == 0
    assert "mean over 2 windows of all 10 words" in capsys.readouterr().out
    for empty in ("", "   ", "!!!???"):
        assert main(["predict", str(path), empty]) == 2
        assert "has no words" in error_line(capsys)
    assert main(["predict", str(path), "w4 " * 200]) == 0
    assert len(capsys.readouterr().out) < 200  # the review is shown cut, not echoed whole


def test_7_digit_arrays_stacks_sizes_and_inverted_images(trained, tmp_path, capsys):
    _, path = trained("mnist_gru")
    np.save(tmp_path / "one.npy", np.zeros((1, 28, 28), np.uint8))
    np.save(tmp_path / "three.npy", np.zeros((3, 28, 28), np.uint8))
    assert main(["predict", str(path), str(tmp_path / "one.npy"),
                 str(tmp_path / "three.npy")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[3].endswith("three.npy[2]")
    wide = tf.image.encode_png(tf.zeros((20, 40, 1), tf.uint8)).numpy()
    (tmp_path / "wide.png").write_bytes(wide)
    assert main(["predict", str(path), str(tmp_path / "wide.png")]) == 0
    assert "is 40x20 pixels; resized to 28x28, which changes its proportions" in \
        capsys.readouterr().err
    digit = np.full((28, 28), 255, np.uint8)
    digit[8:20, 13:15] = 0  # a dark stroke on white paper
    np.save(tmp_path / "paper.npy", digit)
    assert main(["predict", str(path), str(tmp_path / "paper.npy")]) == 0
    assert "look dark on a light background; inverted" in capsys.readouterr().err
    assert main(["predict", str(path), str(tmp_path / "paper.npy"), "--invert", "no"]) == 0
    assert "inverted" not in capsys.readouterr().err
    read_auto, _ = read_images(tmp_path / "paper.npy", "auto")
    read_kept, _ = read_images(tmp_path / "paper.npy", "no")
    np.testing.assert_array_equal(read_auto, 255 - read_kept)  # what the model is fed


def test_8_the_language_model_lowercases_its_prime_and_says_so(trained, capsys):
    run_dir, path = trained("text8_bigram_lstm")
    assert main(["predict", str(path), "The Film", "--length", "5"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("the film") and "read as 'the film'" in err
    assert main(["predict", str(path), "The Film", "--keep-case"]) == 2
    assert "outside [a-z ]" in error_line(capsys)
    assert main(["sample", str(run_dir), "--prime", "A", "--length", "3"]) == 0
    assert capsys.readouterr().out.startswith("a")


# 9. Tune: progress, one numbering, the epochs it carries --------------------------------

def test_9_tune_reports_each_trial_and_numbers_trials_one_way(data, tmp_path, capsys):
    argv = ["tune", "imdb_lstm", "--tuner", "random", "--max-trials", "2", "--epochs", "1",
            "--directory", str(tmp_path / "search"), "--data-dir", str(data),
            "--space", "units=2,3", *[w for k, v in REGISTRY["imdb_lstm"].smoke.items()
                                       if k != "units" for w in ("--set", f"{k}={v}")]]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    progress = [line for line in err.splitlines() if line.startswith("zoo: trial ")]
    assert [line.split(":")[1] for line in progress] == [" trial 0 of at most 2",
                                                         " trial 1 of at most 2"]
    best = json.loads((tmp_path / "search" / "random" / "best_hparams.json").read_text())
    table = out.splitlines()
    assert table[1].split()[:2] == ["1", str(best["trial"])]  # rank 1 is the best trial
    assert main(["run", "imdb_lstm", "--hparams",
                 str(tmp_path / "search" / "random" / "best_hparams.json"), "--show-config"]) == 0
    assert "training for the search's 1 epochs (--epochs N to change)" in \
        capsys.readouterr().err


# 10. Resume -------------------------------------------------------------------------------

def test_10_resume_keeps_the_recipe_and_refuses_a_finished_run(data, tmp_path):
    out = tmp_path / "run"
    smoke = {**REGISTRY["imdb_lstm"].smoke, "epochs": 1}
    runner.run("imdb_lstm", smoke, data_dir=data, output=out, verbose=0)
    config = (out / "config.json").read_text()
    with pytest.raises(UsageError, match="so units stays 4 .*only epochs and max_steps"):
        runner.run("imdb_lstm", {"units": 128}, data_dir=data, output=out, resume=True)
    with pytest.raises(UsageError, match="is finished .*zoo eval"):
        runner.run("imdb_lstm", {}, data_dir=data, output=out, resume=True)
    with pytest.raises(UsageError, match="is finished"):
        runner.run("imdb_lstm", {"epochs": 2, "max_steps": 3}, data_dir=data, output=out,
                   resume=True)  # 7 steps are trained already
    assert (out / "config.json").read_text() == config
    more = runner.run("imdb_lstm", {"epochs": 2}, data_dir=data, output=out, resume=True,
                      verbose=0)
    assert more["epochs_trained"] == 2
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2


# 11. Model cards ------------------------------------------------------------------------

def test_11_the_card_makes_the_run_again_and_names_no_machine_paths(trained, data):
    run_dir, path = trained("imdb_lstm")
    card = (path / export.CARD).read_text()
    made_by = card.split("## Made by")[1].split("##")[0]
    assert "ZOO_DATA_DIR=DATA zoo run imdb_lstm" in made_by
    assert f"--output runs/imdb_lstm/{run_dir.name}" in made_by
    assert f"zoo export runs/imdb_lstm/{run_dir.name}" in made_by
    assert str(data) not in card and str(run_dir) not in card
    assert "- file: `imdb/imdb.npz`" in card


# 12. Help, descriptions, paths -----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_12_every_setting_has_a_description(name, capsys):
    assert main(["run", name, "--show-config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(REGISTRY[name].recipe.to_dict())
    assert all("  # " in line for line in lines), lines


def test_12_help_eval_and_an_explicit_data_dir(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    help_text = capsys.readouterr().out
    assert "(default bayesian)" in help_text and "trials to run in all" in help_text
    assert main(["eval", str(tmp_path / "nonexistent")]) == 2
    assert "does not exist" in error_line(capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", "mnist_gru", "--data-dir", str(empty), "--output",
                 str(tmp_path / "run")]) == 1
    assert "mnist/mnist.npz does not exist: the data directory must hold it" in \
        error_line(capsys)


# 13. Pictures -------------------------------------------------------------------------

@pytest.mark.parametrize("epochs", [1, 2, 20])
def test_13_curves_have_whole_epoch_ticks(epochs):
    history = {"loss": list(np.linspace(1, 0.5, epochs)), "val_loss": [0.9] * epochs}
    figure = plots.curves_figure(history, "t", 1)
    axes = figure.axes[0]
    low, high = axes.get_xlim()
    shown = [t for t in axes.get_xticks() if low <= t <= high]
    assert shown and all(float(t).is_integer() for t in shown)
    assert shown[0] >= 1 and shown[-1] <= epochs
    if epochs == 1:
        assert shown == [1]


# 14, 15, 17, 19, 20. The runner under faults -----------------------------------------------

def test_14_a_second_run_on_the_same_output_is_refused_while_the_first_runs(data, tmp_path):
    out = tmp_path / "run"
    with open(tmp_path / ".run.lock", "a+") as held:  # what a running `zoo run` holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UsageError, match="is in use by another zoo run"):
            runner.run("mnist_gru", REGISTRY["mnist_gru"].smoke, data_dir=data, output=out)
    assert not out.exists()


def test_15_a_checkpoint_changed_in_place_is_not_resumed(data, tmp_path):
    out = tmp_path / "run"
    runner.run("mnist_gru", {**REGISTRY["mnist_gru"].smoke, "epochs": 1}, data_dir=data,
               output=out, verbose=0)
    (out / "metrics.json").unlink()  # as if killed after the checkpoint
    index = json.loads((out / "checkpoints" / "checkpoint.json").read_text())
    weights = out / "checkpoints" / index["weights"]
    raw = bytearray(weights.read_bytes())
    raw[-100] ^= 0xFF  # one byte of a weight, the size kept
    weights.write_bytes(bytes(raw))
    with pytest.raises(ZooError, match="not the .* recorded when it was written"):
        runner.run("mnist_gru", {"epochs": 2}, data_dir=data, output=out, resume=True)


def test_17_a_nan_loss_stops_the_run_with_an_error_and_valid_json(data, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "mnist_gru", "--set", "units=8", "--set", "batch_size=16", "--epochs", "3",
            "--learning-rate", "1e38", "--data-dir", str(data), "--output", str(out), "--quiet"]
    assert main(argv) == 1
    assert "the loss is no longer a finite number" in error_line(capsys)
    history = json.loads((out / "history.json").read_text())  # strict JSON: no bare NaN
    assert None in history["loss"]
    assert not (out / "metrics.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "99999999999999999999"], "batch_size=99999999999999999999 is not accepted"),
    (["--set", "epochs=2", "--epochs", "3"], "epochs is given twice"),
    (["--set", "units=2", "--set", "units=3"], "units is given twice"),
])
def test_18_19_20_bad_settings_are_one_line_before_any_run(argv, message, data, tmp_path,
                                                           capsys):
    out = tmp_path / "run"
    code = main(["run", "mnist_gru", *argv, "--data-dir", str(data), "--output", str(out)])
    assert code == 2 and message in error_line(capsys)
    assert not out.exists()


def test_19_a_batch_larger_than_the_data_is_all_of_it(data, tmp_path):
    metrics = runner.run("mnist_gru", {**REGISTRY["mnist_gru"].smoke, "batch_size": 10**9,
                                       "epochs": 2}, data_dir=data, output=tmp_path / "run",
                         verbose=0)
    assert metrics["steps_trained"] == 2  # one step an epoch: the 72 training images at once


def test_18_hparams_of_the_wrong_shape_and_a_damaged_npz_are_one_line(tmp_path, capsys):
    (tmp_path / "list.json").write_text("[1, 2]")
    assert main(["run", "imdb_lstm", "--hparams", str(tmp_path / "list.json")]) == 2
    assert "holds a JSON list, not an object" in error_line(capsys)
    make_tiny_data(tmp_path / "data")
    (tmp_path / "data" / "SHA256SUMS").unlink()  # no manifest to catch the damage first
    path = tmp_path / "data" / "mnist" / "mnist.npz"
    raw = path.read_bytes()
    refused = []
    for flip in range(100, len(raw), len(raw) // 24):  # single bit flips through the file
        damaged = bytearray(raw)
        damaged[flip] ^= 0x10
        path.write_bytes(bytes(damaged))
        try:
            mnist.read(path)  # anything but a clear DataError fails the test
        except DataError:
            refused.append(bytes(damaged))
    assert refused  # some flips break the file; the command line says so in one line
    path.write_bytes(refused[0])
    assert main(["run", "mnist_gru", "--data-dir", str(tmp_path / "data"),
                 "--output", str(tmp_path / "run")]) == 1
    assert "is not a readable MNIST .npz file" in error_line(capsys)


# 16, 21. Serving signatures check their inputs first -----------------------------------------

def test_16_a_negative_or_large_token_id_is_refused(trained):
    _, path = trained("imdb_lstm")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    for bad in (-1, 50):
        with pytest.raises(tf.errors.InvalidArgumentError, match="word ids from 0 to 49"):
            serve(token_ids=tf.constant([[1, 2, 3, 4, 5, bad]], tf.int32))


def test_21_the_language_model_signatures_refuse_in_their_own_words(trained):
    _, path = trained("text8_bigram_lstm")
    loaded = tf.saved_model.load(str(path))
    for _ in range(5):  # the check, not an inner op, must speak first every time
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"outside \[a-z \]"):
            loaded.signatures["serving_default"](prefix=tf.constant(["the Film"]))
    sample = loaded.signatures["sample"]
    good = dict(prime=tf.constant("the"), length=tf.constant(3), temperature=tf.constant(1.0),
                seed=tf.constant(1))
    for change, message in ((dict(length=tf.constant(-2)), "length must be at least 1"),
                            (dict(temperature=tf.constant(np.inf, tf.float32)), "finite number"),
                            (dict(seed=tf.constant(-1)), "seed must be 0 or more")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            sample(**{**good, **change})


# 22. Staging folders of a killed export --------------------------------------------------

def test_22_a_killed_exports_staging_folder_is_removed_by_the_next(trained, data, tmp_path):
    run_dir, _ = trained("mnist_gru")
    root = tmp_path / "exports"
    dead = root / "mnist_gru" / f"{export.STAGING}999999999-abc"
    dead.mkdir(parents=True)
    alive = root / "mnist_gru" / f"{export.STAGING}{os.getpid()}-abc"
    alive.mkdir()
    assert export.export_run(run_dir, root=root, data_dir=data) == root / "mnist_gru" / "1"
    assert not dead.exists() and alive.exists()


def test_settings_refused_by_the_recipe_are_not_silently_ignored():
    with pytest.raises(UsageError, match="unknown setting 'validation_split'"):
        config_lib.override(REGISTRY["text8_bigram_lstm"].recipe, {"validation_split": "0.2"})


def test_10_resume_advice_show_config_and_old_configs(data, tmp_path, capsys):
    out = tmp_path / "run"
    smoke = {**REGISTRY["mnist_gru"].smoke, "max_steps": 2, "epochs": 3}
    runner.run("mnist_gru", smoke, data_dir=data, output=out, verbose=0)
    with pytest.raises(UsageError, match="--resume with --set max_steps above 2"):
        runner.run("mnist_gru", {"epochs": 5}, data_dir=data, output=out, resume=True)
    # --show-config shows what --resume would train, and refuses what it would refuse
    assert main(["run", "mnist_gru", "--output", str(out), "--resume", "--show-config",
                 "--set", "max_steps=4"]) == 0
    shown = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "max_steps=4" in shown and "units=8" in shown
    assert main(["run", "mnist_gru", "--output", str(out), "--resume", "--show-config",
                 "--set", "units=9"]) == 2
    assert "so units stays 8" in error_line(capsys)
    # a language model run made when its recipe still had validation_split opens
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps(
        {"model": "text8_bigram_lstm", "config": {"units": 16, "validation_split": 0.1}}))
    from zoo.rundir import read_run_config

    assert read_run_config(old)[1].units == 16
