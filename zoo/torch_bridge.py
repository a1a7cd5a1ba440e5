"""A PyTorch `nn.LSTM` or `nn.GRU` in Keras: the same arguments, the same weights, the same
outputs.

    torch                                        Keras (this module)
    nn.LSTM(input_size, hidden_size,             TorchStyleRNN("lstm", hidden_size,
            num_layers, bias, batch_first,                     num_layers, bias, batch_first,
            dropout, bidirectional)                            dropout, bidirectional)
    output, (h_n, c_n) = lstm(x, (h_0, c_0))     output, (h_n, c_n) = layer(x, (h_0, c_0))
    output, h_n = gru(x, h_0)                    output, h_n = layer(x, h_0)
    lstm.weight_ih_l0, weight_hh_l0,             layer.cells[0][0], a `keras.layers.LSTM`:
         bias_ih_l0, bias_hh_l0                  kernel, recurrent_kernel, bias
    ..._l0_reverse (bidirectional)               layer.cells[0][1] (go_backwards=True)

`from_torch(module)` builds the Keras layer of a torch module and copies its weights.
`keras_lstm_weights` and `keras_gru_weights` convert one layer's weights for a Keras `LSTM` or
`GRU` layer of one's own (`layer.set_weights(...)`). PyTorch is not needed by this module:
they take numpy arrays (`tensor.detach().numpy()`), and `from_torch` reads the module's
attributes.

How the weights map:
- LSTM. torch stacks the gates (i, f, g, o) in rows of `weight_ih` (4H, in) and `weight_hh`
  (4H, H); Keras stacks (i, f, c, o) — the same order, g being Keras' c — in columns: the
  kernels are the transposes. torch adds two biases, `bias_ih + bias_hh`; Keras has one,
  their sum.
- GRU. torch stacks (r, z, n); Keras (z, r, h): the first two blocks swap. torch's candidate
  is n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), the reset gate applied after the
  recurrent product, which is Keras' `reset_after=True` (its default), whose bias holds both
  torch biases as two rows. Both then take h' = z * h + (1 - z) * n.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from zoo.errors import UsageError

KINDS = ("lstm", "gru")


def keras_lstm_weights(weight_ih: np.ndarray, weight_hh: np.ndarray,
                       bias_ih: np.ndarray | None = None, bias_hh: np.ndarray | None = None
                       ) -> list[np.ndarray]:
    """One torch LSTM layer's weights (one direction) as a Keras `LSTM`'s [kernel,
    recurrent_kernel, bias] (without the bias when torch has none)."""
    weights = [np.asarray(weight_ih).T, np.asarray(weight_hh).T]
    if bias_ih is not None:
        weights.append(np.asarray(bias_ih) + np.asarray(bias_hh))
    return weights


def _gru_order(rows: np.ndarray) -> np.ndarray:
    reset, update, candidate = np.split(np.asarray(rows), 3, axis=0)
    return np.concatenate([update, reset, candidate], axis=0)


def keras_gru_weights(weight_ih: np.ndarray, weight_hh: np.ndarray,
                      bias_ih: np.ndarray | None = None, bias_hh: np.ndarray | None = None
                      ) -> list[np.ndarray]:
    """One torch GRU layer's weights (one direction) as a Keras `GRU(reset_after=True)`'s
    [kernel, recurrent_kernel, bias (2, 3H)] (without the bias when torch has none)."""
    weights = [_gru_order(weight_ih).T, _gru_order(weight_hh).T]
    if bias_ih is not None:
        weights.append(np.stack([_gru_order(bias_ih), _gru_order(bias_hh)]))
    return weights


@keras.saving.register_keras_serializable(package="zoo")
class TorchStyleRNN(keras.layers.Layer):
    """A stack of Keras `LSTM` or `GRU` layers with `torch.nn.LSTM`/`nn.GRU`'s arguments,
    input and output layout.

    Args:
        kind: "lstm" or "gru".
        hidden_size: units of each layer and direction.
        num_layers: stacked layers; each takes the previous one's outputs (both directions'
            concatenated).
        bias: whether the layers have biases.
        batch_first: inputs and `output` are (batch, time, features); else (time, batch,
            features), torch's default. States are (num_layers * directions, batch, hidden)
            either way, layer by layer, forward before backward.
        dropout: dropped fraction of each layer's outputs but the last's, in training.
        bidirectional: each layer also reads the sequence backwards.

    Calling it on `x` (and optionally the initial state: `(h_0, c_0)` for an LSTM, `h_0` for
    a GRU) returns `output, (h_n, c_n)` or `output, h_n`, as torch does.

    Example:
    >>> layer = TorchStyleRNN("gru", hidden_size=3, num_layers=2, bidirectional=True,
    ...                       batch_first=True)
    >>> output, h_n = layer(np.zeros((4, 5, 2), "float32"))
    >>> tuple(output.shape), tuple(h_n.shape)
    ((4, 5, 6), (4, 4, 3))
    """

    def __init__(self, kind: str, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise UsageError(f"kind={kind!r} is not accepted; expected lstm or gru")
        # === Layers ===
        layer = keras.layers.LSTM if kind == "lstm" else keras.layers.GRU
        self.cells = [
            [layer(hidden_size, use_bias=bias, return_sequences=True, return_state=True,
                   go_backwards=backwards, name=f"{kind}_l{index}{'_reverse' * backwards}")
             for backwards in ((False, True) if bidirectional else (False,))]
            for index in range(num_layers)
        ]
        self.between = keras.layers.Dropout(dropout)
        # === Config ===
        self.kind = kind
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout
        self.bidirectional = bidirectional

    def build(self, input_shape):
        features = input_shape[-1]
        for directions in self.cells:
            for cell in directions:
                cell.build((None, None, features))
            features = self.hidden_size * len(directions)

    def call(self, inputs, initial_state=None, training=None):
        x = inputs if self.batch_first else ops.transpose(inputs, (1, 0, 2))
        parts = 2 if self.kind == "lstm" else 1
        if initial_state is not None and self.kind == "gru":
            initial_state = (initial_state,)
        finals: list[list[Any]] = [[] for _ in range(parts)]
        for index, directions in enumerate(self.cells):
            if index:
                x = self.between(x, training=training)
            outputs = []
            for direction, cell in enumerate(directions):
                row = index * len(directions) + direction
                state = None if initial_state is None else \
                    [part[row] for part in initial_state]
                sequence, *last = cell(x, initial_state=state, training=training)
                if cell.go_backwards:  # Keras gives a backward layer's outputs last step first
                    sequence = ops.flip(sequence, axis=1)
                outputs.append(sequence)
                for kept, value in zip(finals, last):
                    kept.append(value)
            x = ops.concatenate(outputs, axis=-1) if len(outputs) > 1 else outputs[0]
        output = x if self.batch_first else ops.transpose(x, (1, 0, 2))
        states = [ops.stack(kept) for kept in finals]
        return output, (tuple(states) if self.kind == "lstm" else states[0])

    def load_torch(self, module) -> None:
        """Copies the weights of `module`, a torch `nn.LSTM` or `nn.GRU` with this layer's
        arguments."""
        convert = keras_lstm_weights if self.kind == "lstm" else keras_gru_weights
        named = {name: value.detach().cpu().numpy() for name, value in module.named_parameters()}
        if not self.built:
            self.build((None, None, module.input_size))
        for index, directions in enumerate(self.cells):
            for cell in directions:
                suffix = f"l{index}{'_reverse' * cell.go_backwards}"
                cell.set_weights(convert(
                    named[f"weight_ih_{suffix}"], named[f"weight_hh_{suffix}"],
                    named.get(f"bias_ih_{suffix}"), named.get(f"bias_hh_{suffix}")))

    def get_config(self):
        config = super().get_config()
        config.update(kind=self.kind, hidden_size=self.hidden_size, num_layers=self.num_layers,
                      bias=self.bias, batch_first=self.batch_first, dropout=self.dropout,
                      bidirectional=self.bidirectional)
        return config


def from_torch(module) -> TorchStyleRNN:
    """The Keras equivalent of a torch `nn.LSTM` or `nn.GRU`, holding its weights."""
    mode = getattr(module, "mode", None)
    if mode not in ("LSTM", "GRU"):
        raise UsageError(f"from_torch takes a torch nn.LSTM or nn.GRU, not "
                         f"{type(module).__name__}")
    if getattr(module, "proj_size", 0):
        raise UsageError(f"an nn.LSTM with proj_size={module.proj_size} has no Keras "
                         "counterpart; expected proj_size=0")
    layer = TorchStyleRNN(mode.lower(), module.hidden_size, module.num_layers, module.bias,
                          module.batch_first, module.dropout, module.bidirectional)
    layer.load_torch(module)
    return layer
