"""Real-data smoke tests: run when the data directory is present (it is, in CI here)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from zoo import runner
from zoo.data import imdb, imdb_reviews, mnist, text8

pytestmark = pytest.mark.real_data


def test_real_imdb_has_keras_shapes_and_statistics(real_data):
    found = imdb.locate(real_data)
    (x_train, y_train), (x_test, y_test) = imdb.process(imdb.read_raw(found.path), 10000, 80)
    assert x_train.shape == (25000, 80) and x_test.shape == (25000, 80)
    assert y_train.sum() == 12500 and y_test.sum() == 12500
    assert x_train.max() == 9999 and x_train.min() == 0
    # keras' widely printed first training review: "<START> this film was just brilliant ..."
    (x_full, _), _ = imdb.process(imdb.read_raw(found.path), 10000, 1000)
    first = x_full[0][x_full[0] > 0]
    assert len(first) == 218
    assert first[:10].tolist() == [1, 14, 22, 16, 43, 530, 973, 1622, 1385, 65]
    np.testing.assert_array_equal(x_train[0], first[-80:])


def test_one_epoch_of_imdb_lstm_beats_075(real_data, tmp_path):
    metrics = runner.run("imdb_lstm", {"epochs": 1}, data_dir=real_data, output=tmp_path / "run",
                         verbose=2)
    assert metrics["data"]["test_examples"] == 25000
    assert metrics["test"]["accuracy"] > 0.75, metrics["test"]
    assert np.isfinite(metrics["test"]["loss"])


@pytest.mark.parametrize("name", ["mnist_lstm", "mnist_gru"])
def test_100_steps_of_mnist_beat_080(name, real_data, tmp_path):
    # The recipe's learning rate held constant: a cosine schedule squeezed into 100 steps
    # spends half of them below half the rate (mnist_gru then reaches only 0.74).
    overrides = {"max_steps": 100, "lr_schedule": "constant"}
    metrics = runner.run(name, overrides, data_dir=real_data, output=tmp_path / "run", verbose=2)
    assert metrics["steps_trained"] == 100
    assert metrics["test"]["accuracy"] > 0.80, metrics["test"]


def test_100m_character_corpus_loads_as_bytes(real_data):
    found = text8.locate("imdb_text8", real_data)
    ids = text8.encode_bytes(text8.read_bytes(found.path), False, str(found.path))
    assert len(ids) == 100_000_000 and ids.dtype == np.uint8 and ids.max() == 26
    assert text8.decode(ids[:20]) == " i admit the great m"


def test_200_steps_on_austen_reach_heldout_perplexity_below_12(real_data, tmp_path):
    overrides = {"corpus": "austen_text8", "heldout_chars": 300_000, "steps_per_epoch": 200,
                 "epochs": 1}
    metrics = runner.run("text8_bigram_lstm", overrides, data_dir=real_data,
                         output=tmp_path / "run", verbose=2)
    assert metrics["steps_trained"] == 200
    assert metrics["data"]["heldout_characters"] == 300_000
    assert metrics["test"]["heldout_perplexity"] < 12, metrics["test"]


def review_texts(raw_reviews, word_index) -> list[str]:
    """The reviews' text rebuilt from the word index (the .npz holds each word's rank)."""
    words = {rank: word for word, rank in word_index.items()}
    return [" ".join(words[rank] for rank in review) for review in raw_reviews]


def test_shipped_imdb_export_reads_real_review_text(real_data):
    """The export's in-graph tokenizer turns real reviews' text into the training ids, and the
    shipped model scores the whole test set, fed as text, as its card says."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(REPO / "saved_models" / "imdb_lstm" / "1"))
    raw = imdb.read_raw(imdb.locate(real_data).path)
    _, (x_test, y_test) = imdb.process(raw, 10000, 80)
    rng = np.random.RandomState(imdb.SHUFFLE_SEED)
    rng.shuffle(np.arange(len(raw["x_train"])))  # keras shuffles the training split first
    order = np.arange(len(raw["x_test"]))
    rng.shuffle(order)
    texts = review_texts(raw["x_test"][order], imdb.load_word_index(real_data))
    ids, probabilities = [], []
    for start in range(0, len(texts), 1000):
        batch = tf.constant(texts[start:start + 1000])
        ids.append(loaded.signatures["tokenize"](text=batch)["token_ids"].numpy())
        probabilities.append(loaded.signatures["predict_text"](text=batch)["probability"].numpy())
    ids, probabilities = np.concatenate(ids), np.concatenate(probabilities)
    same = np.all(ids == x_test, axis=1).mean()
    accuracy = np.mean((probabilities >= 0.5) == y_test)
    print(f"tokenized exactly as keras: {same:.4f}; predict_text accuracy: {accuracy:.4f}")
    # 21 of the index's 88,584 words change when lowercased (such as 'Ángela'), so a few
    # reviews cannot come back exactly
    assert same > 0.995
    assert accuracy >= 0.83


@pytest.mark.parametrize("name", ["mnist_lstm", "mnist_gru"])
def test_shipped_mnist_exports_score_what_their_cards_say(name, real_data):

    import tensorflow as tf

    shipped = REPO / "saved_models" / name / "1"
    loaded = tf.saved_model.load(str(shipped))
    arrays = mnist.read(mnist.locate(real_data).path)
    classes = loaded.signatures["serving_default"](images=tf.constant(arrays["x_test"]))["class"]
    accuracy = np.mean(classes.numpy() == arrays["y_test"])
    card = (shipped / "MODEL_CARD.md").read_text()
    assert f"- accuracy: {accuracy:.4f}" in card, (accuracy, card)


def test_greensboro_next_day_forecast_beats_the_naive_and_keeps_up_with_least_squares(
        real_data, tmp_path):
    metrics = runner.run("forecast_multi_multi", {"epochs": 2}, data_dir=real_data,
                         output=tmp_path / "run", verbose=0)
    assert metrics["data"]["rows"] == 8760 and metrics["data"]["gaps_filled"] == 0
    assert metrics["data"]["test_examples"] == 876 - 72 - 24 + 1
    test = metrics["test"]
    assert test["naive"] == "repeat_last_day"
    assert test["mae_below_naive_percent"] > 25, test
    # the highway starts at least squares; two epochs must not leave it far behind
    assert test["mae"] < 1.03 * test["baselines"]["linear"]["mae"], test


def test_greensboro_next_hour_forecast_beats_the_last_value_and_least_squares(
        real_data, tmp_path):
    # the default recipe: about 25 s of training
    metrics = runner.run("forecast_uni_single", {}, data_dir=real_data,
                         output=tmp_path / "run", verbose=0)
    test = metrics["test"]
    assert test["mae_below_naive_percent"] > 15, test
    assert test["mae"] < test["baselines"]["linear"]["mae"], test


def test_real_imdb_reviews_come_through_tensorflow_datasets(real_data):
    parts, source = imdb_reviews.read(real_data)
    assert [len(parts[s][0]) for s in ("train", "test")] == [25000, 25000]
    assert parts["train"][1].sum() == 12500 and parts["test"][1].sum() == 12500
    assert source["source"] == "data directory" and source["tfds_version"] == "1.0.0"


SCORE_SHIPPED_REVIEWS = """
import sys
import numpy as np, tensorflow as tf, tensorflow_datasets as tfds
test = tfds.load("imdb_reviews", split="test", data_dir=sys.argv[2], download=False,
                 as_supervised=True)
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
right = 0
for text, label in test.batch(500):
    right += int(np.sum((serve(text=text)["probability"].numpy() >= 0.5) == label.numpy()))
print(right / 25000)
"""


def test_shipped_review_export_scores_the_raw_test_reviews_as_zoo_eval_did(real_data):
    import subprocess
    import sys

    shipped = REPO / "saved_models" / "imdb_reviews_bilstm" / "1"
    card = (shipped / "MODEL_CARD.md").read_text()
    evaluated = float(card.split("- accuracy: ")[1].split()[0])
    # a fresh process with TensorFlow and tensorflow-datasets, without zoo
    out = subprocess.run([sys.executable, "-c", SCORE_SHIPPED_REVIEWS, str(shipped),
                          str(real_data / "tensorflow_datasets")], check=True,
                         capture_output=True, text=True).stdout
    assert abs(float(out.split()[-1]) - evaluated) < 1e-4, (out, evaluated)
