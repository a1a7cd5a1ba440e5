"""imdb_lstm: the TF2 tutorial's two stacked LSTMCells on IMDB's keras word ids."""

from __future__ import annotations

import keras

from zoo.data import imdb
from zoo.models.imdb_lstm import recipe, serving, tutorial
from zoo.models.imdb_lstm.model import build
from zoo.spec import Comparison, ModelSpec


def example_batch(recipe, batch_size, rng):
    ids = rng.integers(0, recipe.vocab_size, size=(batch_size, recipe.sequence_length))
    return ids.astype("int32"), rng.integers(0, 2, size=(batch_size,)).astype("float32")


SPEC = ModelSpec(
    name="imdb_lstm",
    family="imdb_lstm",
    task="binary sentiment",
    dataset="IMDB (10k words, 80 ids)",
    reference="83.4% test accuracy (TF2 tutorial)",
    recipe=recipe.ImdbLstmRecipe(),
    smoke=recipe.SMOKE,
    params=recipe.PARAMS,
    build_model=build,
    load_data=imdb.load,
    loss=keras.losses.BinaryCrossentropy,
    metrics=lambda: [keras.metrics.BinaryAccuracy(name="accuracy")],
    example_batch=example_batch,
    serving=serving.review_serving,
    serving_examples=serving.serving_examples,
    predict=serving.predict_reviews,
    search_space=recipe.SEARCH_SPACE,
    objective=("val_accuracy", "max"),
    comparison=Comparison(tutorial.bench_loop, window_steps=20),
)
