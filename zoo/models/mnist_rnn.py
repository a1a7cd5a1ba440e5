"""Digits read as 28 rows of 28 pixels by an LSTM or a GRU, classified from the last state."""

from __future__ import annotations

import dataclasses

import keras

from zoo.config import Recipe, require
from zoo.training import ZooModel

CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
ROWS = COLUMNS = 28


@dataclasses.dataclass(frozen=True)
class MnistRnnRecipe(Recipe):
    """Tutorial structure (128 units, batch 128, Adam), trained to convergence: 20 epochs, Adam
    3e-3 with cosine decay, training images shifted by up to 2 pixels.

    `--set max_steps=782` is the tutorial's whole budget: 100,000 examples in batches of 128
    (the cosine schedule then decays over those 782 steps).
    """

    epochs: int = 20
    learning_rate: float = 3e-3
    lr_schedule: str = "cosine"
    cell: str = "lstm"
    units: int = 128
    input_projection: bool = True
    shift_pixels: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "shift_pixels", 0 <= self.shift_pixels <= 4, "an integer from 0 to 4")
        require(self, "cell", self.cell in CELLS, " or ".join(CELLS))
        require(self, "units", self.units >= 1, "an integer >= 1")


@keras.saving.register_keras_serializable(package="zoo")
class RowSequenceClassifier(ZooModel):
    """An image as a sequence of rows: [Dense projection] -> LSTM or GRU -> Dense logits.

    The tutorials' structure: the LSTM version projects each 28-pixel row to `units` first
    (`X @ W_in + b_in`), the GRU version reads the raw rows. The LSTM's forget-gate bias starts
    at 1, as `BasicLSTMCell(forget_bias=1.0)`. Whole-sequence `keras.layers.LSTM`/`GRU` layers
    run as one loop (cuDNN on a GPU) instead of 28 unrolled steps.

    Args:
        cell: "lstm" or "gru".
        units: size of the projection and of the recurrent state.
        input_projection: project rows to `units` before the recurrent layer.
        num_classes: number of logits.

    Example:
    >>> model = RowSequenceClassifier(cell="gru", units=8, input_projection=False)
    >>> model(np.zeros((2, 28, 28), "float32")).shape
    (2, 10)
    """

    def __init__(self, cell: str = "lstm", units: int = 128, input_projection: bool = True,
                 num_classes: int = 10, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell={cell!r} is not one of {', '.join(CELLS)}")
        # === Layers ===
        self.projection = keras.layers.Dense(units) if input_projection else None
        self.rnn = CELLS[cell](units)
        self.classifier = keras.layers.Dense(num_classes)
        # === Config ===
        self.cell = cell
        self.units = units
        self.input_projection = input_projection
        self.num_classes = num_classes

    def call(self, images, training=None):
        if tuple(images.shape[1:]) != (ROWS, COLUMNS):
            raise ValueError(
                f"expected images of shape (batch, {ROWS}, {COLUMNS}), got {tuple(images.shape)}"
            )
        rows = self.projection(images) if self.projection is not None else images
        return self.classifier(self.rnn(rows, training=training))

    def get_config(self):
        config = super().get_config()
        config.update(cell=self.cell, units=self.units, input_projection=self.input_projection,
                      num_classes=self.num_classes)
        return config


def build(recipe: MnistRnnRecipe) -> RowSequenceClassifier:
    return RowSequenceClassifier(cell=recipe.cell, units=recipe.units,
                                 input_projection=recipe.input_projection)
