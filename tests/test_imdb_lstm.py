"""StackedLSTMClassifier's layer-by-layer evaluation is the two cells stepped together."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.models.imdb_lstm import StackedLSTMClassifier


def step_by_step(model, token_ids, training=False):
    """The tutorial's loop: both cells called once per word, in turn."""
    model.cell_1.reset_dropout_mask()
    vectors = model.embedding(token_ids)
    batch = ops.shape(token_ids)[0]
    state_1 = [ops.zeros((batch, model.units))] * 2
    state_2 = [ops.zeros((batch, model.units))] * 2
    for word in ops.unstack(vectors, axis=1):
        out_1, state_1 = model.cell_1(word, state_1, training=training)
        out_2, state_2 = model.cell_2(out_1, state_2, training=training)
    return model.classifier(out_2)


def outputs_and_gradients(model, fn, x, y):
    with tf.GradientTape() as tape:
        out = fn(x)
        loss = keras.losses.binary_crossentropy(y, out)
    return out.numpy(), [tf.convert_to_tensor(g).numpy()
                         for g in tape.gradient(loss, model.trainable_weights)]


def test_same_outputs_and_gradients_as_stepping_the_cells():
    keras.utils.set_random_seed(3)
    model = StackedLSTMClassifier(vocab_size=200, sequence_length=12, embedding_dim=16,
                                  units=8, dropout=0.0)
    x = np.random.default_rng(0).integers(0, 200, (5, 12)).astype("int32")
    y = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]], "float32")
    model(x)
    fast, fast_grads = outputs_and_gradients(model, lambda t: model(t, training=True), x, y)
    slow, slow_grads = outputs_and_gradients(model, lambda t: step_by_step(model, t, True), x, y)
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_dropout_uses_the_cells_mask_once_per_sequence(monkeypatch):
    model = StackedLSTMClassifier(vocab_size=50, sequence_length=7, embedding_dim=6, units=4,
                                  dropout=0.5)
    x = np.random.default_rng(1).integers(0, 50, (3, 7)).astype("int32")
    model(x)
    mask = (np.random.default_rng(2).random((3, 6)) > 0.5).astype("float32") * 2.0
    drawn = []

    def fixed_mask(step_input, rate):
        drawn.append(tuple(step_input.shape))
        return ops.convert_to_tensor(mask)

    monkeypatch.setattr(model.cell_1, "_create_dropout_mask", fixed_mask)
    fast = model(x, training=True).numpy()
    slow = step_by_step(model, x, training=True).numpy()
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    assert drawn == [(3, 6), (3, 6)]  # one mask per call, per batch
    assert not np.allclose(fast, model(x, training=False).numpy())
