"""imdb_reviews_bilstm: TensorFlow's "Text classification with an RNN" tutorial (raw IMDB
text through tensorflow-datasets, a `TextVectorization` inside the model, a bidirectional
LSTM), with a recipe that beats it."""

from __future__ import annotations

import numpy as np

from zoo.models.imdb_reviews_bilstm import recipe
from zoo.models.imdb_reviews_bilstm.inputs import check_texts
from zoo.spec import ModelSpec, lazy

PACKAGE = "zoo.models.imdb_reviews_bilstm"
WORDS = ["good", "bad", "film", "plot", "great", "boring", "actor", "the", "a", "and"]


def example_batch(recipe, batch_size, rng):
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 2 * recipe.sequence_length)))
             for _ in range(batch_size)]
    return np.array(texts, dtype=object), rng.integers(0, 2, size=(batch_size,)).astype(
        "float32")


SPEC = ModelSpec(
    name="imdb_reviews_bilstm",
    family="imdb_reviews_bilstm",
    task="binary sentiment from raw text",
    dataset="IMDB raw reviews (tensorflow-datasets)",
    reference="~0.86 test accuracy (TF 'Text classification with an RNN')",
    recipe=recipe.ReviewBiLstmRecipe(),
    smoke=recipe.SMOKE,
    params=recipe.PARAMS,
    build_model=lazy(f"{PACKAGE}.model:build"),
    load_data=lazy("zoo.data.imdb_reviews:load"),
    loss=lazy(f"{PACKAGE}.model:loss"),
    metrics=lazy(f"{PACKAGE}.model:metrics"),
    example_batch=example_batch,
    serving=lazy(f"{PACKAGE}.serving:text_serving"),
    serving_examples=lazy(f"{PACKAGE}.serving:serving_examples"),
    check_inputs=check_texts,
    predict=lazy(f"{PACKAGE}.serving:predict_reviews"),
    search_space=recipe.SEARCH_SPACE,
    objective=("val_accuracy", "max"),
    flops=recipe.flops,
    prepare=lambda model, texts: model.adapt(texts),
)

SPECS = [SPEC]
