"""imdb_lstm's recipe: the tutorial's settings as defaults, its smoke size and search space."""

from __future__ import annotations

import dataclasses

from zoo.config import CELLS, HeldOutRecipe, require, step_flops


@dataclasses.dataclass(frozen=True)
class ImdbLstmRecipe(HeldOutRecipe):
    """The tutorial's recipe: 10,000 words, 80 ids per review, batch 128, Adam 1e-3, 4 epochs.

        ZOO_DATA_DIR=../shared/data zoo run imdb_lstm     # 0.8374 test accuracy (README)

    Attributes, beyond `HeldOutRecipe`'s:
        vocab_size: number of word ids, including the reserved 0 (pad), 1 (start), 2 (OOV).
        sequence_length: ids per review (longer reviews keep their last ids).
        embedding_dim: size of each word's vector.
        units: size of each of the two LSTM cells' state.
        dropout: fraction of the first cell's inputs dropped in training.
        cell: the two cells' kind (`zoo.models.cells`): lstm, peephole, cifg, no_forget or
            gru.
    """

    vocab_size: int = 10000
    sequence_length: int = 80
    embedding_dim: int = 100
    units: int = 64
    dropout: float = 0.2
    cell: str = "lstm"

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "vocab_size", self.vocab_size >= 4, "an integer >= 4 (ids 0-2 are reserved)")
        require(self, "sequence_length", self.sequence_length >= 2,
                "an integer >= 2 (a start id and at least one word)")
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "units", self.units >= 1, "an integer >= 1")
        require(self, "dropout", 0 <= self.dropout < 1, "a fraction in [0, 1)")
        require(self, "cell", self.cell in CELLS, ", ".join(CELLS))


SMOKE = dict(vocab_size=50, sequence_length=6, embedding_dim=8, units=4, batch_size=8)

# Embedding 10000*100 + LSTMCell 4*64*(100+64+1) + LSTMCell 4*64*(64+64+1) + Dense 64+1;
# smoke: 50*8 + 4*4*(8+4+1) + 4*4*(4+4+1) + 4+1
PARAMS = (1_075_329, 757)

SEARCH_SPACE = dict(units=[32, 64, 128], embedding_dim=[32, 64, 100, 128],
                    dropout=[0.0, 0.2, 0.4], learning_rate=[5e-4, 1e-3, 2e-3, 4e-3],
                    batch_size=[64, 128, 256], clip_norm=[None, 1.0, 5.0],
                    lr_schedule=["constant", "cosine"])

# The recipe `zoo bench --to-quality imdb_lstm` races the tutorial with (benchmarks/README.md):
#   ZOO_DATA_DIR=../shared/data zoo bench --to-quality imdb_lstm --seeds 5
#   0.82 held-out accuracy in 5.2 s (median of 5), the tutorial's code in 23.3 s: 4.45x
#   (2026-12-03 08:33, a slow sitting; 4.0 against 13.5 s, 3.40x, at 05:49)
FAST: dict = {"units": 32, "embedding_dim": 32, "learning_rate": 3e-3, "dropout": 0.0,
        "max_steps": 300}


def evaluation(recipe, data_dir):
    """The held-out and test reviews as arrays, for `zoo bench --to-quality`."""
    from zoo.data import imdb
    from zoo.data.pipeline import evaluation_arrays

    return evaluation_arrays(imdb.load(recipe, data_dir))


def flops(recipe: ImdbLstmRecipe) -> int:
    """Matrix products of one review's forward pass: two cells a word, then the classifier."""
    per_word = (step_flops(recipe.cell, recipe.embedding_dim, recipe.units)
                + step_flops(recipe.cell, recipe.units, recipe.units))
    return recipe.sequence_length * per_word + 2 * recipe.units
