"""The command line: listing, a whole run, evaluation, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from zoo.cli import main
from zoo.registry import REGISTRY


def settings(name: str, **changes) -> list[str]:
    """A model's smoke recipe as `--set key=value` arguments, with `changes` (None: left out)."""
    return [word for key, value in dict(REGISTRY[name].smoke, **changes).items()
            if value is not None for word in ("--set", f"{key}={value}")]


# imdb_lstm's smoke sizes; each test sets the batch size with its own flags
SMOKE_SETS = settings("imdb_lstm", batch_size=None)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo: error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "nosuch"], "unknown model 'nosuch'; registered models: forecast_uni_single"),
        (["run", "imdb_lstm", "--set", "unitz=3"], "unknown setting 'unitz'"),
        (["run", "imdb_lstm", "--set", "units"], "not of the form key=value"),
        (["run", "imdb_lstm", "--set", "epochs=abc"], "epochs='abc' is not a valid int"),
        (["run", "imdb_lstm", "--epochs", "1.5"], "epochs='1.5' is not a valid int"),
        (["run", "imdb_lstm", "--learning-rate", "fast"], "learning_rate='fast' is not a valid"),
        (["run", "imdb_lstm", "--set", "dropout=1.5"], "dropout=1.5 is not accepted; expected"),
        (["run", "imdb_lstm", "--set", "clip_mode=max"], "expected norm or global"),
        (["run", "imdb_lstm", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["run", "imdb_lstm", "--seed", "-1"], "seed=-1 is not accepted; expected an integer"),
        (["fly"], "invalid choice: 'fly'"),
        (["eval", "/no/such/run"], "run directory '/no/such/run' does not exist"),
        (["sample", "/no/such/run"], "run directory '/no/such/run' does not exist"),
        (["sample", "/no/such/run", "--length", "ten"], "invalid int value: 'ten'"),
        (["predict", "/no/such/model", "x"], "is neither a registered model nor a folder"),
        (["predict", "text8_bigram_lstm", "the", "--length", "3000000000"],
         "length 3000000000 is not accepted"),
        (["tune", "text8_bigram_lstm", "--set", "corpus=/no/such/corpus"],
         "corpus='/no/such/corpus' is not a file"),
        (["tune", "imdb_lstm", "--epochs", "0"], "epochs=0 is not accepted"),
        (["run", "text8_bigram_lstm", "--set", "corpus=/no/such/corpus"],
         "corpus='/no/such/corpus' is not a file and not a corpus name"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in one_line_error(capsys)


def test_unknown_setting_lists_the_accepted_ones(capsys):
    main(["run", "imdb_lstm", "--set", "unitz=3"])
    err = one_line_error(capsys)
    for key in ("units", "dropout", "max_steps", "clip_norm", "epochs"):
        assert key in err


def test_show_config_applies_overrides(capsys):
    assert main(["run", "imdb_lstm", "--clip-norm", "5", "--set", "dropout=0.3",
                 "--show-config"]) == 0
    settings = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "clip_norm=5.0" in settings and "dropout=0.3" in settings and "epochs=4" in settings


def test_list_shows_models_with_parameter_counts(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "imdb_lstm" in out and "1,075,329" in out and "83.4%" in out


def test_missing_data_dir_is_one_line_exit_1(tmp_path, capsys):
    assert main(["run", "imdb_lstm", "--data-dir", str(tmp_path / "nowhere"),
                 "--output", str(tmp_path / "run")]) == 1
    assert "is not a directory" in one_line_error(capsys)


def test_corrupt_data_is_one_line_exit_1(tiny_data, tmp_path, capsys):
    (tiny_data / "imdb" / "imdb.npz").write_bytes(b"garbage")
    assert main(["run", "imdb_lstm", "--data-dir", str(tiny_data),
                 "--output", str(tmp_path / "run")]) == 1
    assert "SHA256SUMS lists" in one_line_error(capsys)
    assert not (tmp_path / "run").exists()  # a failed start leaves no half-made run behind


def test_output_that_is_a_file_and_a_split_that_leaves_nothing(tiny_data, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["run", "imdb_lstm", "--data-dir", str(tiny_data), "--output", str(afile)]) == 2
    assert "is a file, not a directory" in one_line_error(capsys)
    assert main(["run", "imdb_lstm", "--data-dir", str(tiny_data), "--set",
                 "validation_split=0.999", "--output", str(tmp_path / "run")]) == 2
    assert "leaves none of the 60 training examples" in one_line_error(capsys)


def test_run_then_eval(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "imdb_lstm", *SMOKE_SETS, "--epochs", "1", "--batch-size", "16",
                 "--data-dir", str(tiny_data), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and str(out) in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["batch_size"] == 16
    assert main(["eval", str(out), "--data-dir", str(tiny_data)]) == 0
    assert f"accuracy {metrics['test']['accuracy']:.4f}" in capsys.readouterr().out


def test_real_process_prints_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "zoo", "run", "imdb_lstm", "--set", "epochs=zero"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "zoo: error: epochs='zero' is not a valid int")


LM_SETS = settings("text8_bigram_lstm", epochs=1)


def test_language_model_run_then_sample(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "text8_bigram_lstm", *LM_SETS, "--data-dir", str(tiny_data),
                 "--output", str(out)]) == 0
    assert "heldout_perplexity" in capsys.readouterr().out
    argv = ["sample", str(out), "--prime", "the film", "--length", "30", "--seed", "3"]
    assert main(argv) == 0
    text = capsys.readouterr().out.strip()
    assert text.startswith("the film") and len(text) == 38
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == text
    assert main(["sample", str(out), "--temperature", "-1"]) == 2
    assert "temperature -1.0 is not accepted" in one_line_error(capsys)


def test_sample_needs_a_language_model_run(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "imdb_lstm", *SMOKE_SETS, "--epochs", "1", "--data-dir", str(tiny_data),
                 "--output", str(out)]) == 0
    capsys.readouterr()
    assert main(["sample", str(out)]) == 2
    assert ("is a run of imdb_lstm, which does not generate text; zoo sample needs a run of "
            "text8_bigram_lstm") in one_line_error(capsys)


def test_corpus_outside_the_alphabet_is_one_line_exit_1(tmp_path, capsys):
    corpus = tmp_path / "raw.txt"
    corpus.write_text("Call me Ishmael. " * 200)
    assert main(["run", "text8_bigram_lstm", "--set", f"corpus={corpus}",
                 "--output", str(tmp_path / "run")]) == 1
    assert "characters outside [a-z ] (b'C' at 0" in one_line_error(capsys)
