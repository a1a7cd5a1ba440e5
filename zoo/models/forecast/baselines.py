"""The forecasters' yardsticks, each forecasting exactly the LSTM's test windows: TensorFlow
tutorial's ladder (last value, repeat the last day, linear, dense) and classical statistical
models from statsmodels, fitted on the training part.

Every function returns forecasts (windows, horizon) in the target's units.
"""

from __future__ import annotations

import warnings

import numpy as np

from zoo.data.timeseries import Series

SARIMAX_ORDER = (2, 0, 1)  # with a seasonal (1, 0, 1) of one day, where a day is 2-48 rows
MAX_SEASON = 48


def least_squares(series: Series) -> tuple[np.ndarray, np.ndarray]:
    """The kernel (history * columns, horizon) and bias (horizon,) minimizing the squared error
    of `flatten(window) @ kernel + bias` against the next values, both normalized, over the
    training windows: the tutorial's `Linear` model, solved exactly instead of trained."""
    inputs, targets = normalized_windows(series, "train")
    flat = inputs.reshape(len(inputs), -1).astype(np.float64)
    design = np.concatenate([flat, np.ones((len(flat), 1))], axis=1)
    solution = np.linalg.lstsq(design, targets.astype(np.float64), rcond=None)[0]
    return solution[:-1], solution[-1]


def last_value(series: Series, inputs: np.ndarray) -> np.ndarray:
    """The target's last value, for every step."""
    return np.repeat(inputs[:, -1, :1], series.horizon, axis=1)


def repeat_last_day(series: Series, inputs: np.ndarray) -> np.ndarray | None:
    """The target's last day, repeated: the value one day before each forecast step. None when
    a window holds less than a day (or the series has no whole number of rows a day)."""
    day = series.steps_per_day
    if not day or day > series.history:
        return None
    last_day = inputs[:, -day:, 0]
    return np.tile(last_day, (1, -(-series.horizon // day)))[:, :series.horizon]


def linear(series: Series, inputs: np.ndarray) -> np.ndarray:
    """The least-squares fit's forecasts (`least_squares`)."""
    kernel, bias = least_squares(series)
    flat = normalize(series, inputs).reshape(len(inputs), -1)
    return (flat @ kernel + bias) * series.std[0] + series.mean[0]


def dense(series: Series, inputs: np.ndarray, seed: int) -> np.ndarray:
    """The tutorial's `dense` model (flattened window -> 64 relu -> 64 relu -> horizon),
    trained as the tutorial trains its models: Adam, mean squared error, stopping two epochs
    after the validation loss last fell, keeping its best weights."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((series.history, len(series.columns))),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(series.horizon),
    ])
    model.compile(optimizer="adam", loss="mse")
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(*normalized_windows(series, "train"),
              validation_data=normalized_windows(series, "validation"), epochs=20,
              batch_size=32, callbacks=[stop], verbose=0)
    predicted = np.asarray(model(normalize(series, inputs), training=False))
    return predicted * series.std[0] + series.mean[0]


def sarimax(series: Series, inputs: np.ndarray) -> np.ndarray:
    """statsmodels' SARIMAX on the target alone: ARIMA(2, 0, 1) with a daily seasonal
    (1, 0, 1) part (none for daily or finer than half-hourly data), fitted by maximum
    likelihood on the training part; each test window's forecast comes from a Kalman filter
    run, with those parameters, over the window's own history."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    day = series.steps_per_day
    seasonal = (1, 0, 1, day) if 2 <= day <= MAX_SEASON else (0, 0, 0, 0)
    train = series.part("train")[:, 0].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the fit is used as found
        fitted = SARIMAX(train, order=SARIMAX_ORDER, seasonal_order=seasonal).fit(disp=False)
        return np.stack([fitted.apply(window[:, 0].astype(np.float64)).forecast(series.horizon)
                         for window in inputs])


def var(series: Series, inputs: np.ndarray) -> np.ndarray | None:
    """statsmodels' vector autoregression over every column, its order (up to the window's
    length) chosen by AIC on the training part; each test window forecast from its own last
    rows. None for a single column (a VAR of one series is an AR model)."""
    if len(series.columns) < 2:
        return None
    from statsmodels.tsa.api import VAR

    train = series.part("train").astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = VAR(train).fit(maxlags=min(series.history, 24), ic="aic")
        if fitted.k_ar == 0:  # AIC chose the mean alone: forecast from one lag
            fitted = VAR(train).fit(1)
    return np.stack([fitted.forecast(window[-fitted.k_ar:].astype(np.float64),
                                     series.horizon)[:, 0] for window in inputs])


def normalize(series: Series, inputs: np.ndarray) -> np.ndarray:
    return (inputs - series.mean) / series.std


def normalized_windows(series: Series, part: str) -> tuple[np.ndarray, np.ndarray]:
    """A part's windows and next values, scaled by the training part's statistics."""
    inputs, targets = series.windows(part)
    return normalize(series, inputs), (targets - series.mean[0]) / series.std[0]
