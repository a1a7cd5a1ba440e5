"""zoo tune: a small search completes, resumes after an interruption, its best settings
retrain through `zoo run --hparams`, bad settings are one-line errors, and keras-tuner's own
chief/worker mode runs every trial once across three processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from zoo import config as config_lib
from zoo import tune
from zoo.cli import main
from zoo.errors import UsageError

# A tiny imdb_lstm and a small space, so each trial takes a few seconds.
SETTINGS = {"vocab_size": "50", "sequence_length": "6", "epochs": "1"}
SPACE = {"units": "4,8", "embedding_dim": "8", "batch_size": "8,16", "dropout": "0.0,0.2",
         "learning_rate": "0.001,0.01", "clip_norm": "none,1.0", "lr_schedule": "constant"}


def cli_flags() -> list[str]:
    flags = []
    for key, value in SETTINGS.items():
        flags += ["--set", f"{key}={value}"]
    for key, value in SPACE.items():
        flags += ["--space", f"{key}={value}"]
    return flags


def search(tiny_data, directory, max_trials, **kwargs):
    tuner = tune.make_tuner("imdb_lstm", tuner="random", max_trials=max_trials,
                            directory=directory, space=SPACE, settings=SETTINGS,
                            data_dir=tiny_data, **kwargs)
    tuner.search(verbose=0)
    return tuner


def test_search_ranks_trials_and_writes_best_and_plot(tiny_data, tmp_path, capsys):
    assert main(["tune", "imdb_lstm", "--tuner", "random", "--max-trials", "2",
                 "--directory", str(tmp_path / "search"), "--data-dir", str(tiny_data),
                 *cli_flags()]) == 0
    printed = capsys.readouterr().out
    assert "val_accuracy" in printed and "best settings:" in printed
    project = tmp_path / "search" / "random"
    best = json.loads((project / tune.BEST).read_text())
    assert best["model"] == "imdb_lstm" and best["trials"] == 2
    assert set(best["hparams"]) == set(SPACE)
    assert best["settings"] == {"vocab_size": 50, "sequence_length": 6, "epochs": 1}
    assert (project / "search.png").stat().st_size > 0
    rows = [line.split() for line in printed.splitlines() if line[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    scores = [float(row[-2]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(best["score"], abs=1e-4)

    # the best settings (and the fixed ones) retrain through the runner and are tested once
    run_dir = tmp_path / "run"
    assert main(["run", "imdb_lstm", "--hparams", str(project / tune.BEST),
                 "--data-dir", str(tiny_data), "--output", str(run_dir)]) == 0
    config = json.loads((run_dir / "config.json").read_text())["config"]
    for key, value in {**best["settings"], **best["hparams"]}.items():
        assert config[key] == value


def test_an_interrupted_search_resumes_without_losing_or_repeating_trials(tiny_data, tmp_path,
                                                                          monkeypatch):
    directory = tmp_path / "search"
    original_fit = tune.RecipeHyperModel.fit
    calls = []

    def interrupted_in_second_trial(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(tune.RecipeHyperModel, "fit", interrupted_in_second_trial)
    with pytest.raises(KeyboardInterrupt):
        search(tiny_data, directory, max_trials=3)
    first = json.loads((directory / "random" / "trial_0" / "trial.json").read_text())
    assert first["status"] == "COMPLETED"

    monkeypatch.undo()
    tuner = search(tiny_data, directory, max_trials=3)
    trials = tuner.oracle.trials
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials.values())
    # the trial finished before the interruption was kept, not run again
    assert trials["0"].score == first["score"]
    assert json.loads((directory / "random" / "trial_0" / "trial.json").read_text()) == first

    # --overwrite starts afresh
    assert len(search(tiny_data, directory, max_trials=1, overwrite=True).oracle.trials) == 1


@pytest.mark.parametrize("argv, message", [
    (["--tuner", "grid"], "unknown tuner 'grid'; expected random, bayesian, hyperband"),
    (["--max-trials", "0"], "--max-trials 0 is not accepted"),
    (["--space", "units="], "search space units= has no values"),
    (["--space", "units=4,many"], "units='many' is not a valid int"),
    (["--space", "dropout=0.5,1.5"], "dropout=1.5 is not accepted"),
    (["--space", "unitz=4"], "unknown setting 'unitz'"),
])
def test_bad_search_settings_are_one_line_errors(argv, message, capsys):
    assert main(["tune", "imdb_lstm", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo: error: ") and "\n" not in err and message in err, err


def test_hparams_must_be_a_search_result_for_the_same_model(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"model": "mnist_gru", "hparams": {"units": 8}}))
    with pytest.raises(UsageError, match="searched for mnist_gru, not for imdb_lstm"):
        config_lib.read_hparams(path, "imdb_lstm")
    path.write_text("{not json")
    with pytest.raises(UsageError, match="is not a best_hparams.json"):
        config_lib.read_hparams(path, "imdb_lstm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.processes
def test_distributed_search_with_a_chief_and_two_workers(tiny_data, tmp_path):
    directory = tmp_path / "search"
    argv = [sys.executable, "-m", "zoo", "tune", "imdb_lstm", "--tuner", "random",
            "--max-trials", "4", "--directory", str(directory), "--data-dir", str(tiny_data),
            *cli_flags()]
    port = str(free_port())
    processes = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id,
               "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port}
        processes[tuner_id] = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True)
    outputs = {}
    for tuner_id, process in processes.items():
        out, err = process.communicate(timeout=600)
        outputs[tuner_id] = out
        assert process.returncode == 0, (tuner_id, err[-3000:])
    trials = [json.loads(path.read_text())
              for path in (directory / "random").glob("trial_*/trial.json")]
    assert sorted(t["trial_id"] for t in trials) == ["0", "1", "2", "3"]
    assert [t["status"] for t in trials] == ["COMPLETED"] * 4
    assert "best settings:" in outputs["chief"]
    assert "no trials left" in outputs["tuner0"] and "no trials left" in outputs["tuner1"]
    best = json.loads((directory / "random" / tune.BEST).read_text())
    assert best["trials"] == 4


@pytest.mark.parametrize("kind", ["bayesian", "hyperband"])
def test_bayesian_and_hyperband_searches_run(kind, tiny_data, tmp_path):
    tuner = tune.make_tuner("imdb_lstm", tuner=kind, max_trials=2, epochs=2,
                            directory=tmp_path / "search", space=SPACE, settings=SETTINGS,
                            data_dir=tiny_data)
    tuner.search(verbose=0)
    rows, best = tune.summarize(tuner)
    assert len(rows) == 2 and all(row.score is not None for row in rows)
    assert json.loads(best.read_text())["trials"] == 2
