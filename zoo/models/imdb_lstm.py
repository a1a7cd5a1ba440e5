"""Sentiment of an IMDB review: two stacked `LSTMCell`s unrolled over its 80 word ids."""

from __future__ import annotations

import dataclasses

import keras
from keras import ops

from zoo.config import Recipe, require
from zoo.training import ZooModel


@dataclasses.dataclass(frozen=True)
class ImdbLstmRecipe(Recipe):
    """The tutorial's recipe: 10,000 words, 80 ids per review, batch 128, Adam 1e-3, 4 epochs."""

    vocab_size: int = 10000
    sequence_length: int = 80
    embedding_dim: int = 100
    units: int = 64
    dropout: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "vocab_size", self.vocab_size >= 4, "an integer >= 4 (ids 0-2 are reserved)")
        require(self, "sequence_length", self.sequence_length >= 1, "an integer >= 1")
        require(self, "embedding_dim", self.embedding_dim >= 1, "an integer >= 1")
        require(self, "units", self.units >= 1, "an integer >= 1")
        require(self, "dropout", 0 <= self.dropout < 1, "a fraction in [0, 1)")


@keras.saving.register_keras_serializable(package="zoo")
class StackedLSTMClassifier(ZooModel):
    """Embedding, then two `keras.layers.LSTMCell`s stepped together over time, then a sigmoid.

    Input dropout is applied in the first cell only, with a fresh mask for every batch and
    only in training. The zero initial states are sized from the input's batch, so any
    batch size works.

    Args:
        vocab_size: number of word ids, including the reserved 0 (pad), 1 (start), 2 (OOV).
        sequence_length: ids per review; inputs must have exactly this many.
        embedding_dim: size of each word's vector.
        units: size of each LSTM cell's state.
        dropout: fraction of the first cell's inputs dropped in training.

    Example:
    >>> model = StackedLSTMClassifier(vocab_size=100, sequence_length=5, units=4)
    >>> model(np.ones((2, 5), "int32")).shape
    (2, 1)
    """

    def __init__(self, vocab_size: int = 10000, sequence_length: int = 80,
                 embedding_dim: int = 100, units: int = 64, dropout: float = 0.2, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim)
        self.cell_1 = keras.layers.LSTMCell(units, dropout=dropout)
        self.cell_2 = keras.layers.LSTMCell(units)
        self.classifier = keras.layers.Dense(1, activation="sigmoid")
        # === Config ===
        self.vocab_size = vocab_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout = dropout

    def call(self, token_ids, training=None):
        length = token_ids.shape[1] if len(token_ids.shape) == 2 else None
        if length != self.sequence_length:
            raise ValueError(
                f"expected token ids of shape (batch, {self.sequence_length}), "
                f"got {tuple(token_ids.shape)}"
            )
        # LSTMCell caches its dropout mask across calls: reset it so every batch (and every
        # traced graph) draws its own.
        self.cell_1.reset_dropout_mask()
        vectors = self.embedding(token_ids)
        batch = ops.shape(token_ids)[0]
        state_1 = [ops.zeros((batch, self.units)), ops.zeros((batch, self.units))]
        state_2 = [ops.zeros((batch, self.units)), ops.zeros((batch, self.units))]
        # unstack, not vectors[:, t]: the gradient of 80 slices would be 80 full-size tensors.
        for word in ops.unstack(vectors, axis=1):
            output_1, state_1 = self.cell_1(word, state_1, training=training)
            output_2, state_2 = self.cell_2(output_1, state_2, training=training)
        return self.classifier(output_2)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            sequence_length=self.sequence_length,
            embedding_dim=self.embedding_dim,
            units=self.units,
            dropout=self.dropout,
        )
        return config


def build(recipe: ImdbLstmRecipe) -> StackedLSTMClassifier:
    return StackedLSTMClassifier(
        vocab_size=recipe.vocab_size,
        sequence_length=recipe.sequence_length,
        embedding_dim=recipe.embedding_dim,
        units=recipe.units,
        dropout=recipe.dropout,
    )
