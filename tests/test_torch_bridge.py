"""The PyTorch bridge: a torch `nn.LSTM`/`nn.GRU` and its Keras copy give the same outputs and
final states, to 1e-5, for 1 and 2 layers, one and two directions, batch-first or not.

PyTorch is a test extra (`pip install -e ".[dev,torch]"`, which CI runs): where it is missing
these tests are skipped, except under CI (`CI` set), where a missing torch fails them.
"""

from __future__ import annotations

import itertools
import os

import keras
import numpy as np
import pytest

from zoo.errors import UsageError
from zoo.torch_bridge import TorchStyleRNN, from_torch, keras_gru_weights, keras_lstm_weights

if os.environ.get("CI"):
    import torch
else:
    torch = pytest.importorskip("torch")

SHAPES = list(itertools.product(("LSTM", "GRU"), (1, 2), (False, True), (False, True)))


def torch_module(mode: str, num_layers: int, bidirectional: bool, batch_first: bool):
    torch.manual_seed(num_layers * 4 + bidirectional * 2 + batch_first)
    kind = torch.nn.LSTM if mode == "LSTM" else torch.nn.GRU
    return kind(input_size=5, hidden_size=7, num_layers=num_layers, batch_first=batch_first,
                bidirectional=bidirectional).eval()


@pytest.mark.parametrize("mode, num_layers, bidirectional, batch_first", SHAPES)
def test_keras_copy_matches_torch(mode, num_layers, bidirectional, batch_first):
    module = torch_module(mode, num_layers, bidirectional, batch_first)
    rng = np.random.default_rng(0)
    batch, time = 3, 6
    x = rng.standard_normal((batch, time, 5) if batch_first else (time, batch, 5))
    x = x.astype("float32")
    rows = num_layers * (2 if bidirectional else 1)
    states = [rng.standard_normal((rows, batch, 7)).astype("float32")
              for _ in range(2 if mode == "LSTM" else 1)]
    layer = from_torch(module)
    with torch.no_grad():
        for initial in (None, states):
            given = None if initial is None else tuple(torch.from_numpy(s) for s in initial)
            if mode == "GRU" and given is not None:
                given = given[0]
            expected, expected_state = module(torch.from_numpy(x), given)
            keras_given = None if initial is None else (
                tuple(initial) if mode == "LSTM" else initial[0])
            output, state = layer(x, initial_state=keras_given)
            np.testing.assert_allclose(keras.ops.convert_to_numpy(output),
                                       expected.numpy(), atol=1e-5)
            if mode == "LSTM":
                for got, want in zip(state, expected_state):
                    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want.numpy(),
                                               atol=1e-5)
            else:
                np.testing.assert_allclose(keras.ops.convert_to_numpy(state),
                                           expected_state.numpy(), atol=1e-5)


def test_the_weights_were_copied_not_left_at_their_start():
    module = torch_module("LSTM", 2, True, True)
    fresh = TorchStyleRNN("lstm", 7, num_layers=2, bidirectional=True, batch_first=True)
    x = np.ones((2, 4, 5), "float32")
    fresh_output, _ = fresh(x)
    loaded_output, _ = from_torch(module)(x)
    assert np.abs(np.asarray(fresh_output) - np.asarray(loaded_output)).max() > 1e-2
    assert len(from_torch(module).trainable_weights) == 2 * 2 * 3  # layers x directions


def test_single_layer_converters_fill_keras_own_layers():
    lstm, gru = torch_module("LSTM", 1, False, True), torch_module("GRU", 1, False, True)
    x = np.random.default_rng(1).standard_normal((2, 4, 5)).astype("float32")
    for module, layer, convert in ((lstm, keras.layers.LSTM(7, return_sequences=True),
                                    keras_lstm_weights),
                                   (gru, keras.layers.GRU(7, return_sequences=True),
                                    keras_gru_weights)):
        layer.build((None, None, 5))
        layer.set_weights(convert(*(p.detach().numpy() for p in module.parameters())))
        with torch.no_grad():
            expected, _ = module(torch.from_numpy(x))
        np.testing.assert_allclose(np.asarray(layer(x)), expected.numpy(), atol=1e-5)


def test_config_round_trip_and_refusals():
    layer = TorchStyleRNN("gru", 4, num_layers=2, bias=False, batch_first=True, dropout=0.25,
                          bidirectional=True)
    again = TorchStyleRNN.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    with pytest.raises(UsageError, match="kind='rnn' is not accepted; expected lstm or gru"):
        TorchStyleRNN("rnn", 4)
    with pytest.raises(UsageError, match="takes a torch nn.LSTM or nn.GRU, not RNN"):
        from_torch(torch.nn.RNN(3, 4))
    with pytest.raises(UsageError, match="proj_size=2 has no Keras counterpart"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
