"""The Udacity deep-learning course's LSTM assignment (6_lstm.ipynb), ported to TensorFlow 2
with only the forced changes: variables and a `tf.function` step instead of a graph and a
session; the eleven one-hot batches fed as one stacked array instead of eleven placeholders.

    64 units, four separate gate matmuls, 10 unrollings of batch 64, the state carried across
    batches (saved_output / saved_state), SGD 10.0 decayed x0.1 every 5000 steps,
    clip_by_global_norm(1.25)

Its batches come from the assignment's `BatchGenerator` over text8-format text.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.data import text8

vocabulary_size = text8.VOCAB
batch_size = 64
num_unrollings = 10
num_nodes = 64


def char2id(char: str) -> int:
    return text8.ALPHABET.index(char)


class BatchGenerator:
    """The assignment's generator: `batch_size` cursors, each continuing its own segment."""

    def __init__(self, text: str, batch_size: int, num_unrollings: int):
        self._text = text
        self._text_size = len(text)
        self._batch_size = batch_size
        self._num_unrollings = num_unrollings
        segment = self._text_size // batch_size
        self._cursor = [offset * segment for offset in range(batch_size)]
        self._last_batch = self._next_batch()

    def _next_batch(self):
        batch = np.zeros(shape=(self._batch_size, vocabulary_size), dtype=np.float32)
        for b in range(self._batch_size):
            batch[b, char2id(self._text[self._cursor[b]])] = 1.0
            self._cursor[b] = (self._cursor[b] + 1) % self._text_size
        return batch

    def next(self):
        batches = [self._last_batch]
        for _ in range(self._num_unrollings):
            batches.append(self._next_batch())
        self._last_batch = batches[-1]
        return batches


def _gate_weights():
    return (tf.Variable(tf.random.truncated_normal([vocabulary_size, num_nodes], -0.1, 0.1)),
            tf.Variable(tf.random.truncated_normal([num_nodes, num_nodes], -0.1, 0.1)),
            tf.Variable(tf.zeros([1, num_nodes])))


class AssignmentLoop:
    """The assignment's graph and its `for step in range(num_steps)` training loop.

    Args:
        text: text8-format training text (`[a-z ]`).
    """

    examples_per_step = batch_size * num_unrollings  # characters

    def __init__(self, text: str):
        self.train_batches = BatchGenerator(text, batch_size, num_unrollings)
        self.ix, self.im, self.ib = _gate_weights()  # input gate
        self.fx, self.fm, self.fb = _gate_weights()  # forget gate
        self.cx, self.cm, self.cb = _gate_weights()  # memory cell
        self.ox, self.om, self.ob = _gate_weights()  # output gate
        self.saved_output = tf.Variable(tf.zeros([batch_size, num_nodes]), trainable=False)
        self.saved_state = tf.Variable(tf.zeros([batch_size, num_nodes]), trainable=False)
        self.w = tf.Variable(tf.random.truncated_normal([num_nodes, vocabulary_size], -0.1, 0.1))
        self.b = tf.Variable(tf.zeros([vocabulary_size]))
        self.trainable = [self.ix, self.im, self.ib, self.fx, self.fm, self.fb, self.cx, self.cm,
                          self.cb, self.ox, self.om, self.ob, self.w, self.b]
        learning_rate = keras.optimizers.schedules.ExponentialDecay(10.0, 5000, 0.1,
                                                                    staircase=True)
        self.optimizer = keras.optimizers.SGD(learning_rate)
        self.step_function = tf.function(self.train_step)
        self.score_function = None

    def lstm_cell(self, i, o, state):
        input_gate = tf.sigmoid(tf.matmul(i, self.ix) + tf.matmul(o, self.im) + self.ib)
        forget_gate = tf.sigmoid(tf.matmul(i, self.fx) + tf.matmul(o, self.fm) + self.fb)
        update = tf.matmul(i, self.cx) + tf.matmul(o, self.cm) + self.cb
        state = forget_gate * state + input_gate * tf.tanh(update)
        output_gate = tf.sigmoid(tf.matmul(i, self.ox) + tf.matmul(o, self.om) + self.ob)
        return output_gate * tf.tanh(state), state

    def train_step(self, train_data):
        train_inputs = tf.unstack(train_data[:num_unrollings])
        train_labels = tf.unstack(train_data[1:])
        with tf.GradientTape() as tape:
            outputs = []
            output, state = self.saved_output, self.saved_state
            for i in train_inputs:
                output, state = self.lstm_cell(i, output, state)
                outputs.append(output)
            self.saved_output.assign(output)
            self.saved_state.assign(state)
            logits = tf.matmul(tf.concat(outputs, 0), self.w) + self.b
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(
                labels=tf.concat(train_labels, 0), logits=logits))
        gradients = tape.gradient(loss, self.trainable)
        gradients, _ = tf.clip_by_global_norm(gradients, 1.25)
        self.optimizer.apply_gradients(zip(gradients, self.trainable))
        return loss

    def score(self, rows, _):
        """Each row's mean nats per character for characters 2 onwards, as the zoo's
        language model is scored: the assignment's cell fed characters 0 .. n-2 from a zero
        state, its first prediction left out (`zoo bench --to-quality`)."""
        if self.score_function is None:
            self.score_function = tf.function(self._row_nats)
        return self.score_function(tf.constant(rows[:, :-1]), tf.constant(rows[:, 2:])).numpy()

    def _row_nats(self, inputs, targets):
        zeros = tf.zeros([tf.shape(inputs)[0], num_nodes])
        one_hot = tf.one_hot(tf.transpose(inputs), vocabulary_size)
        outputs, _ = tf.scan(lambda carry, i: self.lstm_cell(i, *carry), one_hot,
                             initializer=(zeros, zeros))
        logits = tf.einsum("trn,nv->trv", outputs[1:], self.w) + self.b
        nats = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.transpose(targets), logits=logits)
        return tf.reduce_mean(nats, axis=0)

    def run(self, steps: int) -> int:
        """Trains `steps` steps; returns how many."""
        for _ in range(steps):
            loss = self.step_function(np.stack(self.train_batches.next()))
        float(loss)
        return steps

    def predictor(self, batch: int):
        """The assignment's `sample_prediction`: one character at a time, batch 1 only."""
        if batch != 1:
            raise ValueError(f"the assignment predicts one character at a time, not {batch}")
        sample_input = tf.one_hot([0], vocabulary_size)
        zeros = tf.zeros([1, num_nodes])

        @tf.function
        def sample_prediction(i):
            output, _ = self.lstm_cell(i, zeros, zeros)
            return tf.nn.softmax(tf.matmul(output, self.w) + self.b)

        return lambda: sample_prediction(sample_input)


def bench_loop(data_dir, recipe):
    """The assignment's graph and loop on the training text the zoo's side reads (`recipe`:
    the zoo's recipe for the comparison), for `zoo bench`."""
    _, _, (_, train, _) = text8.read_split(recipe, data_dir)
    return AssignmentLoop(text8.decode(train))


def race_loop(data_dir, seed: int) -> AssignmentLoop:
    """The assignment on the race's training text, its weights seeded, for
    `zoo bench --to-quality`."""
    from zoo.config import override
    from zoo.models.text8_bigram_lstm.recipe import RACE_DATA, BigramLstmRecipe

    keras.utils.set_random_seed(seed)
    return bench_loop(data_dir, override(BigramLstmRecipe(), RACE_DATA))
