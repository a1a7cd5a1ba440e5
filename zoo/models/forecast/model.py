"""An LSTM forecaster with a linear highway: raw values in, raw forecasts out."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.models.cells import make_cell
from zoo.models.forecast.baselines import least_squares


@keras.saving.register_keras_serializable(package="zoo")
class LSTMForecaster(keras.Model):
    """Reads a window of `history` rows of `columns` values (the target first, in the series'
    own units) and forecasts the target's next `horizon` values, in its units.

        x        = (window - mean) / std                  per column, training-part statistics
        encoded  = LSTM(x)                                 its last output and state
        forecast = head(encoded)                           single shot: all steps at once
                 | step by step, each step's predicted row fed back to the LSTM (autoregressive)
        forecast += W_hw . flatten(x) + b_hw               the highway (if on)
        output   = forecast * std[target] + mean[target]

    The highway is LSTNet's linear component (Lai et al., 2018): on a series of a few thousand
    rows a plain LSTM forecasts no better than least squares; here `adapt` starts the highway
    at the least-squares fit and the head at zero, so training starts from the linear model
    and the LSTM learns what it leaves. The autoregressive decoder feeds back a whole predicted
    row (the tutorial's `FeedBack`); its columns other than the target are learned only
    through the target's error. The statistics are non-trainable weights: saved in
    checkpoints, `model.keras` and exports.

    Under a mixed dtype policy (`dtype="mixed_bfloat16"`, or the global policy) only the LSTM
    runs in bfloat16. The raw values, their normalization and its undoing, the head and the
    highway stay float32: bfloat16 keeps 8 bits of a value, so a pressure near 1000 mbar
    would be read to the nearest 4.

    Args:
        history: rows in a window.
        horizon: steps forecast.
        columns: values per row.
        units: size of the LSTM state.
        decoder: "single_shot" or "autoregressive".
        highway: add the linear highway.
        dropout: fraction of the LSTM's outputs dropped in training.
        cell: "lstm" (Keras' layer) or another of `zoo.models.cells` (peephole, cifg,
            no_forget, gru), run by `keras.layers.RNN`.

    Example:
    >>> model = LSTMForecaster(history=24, horizon=1, columns=1, units=8,
    ...                        decoder="single_shot", highway=True, dropout=0.0)
    >>> model(np.zeros((2, 24, 1), "float32")).shape
    (2, 1)
    """

    def __init__(self, history: int, horizon: int, columns: int, units: int, decoder: str,
                 highway: bool, dropout: float, cell: str = "lstm", **kwargs):
        # autocast=False: the windows arrive as they are, not cast to the compute dtype
        super().__init__(autocast=False, **kwargs)
        # === Layers ===
        policy = self.dtype_policy  # the model's, saved in its config
        self.lstm = keras.layers.LSTM(units, return_state=True, dtype=policy) \
            if cell == "lstm" else \
            keras.layers.RNN(make_cell(cell, units, dtype=policy), return_state=True,
                             dtype=policy)
        self.dropout = keras.layers.Dropout(dropout, dtype=policy)
        head_init = "zeros" if highway else "glorot_uniform"
        outputs = horizon if decoder == "single_shot" else columns
        # the forecast and the loss in float32, whatever the policy
        self.head = keras.layers.Dense(outputs, kernel_initializer=head_init, dtype="float32")
        self.highway = keras.layers.Dense(horizon, dtype="float32") if highway else None
        # === Config ===
        self.history_length = history  # not `self.history`: `fit` sets that one
        self.horizon = horizon
        self.columns = columns
        self.units = units
        self.decoder = decoder
        self.use_highway = highway
        self.dropout_rate = dropout
        self.cell = cell

    def build(self, input_shape):
        # read in float32 under mixed precision: they are in the series' units
        self.mean = self.add_weight(shape=(self.columns,), initializer="zeros",
                                    trainable=False, name="mean", autocast=False)
        self.std = self.add_weight(shape=(self.columns,), initializer="ones", trainable=False,
                                   name="std", autocast=False)
        self.lstm.build((None, self.history_length, self.columns))
        self.head.build((None, self.units))
        if self.highway is not None:
            self.highway.build((None, self.history_length * self.columns))
        self.built = True

    def call(self, window, training=None):
        if tuple(window.shape[1:]) != (self.history_length, self.columns):
            raise ValueError(f"expected windows of shape (batch, {self.history_length}, "
                             f"{self.columns}), got {tuple(window.shape)}")
        x = (window - self.mean) / self.std
        output, *state = self.lstm(x, training=training)
        if self.decoder == "single_shot":
            forecast = self.head(self.dropout(output, training=training))
        else:
            rows = [self.head(self.dropout(output, training=training))]
            for _ in range(self.horizon - 1):
                output, state = self.lstm.cell(rows[-1], state, training=training)
                rows.append(self.head(self.dropout(output, training=training)))
            forecast = ops.stack(rows, axis=1)[:, :, 0]
        if self.highway is not None:
            flat = ops.reshape(x, (-1, self.history_length * self.columns))
            forecast = forecast + self.highway(flat)
        return forecast * self.std[0] + self.mean[0]

    def adapt(self, series) -> None:
        """Sets the normalization to the training part's statistics and, with a highway, its
        weights to the least-squares fit of the normalized training windows."""
        if not self.built:
            self.build((None, self.history_length, self.columns))
        self.mean.assign(series.mean)
        self.std.assign(series.std)
        if self.highway is not None:
            kernel, bias = least_squares(series)
            self.highway.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])

    def get_config(self):
        config = super().get_config()
        config.update(history=self.history_length, horizon=self.horizon, columns=self.columns,
                      units=self.units, decoder=self.decoder, highway=self.use_highway,
                      dropout=self.dropout_rate, cell=self.cell)
        return config


def build(recipe) -> LSTMForecaster:
    """The model of a `ForecastRecipe`."""
    return LSTMForecaster(history=recipe.history, horizon=recipe.horizon,
                          columns=len(recipe.columns), units=recipe.units,
                          decoder=recipe.decoder, highway=recipe.highway,
                          dropout=recipe.dropout, cell=recipe.cell)


def loss() -> keras.losses.Loss:
    return keras.losses.MeanAbsoluteError()


def metrics() -> list:
    return [keras.metrics.MeanAbsoluteError(name="mae"),
            keras.metrics.RootMeanSquaredError(name="rmse")]
