"""text8_bigram_lstm: the Udacity assignment's character language model, its problems solved."""

from __future__ import annotations

import keras

from zoo.config import override
from zoo.data import text8
from zoo.models.text8_bigram_lstm import recipe, sampling, scoring, serving, tutorial
from zoo.models.text8_bigram_lstm.metrics import Perplexity
from zoo.models.text8_bigram_lstm.model import build
from zoo.spec import Comparison, ModelSpec


def example_batch(recipe, batch_size, rng):
    chars = rng.integers(0, text8.VOCAB, size=(batch_size, recipe.unrollings + 2))
    return (text8.bigram_ids(chars[:, :-1]).astype("int32"), chars[:, 2:].astype("int32"))


# The language model is compared at the assignment's 64 units, on a corpus that is here offline.
BENCH_SETTINGS = {"units": 64, "corpus": "austen_text8", "heldout_chars": 300000}

SPEC = ModelSpec(
    name="text8_bigram_lstm",
    family="text8_bigram_lstm",
    task="character language model",
    dataset="text8-format corpus (27 symbols)",
    reference="valid perplexity ~4.25 after 7001 steps (Udacity 6_lstm)",
    recipe=recipe.BigramLstmRecipe(),
    smoke=recipe.SMOKE,
    params=recipe.PARAMS,
    build_model=build,
    load_data=text8.load,
    loss=lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=lambda: [Perplexity()],
    example_batch=example_batch,
    serving=serving.text_serving,
    serving_examples=serving.serving_examples,
    predict=serving.predict_samples,
    search_space=recipe.SEARCH_SPACE,
    evaluate=scoring.perplexity_report,
    sample=sampling.sample,
    comparison=Comparison(
        lambda data_dir: tutorial.bench_loop(
            data_dir, override(recipe.BigramLstmRecipe(), BENCH_SETTINGS)),
        window_steps=200, unit="chars", zoo_settings=BENCH_SETTINGS),
)
