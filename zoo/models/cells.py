"""The LSTM, its variants and the GRU as Keras cells that the zoo's time loop steps.

Named in recipes (`--set cell=NAME`):

    lstm       the standard LSTM (Keras' `LSTMCell`, same weights, same function)
    peephole   the gates also read the cell state (Gers & Schmidhuber 2000)
    cifg       coupled input and forget gates: f = 1 - i (one gate fewer)
    no_forget  no forget gate: f = 1, the original LSTM of 1997 (one gate fewer)
    gru        the GRU (Keras' `GRUCell` with `reset_after=True`, same weights)

Every cell keeps its gates side by side: `kernel` (input, gates x units), `recurrent_kernel`
(units, gates x units), `bias` (gates x units). For a sequence the input's share of the gates,
`project(x)`, is computed for several steps at once and `step(projected, state)` adds the
recurrent share and applies the gates, so `zoo.models.recurrence.scan_in_chunks` runs any of
them; `call` is one step, so `keras.layers.RNN(cell)` runs them too. Greff et al., "LSTM: A
Search Space Odyssey" (2017), compared these variants on three tasks.

Under a mixed dtype policy the products run in the cell's compute dtype (bfloat16), and the
gates and the new state in the dtype of the state given: the zoo's loops carry it in float32
(a cell state sums over every step), `keras.layers.RNN` in the compute dtype. The state is
cast to the compute dtype where it multiplies `recurrent_kernel`.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.config import CELL_GATES, CELLS
from zoo.errors import UsageError
from zoo.models.recurrence import lstm_gates


def check_cell(name: str) -> None:
    if name not in CELLS:
        raise UsageError(f"cell={name!r} is not accepted; expected one of {', '.join(CELLS)}")


class GatedCell(keras.layers.Layer):
    """What the cells share: gate weights side by side, the input's share computed apart.

    Args:
        units: size of the output (and of the cell state).
    """

    gates = CELL_GATES["lstm"]
    carries_cell_state = True

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units] if self.carries_cell_state else [units]
        self.output_size = units

    def build(self, input_shape):
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), name="kernel",
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(shape=(self.units, width),
                                                name="recurrent_kernel",
                                                initializer="orthogonal")
        self.bias = self.add_weight(shape=(width,), name="bias", initializer=self.bias_start)

    def bias_start(self, shape, dtype=None):
        """Zeros, with the forget gate's block (the second, where there is one) at 1, as
        Keras' `unit_forget_bias`."""
        blocks = [ops.zeros((self.units,), dtype) for _ in range(self.gates)]
        if self.gates == 4:
            blocks[1] = ops.ones((self.units,), dtype)
        return ops.concatenate(blocks, axis=0)

    def project(self, inputs):
        """The input's share of the gates, `x @ kernel + bias`, for any leading dimensions; in
        the compute dtype (the input may be another cell's float32 state)."""
        return ops.matmul(ops.cast(inputs, self.compute_dtype), self.kernel) + self.bias

    def recurrent_share(self, h, projected):
        """The state's share of the gates, `h @ recurrent_kernel`, in the dtype of the input's
        share `projected` (the compute dtype: the state may be carried in float32)."""
        return ops.matmul(ops.cast(h, projected.dtype), self.recurrent_kernel)

    def step(self, projected, state) -> tuple:
        """The new state (output first) from the projected input and the state."""
        raise NotImplementedError

    def call(self, inputs, states):
        state = self.step(self.project(inputs), tuple(states))
        return state[0], list(state)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="zoo")
class LSTMCell(GatedCell):
    """The standard LSTM; gates in Keras' order (i, f, c, o):

        i = sigmoid(x W_i + h U_i + b_i)      f = sigmoid(x W_f + h U_f + b_f)
        g = tanh(x W_c + h U_c + b_c)         o = sigmoid(x W_o + h U_o + b_o)
        c' = f * c + i * g                    h' = o * tanh(c')
    """

    # what `lstm_gates` reads, as on Keras' cell
    activation = staticmethod(ops.tanh)
    recurrent_activation = staticmethod(ops.sigmoid)

    def step(self, projected, state):
        h, c = state
        return lstm_gates(self, projected + self.recurrent_share(h, projected), c)


@keras.saving.register_keras_serializable(package="zoo")
class PeepholeLSTMCell(GatedCell):
    """The LSTM whose gates also read the cell state through diagonal peephole weights
    `peephole` (3, units) = (p_i, p_f, p_o); the input and forget gates read the old state,
    the output gate the new one (Gers & Schmidhuber 2000; Greff et al.'s vanilla LSTM):

        i = sigmoid(x W_i + h U_i + p_i * c + b_i)
        f = sigmoid(x W_f + h U_f + p_f * c + b_f)
        c' = f * c + i * tanh(x W_c + h U_c + b_c)
        o = sigmoid(x W_o + h U_o + p_o * c' + b_o)      h' = o * tanh(c')

    With zero peepholes it is the standard LSTM. They start at zero.
    """

    def build(self, input_shape):
        super().build(input_shape)
        # read in float32 under mixed precision: they multiply the float32 cell state
        self.peephole = self.add_weight(shape=(3, self.units), name="peephole",
                                        initializer="zeros", autocast=False)

    def step(self, projected, state):
        h, c = state
        z = ops.cast(projected + self.recurrent_share(h, projected), c.dtype)
        i, f, g, o = ops.split(z, 4, axis=-1)
        peephole = ops.cast(self.peephole, c.dtype)
        i = ops.sigmoid(i + peephole[0] * c)
        f = ops.sigmoid(f + peephole[1] * c)
        c = f * c + i * ops.tanh(g)
        return ops.sigmoid(o + peephole[2] * c) * ops.tanh(c), c


@keras.saving.register_keras_serializable(package="zoo")
class CoupledGateLSTMCell(GatedCell):
    """The LSTM with coupled input and forget gates (CIFG); gates (i, c, o):

        i = sigmoid(x W_i + h U_i + b_i)      f = 1 - i
        c' = f * c + i * tanh(x W_c + h U_c + b_c)
        h' = sigmoid(x W_o + h U_o + b_o) * tanh(c')
    """

    gates = CELL_GATES["cifg"]

    def step(self, projected, state):
        h, c = state
        z = ops.cast(projected + self.recurrent_share(h, projected), c.dtype)
        i, g, o = ops.split(z, 3, axis=-1)
        i = ops.sigmoid(i)
        c = (1 - i) * c + i * ops.tanh(g)
        return ops.sigmoid(o) * ops.tanh(c), c


@keras.saving.register_keras_serializable(package="zoo")
class NoForgetGateLSTMCell(GatedCell):
    """The LSTM without a forget gate (f = 1, as Hochreiter & Schmidhuber's of 1997); gates
    (i, c, o):

        c' = c + sigmoid(x W_i + h U_i + b_i) * tanh(x W_c + h U_c + b_c)
        h' = sigmoid(x W_o + h U_o + b_o) * tanh(c')
    """

    gates = CELL_GATES["no_forget"]

    def step(self, projected, state):
        h, c = state
        z = ops.cast(projected + self.recurrent_share(h, projected), c.dtype)
        i, g, o = ops.split(z, 3, axis=-1)
        c = c + ops.sigmoid(i) * ops.tanh(g)
        return ops.sigmoid(o) * ops.tanh(c), c


@keras.saving.register_keras_serializable(package="zoo")
class GRUCell(GatedCell):
    """The GRU, as Keras' `GRUCell(reset_after=True)`; gates (z, r, h) and two biases, `bias`
    for the input's share and `recurrent_bias` for the recurrent one:

        z = sigmoid(x W_z + b_z + h U_z + b'_z)      r = sigmoid(x W_r + b_r + h U_r + b'_r)
        n = tanh(x W_h + b_h + r * (h U_h + b'_h))   h' = z * h + (1 - z) * n
    """

    gates = CELL_GATES["gru"]
    carries_cell_state = False

    def build(self, input_shape):
        super().build(input_shape)
        self.recurrent_bias = self.add_weight(shape=(3 * self.units,), name="recurrent_bias",
                                              initializer="zeros")

    def step(self, projected, state):
        (h,) = state
        # h is the GRU's running sum (as an LSTM's c): the gates in its dtype
        x_z, x_r, x_h = ops.split(ops.cast(projected, h.dtype), 3, axis=-1)
        recurrent = self.recurrent_share(h, projected) + self.recurrent_bias
        h_z, h_r, h_h = ops.split(ops.cast(recurrent, h.dtype), 3, axis=-1)
        z, r = ops.sigmoid(x_z + h_z), ops.sigmoid(x_r + h_r)
        return (z * h + (1 - z) * ops.tanh(x_h + r * h_h),)


CELL_CLASSES = {"lstm": LSTMCell, "peephole": PeepholeLSTMCell, "cifg": CoupledGateLSTMCell,
                "no_forget": NoForgetGateLSTMCell, "gru": GRUCell}


def make_cell(name: str, units: int, **kwargs) -> GatedCell:
    """The cell `name` (one of `CELLS`) with `units`."""
    check_cell(name)
    return CELL_CLASSES[name](units, **kwargs)


def cell_params(name: str, inputs: int, units: int) -> int:
    """Trainable parameters of the cell `name` reading `inputs` features: its gates' kernels
    and biases, the peepholes, the GRU's second bias."""
    gates = CELL_CLASSES[name].gates
    extra = {"peephole": 3 * units, "gru": 3 * units}.get(name, 0)
    return gates * units * (inputs + units + 1) + extra

