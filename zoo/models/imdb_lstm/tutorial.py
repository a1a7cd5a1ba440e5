"""The TensorFlow 2 "stacked LSTMCell on IMDB" tutorial, with only Keras 3's forced changes:
the first cell's dropout mask is reset in `call`, `training=` is passed by keyword, and
`Embedding` no longer takes `input_length`. Its data comes from `zoo.data.imdb` (the same
arrays as `keras.datasets.imdb.load_data(num_words=10000)` plus `pad_sequences(maxlen=80)`),
because keras' download cannot run offline.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from zoo.config import HeldOutRecipe
from zoo.data import imdb
from zoo.data.pipeline import split_validation

batchsz = 128
total_words = 10000
max_review_len = 80
embedding_len = 100


class MyRNN(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.state0 = [tf.zeros([batchsz, units]), tf.zeros([batchsz, units])]
        self.state1 = [tf.zeros([batchsz, units]), tf.zeros([batchsz, units])]
        self.embedding = layers.Embedding(total_words, embedding_len)
        self.rnn_cell0 = layers.LSTMCell(units, dropout=0.2)
        self.rnn_cell1 = layers.LSTMCell(units)
        self.outlayer = layers.Dense(1)

    def call(self, inputs, training=None):
        self.rnn_cell0.reset_dropout_mask()
        x = inputs
        x = self.embedding(x)
        state0 = self.state0
        state1 = self.state1
        for word in tf.unstack(x, axis=1):
            out0, state0 = self.rnn_cell0(word, state0, training=training)
            out1, state1 = self.rnn_cell1(out0, state1, training=training)
        x = self.outlayer(out1)
        prob = tf.sigmoid(x)
        return prob


def tutorial_datasets(data_dir, hold_out: float = 0.0):
    """The tutorial's training and test batches (both drop their last partial batch); with
    `hold_out`, training leaves out that fraction, the zoo's validation reviews."""
    raw = imdb.read_raw(imdb.locate(data_dir).path)
    (x_train, y_train), (x_test, y_test) = imdb.process(raw, total_words, max_review_len)
    if hold_out:
        (x_train, y_train), _ = split_validation(x_train, y_train, hold_out)
    db_train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    db_train = db_train.shuffle(1000).batch(batchsz, drop_remainder=True)
    db_test = tf.data.Dataset.from_tensor_slices((x_test, y_test))
    db_test = db_test.batch(batchsz, drop_remainder=True)
    return db_train, db_test


def tutorial_model() -> MyRNN:
    units = 64
    model = MyRNN(units)
    model.compile(
        optimizer=keras.optimizers.Adam(0.001),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=["accuracy"],
    )
    return model


def train_tutorial(data_dir, epochs: int = 4, callbacks=(), verbose="auto"):
    """Runs the tutorial's script; returns (model, test results of its final evaluate)."""
    db_train, db_test = tutorial_datasets(data_dir)
    model = tutorial_model()
    model.fit(db_train, epochs=epochs, validation_data=db_test, callbacks=list(callbacks),
              verbose=verbose)
    return model, model.evaluate(db_test, return_dict=True, verbose=verbose)


def bench_loop(data_dir):
    """The tutorial's model and pipeline, trained by Keras' loop, for `zoo bench`."""
    from zoo.bench_loops import KerasLoop, keras_predictor

    db_train, _ = tutorial_datasets(data_dir)
    model = tutorial_model()
    loop = KerasLoop(model, db_train, batchsz)
    example = next(iter(db_train))[0]
    loop.predictor = lambda batch: keras_predictor(model, example, batch)
    return loop


def race_loop(data_dir, seed: int):
    """The tutorial's model and pipeline on the zoo's training reviews, trained by Keras'
    loop, for `zoo bench --to-quality`; `score` is right (1) or wrong (0) per review."""
    from zoo.bench_loops import KerasLoop

    keras.utils.set_random_seed(seed)
    db_train, _ = tutorial_datasets(data_dir, HeldOutRecipe.validation_split)
    model = tutorial_model()
    loop = KerasLoop(model, db_train, batchsz)
    loop.score = lambda x, y: score(model, x, y)
    return loop


def score(model: keras.Model, x, y):
    """1.0 where the model's probability is on the side of the review's label, else 0.0."""
    return ((model.predict_on_batch(x)[:, 0] > 0.5) == y).astype("float32")
