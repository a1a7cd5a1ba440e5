"""Sentiment of an IMDB review: two stacked `LSTMCell`s stepped over its 80 word ids."""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.cells import make_cell
from zoo.models.recurrence import lstm_gates, scan_in_chunks


@keras.saving.register_keras_serializable(package="zoo")
class StackedLSTMClassifier(keras.Model):
    """Embedding, then two `keras.layers.LSTMCell`s stepped together over time, then a sigmoid.

    Input dropout is applied in the first cell only, with a fresh mask for every batch and
    only in training. The zero initial states are sized from the input's batch, so any
    batch size works. Under a mixed dtype policy (`dtype="mixed_bfloat16"`, or the global
    policy) the products run in bfloat16; the cell states and the sigmoid in float32.

    Args:
        vocab_size: number of word ids, including the reserved 0 (pad), 1 (start), 2 (OOV).
        sequence_length: ids per review; inputs must have exactly this many.
        embedding_dim: size of each word's vector.
        units: size of each LSTM cell's state.
        dropout: fraction of the first cell's inputs dropped in training.
        cell: "lstm" (Keras' `LSTMCell`s, the tutorial's) or another of `zoo.models.cells`
            (peephole, cifg, no_forget, gru), whose input dropout is one mask for all steps
            too.

    Example:
    >>> model = StackedLSTMClassifier(vocab_size=100, sequence_length=5, embedding_dim=8,
    ...                               units=4, dropout=0.2)
    >>> model(np.ones((2, 5), "int32")).shape
    (2, 1)
    """

    def __init__(self, vocab_size: int, sequence_length: int, embedding_dim: int, units: int,
                 dropout: float, cell: str = "lstm", **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        policy = self.dtype_policy  # the model's, saved in its config
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, dtype=policy)
        if cell == "lstm":
            self.cell_1 = keras.layers.LSTMCell(units, dropout=dropout, dtype=policy)
            self.cell_2 = keras.layers.LSTMCell(units, dtype=policy)
        else:
            self.cell_1 = make_cell(cell, units, dtype=policy)
            self.cell_2 = make_cell(cell, units, dtype=policy)
            # time-major inputs: one mask per review for all its steps
            self.input_dropout = keras.layers.Dropout(
                dropout, noise_shape=(1, None, embedding_dim), dtype=policy)
        # the probability and the loss in float32, whatever the policy
        self.classifier = keras.layers.Dense(1, activation="sigmoid", dtype="float32")
        # === Config ===
        self.vocab_size = vocab_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout = dropout
        self.cell = cell

    def build(self, input_shape):
        # the cells are never called, only their weights used (see `stacked_lstm`)
        self.embedding.build(input_shape)
        self.cell_1.build((None, self.embedding_dim))
        self.cell_2.build((None, self.units))
        self.classifier.build((None, self.units))
        self.built = True

    def call(self, token_ids, training=None):
        length = token_ids.shape[1] if len(token_ids.shape) == 2 else None
        if length != self.sequence_length:
            raise ValueError(
                f"expected token ids of shape (batch, {self.sequence_length}), "
                f"got {tuple(token_ids.shape)}"
            )
        # time-major from the start: (80, batch, embedding) without transposing floats
        vectors = self.embedding(ops.transpose(token_ids))
        if self.cell != "lstm":
            vectors = self.input_dropout(vectors, training=training)
            return self.classifier(stacked_cells(self.cell_1, self.cell_2, vectors))
        # LSTMCell caches its dropout mask across calls: reset it so every batch (and every
        # traced graph) draws its own. One mask for all 80 steps, as the cell applies it.
        self.cell_1.reset_dropout_mask()
        if training and self.cell_1.dropout > 0:
            vectors = vectors * self.cell_1.get_dropout_mask(vectors[0])
        return self.classifier(stacked_lstm(self.cell_1, self.cell_2, vectors))

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            sequence_length=self.sequence_length,
            embedding_dim=self.embedding_dim,
            units=self.units,
            dropout=self.dropout,
            cell=self.cell,
        )
        return config


def stacked_lstm(cell_1, cell_2, inputs, max_chunk: int = 2):
    """The last output of `cell_2` stacked on `cell_1`, both stepped over time-major `inputs`
    (time, batch, features); computes what calling the cells step by step computes.

    Faster than the step-by-step calls, with the same weights: the first cell's input
    projection is one matmul per two-step chunk, inside the loop (which then carries the
    100-wide word vectors, not the 256-wide gates); the second cell's two matmuls are one;
    each step is the cells' fused-gate arithmetic written out; and the loop is symbolic, two
    steps an iteration (`scan_in_chunks`). The first training step arrives in about 3 s
    instead of the 80-step Python unroll's 20 (`zoo bench imdb_lstm`; longer chunks traced
    slower and ran no faster). Inputs must already carry `cell_1`'s dropout; the
    cells' recurrent dropout must be 0.
    """
    # the second cell's fused kernel: [h_1, h_2] @ [kernel; recurrent_kernel]
    kernel_2 = ops.concatenate([cell_2.kernel, cell_2.recurrent_kernel], axis=0)

    def step(z_1, state):
        h_2, c_2, h_1, c_1 = state
        # products in the compute dtype (z_1's); the states carried in the variables' (float32)
        h_1, c_1 = lstm_gates(
            cell_1, z_1 + ops.matmul(ops.cast(h_1, z_1.dtype), cell_1.recurrent_kernel), c_1)
        h_12 = ops.cast(ops.concatenate([h_1, h_2], axis=-1), z_1.dtype)
        h_2, c_2 = lstm_gates(cell_2, ops.matmul(h_12, kernel_2) + cell_2.bias, c_2)
        return h_2, c_2, h_1, c_1

    batch = ops.shape(inputs)[1]
    zeros_1 = ops.zeros((batch, cell_1.units), cell_1.variable_dtype)
    zeros_2 = ops.zeros((batch, cell_2.units), cell_2.variable_dtype)
    _, state = scan_in_chunks(step, inputs, (zeros_2, zeros_2, zeros_1, zeros_1), max_chunk,
                              lambda x: ops.matmul(x, cell_1.kernel) + cell_1.bias,
                              keep_outputs=False)
    return state[0]


def stacked_cells(cell_1, cell_2, inputs, max_chunk: int = 2):
    """`stacked_lstm` for any two cells of `zoo.models.cells`: the last output of `cell_2`
    stacked on `cell_1` over time-major `inputs`, the first cell's input share one matmul
    per chunk."""
    first = len(cell_2.state_size)

    def step(z_1, state):
        state_1 = cell_1.step(z_1, state[first:])
        state_2 = cell_2.step(cell_2.project(state_1[0]), state[:first])
        return (*state_2, *state_1)

    batch = ops.shape(inputs)[1]
    zeros = tuple(ops.zeros((batch, cell.units), cell.variable_dtype)
                  for cell in (cell_2, cell_1) for _ in cell.state_size)
    _, state = scan_in_chunks(step, inputs, zeros, max_chunk, cell_1.project,
                              keep_outputs=False)
    return state[0]


def build(recipe) -> StackedLSTMClassifier:
    """The model of an `ImdbLstmRecipe`."""
    return StackedLSTMClassifier(
        vocab_size=recipe.vocab_size,
        sequence_length=recipe.sequence_length,
        embedding_dim=recipe.embedding_dim,
        units=recipe.units,
        dropout=recipe.dropout,
        cell=recipe.cell,
    )


def loss() -> keras.losses.Loss:
    return keras.losses.BinaryCrossentropy()


def metrics() -> list:
    return [keras.metrics.BinaryAccuracy(name="accuracy")]
