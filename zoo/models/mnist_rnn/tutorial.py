"""The TensorFlow 1 MNIST row-sequence tutorials (`tf.contrib.rnn`), ported to TensorFlow 2 with
only the forced changes: variables and a `tf.function` step instead of a graph and a session,
`keras.layers.RNN(LSTMCell)` for `dynamic_rnn(BasicLSTMCell)`, a Python unroll of
`GRUCell(reset_after=False)` (TF1's GRU) for `static_rnn`, numpy batches fed to the step as
`feed_dict` fed them. Its data comes from `zoo.data.mnist` (keras' `mnist.npz`).

    LSTM: rows @ W_in + b_in (28 -> 128) -> BasicLSTMCell(128) -> last h @ W_out + b_out
    GRU:  GRUCell(128) on the raw rows -> fully_connected(last output, 10)
    both: Adam(0.001), batch 128, softmax cross-entropy
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.config import HeldOutRecipe
from zoo.data import mnist
from zoo.data.pipeline import split_validation

n_inputs = n_steps = 28
n_hidden = 128
n_classes = 10
batch_size = 128
lr = 0.001


class TutorialLoop:
    """The tutorial's `while step * batch_size < training_iters: sess.run(train_op, feed)`.

    Args:
        cell: "lstm" or "gru".
        data_dir: the folder holding `mnist/mnist.npz` (None: keras' cache).
        seed: seeds the batches' order.
        hold_out: leave out this fraction of the training images, the zoo's validation ones.
    """

    examples_per_step = batch_size

    def __init__(self, cell: str, data_dir=None, seed: int = 0, hold_out: float = 0.0):
        arrays = mnist.read(mnist.locate(data_dir).path)
        self.images = mnist.scale(arrays["x_train"])
        self.labels = arrays["y_train"].astype("int64")
        if hold_out:  # leave out the zoo's validation images
            (self.images, self.labels), _ = split_validation(self.images, self.labels, hold_out)
        self.rng = np.random.default_rng(seed)
        self.order, self.cursor = self.rng.permutation(len(self.images)), 0
        self.cell = cell
        if cell == "lstm":
            self.weights = {
                "in": tf.Variable(tf.random.normal([n_inputs, n_hidden])),
                "out": tf.Variable(tf.random.normal([n_hidden, n_classes])),
            }
            self.biases = {
                "in": tf.Variable(tf.constant(0.1, shape=[n_hidden])),
                "out": tf.Variable(tf.constant(0.1, shape=[n_classes])),
            }
            self.rnn = keras.layers.RNN(keras.layers.LSTMCell(n_hidden, unit_forget_bias=True))
            self.rnn.build((None, n_steps, n_hidden))
            trainable = [*self.weights.values(), *self.biases.values()]
        else:
            self.gru_cell = keras.layers.GRUCell(n_hidden, reset_after=False)
            self.gru_cell.build((None, n_inputs))
            self.dense = keras.layers.Dense(n_classes)
            self.dense.build((None, n_hidden))
            trainable = []
        self.optimizer = keras.optimizers.Adam(lr)
        self.step_function = tf.function(self.train_step)
        self.predict_function = None
        self._trainable = trainable

    @property
    def variables(self) -> list:
        if self.cell == "lstm":
            return [*self._trainable, *self.rnn.trainable_variables]
        return [*self.gru_cell.trainable_variables, *self.dense.trainable_variables]

    def logits(self, x):
        if self.cell == "lstm":
            X = tf.reshape(x, [-1, n_inputs])
            X_in = tf.matmul(X, self.weights["in"]) + self.biases["in"]
            X_in = tf.reshape(X_in, [-1, n_steps, n_hidden])
            return tf.matmul(self.rnn(X_in), self.weights["out"]) + self.biases["out"]
        state = [tf.zeros([tf.shape(x)[0], n_hidden])]
        for row in tf.unstack(x, n_steps, 1):
            output, state = self.gru_cell(row, state)
        return self.dense(output)

    def train_step(self, x, y):
        with tf.GradientTape() as tape:
            cost = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=self.logits(x)))
        variables = self.variables
        self.optimizer.apply_gradients(zip(tape.gradient(cost, variables), variables))
        return cost

    def next_batch(self):
        """`mnist.train.next_batch(128)`: a new permutation at each epoch's end."""
        if self.cursor + batch_size > len(self.order):
            self.order, self.cursor = self.rng.permutation(len(self.images)), 0
        take = self.order[self.cursor:self.cursor + batch_size]
        self.cursor += batch_size
        return self.images[take].reshape([batch_size, n_steps, n_inputs]), self.labels[take]

    def run(self, steps: int) -> int:
        """Trains `steps` steps; returns how many."""
        for _ in range(steps):
            cost = self.step_function(*self.next_batch())
        float(cost)
        return steps

    def score(self, x, y):
        """1.0 where the predicted digit is `y`, else 0.0 (`zoo bench --to-quality`)."""
        if self.predict_function is None:
            self.predict_function = tf.function(lambda x: tf.argmax(self.logits(x), 1))
        return (self.predict_function(x).numpy() == y).astype("float32")

    def predictor(self, batch: int):
        x = tf.zeros([batch, n_steps, n_inputs])
        predict = tf.function(lambda x: tf.argmax(self.logits(x), 1))
        return lambda: predict(x)


def race_loop(cell: str, data_dir, seed: int) -> TutorialLoop:
    """The tutorial on the zoo's training images, its weights seeded, for
    `zoo bench --to-quality`."""
    keras.utils.set_random_seed(seed)
    return TutorialLoop(cell, data_dir, seed, HeldOutRecipe.validation_split)
