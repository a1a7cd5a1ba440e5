"""A character language model on text8: bigram embeddings, a fused-gate LSTM cell, dropout.

The Udacity deep-learning course's LSTM assignment (6_lstm), with its three problems solved:
the four gates come from one matrix multiplication, the input at each step is the bigram
(previous character, current character) looked up in an embedding, and dropout is applied to
the cell's inputs and outputs, never to its recurrent connection. Characters are ids
0 (space) and 1-26 (a-z); a bigram is `27 * previous + current`, in [0, 729).
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf
from keras import ops

from zoo.data.text8 import BIGRAMS, VOCAB
from zoo.models.cells import make_cell
from zoo.models.recurrence import scan_in_chunks
from zoo.models.text8_bigram_lstm.cell import FusedLSTMCell
from zoo.models.text8_bigram_lstm.metrics import nats


@keras.saving.register_keras_serializable(package="zoo")
class BigramLanguageModel(keras.Model):
    """Bigram ids -> embedding -> dropout -> fused LSTM -> dropout -> logits over 27 characters.

    Calling the model on bigrams `(batch, time)` returns next-character logits
    `(batch, time, 27)` from a zero state; pass `initial_state` and `return_state=True` to
    continue a stream. In training (`training=True`, as `fit` calls it) with no
    `initial_state`, a batch of `stream_batch_size` rows continues the training stream: the
    state left by one batch starts the next (truncated backpropagation through time), as the
    assignment's `saved_output`/`saved_state`, and as Keras' `stateful=True` layers do in
    every call. Evaluation and prediction start from zeros.

    Called with `targets` (batch, time), it returns each row's mean cross-entropy of them in
    nats (float64) instead: the mean over time of `metrics.nats(targets, logits)`, each chunk
    of steps scored inside the time loop, so a long row's outputs and logits are never held
    whole (150 rows of 2,000 characters at 128 units would be 150 MB).

    Under a mixed dtype policy (`dtype="mixed_bfloat16"`, or the global policy) the products
    run in bfloat16; the state, carried or returned, and the logits are float32.

    Args:
        embedding_dim: size of each bigram's vector.
        units: size of the LSTM state.
        dropout: fraction of the cell's inputs and outputs dropped in training.
        stream_batch_size: rows of the training stream; a training batch of another size
            starts from zeros and is not carried on. Under a `tf.distribute` strategy of n
            replicas, each replica carries its n-th of the rows.
        cell: "lstm" (the fused-gate cell) or another of `zoo.models.cells` (peephole, cifg,
            no_forget, gru); its state is what is carried.

    Example:
    >>> import numpy as np
    >>> model = BigramLanguageModel(embedding_dim=8, units=16, dropout=0.1,
    ...                             stream_batch_size=4)
    >>> model(np.zeros((2, 10), "int32")).shape
    (2, 10, 27)
    """

    table_min_chars = BIGRAMS  # the fewest characters a call gathers its gate inputs for

    def __init__(self, embedding_dim: int, units: int, dropout: float, stream_batch_size: int,
                 cell: str = "lstm", **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        policy = self.dtype_policy  # the model's, saved in its config
        self.embedding = keras.layers.Embedding(BIGRAMS, embedding_dim, dtype=policy)
        self.input_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.cell = FusedLSTMCell(units, dtype=policy) if cell == "lstm" else \
            make_cell(cell, units, dtype=policy)
        # the cell's outputs (float32, as its state) reach the logits and the loss in float32,
        # whatever the policy
        self.output_dropout = keras.layers.Dropout(dropout, dtype="float32")
        self.logits = keras.layers.Dense(VOCAB, dtype="float32")
        # The training stream's state between batches (not a weight: it is not saved). Built
        # under a `tf.distribute` strategy, each replica trains on its share of the stream's
        # rows (`zoo.distribute` gives replica r the r-th n-th of every batch) and keeps their
        # state in its own copy (synchronized on read, never averaged).
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if stream_batch_size % replicas:
            raise ValueError(f"stream_batch_size={stream_batch_size} does not split over "
                             f"{replicas} replicas")
        self.stream_rows = stream_batch_size // replicas
        self.stream_state = [
            tf.Variable(tf.zeros((self.stream_rows, units)), trainable=False,
                        synchronization=tf.VariableSynchronization.ON_READ,
                        aggregation=tf.VariableAggregation.NONE, name=f"stream_{part}")
            for part in ("h", "c")[:len(self.cell.state_size)]
        ]
        # === Config ===
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout = dropout
        self.stream_batch_size = stream_batch_size
        self.cell_kind = cell

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.cell.build((None, self.embedding_dim))
        self.logits.build((None, self.units))

    def zero_state(self, batch_size):
        """The state of a fresh stream, in the variables' dtype (float32 under mixed precision
        too: a cell state sums over every step)."""
        return [ops.zeros((batch_size, self.units), self.variable_dtype)] * \
            len(self.cell.state_size)

    def call(self, bigrams, training=None, initial_state=None, return_state=False,
             targets=None):
        if targets is not None:  # scoring, never part of a training stream
            return self._row_nats(bigrams, targets, initial_state)
        stream = (training and initial_state is None
                  and bigrams.shape[0] in (None, self.stream_rows))
        if stream:
            initial_state, same_stream = self._stream_start(bigrams)
        # Keras casts a mixed model's float inputs, `initial_state` too, to bfloat16: carry it
        # on in float32, so a stream continued call after call has one dtype
        state = self._start(bigrams, initial_state)
        step, project, inputs = self._loop(bigrams, training)
        # a symbolic loop: it traces once for any length, from 10 steps to a whole book
        outputs, state = scan_in_chunks(step, inputs, tuple(state), project=project)
        state = list(state)  # as `zero_state` gives it: one traced signature for both
        if stream:
            self._stream_keep(state, same_stream)
        outputs = self.output_dropout(outputs, training=training)
        logits = ops.transpose(self.logits(outputs), (1, 0, 2))
        return (logits, state) if return_state else logits

    def _start(self, bigrams, initial_state):
        return self.zero_state(ops.shape(bigrams)[0]) if initial_state is None \
            else [ops.cast(part, self.variable_dtype) for part in initial_state]

    def _loop(self, bigrams, training):
        """The time loop's `step` and `project`, and its time-major inputs."""
        if self.cell_kind == "lstm":  # the fused cell: its kernel split once per call
            input_kernel, recurrent_kernel = self.cell.split_kernel()

            def step(z, s):
                return tuple(self.cell.step(z, s, recurrent_kernel)[1])

            def project(x):
                return self.cell.project_inputs(x, input_kernel)
        else:
            step, project = self.cell.step, self.cell.project
        # time-major from the ids on: the loop runs over time, and ids are the cheapest
        # tensor to transpose (the logits, 27 wide, are turned back at the end)
        ids = ops.transpose(bigrams)
        if self._uses_gate_table(bigrams, training):
            # the embedding followed by the input's share of the gates is itself a table of
            # 729 rows: computed once a call, each step gathers its rows instead of
            # multiplying every character's vector (half a training step's arithmetic)
            table = project(self.embedding.embeddings)
            return step, functools.partial(gather_rows, table), ids
        return step, project, self.input_dropout(self.embedding(ids), training=training)

    def _row_nats(self, bigrams, targets, initial_state):
        targets = ops.transpose(targets)  # time-major, as the loop

        def chunk_nats(outputs, start):  # summed over the chunk's steps
            chunk_targets = targets[start:start + outputs.shape[0]]
            return ops.sum(nats(chunk_targets, self.logits(outputs)), axis=0)

        step, project, inputs = self._loop(bigrams, False)
        sums, _ = scan_in_chunks(step, inputs, tuple(self._start(bigrams, initial_state)),
                                 project=project, reduce=chunk_nats)
        steps = ops.cast(ops.shape(targets)[0], "float64")
        return ops.sum(ops.cast(sums, "float64"), axis=0) / steps

    def _uses_gate_table(self, bigrams, training) -> bool:
        """Whether the call gathers rows of the gate table: only without input dropout (each
        character's vector is then dropped on its own), and only where the call has at least
        as many characters as the table has rows, known when traced (sampling, a character a
        call, would otherwise build the whole table for each one)."""
        batch, time = bigrams.shape
        characters = batch * time if batch and time else 0
        return not (training and self.dropout) and characters >= self.table_min_chars

    def _stream_start(self, bigrams):
        """The stream's carried state for a batch of its size, zeros for any other; and
        whether the batch is the stream's."""
        batch = tf.shape(bigrams)[0]
        same_stream = tf.equal(batch, self.stream_rows)
        carried = [tf.cast(tf.stop_gradient(v.read_value()), self.variable_dtype)
                   for v in self.stream_state]
        return tf.cond(same_stream, lambda: carried, lambda: self.zero_state(batch)), same_stream

    def _stream_keep(self, state, same_stream):
        # The state kept is the new one or the old, chosen by arithmetic: an assignment inside
        # a tf.cond led TF 2.21's constant folding to give every batch the stream's size
        # (tests/test_text8.py, a batch size known only when the graph runs).
        size = self.stream_rows
        keep = tf.cast(same_stream, tf.float32)
        padding = tf.maximum(size - tf.shape(state[0])[0], 0)
        for variable, value in zip(self.stream_state, state):
            fitted = tf.pad(tf.cast(value[:size], tf.float32), [[0, padding], [0, 0]])
            variable.assign(keep * fitted + (1 - keep) * variable, read_value=False)

    def reset_stream(self) -> None:
        """Forgets the training stream's state: the next training batch starts from zeros."""
        for variable in self.stream_state:
            variable.assign(tf.zeros_like(variable))

    def get_config(self):
        config = super().get_config()
        config.update(embedding_dim=self.embedding_dim, units=self.units, dropout=self.dropout,
                      stream_batch_size=self.stream_batch_size, cell=self.cell_kind)
        return config


@tf.custom_gradient
def gather_rows(table, ids):
    """`tf.gather(table, ids)`, whose gradient for `table` is summed in float32: a bigram's
    row gathers hundreds of characters' gradients a call, too many to add up in bfloat16
    (mixed precision) without losing most of their digits."""
    def gradient(upstream):
        # a sorted segment sum over the characters in bigram order (a stable sort keeps
        # their order): on one CPU thread about twice as fast as `unsorted_segment_sum`,
        # whose row-by-row adds took 2-3 ms of a 5,120-character training step
        flat = tf.reshape(ids, [-1])
        order = tf.argsort(flat, stable=True)
        rows = tf.sparse.segment_sum(
            tf.reshape(tf.cast(upstream, tf.float32), [-1, tf.shape(table)[-1]]), order,
            tf.gather(flat, order), num_segments=tf.shape(table)[0])
        return tf.cast(rows, table.dtype), None

    return tf.gather(table, ids), gradient


def build(recipe) -> BigramLanguageModel:
    """The model of a `BigramLstmRecipe`; its stream has the recipe's batch size."""
    return BigramLanguageModel(embedding_dim=recipe.embedding_dim, units=recipe.units,
                               dropout=recipe.dropout, stream_batch_size=recipe.batch_size,
                               cell=recipe.cell)


def loss() -> keras.losses.Loss:
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def metrics() -> list:
    from zoo.models.text8_bigram_lstm.metrics import Perplexity

    return [Perplexity()]
