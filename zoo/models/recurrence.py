"""The one time loop the zoo's recurrent models share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from keras import ops


def scan_in_chunks(step: Callable[[Any, tuple], tuple], inputs, state: tuple,
                   max_chunk: int = 10, project: Callable[[Any], Any] | None = None,
                   keep_outputs: bool = True,
                   reduce: Callable[[Any, Any], Any] | None = None) -> tuple[Any, tuple]:
    """Runs `step(x_t, state) -> state` over time-major `inputs` (time, batch, ...), each
    chunk of steps' inputs first passed through `project` (such as the input share of the
    gates: one matmul per chunk); returns (`state[0]` at every step, stacked over time, or
    None without `keep_outputs`; the last state).

    With `reduce`, each chunk's outputs (chunk, batch, ...) are passed to
    `reduce(outputs, start)`, `start` the time of the chunk's first step, and what it returns
    (in the outputs' dtype) is stacked over the chunks in place of the outputs: a figure of a
    long sequence, such as its cross-entropy, without holding every step's output (150 rows
    of 2,000 steps at 128 units are 150 MB, whose first use in a process costs most of a
    second of page faults).

    The loop is symbolic (`tf.while_loop`): it traces once, in seconds, for any length, where
    a Python unroll of 80 steps takes 15-20 s to trace. Each iteration unrolls a chunk of
    steps, the largest divisor of a static length up to `max_chunk` (one step when the
    length is unknown), which saves part of the loop's per-iteration cost; a static length of
    at most `max_chunk` steps is unrolled without a loop. The loop carries the inputs as
    given and projects them inside, because the gradient of a loop's inputs is gathered step
    by step: pass inputs narrower than their projection (embeddings, pixel rows), not the
    gates.
    """
    if max_chunk < 1:
        raise ValueError(f"max_chunk {max_chunk} is not accepted; expected an integer >= 1")
    project = project or (lambda x: x)
    steps = inputs.shape[0]

    keep_outputs = keep_outputs or reduce is not None

    def run_chunk(chunk_inputs, state, length, start):
        outputs = []
        for x in ops.unstack(project(chunk_inputs), num=length, axis=0):
            state = tuple(step(x, state))
            outputs.append(state[0])
        if not keep_outputs:
            return None, state
        outputs = ops.stack(outputs)
        return (outputs if reduce is None else reduce(outputs, start)), state

    if steps is not None and steps <= max_chunk:  # one chunk: unrolled, no loop to pay for
        outputs, state = run_chunk(inputs, tuple(state), steps, 0)
        return (outputs if reduce is None else ops.expand_dims(outputs, 0)), state
    chunk = 1 if steps is None else max(d for d in range(1, max_chunk + 1) if steps % d == 0)
    chunks = ops.reshape(inputs, (-1, chunk, *ops.shape(inputs)[1:]))
    count = tf.shape(chunks)[0]
    chunk_inputs = tf.TensorArray(inputs.dtype, size=count).unstack(chunks)
    outputs = [tf.TensorArray(state[0].dtype, size=count)] if keep_outputs else []

    def body(i, state, *outputs):
        chunk_outputs, state = run_chunk(chunk_inputs.read(i), state, chunk, i * chunk)
        return (i + 1, state, *(array.write(i, chunk_outputs) for array in outputs))

    # a fixed trip count: the gradient's stored intermediates then have a fixed size (XLA)
    _, state, *outputs = tf.while_loop(lambda i, *_: i < count, body,
                                       (tf.constant(0), tuple(state), *outputs),
                                       maximum_iterations=count)
    if not keep_outputs:
        return None, state
    outputs = outputs[0].stack()
    if reduce is not None:
        return outputs, state
    time = -1 if steps is None else steps
    return ops.reshape(outputs, (time, *ops.shape(outputs)[2:])), state


def lstm_gates(cell, z, c):
    """An LSTM step from the gates' pre-activations `z` (Keras' order i, f, g, o) and the carry
    `c`, with the `activation` (tanh) and `recurrent_activation` (sigmoid) of `cell` (a Keras
    `LSTMCell`, or any object with both); returns (h, c):

        i = sigmoid(z_i)          input gate
        f = sigmoid(z_f)          forget gate
        g = tanh(z_g)             candidate cell state
        o = sigmoid(z_o)          output gate
        c' = f * c + i * g        new cell state
        h' = o * tanh(c')         new output and hidden state

    The gates and the new state are computed in `c`'s dtype, which may be wider than `z`'s:
    under mixed precision the products giving `z` run in bfloat16, while the cell state, a
    sum over every step so far, is carried in float32 (the caller casts h to bfloat16 where
    it multiplies a kernel).
    """
    i, f, g, o = ops.split(ops.cast(z, c.dtype), 4, axis=-1)
    c = cell.recurrent_activation(f) * c + cell.recurrent_activation(i) * cell.activation(g)
    return cell.recurrent_activation(o) * cell.activation(c), c
