"""text8_bigram_lstm: the Udacity assignment's character language model, its problems solved."""

from __future__ import annotations

from zoo.config import override
from zoo.data import text8
from zoo.models.text8_bigram_lstm import recipe
from zoo.models.text8_bigram_lstm.inputs import check_primes
from zoo.spec import Comparison, ModelSpec, QualityTarget, lazy

PACKAGE = "zoo.models.text8_bigram_lstm"


def example_batch(recipe, batch_size, rng):
    chars = rng.integers(0, text8.VOCAB, size=(batch_size, recipe.unrollings + 2))
    return (text8.bigram_ids(chars[:, :-1]).astype("int32"), chars[:, 2:].astype("int32"))


# The language model is compared at the assignment's 64 units, on a corpus that is here offline.
BENCH_SETTINGS = {**recipe.RACE_DATA, "units": 64}
bench_loop = lazy(f"{PACKAGE}.tutorial:bench_loop")

SPEC = ModelSpec(
    name="text8_bigram_lstm",
    family="text8_bigram_lstm",
    task="character language model",
    dataset="text8-format corpus (27 symbols)",
    reference="valid perplexity ~4.25 after 7001 steps (Udacity 6_lstm)",
    recipe=recipe.BigramLstmRecipe(),
    smoke=recipe.SMOKE,
    params=recipe.PARAMS,
    build_model=lazy(f"{PACKAGE}.model:build"),
    load_data=lazy("zoo.data.text8:load"),
    loss=lazy(f"{PACKAGE}.model:loss"),
    metrics=lazy(f"{PACKAGE}.model:metrics"),
    example_batch=example_batch,
    serving=lazy(f"{PACKAGE}.serving:text_serving"),
    serving_examples=lazy(f"{PACKAGE}.serving:serving_examples"),
    check_inputs=check_primes,
    predict=lazy(f"{PACKAGE}.serving:predict_samples"),
    search_space=recipe.SEARCH_SPACE,
    flops=recipe.flops,
    evaluate=lazy(f"{PACKAGE}.scoring:perplexity_report"),
    sample=lazy(f"{PACKAGE}.sampling:sample_text"),
    comparison=Comparison(
        lambda data_dir: bench_loop(data_dir,
                                    override(recipe.BigramLstmRecipe(), BENCH_SETTINGS)),
        window_steps=200, unit="chars", zoo_settings=BENCH_SETTINGS,
        # the assignment's final held-out perplexity (7,001 steps; 3.743, 3.736, 3.727 in 3
        # seeds: benchmarks/tutorial_targets.py), evaluated every 512 of its steps' characters
        # (a whole number of steps for any batch that is a power of 2)
        target=QualityTarget(
            metric="perplexity", value=3.74, eval_every=512 * 640, eval_batch=recipe.RACE_ROWS,
            tutorial=lazy(f"{PACKAGE}.tutorial:race_loop"), tutorial_steps=7001,
            evaluation=lazy(f"{PACKAGE}.recipe:evaluation"),
            score=lazy(f"{PACKAGE}.scoring:row_nats"),
            zoo_settings=recipe.FAST,
            data_settings=("corpus", "clean_text", "valid_chars", "heldout_chars"))),
)
