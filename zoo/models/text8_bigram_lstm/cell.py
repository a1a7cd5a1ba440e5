"""The fused-gate LSTM cell of the language model: one matrix multiplication for four gates."""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.recurrence import lstm_gates


@keras.saving.register_keras_serializable(package="zoo")
class FusedLSTMCell(keras.layers.Layer):
    """An LSTM cell whose four gates come from one matrix multiplication.

    `z = [x, h] @ kernel + bias` gives the four gates' pre-activations in Keras' order, and
    `zoo.models.recurrence.lstm_gates` (where the equations are written out) the new state.
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
        self.activation = ops.tanh
        self.recurrent_activation = ops.sigmoid
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
        dimensions (several steps at once), in the compute dtype."""
        return ops.matmul(ops.cast(inputs, self.compute_dtype), input_kernel) + self.bias

    def step(self, projected, states, recurrent_kernel):
        """One time step from the projected input; returns (h, [h, c]). The product runs in
        the compute dtype (`projected`'s), the gates and the state in the state's dtype
        (float32 in the model's loop under mixed precision)."""
        h, c = states
        h, c = lstm_gates(self, projected + ops.matmul(ops.cast(h, projected.dtype),
                                                       recurrent_kernel), c)
        return h, [h, c]

    def call(self, inputs, states):
        input_kernel, recurrent_kernel = self.split_kernel()
        return self.step(self.project_inputs(inputs, input_kernel), states, recurrent_kernel)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
