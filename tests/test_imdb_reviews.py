"""imdb_reviews_bilstm: raw text through tensorflow-datasets, the vocabulary fitted on the
training part and carried by checkpoints and exports, and `zoo predict` on text."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import tfds_imdb_features, write_tiny_tfds_imdb

from zoo import export, runner
from zoo.cli import main
from zoo.data import imdb_reviews
from zoo.errors import DataError
from zoo.registry import REGISTRY

SMOKE = REGISTRY["imdb_reviews_bilstm"].smoke


def test_tfds_reviews_load_with_validation_held_out_of_training(tiny_data):
    parts, source = imdb_reviews.read(tiny_data)
    texts, labels = parts["train"]
    assert len(texts) == 60 and len(parts["test"][0]) == 30
    assert isinstance(texts[0], bytes) and set(labels) == {0.0, 1.0}
    assert source["file"] == "tensorflow_datasets/imdb_reviews/plain_text/1.0.0"
    data = REGISTRY["imdb_reviews_bilstm"].load_data(
        REGISTRY["imdb_reviews_bilstm"].recipe, tiny_data)
    assert (data.info["train_examples"], data.info["validation_examples"],
            data.info["test_examples"]) == (54, 6, 30)


def test_the_vocabulary_comes_from_the_training_part_only(tmp_path):
    root = write_tiny_tfds_imdb(tmp_path / "data" / "tensorflow_datasets")
    # a word in every test review and nowhere else
    test_file = next((root / "imdb_reviews/plain_text/1.0.0").glob("*-test.tfrecord*"))
    features = tfds_imdb_features()
    with tf.io.TFRecordWriter(str(test_file)) as writer:
        for i in range(30):
            writer.write(features.serialize_example({"text": "zebra good", "label": i % 2}))
    metrics = runner.run("imdb_reviews_bilstm", SMOKE, data_dir=tmp_path / "data",
                         output=tmp_path / "run", verbose=0)
    _, _, model = runner.load_run_model(metrics["run_dir"])
    vocabulary = model.vectorize.get_vocabulary()
    assert "good" in vocabulary and "zebra" not in vocabulary
    assert len(vocabulary) <= SMOKE["vocab_size"]


def test_a_missing_tfds_folder_is_one_line_naming_it(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(DataError, match=r"cannot load imdb_reviews: .*tensorflow_datasets holds "
                                        r"no prepared imdb_reviews") as caught:
        imdb_reviews.read(tmp_path / "data")
    assert "\n" not in str(caught.value)


def test_checkpoints_and_exports_carry_the_vocabulary(tiny_data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    runner.run("imdb_reviews_bilstm", SMOKE, data_dir=tiny_data, output=run_dir, verbose=0)
    _, _, model = runner.load_run_model(run_dir)
    texts = np.array(["Good, great film!", "dull plot", "unheardof words only"], dtype=object)
    expected = tf.sigmoid(model(texts))[:, 0].numpy()
    assert model.vectorize.get_vocabulary()[2:5]  # adapted, not the placeholder
    # the last checkpoint alone (no model.keras) gives the same model
    (run_dir / "model.keras").unlink()
    _, _, from_checkpoint = runner.load_run_model(run_dir)
    assert from_checkpoint.vectorize.get_vocabulary() == model.vectorize.get_vocabulary()

    path = export.export_run(run_dir, root=tmp_path / "exports")
    loaded = tf.saved_model.load(str(path))
    got = loaded.signatures["serving_default"](text=tf.constant(texts))["probability"]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    read = loaded.signatures["read"](text=tf.constant(["the film " * 10, "unheardof"]))
    assert read["words"].numpy().tolist() == [20, 1]
    assert read["words_read"].numpy().tolist() == [SMOKE["sequence_length"], 1]
    assert read["known_words_read"].numpy().tolist() == [SMOKE["sequence_length"], 0]

    assert main(["predict", str(path), "the film " * 10, "unheardof"]) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 2 and lines[1].endswith(": 'unheardof'")
    probability = float(lines[1].split("of positive ")[1].split(")")[0])
    assert probability == pytest.approx(
        float(tf.sigmoid(model(np.array(["unheardof"], dtype=object)))[0, 0]), abs=1e-4)
    assert "read its first 12 of 20 words" in out.err
    assert "'unheardof': none of its words is in the vocabulary" in out.err
    assert main(["predict", str(path), "?!..."]) == 2
    assert "has no words" in capsys.readouterr().err
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data"]["dataset"] == "imdb_reviews"
