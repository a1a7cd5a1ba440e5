"""imdb_reviews_bilstm's recipe, smoke size, search space and parameter counts."""

from __future__ import annotations

import dataclasses

from zoo.config import HeldOutRecipe, require, step_flops


@dataclasses.dataclass(frozen=True)
class ReviewBiLstmRecipe(HeldOutRecipe):
    """Raw review text: a vocabulary of the 20,000 commonest training words, reviews read up
    to 400 words (the whole review for 87% of them; the median is 174), half of the word
    vectors dropped in training, a bidirectional LSTM whose outputs are max-pooled over the
    review; Adam 2e-3 with cosine decay over 3 epochs. Chosen on validation accuracy among six
    recipes (`benchmarks/README.md`).

        ZOO_DATA_DIR=../shared/data zoo run imdb_reviews_bilstm   # the README's figure

    Attributes, beyond `HeldOutRecipe`'s:
        vocab_size: words in the vocabulary, the padding and unknown-word entries included.
        sequence_length: words read per review (a longer review is cut at its end).
        embedding_dim: size of each word's vector.
        units: size of each direction's LSTM state.
        pooling: "max" or "mean" over every word's outputs, or "last" (the final states,
            as the tutorial).
        word_dropout: fraction of word vectors dropped in training (whole vectors, Keras'
            `SpatialDropout1D`).
        dropout: fraction of the hidden features dropped in training.
    """

    vocab_size: int = 20000
    sequence_length: int = 400
    embedding_dim: int = 64
    units: int = 64
    pooling: str = "max"
    word_dropout: float = 0.5
    dropout: float = 0.5
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 2e-3
    lr_schedule: str = "cosine"

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "vocab_size", self.vocab_size >= 3,
                "an integer >= 3 (padding, unknown words and one word)")
        require(self, "sequence_length", self.sequence_length >= 1, "an integer >= 1")
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "units", self.units >= 1, "an integer >= 1")
        require(self, "pooling", self.pooling in POOLINGS, " or ".join(POOLINGS))
        require(self, "word_dropout", 0 <= self.word_dropout < 1, "a fraction in [0, 1)")
        require(self, "dropout", 0 <= self.dropout < 1, "a fraction in [0, 1)")


POOLINGS = ("max", "mean", "last")

SMOKE = dict(vocab_size=40, sequence_length=12, embedding_dim=8, units=4, batch_size=8,
             epochs=1, dropout=0.3)

# Embedding 20000*64 + two LSTMs 2*4*64*(64+64+1) + Dense 128*64+64 + Dense 64+1;
# smoke: 40*8 + 2*4*4*(8+4+1) + 8*64+64 + 64+1
PARAMS = (1_354_369, 1_377)

SEARCH_SPACE = dict(units=[32, 64, 128], embedding_dim=[64, 128], dropout=[0.3, 0.5],
                    learning_rate=[5e-4, 1e-3, 2e-3], sequence_length=[256, 400, 600])


def flops(recipe: ReviewBiLstmRecipe) -> int:
    """Matrix products of one review's forward pass: an LSTM step a word each way, the
    hidden layer, the classifier."""
    features = 2 * recipe.units
    return (2 * recipe.sequence_length * step_flops("lstm", recipe.embedding_dim, recipe.units)
            + 2 * features * 64 + 2 * 64)
