"""The one time loop the zoo's recurrent models share."""

from __future__ import annotations

import tensorflow as tf
from keras import ops


def scan_in_chunks(step, inputs, state: tuple, max_chunk: int = 10):
    """Runs `step(x_t, state) -> state` over time-major `inputs` (time, batch, ...); returns
    (`state[0]` at every step, stacked over time; the last state).

    The loop is symbolic (`tf.scan`): it traces once, in seconds, for any length, where a
    Python unroll of 80 steps takes 15-20 s to trace. Each iteration unrolls a chunk of
    steps, the largest divisor of a static length up to `max_chunk` (one step when the
    length is unknown), which saves part of the loop's per-iteration cost; a static length of
    at most `max_chunk` steps is unrolled without a loop.
    """
    steps = inputs.shape[0]
    if steps is not None and steps <= max_chunk:  # one chunk: unrolled, no loop to pay for
        outputs = []
        for x in ops.unstack(inputs, num=steps, axis=0):
            state = tuple(step(x, state))
            outputs.append(state[0])
        return ops.stack(outputs), state
    chunk = 1 if steps is None else max(d for d in range(1, max_chunk + 1) if steps % d == 0)
    chunks = ops.reshape(inputs, (-1, chunk, *ops.shape(inputs)[1:]))

    def run_chunk(carry, chunk_inputs):
        state = carry[1]
        outputs = []
        for x in ops.unstack(chunk_inputs, num=chunk, axis=0):
            state = step(x, state)
            outputs.append(state[0])
        return ops.stack(outputs), state

    no_outputs = tf.zeros(tf.concat([[chunk], tf.shape(state[0])], 0), state[0].dtype)
    outputs, states = tf.scan(run_chunk, chunks, initializer=(no_outputs, tuple(state)))
    last_state = tuple(s[-1] for s in states)
    return ops.reshape(outputs, (-1, *ops.shape(outputs)[2:])), last_state


def lstm_gates(cell, z, c):
    """A Keras `LSTMCell`'s fused-gate arithmetic (gates in its order i, f, g, o) from the
    pre-activations `z` and the carry `c`; returns (h, c)."""
    i, f, g, o = ops.split(z, 4, axis=-1)
    c = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
    return cell.recurrent_activation(o) * cell.activation(c), c
