"""A bidirectional LSTM over raw review text, its vocabulary inside the model."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class StoredTextVectorization(keras.layers.TextVectorization):
    """`keras.layers.TextVectorization` whose vocabulary is saved with the weights too
    (checkpoints, `.weights.h5`), not only in a `.keras` file's assets: Keras keeps it in a
    lookup table, which weight files skip. Stored as the words joined by newlines, in UTF-8
    bytes (a word never holds whitespace: the layer splits on it). Until `adapt` it knows one
    placeholder word, which stripped text never holds, so an unadapted model reads every word
    as unknown instead of failing."""

    PLACEHOLDER = "[not adapted]"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if kwargs.get("vocabulary") is None:
            self.set_vocabulary([self.PLACEHOLDER])

    def save_own_variables(self, store):
        words = self.get_vocabulary(include_special_tokens=False)
        store["vocabulary"] = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)

    def load_own_variables(self, store):
        if "vocabulary" not in store:  # saved before it was adapted
            return
        text = bytes(np.asarray(store["vocabulary"], dtype=np.uint8)).decode("utf-8")
        self.set_vocabulary(text.split("\n") if text else [])


@keras.saving.register_keras_serializable(package="zoo")
class BiLstmReviewClassifier(keras.Model):
    """Review strings -> the logit of a positive review.

        ids      = TextVectorization(text)       lowercased, punctuation stripped, split on
                                                 spaces; 0 pads, 1 is an unknown word
        x        = SpatialDropout1D(Embedding(ids))  padding masked; whole word vectors
                                                 dropped in training
        outputs  = Bidirectional(LSTM)(x)        every word's outputs, both directions
        features = max or mean over the words of outputs ("max", "mean"), or the final
                   states ("last", as the tutorial)
        logit    = Dense(1)(Dropout(Dense(64, relu)(features)))

    `adapt(texts)` fits the vocabulary to training texts (Keras' `adapt`); it is saved with
    the weights (`StoredTextVectorization`). Under a mixed dtype policy (`dtype=
    "mixed_bfloat16"`, or the global policy) the LSTM and the hidden layer run in bfloat16;
    the mean over the words and the logit in float32.

    Args:
        vocab_size: vocabulary entries, padding and unknown word included.
        sequence_length: words read per review.
        embedding_dim: size of a word's vector.
        units: size of each direction's state.
        pooling: "max", "mean" or "last".
        word_dropout: fraction of word vectors dropped (whole vectors) in training.
        dropout: fraction of the hidden features dropped in training.

    Example:
    >>> model = BiLstmReviewClassifier(vocab_size=50, sequence_length=8, embedding_dim=4,
    ...                                units=4, pooling="max", word_dropout=0.0, dropout=0.0)
    >>> model(np.array(["a fine film", "dull"])).shape
    (2, 1)
    """

    def __init__(self, vocab_size: int, sequence_length: int, embedding_dim: int, units: int,
                 pooling: str, word_dropout: float, dropout: float, **kwargs):
        super().__init__(**kwargs)
        # === Layers ===
        policy = self.dtype_policy  # the model's, saved in its config
        self.vectorize = StoredTextVectorization(max_tokens=vocab_size,
                                                 output_sequence_length=sequence_length,
                                                 dtype=policy)  # (it computes in strings)
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                dtype=policy)
        self.word_dropout = keras.layers.SpatialDropout1D(word_dropout, dtype=policy)
        self.encoder = keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=pooling != "last", dtype=policy),
            dtype=policy)
        self.hidden = keras.layers.Dense(64, activation="relu", dtype=policy)
        self.dropout = keras.layers.Dropout(dropout, dtype=policy)
        # the logit and the loss in float32, whatever the policy
        self.classifier = keras.layers.Dense(1, dtype="float32")
        # === Config ===
        self.vocab_size = vocab_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.units = units
        self.pooling = pooling
        self.word_dropout_rate = word_dropout
        self.dropout_rate = dropout

    def call(self, texts, training=None):
        return self.logit_of_ids(self.vectorize(texts), training=training)

    def logit_of_ids(self, ids, training=None):
        vectors = self.word_dropout(self.embedding(ids), training=training)
        outputs = self.encoder(vectors, training=training)
        padding = ops.expand_dims(ops.equal(ids, 0), -1)
        if self.pooling == "max":
            # the LSTM gives padding zero outputs, so a review shorter than sequence_length
            # has its features floored at 0 (as `GlobalMaxPooling1D` after a masked LSTM)
            outputs = ops.max(outputs, axis=1)
        elif self.pooling == "mean":
            # a sum over up to sequence_length words: in float32 under mixed precision too
            outputs = ops.cast(outputs, self.variable_dtype)
            words = ops.sum(1 - ops.cast(padding, outputs.dtype), axis=1)
            outputs = ops.sum(ops.where(padding, 0.0, outputs), axis=1) / ops.maximum(words, 1)
        hidden = self.dropout(self.hidden(outputs), training=training)
        return self.classifier(hidden)

    def adapt(self, texts) -> None:
        """Fits the vocabulary to `texts` (a `tf.data.Dataset` of string batches or an array
        of strings)."""
        self.vectorize.adapt(texts)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, sequence_length=self.sequence_length,
                      embedding_dim=self.embedding_dim, units=self.units,
                      pooling=self.pooling, word_dropout=self.word_dropout_rate,
                      dropout=self.dropout_rate)
        return config


def build(recipe) -> BiLstmReviewClassifier:
    """The model of a `ReviewBiLstmRecipe`."""
    return BiLstmReviewClassifier(vocab_size=recipe.vocab_size,
                                  sequence_length=recipe.sequence_length,
                                  embedding_dim=recipe.embedding_dim, units=recipe.units,
                                  pooling=recipe.pooling, word_dropout=recipe.word_dropout,
                                  dropout=recipe.dropout)


def loss() -> keras.losses.Loss:
    return keras.losses.BinaryCrossentropy(from_logits=True)


def metrics() -> list:
    return [keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]
