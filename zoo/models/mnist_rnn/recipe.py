"""The MNIST row-sequence classifiers' recipe, smoke size, search space and parameter counts."""

from __future__ import annotations

import dataclasses

from zoo.config import CELLS, HeldOutRecipe, require, step_flops

ROWS = COLUMNS = 28  # an image is read as 28 rows of 28 pixels


@dataclasses.dataclass(frozen=True)
class MnistRnnRecipe(HeldOutRecipe):
    """Tutorial structure (128 units, batch 128, Adam), trained to convergence: 20 epochs, Adam
    3e-3 with cosine decay, training images shifted by up to 2 pixels.

    `--set max_steps=782` is the tutorial's whole budget: 100,000 examples in batches of 128
    (the cosine schedule then decays over those 782 steps).

        ZOO_DATA_DIR=../shared/data zoo run mnist_lstm --set max_steps=782   # 0.9831 (README)

    Attributes, beyond `HeldOutRecipe`'s:
        cell: "lstm" or "gru" (Keras' layers), or "peephole", "cifg" or "no_forget"
            (`zoo.models.cells`).
        units: size of the projection (if any) and of the recurrent state.
        input_projection: project each 28-pixel row to `units` before the recurrent layer.
        shift_pixels: training images are shifted by up to this many pixels each way.
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
        require(self, "cell", self.cell in CELLS, ", ".join(CELLS))
        require(self, "units", self.units >= 1, "an integer >= 1")


SMOKE = dict(units=8, batch_size=16, epochs=1)

PARAMS = {
    # Dense 28*128+128 + LSTM 4*128*(128+128+1) + Dense 128*10+10;
    # smoke (8 units): 28*8+8 + 4*8*(8+8+1) + 8*10+10
    "lstm": (136_586, 866),
    # GRU (Keras' reset_after: two bias rows) 3*128*(28+128) + 2*3*128 + Dense 128*10+10;
    # smoke: 3*8*(28+8) + 2*3*8 + 8*10+10
    "gru": (61_962, 1_002),
}

SEARCH_SPACE = dict(units=[64, 128, 256], learning_rate=[1e-3, 3e-3, 1e-2],
                    batch_size=[64, 128, 256], shift_pixels=[0, 1, 2])

# The recipes `zoo bench --to-quality` races the tutorials with (benchmarks/README.md):
#   ZOO_DATA_DIR=../shared/data zoo bench --to-quality mnist_lstm mnist_gru --seeds 5
#   0.962 held-out accuracy: LSTM 4.7 s against 19.1 s (4.06x), GRU 4.5 s against 19.8 s
#   (4.38x) (2026-12-03 08:33, a slow sitting; 4.13x and 4.11x at 05:49)
FAST: dict = {
    "lstm": {"units": 64, "learning_rate": 1e-2, "shift_pixels": 0, "max_steps": 300},
    "gru": {"units": 64, "learning_rate": 1e-2, "shift_pixels": 0, "max_steps": 350},
}


def evaluation(recipe, data_dir):
    """The held-out and test images as arrays, for `zoo bench --to-quality`."""
    from zoo.data import mnist
    from zoo.data.pipeline import evaluation_arrays

    return evaluation_arrays(mnist.load(recipe, data_dir))


def score(model, x, y):
    """1.0 where the model's most likely digit is `y`, else 0.0."""
    return (model.predict_on_batch(x).argmax(-1) == y).astype("float32")


def flops(recipe: MnistRnnRecipe) -> int:
    """Matrix products of one image's forward pass as the model computes it on a CPU: 28 cell
    steps on the raw rows (a projection is regrouped into the cell's input kernel, one
    28-wide product), then the classifier."""
    return ROWS * step_flops(recipe.cell, COLUMNS, recipe.units) + 2 * recipe.units * 10
