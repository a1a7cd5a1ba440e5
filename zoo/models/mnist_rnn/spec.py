"""mnist_lstm and mnist_gru: the TF1 tutorials' row-sequence classifiers on MNIST."""

from __future__ import annotations

from zoo.models.mnist_rnn import recipe
from zoo.models.mnist_rnn.inputs import check_images
from zoo.models.mnist_rnn.recipe import COLUMNS, ROWS
from zoo.spec import Comparison, ModelSpec, QualityTarget, lazy

MODEL = "zoo.models.mnist_rnn.model"
SERVING = "zoo.models.mnist_rnn.serving"
RECIPE = "zoo.models.mnist_rnn.recipe"
TUTORIAL_MNIST = "~0.97 on the first 128 test images (TF1 tutorial)"


def example_batch(recipe, batch_size, rng):
    images = rng.random((batch_size, ROWS, COLUMNS), dtype="float32")
    return images, rng.integers(0, 10, size=(batch_size,)).astype("int64")


def mnist_spec(name: str, cell: str, input_projection: bool) -> ModelSpec:
    report = lazy("zoo.models.mnist_rnn.report:digit_report")
    tutorial = lazy("zoo.models.mnist_rnn.tutorial:TutorialLoop")
    race_loop = lazy("zoo.models.mnist_rnn.tutorial:race_loop")
    return ModelSpec(
        name=name,
        family="mnist_rnn",
        task="digit classification",
        dataset="MNIST (28 rows of 28 pixels)",
        reference=TUTORIAL_MNIST,
        recipe=recipe.MnistRnnRecipe(cell=cell, input_projection=input_projection),
        smoke=recipe.SMOKE,
        params=recipe.PARAMS[cell],
        build_model=lazy(f"{MODEL}:build"),
        load_data=lazy("zoo.data.mnist:load"),
        loss=lazy(f"{MODEL}:loss"),
        metrics=lazy(f"{MODEL}:metrics"),
        example_batch=example_batch,
        serving=lazy(f"{SERVING}:digit_serving"),
        serving_examples=lazy(f"{SERVING}:serving_examples"),
        check_inputs=check_images,
        predict=lazy(f"{SERVING}:predict_digits"),
        report=lambda model, data, run_dir: report(model, data, run_dir, title=name),
        search_space=recipe.SEARCH_SPACE,
        objective=("val_accuracy", "max"),
        flops=recipe.flops,
        comparison=Comparison(
            lambda data_dir: tutorial(cell, data_dir), window_steps=40,
            # the tutorials' final accuracy (100,000 images: 782 steps) on held-out images: in
            # 3 seeds 0.963-0.970 (LSTM), 0.960-0.967 (GRU) (benchmarks/tutorial_targets.py)
            target=QualityTarget(
                metric="accuracy", value=0.962, eval_every=50 * 128, eval_batch=1000,
                tutorial=lambda data_dir, seed: race_loop(cell, data_dir, seed),
                tutorial_steps=782, evaluation=lazy(f"{RECIPE}:evaluation"),
                score=lazy(f"{RECIPE}:score"), zoo_settings=recipe.FAST[cell],
                data_settings=("validation_split",))),
    )


SPECS = [mnist_spec("mnist_lstm", "lstm", True), mnist_spec("mnist_gru", "gru", False)]
