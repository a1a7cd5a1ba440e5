"""`scan_in_chunks`, the time loop the models share: the same outputs, last state and gradients
as a plain Python loop over the steps, for every way it can run (unrolled, chunked, one step an
iteration for an unknown length), inside a graph as `fit` runs it."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from zoo.models.recurrence import scan_in_chunks

FEATURES, UNITS, BATCH = 3, 4, 2


def make_weights():
    rng = np.random.default_rng(0)
    projection = tf.Variable(rng.normal(size=(FEATURES, UNITS)).astype("float32"))
    recurrent = tf.Variable(rng.normal(size=(UNITS, UNITS)).astype("float32") * 0.5)
    return projection, recurrent


def step_fn(recurrent):
    def step(z, state):
        h, c = state
        c = tf.tanh(z + h @ recurrent) + 0.5 * c
        return tf.sigmoid(c), c
    return step


def plain_loop(inputs, state, projection, recurrent):
    outputs = []
    for x in tf.unstack(inputs):
        state = step_fn(recurrent)(x @ projection, state)
        outputs.append(state[0])
    return tf.stack(outputs), state


@pytest.mark.parametrize("steps", [1, 4, 5, 8, 7])
@pytest.mark.parametrize("known_length", [True, False])
@pytest.mark.parametrize("keep_outputs", [True, False])
def test_scan_in_chunks_equals_a_plain_loop(steps, known_length, keep_outputs):
    projection, recurrent = make_weights()
    rng = np.random.default_rng(steps)
    inputs = tf.constant(rng.normal(size=(steps, BATCH, FEATURES)).astype("float32"))
    state = tuple(tf.constant(rng.normal(size=(BATCH, UNITS)).astype("float32"))
                  for _ in range(2))
    variables = [projection, recurrent]

    def run(loop, in_graph=True):
        def graph(inputs, h, c):
            with tf.GradientTape() as tape:
                tape.watch([inputs, h, c])
                outputs, last = loop(inputs, (h, c))
                loss = tf.reduce_sum(last[0] * last[1])
                if outputs is not None:
                    loss += tf.reduce_sum(outputs ** 2)
            return outputs, last, tape.gradient(loss, [inputs, h, c, *variables])

        time = steps if known_length else None
        signature = [tf.TensorSpec((time, BATCH, FEATURES)), tf.TensorSpec((BATCH, UNITS)),
                     tf.TensorSpec((BATCH, UNITS))]
        if not in_graph:
            return graph(inputs, *state)
        return tf.function(graph, input_signature=signature)(inputs, *state)

    chunked = run(lambda x, s: scan_in_chunks(step_fn(recurrent), x, s, max_chunk=4,
                                              project=lambda x: x @ projection,
                                              keep_outputs=keep_outputs))
    plain = run(lambda x, s: (lambda outputs, last: (outputs if keep_outputs else None, last))(
        *plain_loop(x, s, projection, recurrent)), in_graph=False)
    if keep_outputs:
        np.testing.assert_allclose(chunked[0], plain[0], atol=1e-6)
        assert chunked[0].shape == (steps, BATCH, UNITS)
    else:
        assert chunked[0] is None
    for ours, theirs in zip([*chunked[1], *chunked[2]], [*plain[1], *plain[2]]):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("steps", [3, 8, 7])
@pytest.mark.parametrize("known_length", [True, False])
def test_scan_in_chunks_reduces_each_chunk_of_outputs_where_they_are_made(steps, known_length):
    """`reduce` gets each chunk's outputs with the time of its first step: summed over the
    chunks, a figure of every step's output and of a tensor aligned with them."""
    projection, recurrent = make_weights()
    rng = np.random.default_rng(steps)
    inputs = tf.constant(rng.normal(size=(steps, BATCH, FEATURES)).astype("float32"))
    weights = tf.constant(rng.normal(size=(steps, BATCH)).astype("float32"))
    state = (tf.zeros((BATCH, UNITS)),) * 2

    def reduce(outputs, start):  # weighted by the steps' own weights: `start` must be right
        return tf.reduce_sum(outputs[..., 0] * weights[start:start + outputs.shape[0]], 0)

    @tf.function(input_signature=[tf.TensorSpec((steps if known_length else None, BATCH,
                                                 FEATURES))])
    def reduced(inputs):
        return scan_in_chunks(step_fn(recurrent), inputs, state, max_chunk=4,
                              project=lambda x: x @ projection, reduce=reduce)

    sums, last = reduced(inputs)
    outputs, plain_last = plain_loop(inputs, state, projection, recurrent)
    # unrolled, 2 chunks of 4, 7 of 1; an unknown length steps one at a time
    assert sums.shape[0] == ({3: 1, 8: 2, 7: 7}[steps] if known_length else steps)
    np.testing.assert_allclose(tf.reduce_sum(sums, 0),
                               tf.reduce_sum(outputs[..., 0] * weights, 0), rtol=1e-5)
    np.testing.assert_allclose(last[0], plain_last[0], atol=1e-6)


def test_scan_in_chunks_refuses_a_chunk_below_one():
    with pytest.raises(ValueError, match="max_chunk 0 is not accepted"):
        scan_in_chunks(lambda x, s: s, tf.zeros((3, 1, 1)), (tf.zeros((1, 1)),), max_chunk=0)


@pytest.mark.parametrize("keep_outputs", [True, False])
def test_scan_in_chunks_compiles_with_xla(keep_outputs):
    """`fit` compiles with XLA on a GPU (`jit_compile="auto"`): the loop's gradient needs a
    fixed trip count there."""
    projection, recurrent = make_weights()
    inputs = tf.ones((8, BATCH, FEATURES))

    @tf.function(jit_compile=True)
    def gradients():
        with tf.GradientTape() as tape:
            outputs, last = scan_in_chunks(step_fn(recurrent), inputs,
                                           (tf.zeros((BATCH, UNITS)),) * 2, max_chunk=4,
                                           project=lambda x: x @ projection,
                                           keep_outputs=keep_outputs)
            loss = tf.reduce_sum(last[0]) + (0 if outputs is None else tf.reduce_sum(outputs))
        return tape.gradient(loss, [projection, recurrent])

    compiled = gradients()
    eager = gradients.python_function()
    for ours, theirs in zip(compiled, eager):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
