"""A character language model on text8: bigram embeddings, a fused-gate LSTM cell, dropout.

The Udacity deep-learning course's LSTM assignment (6_lstm), with its three problems solved:
the four gates come from one matrix multiplication, the input at each step is the bigram
(previous character, current character) looked up in an embedding, and dropout is applied to
the cell's inputs and outputs, never to its recurrent connection. Characters are ids
0 (space) and 1-26 (a-z); a bigram is `27 * previous + current`, in [0, 729).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import tensorflow as tf
from keras import ops

from zoo.config import Recipe, require
from zoo.data.text8 import BIGRAMS, BYTE_TO_ID, VOCAB, bigram_ids, decode, encode
from zoo.errors import UsageError
from zoo.models.recurrence import scan_in_chunks
from zoo.training import ZooModel


@dataclasses.dataclass(frozen=True)
class BigramLstmRecipe(Recipe):
    """The assignment's data budget (batch 64 x 10 unrollings, 7,000 steps), a larger model.

    Attributes, beyond `Recipe`'s (`validation_split` is unused: validation is the first
    `valid_chars` characters, as in the assignment):
        corpus: "text8" (downloaded), a corpus name in the data directory's `text/` folder
            (such as "imdb_text8" or "austen_text8"), or the path of any text8-format file,
            plain or zipped.
        clean_text: clean text outside `[a-z ]` as text8 was cleaned (lowercase, digits
            spelled out, everything else a space) instead of refusing it.
        valid_chars: characters at the start of the corpus for the validation slice.
        heldout_chars: characters at the end of the corpus that training never sees.
        unrollings: time steps per training batch (truncated backpropagation length).
        steps_per_epoch: training batches between validations and checkpoints.
        embedding_dim: size of each bigram's vector.
        units: size of the LSTM state.
        dropout: fraction of the cell's inputs and of its outputs dropped in training.
    """

    corpus: str = "text8"
    clean_text: bool = False
    valid_chars: int = 1000
    heldout_chars: int = 1_000_000
    unrollings: int = 10
    steps_per_epoch: int = 1000
    embedding_dim: int = 128
    units: int = 256
    dropout: float = 0.1
    epochs: int = 7
    batch_size: int = 64
    learning_rate: float = 5e-3
    lr_schedule: str = "cosine"
    clip_norm: float | None = 1.25
    clip_mode: str = "global"
    steps_per_execution: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "corpus", bool(self.corpus), "text8, a corpus name or a file path")
        require(self, "valid_chars", self.valid_chars >= 3, "an integer >= 3")
        require(self, "heldout_chars", self.heldout_chars >= 3, "an integer >= 3")
        require(self, "unrollings", self.unrollings >= 1, "an integer >= 1")
        require(self, "steps_per_epoch", self.steps_per_epoch >= 1, "an integer >= 1")
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "units", self.units >= 1, "an integer >= 1")
        require(self, "dropout", 0 <= self.dropout < 1, "a fraction in [0, 1)")


@keras.saving.register_keras_serializable(package="zoo")
class FusedLSTMCell(keras.layers.Layer):
    """An LSTM cell whose four gates come from one matrix multiplication.

    With `z = [x, h] @ kernel + bias` split into four equal parts (Keras' order):

        i = sigmoid(z_i)          input gate
        f = sigmoid(z_f)          forget gate
        g = tanh(z_g)             candidate cell state
        o = sigmoid(z_o)          output gate
        c' = f * c + i * g        new cell state
        h' = o * tanh(c')         new output and hidden state

    `kernel` is `keras.layers.LSTMCell`'s `kernel` stacked on its `recurrent_kernel`, so
    the two compute the same function from the same weights. The forget gate's bias starts
    at 1, as Keras' `unit_forget_bias`. For a sequence, `split_kernel` splits the kernel once,
    `project_inputs` multiplies several steps' inputs at once and `step` adds the recurrent
    part: the same product, split in two.

    Args:
        units: size of the state.

    Example:
    >>> import numpy as np
    >>> cell = FusedLSTMCell(4)
    >>> h, (h, c) = cell(np.ones((2, 3), "float32"), [np.zeros((2, 4), "float32")] * 2)
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        glorot = keras.initializers.GlorotUniform()
        orthogonal = keras.initializers.Orthogonal()

        def stacked(shape, dtype=None):
            return ops.concatenate(
                [glorot((input_dim, 4 * self.units), dtype),
                 orthogonal((self.units, 4 * self.units), dtype)], axis=0)

        def forget_bias_one(shape, dtype=None):
            return ops.concatenate([ops.zeros((self.units,), dtype), ops.ones((self.units,), dtype),
                                    ops.zeros((2 * self.units,), dtype)], axis=0)

        self.kernel = self.add_weight(shape=(input_dim + self.units, 4 * self.units),
                                      initializer=stacked, name="kernel")
        self.bias = self.add_weight(shape=(4 * self.units,), initializer=forget_bias_one,
                                    name="bias")

    def split_kernel(self) -> list:
        """(input rows, recurrent rows) of `kernel`, split once for a whole sequence: a slice
        taken inside the time loop would cost a kernel-sized gradient at every step."""
        return ops.split(self.kernel, [self.kernel.shape[0] - self.units], axis=0)

    def project_inputs(self, inputs, input_kernel):
        """The input's share of the gates, `x @ input_kernel + bias`, for any leading
        dimensions (several steps at once)."""
        return ops.matmul(inputs, input_kernel) + self.bias

    def step(self, projected, states, recurrent_kernel):
        """One time step from the projected input; returns (h, [h, c])."""
        h, c = states
        z = projected + ops.matmul(h, recurrent_kernel)
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(z_f) * c + ops.sigmoid(z_i) * ops.tanh(z_g)
        h = ops.sigmoid(z_o) * ops.tanh(c)
        return h, [h, c]

    def call(self, inputs, states):
        input_kernel, recurrent_kernel = self.split_kernel()
        return self.step(self.project_inputs(inputs, input_kernel), states, recurrent_kernel)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="zoo")
class Perplexity(keras.metrics.Mean):
    """exp(mean cross-entropy) of integer targets under logits: per-symbol perplexity."""

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(nats, sample_weight=sample_weight)

    def result(self):
        return ops.exp(super().result())


@keras.saving.register_keras_serializable(package="zoo")
class BigramLanguageModel(ZooModel):
    """Bigram ids -> embedding -> dropout -> fused LSTM -> dropout -> logits over 27 characters.

    Calling the model on bigrams `(batch, time)` returns next-character logits
    `(batch, time, 27)` from a zero state; pass `initial_state` and `return_state=True` to
    continue a stream. In `fit`, each batch continues the training stream: the state left by
    one batch starts the next (truncated backpropagation through time), as the assignment's
    `saved_output`/`saved_state`; evaluation and prediction start from zeros.

    Args:
        embedding_dim: size of each bigram's vector.
        units: size of the LSTM state.
        dropout: fraction of the cell's inputs and outputs dropped in training.
        stream_batch_size: rows of the training stream; a training batch of another size
            starts from zeros and is not carried on.

    Example:
    >>> import numpy as np
    >>> model = BigramLanguageModel(embedding_dim=8, units=16)
    >>> model(np.zeros((2, 10), "int32")).shape
    (2, 10, 27)
    """

    def __init__(self, embedding_dim: int = 128, units: int = 256, dropout: float = 0.1,
                 stream_batch_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.embedding = keras.layers.Embedding(BIGRAMS, embedding_dim)
        self.input_dropout = keras.layers.Dropout(dropout)
        self.cell = FusedLSTMCell(units)
        self.output_dropout = keras.layers.Dropout(dropout)
        self.logits = keras.layers.Dense(VOCAB)
        # The training stream's state between batches (not a weight: it is not saved).
        self.stream_state = [
            tf.Variable(tf.zeros((stream_batch_size, units)), trainable=False,
                        name=f"stream_{part}")
            for part in ("h", "c")
        ]
        # === Config ===
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout = dropout
        self.stream_batch_size = stream_batch_size

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.cell.build((None, self.embedding_dim))
        self.logits.build((None, self.units))

    def zero_state(self, batch_size):
        return [ops.zeros((batch_size, self.units)), ops.zeros((batch_size, self.units))]

    def call(self, bigrams, training=None, initial_state=None, return_state=False):
        # time-major from the ids on: the loop runs over time, and ids are the cheapest
        # tensor to transpose (the logits, 27 wide, are turned back at the end)
        vectors = self.embedding(ops.transpose(bigrams))
        vectors = self.input_dropout(vectors, training=training)
        batch = ops.shape(bigrams)[0]
        state = self.zero_state(batch) if initial_state is None else initial_state
        input_kernel, recurrent_kernel = self.cell.split_kernel()
        # a symbolic loop: it traces once for any length, from 10 steps to a whole book
        outputs, state = scan_in_chunks(
            lambda z, s: tuple(self.cell.step(z, s, recurrent_kernel)[1]), vectors,
            tuple(state), project=lambda x: self.cell.project_inputs(x, input_kernel))
        state = list(state)  # as `zero_state` gives it: one traced signature for both
        outputs = self.output_dropout(outputs, training=training)
        logits = ops.transpose(self.logits(outputs), (1, 0, 2))
        return (logits, state) if return_state else logits

    def training_forward(self, bigrams):
        # A batch of the stream's size continues the stream; any other starts from zeros and
        # leaves the stream alone. (A variable of unknown batch size would avoid the fixed
        # size, but TF 2.21 graphs then read its shape wrongly inside tf.cond.)
        if bigrams.shape[0] not in (None, self.stream_batch_size):
            return self(bigrams, training=True)
        batch = tf.shape(bigrams)[0]
        same_stream = tf.equal(batch, self.stream_batch_size)
        carried = [tf.stop_gradient(v.read_value()) for v in self.stream_state]
        state = tf.cond(same_stream, lambda: carried, lambda: self.zero_state(batch))
        logits, state = self(bigrams, training=True, initial_state=state, return_state=True)
        # The state kept is the new one or the old, chosen by arithmetic: an assignment inside
        # a tf.cond led TF 2.21's constant folding to give every batch the stream's size
        # (tests/test_text8.py, a batch size known only when the graph runs).
        size = self.stream_batch_size
        keep = tf.cast(same_stream, state[0].dtype)
        for variable, value in zip(self.stream_state, state):
            fitted = tf.pad(value[:size], [[0, tf.maximum(size - batch, 0)], [0, 0]])
            variable.assign(keep * fitted + (1 - keep) * variable, read_value=False)
        return logits

    def reset_stream(self) -> None:
        """Forgets the training stream's state: the next training batch starts from zeros."""
        for variable in self.stream_state:
            variable.assign(tf.zeros_like(variable))

    def get_config(self):
        config = super().get_config()
        config.update(embedding_dim=self.embedding_dim, units=self.units, dropout=self.dropout,
                      stream_batch_size=self.stream_batch_size)
        return config


def build(recipe: BigramLstmRecipe) -> BigramLanguageModel:
    return BigramLanguageModel(embedding_dim=recipe.embedding_dim, units=recipe.units,
                               dropout=recipe.dropout, stream_batch_size=recipe.batch_size)


def stream_nats(model: BigramLanguageModel, chunks: tf.data.Dataset) -> tuple[float, int]:
    """Mean cross-entropy (nats per character) of a stream of (bigrams, targets) chunks of
    shape (1, time), scored in order with the state carried from chunk to chunk, as if the
    whole stream were fed one character at a time from a fresh state. Returns it and the
    number of characters scored."""

    @tf.function(reduce_retracing=True, autograph=False)
    def score(bigrams, targets, state):
        logits, state = model(bigrams, initial_state=state, return_state=True)
        nats = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        return tf.reduce_sum(tf.cast(nats, tf.float64)), state

    state = model.zero_state(1)
    total, count = 0.0, 0
    for bigrams, targets in chunks:
        nats, state = score(bigrams, targets, state)
        total += float(nats)
        count += int(tf.size(targets))
    return total / count, count


def perplexity_report(model: BigramLanguageModel, data) -> dict[str, float]:
    """The assignment's validation perplexity on its 1000 characters, and perplexity and bits
    per character of the held-out tail, each scored as one stream."""
    valid, _ = stream_nats(model, data.validation)
    heldout, _ = stream_nats(model, data.test)
    return {
        "valid_perplexity_1000": math.exp(valid),
        "heldout_perplexity": math.exp(heldout),
        "heldout_bpc": heldout / math.log(2),
    }


def context_ids(text):
    """Character ids (int32) of a scalar string tensor of `[a-z ]`, checked inside the graph.
    A one-character text is read as following a space: the first bigram needs two."""
    byte_to_id = tf.constant(list(BYTE_TO_ID), tf.int32)
    ids = tf.gather(byte_to_id, tf.cast(tf.io.decode_raw(text, tf.uint8), tf.int32))
    tf.debugging.assert_greater(tf.size(ids), 0, message="the text is empty")
    tf.debugging.assert_less(ids, VOCAB, message="the text has characters outside [a-z ]")
    return tf.cond(tf.size(ids) > 1, lambda: ids, lambda: tf.concat([[0], ids], 0))


@tf.function(reduce_retracing=True)
def sample_ids(model, context, length, temperature, seed):
    logits, state = model(bigram_ids(context)[None], initial_state=None, return_state=True)
    logits = logits[:, -1]
    previous = context[-1]
    sampled = tf.TensorArray(tf.int32, size=length)
    for i in tf.range(length):
        drawn = tf.random.stateless_categorical(logits / temperature, 1,
                                                seed=tf.stack([seed, i]), dtype=tf.int32)[0, 0]
        sampled = sampled.write(i, drawn)
        step_input = tf.reshape(previous * VOCAB + drawn, (1, 1))
        logits, state = model(step_input, initial_state=state, return_state=True)
        logits = logits[:, -1]
        previous = drawn
    return sampled.stack()


MAX_SAMPLE = 1_000_000


def check_sampling(prime: str, length: int, temperature: float, seed: int) -> None:
    """Refuses sampling arguments that `sample` (and the exported `sample` signature) cannot
    take, naming the value and what is accepted."""
    if not prime:
        raise UsageError("prime '' is empty; expected at least one character of [a-z ]")
    encode(prime)
    if not 1 <= length <= MAX_SAMPLE:
        raise UsageError(f"length {length} is not accepted; expected an integer from 1 to "
                         f"{MAX_SAMPLE:,}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise UsageError(f"temperature {temperature} is not accepted; expected a number > 0")
    if not 0 <= seed < 2**31:
        raise UsageError(f"seed {seed} is not accepted; expected an integer from 0 to 2**31 - 1")


def sample(model: BigramLanguageModel, prime: str, length: int, temperature: float = 1.0,
           seed: int = 1) -> str:
    """`prime` followed by `length` sampled characters; the same seed gives the same text."""
    check_sampling(prime, length, temperature, seed)
    ids = sample_ids(model, context_ids(tf.constant(prime)), tf.constant(length, tf.int32),
                     tf.constant(temperature, tf.float32), tf.constant(seed, tf.int32))
    return prime + decode(ids.numpy())
