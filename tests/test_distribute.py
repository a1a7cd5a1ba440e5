"""`--strategy`: every family trained under `mirrored` (2 logical CPU devices) and
`multi_worker` (2 processes on 127.0.0.1) matches the one-device run with the same global batch
and seed; only the chief writes the run directory; bad strategy settings are one-line errors.

Dropout is set to 0 where a recipe has it: under a strategy Keras draws the same masks on
every replica, not one mask per example of the global batch as one device does. Finite
datasets train for one epoch: Keras' `fit` skips one reshuffle of the seeded training order
per epoch (it opens a fresh iterator at the end of each epoch and another at the next start)
where the zoo's distributed loop opens one, so later epochs see the same examples in another
order. The language model's endless stream trains for two epochs, its carried state split
over the replicas.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zoo import distribute, runner
from zoo.errors import UsageError
from zoo.registry import REGISTRY

# one model per family, each with its smoke recipe made deterministic
FAMILIES = {
    "forecast_multi_multi": dict(dropout=0.0, epochs=1),
    "imdb_lstm": dict(dropout=0.0, epochs=1, clip_norm=0.01),  # each gradient clipped
    "imdb_reviews_bilstm": dict(dropout=0.0, word_dropout=0.0, epochs=1),
    "mnist_gru": dict(epochs=1),
    "text8_bigram_lstm": dict(dropout=0.0, epochs=2, clip_norm=0.01),  # all clipped together
}
TOLERANCE = 1e-5  # losses and test figures, one device against two replicas

MIRRORED_RUNS = """
import json, sys
from zoo.runtime import load_tensorflow
load_tensorflow()
from zoo import runner
from zoo.errors import UsageError
from zoo.registry import REGISTRY
data_dir, out, families = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
results = {}
for name, changes in families.items():
    metrics = runner.run(name, dict(REGISTRY[name].smoke, **changes), data_dir=data_dir,
                         output=f"{out}/{name}", verbose=0, strategy="mirrored")
    results[name] = {key: metrics[key] for key in ("history", "test", "strategy")}
try:
    runner.run("imdb_lstm", dict(REGISTRY["imdb_lstm"].smoke, batch_size=7), data_dir=data_dir,
               output=f"{out}/odd", verbose=0, strategy="mirrored")
except UsageError as error:
    results["odd_batch"] = str(error)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    """Each family's one-device run on the tiny data, the yardstick of both strategies."""
    from conftest import make_tiny_data

    root = tmp_path_factory.mktemp("distribute")
    data_dir = make_tiny_data(root / "data")
    runs = {name: runner.run(name, dict(REGISTRY[name].smoke, **changes), data_dir=data_dir,
                             output=root / "default" / name, verbose=0)
            for name, changes in FAMILIES.items()}
    return data_dir, runs


def assert_same_training(distributed: dict, single: dict) -> None:
    assert set(distributed["history"]) == set(single["history"])
    for key, values in single["history"].items():
        assert distributed["history"][key] == pytest.approx(values, abs=TOLERANCE), \
            (key, distributed["history"], single["history"])
    # test figures as printed, to four places (names, such as a forecaster's naive, alike)
    assert runner.figures(distributed["test"]) == runner.figures(single["test"])


@pytest.mark.processes
def test_every_family_trains_under_mirrored_as_on_one_device(one_device, tmp_path):
    data_dir, single = one_device
    env = dict(os.environ, ZOO_CPU_DEVICES="2")
    done = subprocess.run([sys.executable, "-c", MIRRORED_RUNS, str(data_dir), str(tmp_path),
                           json.dumps(FAMILIES)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name in FAMILIES:
        assert results[name]["strategy"]["name"] == "MirroredStrategy"
        assert results[name]["strategy"]["replicas"] == 2
        assert_same_training(results[name], single[name])
    assert results["odd_batch"] == ("batch_size=7 does not split evenly over 2 replicas; use a "
                                    "multiple of 2")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cluster(name: str, args: list[str], data_dir: Path, output: Path, scratch: Path
                ) -> list[str]:
    """`zoo run NAME --strategy multi_worker` as two workers on 127.0.0.1, each bounded by a
    timeout; returns their standard outputs. Worker 1's temporary files go to `scratch`."""
    hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(config), TMPDIR=str(scratch / str(index)))
        (scratch / str(index)).mkdir(parents=True, exist_ok=True)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "zoo", "run", name, "--strategy", "multi_worker", "--quiet",
             "--output", str(output), "--data-dir", str(data_dir), *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        results = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            process.kill()  # a worker left waiting for a crashed peer
    for process, (_, err) in zip(processes, results):
        assert process.returncode == 0, err[-3000:]
    return [out for out, _ in results]


def smoke_args(name: str, **changes) -> list[str]:
    return [word for key, value in dict(REGISTRY[name].smoke, **changes).items()
            for word in ("--set", f"{key}={value}")]


@pytest.mark.processes
@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_trains_under_multi_worker_as_on_one_device(name, one_device, tmp_path):
    data_dir, single = one_device
    output = tmp_path / "run"
    chief, worker = run_cluster(name, smoke_args(name, **FAMILIES[name]), data_dir, output,
                                tmp_path / "tmp")
    assert chief.startswith(f"{name}: test ")
    assert "as a worker; the chief writes the run directory" in worker
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["strategy"]["name"] == "CollectiveAllReduceStrategy"
    assert metrics["strategy"]["replicas"] == 2
    assert_same_training(metrics, single[name])
    # the worker wrote nothing that outlives it: its scratch folder is gone
    assert list((tmp_path / "tmp" / "1").iterdir()) == []


@pytest.mark.processes
def test_multi_worker_resumes_with_the_chief_s_checkpoint(one_device, tmp_path):
    data_dir, _ = one_device
    output = tmp_path / "run"
    run_cluster("imdb_lstm", smoke_args("imdb_lstm", epochs=1), data_dir, output,
                tmp_path / "tmp")
    first = json.loads((output / "metrics.json").read_text())
    run_cluster("imdb_lstm", ["--resume", "--epochs", "2"], data_dir, output, tmp_path / "tmp")
    resumed = json.loads((output / "metrics.json").read_text())
    assert resumed["epochs_trained"] == 2 and resumed["steps_trained"] == 14  # 7 an epoch
    assert resumed["history"]["loss"][0] == first["history"]["loss"][0]
    assert resumed["history"]["loss"][1] != first["history"]["loss"][0]


WORKERS = ["127.0.0.1:1", "127.0.0.1:2"]


@pytest.mark.parametrize("cluster, task, expected", [
    ({"worker": WORKERS}, ("worker", 0), True),   # worker 0 is the chief of a chiefless cluster
    ({"worker": WORKERS}, ("worker", 1), False),
    ({"chief": WORKERS[:1], "worker": WORKERS[1:]}, ("chief", 0), True),
    ({"chief": WORKERS[:1], "worker": WORKERS[1:]}, ("worker", 0), False),
])
def test_only_the_chief_writes_the_run_directory(monkeypatch, cluster, task, expected):
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": cluster, "task": {"type": task[0], "index": task[1]}}))
    distribute.check_strategy("multi_worker")
    assert distribute.writes_run_dir("multi_worker") is expected
    assert distribute.writes_run_dir("mirrored") is True


def test_a_task_outside_its_cluster_is_refused(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": {"worker": WORKERS}, "task": {"type": "worker", "index": 2}}))
    with pytest.raises(UsageError, match="TF_CONFIG is not a cluster description "
                                         r"\(task worker:2 is not in the cluster\)"):
        distribute.check_strategy("multi_worker")


@pytest.mark.parametrize("argv, environment, expected", [
    (["--strategy", "tpu"], {}, "--strategy 'tpu' is not accepted; expected default, mirrored "
                                "or multi_worker"),
    (["--strategy", "multi_worker"], {"TF_CONFIG": ""},
     "--strategy multi_worker reads its cluster from TF_CONFIG, which is not set"),
    (["--strategy", "multi_worker"], {"TF_CONFIG": "{worker"},
     "TF_CONFIG is not a cluster description"),
    (["--strategy", "mirrored"], {"ZOO_CPU_DEVICES": "two"},
     "ZOO_CPU_DEVICES='two' is not a device count; use an integer >= 1"),
])
def test_bad_strategy_settings_are_one_line_errors(argv, environment, expected, monkeypatch,
                                                   capsys, tmp_path):
    from zoo.cli import main

    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    code = main(["run", "imdb_lstm", "--output", str(tmp_path / "run"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and expected in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("batch_size, examples, endless, replicas, expected", [
    (8, 54, False, 2, None),
    (8, 54, False, 4, None),    # a last batch of 6 gives each replica 1 or 2 examples
    (8, 49, False, 2, "the last training batch of each epoch holds 1 of the 49 examples, "
                      "fewer than the 2 replicas"),
    (8, 49, True, 2, None),     # a stream's batches are all full
    (6, 54, False, 4, "batch_size=6 does not split evenly over 4 replicas; use a multiple "
                      "of 4"),
])
def test_batches_must_give_every_replica_examples(batch_size, examples, endless, replicas,
                                                  expected):
    if expected is None:
        distribute.check_batches(batch_size, examples, endless, replicas)
    else:
        with pytest.raises(UsageError, match=expected):
            distribute.check_batches(batch_size, examples, endless, replicas)


def test_mirrored_on_one_device_says_what_it_needs():
    # this process has one CPU device (ZOO_CPU_DEVICES is not set for the tests)
    with pytest.raises(UsageError, match="--strategy mirrored found one device .*CPU:0.*; it "
                                         "needs two or more: GPUs, or ZOO_CPU_DEVICES=N"):
        distribute.make_strategy("mirrored")
