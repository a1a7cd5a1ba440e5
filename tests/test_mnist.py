"""MNIST: the loader, the digit report, and the tutorial budget as a recipe setting."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_manifest

from zoo import runner
from zoo.data import mnist
from zoo.errors import DataError
from zoo.models.mnist_rnn.model import RowSequenceClassifier
from zoo.models.mnist_rnn.recipe import MnistRnnRecipe
from zoo.registry import REGISTRY

SMOKE = REGISTRY["mnist_gru"].smoke


def test_loader_scales_pixels_and_holds_out_validation(tiny_data):
    data = mnist.load(MnistRnnRecipe(batch_size=16, validation_split=0.25), tiny_data)
    assert data.train_examples == 60
    x, y = next(iter(data.train))
    assert x.dtype.name == "float32" and x.shape[1:] == (28, 28) and y.dtype.name == "int64"
    assert 0.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
    raw = np.load(tiny_data / "mnist" / "mnist.npz")
    test_images = np.concatenate([x for x, _ in data.test.as_numpy_iterator()])
    np.testing.assert_allclose(test_images, raw["x_test"] / 255.0, atol=1e-7)  # all 40, in order


def test_wrong_shapes_are_refused(tmp_path):
    path = tmp_path / "mnist" / "mnist.npz"
    path.parent.mkdir()
    np.savez(path, x_train=np.zeros((5, 28, 27), np.uint8), y_train=np.zeros(5, np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))
    write_manifest(tmp_path, "mnist/mnist.npz")
    with pytest.raises(DataError, match=r"x_train \(5, 28, 27\)"):
        mnist.load(MnistRnnRecipe(), tmp_path)


def test_checksum_mismatch(tiny_data):
    (tiny_data / "SHA256SUMS").write_text(f"{'f' * 64}  mnist/mnist.npz\n")
    with pytest.raises(DataError, match="f" * 64):
        mnist.load(MnistRnnRecipe(), tiny_data)


@pytest.mark.parametrize("name", ["mnist_lstm", "mnist_gru"])
def test_run_reports_first_128_confusion_and_misclassified(name, tiny_data, tmp_path):
    out = tmp_path / "run"
    metrics = runner.run(name, SMOKE, data_dir=tiny_data, output=out, verbose=0)
    assert {"loss", "accuracy", "accuracy_first_128"} <= set(metrics["test"])
    for picture in ("confusion_matrix.png", "misclassified.png", "curves.png"):
        assert (out / picture).stat().st_size > 1000, picture
    matrix = np.array(json.loads((out / "confusion_matrix.json").read_text()))
    assert matrix.shape == (10, 10) and matrix.sum() == 40
    # 40 test images: "first 128" is all of them, and the confusion matrix agrees
    assert metrics["test"]["accuracy_first_128"] == pytest.approx(np.trace(matrix) / 40)
    assert metrics["test"]["accuracy"] == pytest.approx(np.trace(matrix) / 40, abs=1e-6)


def test_tutorial_budget_is_max_steps(tiny_data, tmp_path):
    # 72 training images in batches of 16: 5 steps an epoch; 6 steps stop inside epoch 2
    metrics = runner.run("mnist_gru", dict(SMOKE, epochs=12, max_steps=6), data_dir=tiny_data,
                         output=tmp_path / "run", verbose=0)
    assert metrics["steps_trained"] == 6 and metrics["epochs_trained"] == 2


def test_random_shift_moves_images_by_at_most_the_setting():
    image = np.zeros((28, 28), "float32")
    image[14, 14] = 1.0
    shift = mnist.random_shift(2)
    positions = set()
    for i in range(50):
        moved = shift(image, tf.constant([7, i], tf.int64)).numpy()
        assert moved.sum() == 1.0
        (row,), (column,) = np.nonzero(moved)
        assert abs(row - 14) <= 2 and abs(column - 14) <= 2
        positions.add((row, column))
    assert len(positions) > 5
    same = shift(image, tf.constant([7, 3], tf.int64)).numpy()
    np.testing.assert_array_equal(same, shift(image, tf.constant([7, 3], tf.int64)).numpy())


def test_shifted_training_images_are_repeatable_and_differ_by_epoch(tiny_data):
    def epochs(recipe):
        data = mnist.load(recipe, tiny_data)
        return [np.concatenate([x for x, _ in data.train.as_numpy_iterator()]) for _ in range(2)]

    first, second = epochs(MnistRnnRecipe(batch_size=16)), epochs(MnistRnnRecipe(batch_size=16))
    np.testing.assert_array_equal(first[0], second[0])  # same seed, same shifts
    np.testing.assert_array_equal(first[1], second[1])
    plain = epochs(MnistRnnRecipe(batch_size=16, shift_pixels=0))[0]
    assert not np.allclose(first[0], plain)  # shifted: not the plain images in the same order
    assert not np.allclose(first[0], first[1])  # a new shuffle and new shifts each epoch


def test_shift_pixels_leaves_validation_and_test_alone(tiny_data):
    data = mnist.load(MnistRnnRecipe(batch_size=16, shift_pixels=2), tiny_data)
    raw = np.load(tiny_data / "mnist" / "mnist.npz")
    validation = np.concatenate([x for x, _ in data.validation.as_numpy_iterator()])
    np.testing.assert_allclose(validation, raw["x_train"][72:] / 255.0, atol=1e-7)
    train = np.concatenate([x for x, _ in data.train.as_numpy_iterator()])
    assert train.shape == (72, 28, 28)


@pytest.mark.parametrize("cell, projection",
                         [("lstm", True), ("gru", False), ("lstm", False), ("gru", True)])
def test_fast_evaluation_equals_the_keras_layer(cell, projection):
    """The model's loop computes what its `keras.layers.LSTM`/`GRU` computes on the same
    weights (the LSTM's projection regrouped into its kernel): outputs and gradients. Both
    paths are called by name, so a GPU (where `call` takes the layer) tests the loop too."""
    model = RowSequenceClassifier(cell=cell, units=32, input_projection=projection)
    images = tf.constant(np.random.default_rng(0).random((5, 28, 28), dtype="float32"))
    model(images)
    with tf.GradientTape(persistent=True) as tape:
        fast = model.logits_by_loop(images)
        layer = model.logits_by_layer(images)
    np.testing.assert_allclose(fast.numpy(), layer.numpy(), atol=1e-5)
    pairs = zip(tape.gradient(fast, model.trainable_variables),
                tape.gradient(layer, model.trainable_variables))
    for a, b in pairs:
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert len(model.trainable_variables) == (7 if projection else 5)
