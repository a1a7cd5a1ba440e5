"""Digits read as 28 rows of 28 pixels by an LSTM or a GRU, classified from the last state."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from zoo.config import CELLS
from zoo.models.cells import make_cell
from zoo.models.mnist_rnn.recipe import COLUMNS, ROWS
from zoo.models.recurrence import lstm_gates, scan_in_chunks

LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
MAX_CHUNK = 4  # rows unrolled per loop iteration


@keras.saving.register_keras_serializable(package="zoo")
class RowSequenceClassifier(keras.Model):
    """An image as a sequence of rows: [Dense projection] -> LSTM or GRU -> Dense logits.

    The tutorials' structure: the LSTM version projects each 28-pixel row to `units` first
    (`X @ W_in + b_in`), the GRU version reads the raw rows. The LSTM's forget-gate bias starts
    at 1, as `BasicLSTMCell(forget_bias=1.0)`. The weights are those of a whole-sequence
    `keras.layers.LSTM`/`GRU`; the model computes what that layer computes, faster on a CPU:
    a symbolic loop over the rows, four an iteration, that computes their input share of the
    gates in one matmul per iteration (the projection, where there is one, regrouped with the
    cell's input kernel into one 28-wide product) (`zoo bench mnist_lstm`). On a GPU it calls
    the layer, which takes cuDNN's kernel.

    A variant cell of `zoo.models.cells` ("peephole", "cifg", "no_forget") runs the same way,
    as `keras.layers.RNN` of that cell (no cuDNN kernel on a GPU).

    Under a mixed dtype policy (`dtype="mixed_bfloat16"`, or the global policy) the products
    run in bfloat16, the loop carries the state in float32, and the logits are float32.

    Args:
        cell: "lstm" or "gru" (Keras' layers), or "peephole", "cifg" or "no_forget".
        units: size of the projection and of the recurrent state.
        input_projection: project rows to `units` before the recurrent layer.
        num_classes: number of logits.

    Example:
    >>> model = RowSequenceClassifier(cell="gru", units=8, input_projection=False)
    >>> model(np.zeros((2, 28, 28), "float32")).shape
    (2, 10)
    """

    def __init__(self, cell: str, units: int, input_projection: bool, num_classes: int = 10,
                 **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell={cell!r} is not one of {', '.join(CELLS)}")
        # === Layers ===
        policy = self.dtype_policy  # the model's, saved in its config
        self.projection = keras.layers.Dense(units, dtype=policy) if input_projection else None
        self.rnn = LAYERS[cell](units, dtype=policy) if cell in LAYERS else \
            keras.layers.RNN(make_cell(cell, units, dtype=policy), dtype=policy)
        # the logits and the loss in float32, whatever the policy
        self.classifier = keras.layers.Dense(num_classes, dtype="float32")
        # === Config ===
        self.cell = cell
        self.units = units
        self.input_projection = input_projection
        self.num_classes = num_classes

    def build(self, input_shape):
        # the recurrent layer is never called, only its cell's weights used (see `call`)
        if self.projection is not None:
            self.projection.build((None, COLUMNS))
        self.rnn.build((None, ROWS, self.units if self.projection is not None else COLUMNS))
        self.classifier.build((None, self.units))
        self.built = True

    def call(self, images, training=None):
        if tuple(images.shape[1:]) != (ROWS, COLUMNS):
            raise ValueError(
                f"expected images of shape (batch, {ROWS}, {COLUMNS}), got {tuple(images.shape)}"
            )
        if tf.config.list_logical_devices("GPU") and self.cell in LAYERS:  # cuDNN's kernel
            return self.logits_by_layer(images, training=training)
        return self.logits_by_loop(images)

    def logits_by_layer(self, images, training=None):
        """The logits from calling the Keras layer (cuDNN's kernel on a GPU)."""
        rows = self.projection(images) if self.projection is not None else images
        return self.classifier(self.rnn(rows, training=training))

    def logits_by_loop(self, images):
        """The same logits from the layer's weights in the zoo's loop (faster on a CPU)."""
        rows = ops.transpose(images, (1, 0, 2))  # time-major: (28, batch, 28)
        cell = self.rnn.cell
        if self.cell == "gru":
            kernel, bias = cell.kernel, cell.bias[0]  # the GRU's input bias
        else:
            kernel, bias = cell.kernel, cell.bias
        if self.projection is not None:
            # (x @ W_in + b_in) @ kernel + bias, regrouped: one 28-wide product per row
            # instead of a 28->units and a units->gates one
            bias = ops.matmul(self.projection.bias[None], kernel)[0] + bias
            kernel = ops.matmul(self.projection.kernel, kernel)
        run = {"lstm": lstm_last_output, "gru": gru_last_output}.get(self.cell,
                                                                     variant_last_output)
        last = run(cell, rows, lambda x: ops.matmul(x, kernel) + bias)
        return self.classifier(last)

    def get_config(self):
        config = super().get_config()
        config.update(cell=self.cell, units=self.units, input_projection=self.input_projection,
                      num_classes=self.num_classes)
        return config


def lstm_last_output(cell: keras.layers.LSTMCell, rows, project):
    """The last output of `cell` run over time-major `rows`, whose input share of the gates
    `project` gives for several rows at once (`x @ kernel + bias`); what `keras.layers.LSTM`
    with this cell returns."""

    def step(z, state):
        h, c = state
        return lstm_gates(cell, z + ops.matmul(ops.cast(h, z.dtype), cell.recurrent_kernel), c)

    zeros = ops.zeros((ops.shape(rows)[1], cell.units), cell.variable_dtype)
    return scan_in_chunks(step, rows, (zeros, zeros), MAX_CHUNK, project,
                          keep_outputs=False)[1][0]


def gru_last_output(cell: keras.layers.GRUCell, rows, project):
    """The last output of `cell` (`reset_after=True`, Keras' default) run over time-major
    `rows`, whose share of the gates with the input bias `project` gives for several rows at
    once; what `keras.layers.GRU` with this cell returns."""
    recurrent_bias = cell.bias[1]

    def step(x, state):
        (h,) = state
        # the product in the compute dtype (x's), the gates in the state's (float32 under mixed
        # precision: h sums over the steps, as an LSTM's c)
        recurrent = ops.matmul(ops.cast(h, x.dtype), cell.recurrent_kernel) + recurrent_bias
        x_z, x_r, x_h = ops.split(ops.cast(x, h.dtype), 3, axis=-1)
        h_z, h_r, h_h = ops.split(ops.cast(recurrent, h.dtype), 3, axis=-1)
        z = cell.recurrent_activation(x_z + h_z)
        r = cell.recurrent_activation(x_r + h_r)
        candidate = cell.activation(x_h + r * h_h)
        return (z * h + (1 - z) * candidate,)

    zeros = ops.zeros((ops.shape(rows)[1], cell.units), cell.variable_dtype)
    return scan_in_chunks(step, rows, (zeros,), MAX_CHUNK, project, keep_outputs=False)[1][0]


def variant_last_output(cell, rows, project):
    """The last output of a `zoo.models.cells` cell run over time-major `rows`, whose input
    share of the gates `project` gives for several rows at once."""
    zeros = tuple(ops.zeros((ops.shape(rows)[1], cell.units), cell.variable_dtype)
                  for _ in cell.state_size)
    return scan_in_chunks(cell.step, rows, zeros, MAX_CHUNK, project, keep_outputs=False)[1][0]


def build(recipe) -> RowSequenceClassifier:
    """The model of a `MnistRnnRecipe`."""
    return RowSequenceClassifier(cell=recipe.cell, units=recipe.units,
                                 input_projection=recipe.input_projection)


def loss() -> keras.losses.Loss:
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def metrics() -> list:
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
