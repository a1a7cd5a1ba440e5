"""SavedModel export: every registered model exports, reloads in a fresh process with TensorFlow
alone, and gives the trained model's outputs; the signatures take what a person has."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, weather, write_series

from zoo import export, rundir, runner
from zoo.data import imdb
from zoo.errors import UsageError, ZooError
from zoo.models.text8_bigram_lstm.sampling import sample
from zoo.registry import REGISTRY

# Runs in a fresh interpreter where importing zoo is impossible: TensorFlow alone must do.
FRESH_PROCESS = """
import sys
sys.modules["zoo"] = None
import json, numpy as np, tensorflow as tf
path, inputs, out = sys.argv[1:]
loaded = tf.saved_model.load(path)
results = {}
for name, kwargs in json.loads(open(inputs).read()).items():
    signature = loaded.signatures[name]
    specs = signature.structured_input_signature[1]
    outputs = signature(**{k: tf.constant(v, specs[k].dtype) for k, v in kwargs.items()})
    for key, value in outputs.items():
        value = np.asarray(value.numpy())
        if value.dtype.kind in "OS":
            value = np.char.decode(value.astype(bytes))
        results[f"{name}/{key}"] = value
np.savez(out, **results)
"""


def trained_run(name: str, data_dir: Path, tmp_path: Path) -> Path:
    runner.run(name, {**REGISTRY[name].smoke, "epochs": 1}, data_dir=data_dir,
               output=tmp_path / "run", verbose=0)
    return tmp_path / "run"


def call_signatures(functions: dict, inputs: dict) -> dict:
    """{signature/output: numpy value} of calling each signature on its example inputs."""
    results = {}
    for name, kwargs in inputs.items():
        specs = {spec.name: spec for spec in functions[name].input_signature}
        outputs = functions[name](**{k: tf.constant(v, specs[k].dtype) for k, v in kwargs.items()})
        for key, value in outputs.items():
            value = np.asarray(value.numpy())
            results[f"{name}/{key}"] = (np.char.decode(value.astype(bytes))
                                        if value.dtype.kind in "OS" else value)
    return results


def expected_outputs(family: str, model, inputs: dict, got) -> dict:
    """What the trained model itself gives on the signatures' example inputs (for review text:
    on the ids the export's tokenizer made, which test_tokenize_signature_is_keras_processing
    checks): each family's signatures, checked against its model."""
    if family == "imdb_lstm":
        token_ids = np.array(inputs["serving_default"]["token_ids"], "int32")
        return {
            "serving_default/probability": model(token_ids)[:, 0],
            "predict_text/probability": model(got["tokenize/token_ids"])[:, 0],
        }
    if family == "mnist_rnn":
        images = np.array(inputs["serving_default"]["images"], "uint8")
        logits = model(images.astype("float32") / 255.0)
        return {"serving_default/probabilities": tf.nn.softmax(logits),
                "serving_default/class": np.argmax(logits, axis=-1)}
    if family == "imdb_reviews_bilstm":
        texts = np.array(inputs["serving_default"]["text"], dtype=object)
        ids = model.vectorize(texts).numpy()
        return {"serving_default/probability": tf.sigmoid(model(texts))[:, 0],
                "read/words": [len(t.replace(",", "").replace(".", "").split()) for t in texts],
                "read/words_read": (ids > 0).sum(axis=1),
                "read/known_words_read": (ids > 1).sum(axis=1)}
    if family == "forecast":
        window = np.array(inputs["serving_default"]["window"], "float32")
        return {"serving_default/forecast": model(window),
                "metadata/history": model.history_length, "metadata/horizon": model.horizon}
    assert family == "text8_bigram_lstm", f"no check of {family}'s signatures against its model"
    from zoo.data import text8

    probabilities = []
    for prefix in inputs["serving_default"]["prefix"]:
        context = text8.encode(prefix if len(prefix) > 1 else " " + prefix)
        logits = model(text8.bigram_ids(context)[None].astype("int32"))
        probabilities.append(tf.nn.softmax(logits[0, -1]))
    kwargs = inputs["sample"]
    return {
        "serving_default/probabilities": np.stack(probabilities),
        "sample/text": np.array(sample(
            model, kwargs["prime"], kwargs["length"], kwargs["temperature"], kwargs["seed"])),
    }


# strings (reviews), uint8 (digit images), float32 (weather windows)
SAVED_MODEL_CLI_MODELS = ("imdb_lstm", "mnist_gru", "forecast_multi_multi")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_export_reloads_without_zoo_and_matches(name, tiny_data, tmp_path):
    spec = REGISTRY[name]
    run_dir = trained_run(name, tiny_data, tmp_path)
    path = export.export_run(run_dir, root=tmp_path / "saved_models", data_dir=tiny_data)
    assert path == tmp_path / "saved_models" / name / "1"
    assert (path / "saved_model.pb").is_file() and "## Test figures" in (
        path / export.CARD).read_text()
    assert json.loads((path / export.RECORD).read_text()) == {"model": name,
                                                              "family": spec.family}

    _, recipe, model = runner.load_run_model(run_dir)
    inputs = spec.serving_examples(recipe, np.random.default_rng(0))
    serving = spec.serving(model, recipe, tiny_data)
    assert set(inputs) == set(serving.signatures), "an example call of every signature"
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(path), str(tmp_path / "inputs.json"),
                    str(tmp_path / "out.npz")], check=True, capture_output=True)
    got = np.load(tmp_path / "out.npz")

    # the export computes what its signatures computed before export, and they what the model
    # itself computes
    for key, expected in call_signatures(serving.signatures, inputs).items():
        if expected.dtype.kind in "US":
            assert str(got[key]) == str(expected), key
        else:
            np.testing.assert_allclose(got[key], expected, atol=1e-5, err_msg=key)
    for key, expected in expected_outputs(spec.family, model, inputs, got).items():
        expected = np.asarray(expected)
        if expected.dtype.kind in "US":
            assert str(got[key]) == str(expected)
        else:
            np.testing.assert_allclose(got[key], expected, atol=1e-5, err_msg=key)

    # saved_model_cli lists the signatures and runs serving_default: for one model of each
    # input dtype (two more TensorFlow start-ups a model; every export's signatures already
    # ran without zoo in the fresh process above)
    if name not in SAVED_MODEL_CLI_MODELS:
        return
    shown = subprocess.run(["saved_model_cli", "show", "--all", "--dir", str(path)],
                           check=True, capture_output=True, text=True).stdout
    for signature in inputs:
        assert f"signature_def['{signature}']" in shown
    (input_name, value), = inputs["serving_default"].items()
    (dtype,) = [spec.dtype for spec in serving.signatures["serving_default"].input_signature
                if spec.name == input_name]
    np.save(tmp_path / "serving_input.npy",
            np.array(value, dtype="S" if dtype == tf.string else dtype.as_numpy_dtype))
    ran = subprocess.run(["saved_model_cli", "run", "--dir", str(path), "--tag_set", "serve",
                          "--signature_def", "serving_default",
                          "--inputs", f"{input_name}={tmp_path / 'serving_input.npy'}"],
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "Result for output key" in ran.stdout


def test_wrong_dtype_or_shape_to_a_signature_is_refused(tiny_data, tmp_path):
    run_dir = trained_run("mnist_gru", tiny_data, tmp_path)
    path = export.export_run(run_dir, to=tmp_path / "export", data_dir=tiny_data)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    refused = (TypeError, ValueError, tf.errors.InvalidArgumentError)
    with pytest.raises(refused, match="expected to be a uint8 tensor but is a float tensor"):
        serve(images=tf.zeros((1, 28, 28), tf.float32))
    with pytest.raises(refused, match=r"images must have shape \(batch, 28, 28\)"):
        serve(images=tf.zeros((1, 27, 28), tf.uint8))


def test_versions_count_up_and_an_interrupted_export_leaves_nothing(tiny_data, tmp_path,
                                                                   monkeypatch):
    root = tmp_path / "saved_models"
    (root / "mnist_gru" / "1").mkdir(parents=True)
    (root / "mnist_gru" / "notes").mkdir()
    assert export.next_version(root / "mnist_gru") == 2
    run_dir = trained_run("mnist_gru", tiny_data, tmp_path)

    def interrupted(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", interrupted)
    with pytest.raises(ZooError, match="cannot write the SavedModel .*disk full"):
        export.export_run(run_dir, root=root, data_dir=tiny_data)
    assert sorted(p.name for p in (root / "mnist_gru").iterdir()) == ["1", "notes"]
    monkeypatch.undo()
    assert export.export_run(run_dir, root=root, data_dir=tiny_data) == root / "mnist_gru" / "2"
    with pytest.raises(UsageError, match="already exists"):
        export.export_run(run_dir, to=root / "mnist_gru" / "2", data_dir=tiny_data)


def test_tokenize_signature_is_keras_processing(tiny_data, tmp_path):
    """Review text rebuilt from the word index gives back the ids the model trained on."""
    run_dir = trained_run("imdb_lstm", tiny_data, tmp_path)
    path = export.export_run(run_dir, to=tmp_path / "export", data_dir=tiny_data)
    _, recipe, _ = rundir.read_run_config(run_dir)
    raw = imdb.read_raw(tiny_data / "imdb" / "imdb.npz")
    (x_train, _), _ = imdb.process(raw, recipe.vocab_size, recipe.sequence_length)
    order = np.arange(len(raw["x_train"]))
    np.random.RandomState(imdb.SHUFFLE_SEED).shuffle(order)
    # punctuation and capitals that keras' filter and lowercasing remove
    texts = [" ".join(f"W{rank}," for rank in raw["x_train"][i]) + "!" for i in order]
    tokenize = tf.saved_model.load(str(path)).signatures["tokenize"]
    np.testing.assert_array_equal(tokenize(text=tf.constant(texts))["token_ids"], x_train)
    with pytest.raises(tf.errors.InvalidArgumentError, match="non-empty review text"):
        tokenize(text=tf.constant(["a review", "  "]))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_shipped_export_is_small_carded_and_predicts(name, tmp_path, capsys):
    from zoo.cli import main

    shipped = REPO / "saved_models" / name / "1"
    assert (shipped / "saved_model.pb").is_file(), f"no shipped export of {name}"
    size = sum(p.stat().st_size for p in shipped.rglob("*") if p.is_file())
    assert size < 10_000_000
    assert "## Made by" in (shipped / export.CARD).read_text()
    family = REGISTRY[name].family
    assert json.loads((shipped / export.RECORD).read_text()) == {"model": name, "family": family}
    inputs = {"imdb_lstm": ["a wonderful, moving film"],
              "imdb_reviews_bilstm": ["a wonderful, moving film"],
              "text8_bigram_lstm": ["the movie"]}.get(family)
    if family == "forecast":  # three days of a June-like cycle around 20 degrees
        columns = REGISTRY[name].recipe.columns
        values = weather(72)[:, :len(columns)]
        values[:, 0] = 20 + 5 * np.sin(2 * np.pi * (np.arange(72) - 9) / 24)
        inputs = [str(write_series(tmp_path / "recent.csv", values, columns,
                                   start="2001-06-01T00"))]
    if family == "mnist_rnn":  # a drawn seven: a bar along the top, a stroke down to the left
        seven = np.zeros((28, 28), np.uint8)
        seven[5:8, 6:22] = 255
        for row in range(8, 24):
            seven[row, 21 - (row - 8) // 2 - 1: 21 - (row - 8) // 2 + 2] = 255
        np.save(tmp_path / "seven.npy", seven)
        inputs = [str(tmp_path / "seven.npy")]
    assert main(["predict", name, *inputs, "--length", "20"]) == 0
    printed = capsys.readouterr().out.strip()
    if family == "imdb_lstm":
        assert printed.endswith("positive: 'a wonderful, moving film' (4 of 4 words known)")
    elif family == "imdb_reviews_bilstm":
        assert printed.startswith("positive (probability of positive 0.")
        assert printed.endswith(": 'a wonderful, moving film'")
    elif family == "text8_bigram_lstm":
        assert printed.startswith("the movie") and len(printed) == 29
    elif family == "forecast":  # degrees near the cycle's (its other columns are made up)
        values = np.array([float(v) for v in printed.split(": ", 1)[1].split(" (")[0]
                          .split(", ")])
        assert 12 < values.min() and values.max() < 28, values
        if len(values) == 1:  # the next hour: close to the cycle's next value
            assert abs(values[0] - (20 + 5 * np.sin(2 * np.pi * (72 - 9) / 24))) < 2, values
        else:  # the next day: around the cycle's mean
            assert abs(values.mean() - 20) < 2.5, values
    else:
        assert family == "mnist_rnn", f"no shipped-export check for {family}"
        assert printed.startswith("7 (probability"), printed
