"""The battery every registered model must pass; registering a model enrolls it. Sizes,
parameter counts and example batches come from each model's spec."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import matmul_dtypes

from zoo import config as config_lib
from zoo.build import build_model, compile_model, count_params
from zoo.registry import REGISTRY


def smoke_recipe(spec):
    return config_lib.override(spec.recipe, spec.smoke)


@pytest.fixture(params=sorted(REGISTRY))
def spec(request):
    keras.utils.set_random_seed(0)
    return REGISTRY[request.param]


@pytest.fixture
def model(spec):
    return built(spec)


def built(spec):
    return prepared(spec, build_model(spec, smoke_recipe(spec)))


def prepared(spec, model):
    """`model` with the state training data would give it (the same every time)."""
    if spec.prepare is not None:
        spec.prepare(model, batch(spec, 32, seed=2)[0])
    return model


def batch(spec, size, seed=0):
    return spec.example_batch(smoke_recipe(spec), size, np.random.default_rng(seed))


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor).astype("float32")


def test_exact_parameter_count(spec, model):
    default, smoke = spec.params
    assert count_params(model) == smoke
    assert count_params(build_model(spec, spec.recipe)) == default


def test_each_output_depends_on_its_own_input_only(spec, model):
    x, _ = batch(spec, 5)
    other, _ = batch(spec, 5, seed=1)
    changed = x.copy()
    changed[0] = other[0]
    before, after = numpy(model(x)), numpy(model(changed))
    assert np.all(np.isfinite(before))
    assert np.abs(after[0] - before[0]).max() > 1e-4, "the output ignores the input"
    np.testing.assert_allclose(after[1:], before[1:], atol=1e-6)


def test_any_batch_size_gives_the_same_per_example_outputs(spec, model):
    x, _ = batch(spec, 7)
    full = numpy(model(x))
    for size in (1, 3):
        np.testing.assert_allclose(numpy(model(x[:size])), full[:size], atol=1e-5)
    # and through a traced graph with an unknown batch size
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), full, atol=1e-5)


def test_dropout_only_in_training_and_fresh_each_batch(spec, model):
    x, _ = batch(spec, 6)
    infer_1, infer_2 = numpy(model(x, training=False)), numpy(model(x, training=False))
    np.testing.assert_array_equal(infer_1, infer_2)
    train_1, train_2 = numpy(model(x, training=True)), numpy(model(x, training=True))
    if getattr(smoke_recipe(spec), "dropout", 0) > 0:
        assert not np.allclose(train_1, infer_1)
        assert not np.allclose(train_1, train_2), "dropout mask reused across batches"
    else:
        np.testing.assert_allclose(train_1, infer_1, atol=1e-6)


def test_fit_evaluate_predict_and_call_agree_on_one_model(spec, model):
    # LSTMCell's cached dropout mask once broke the second traced graph: fit, then
    # evaluate and predict (new graphs), then eager calls, must all run and agree.
    compile_model(spec, smoke_recipe(spec), model)
    x, y = batch(spec, 8)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    called = numpy(model(x))
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0), called, atol=1e-5)
    loss = float(spec.loss()(y, called))
    assert model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"] == \
        pytest.approx(loss, rel=1e-5)


def test_a_few_steps_on_one_batch_lower_its_loss(spec, model):
    recipe = config_lib.override(smoke_recipe(spec), {"learning_rate": 3e-2,
                                                      "lr_schedule": "constant"})
    compile_model(spec, recipe, model)
    x, y = batch(spec, 16)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    for _ in range(10):
        model.train_on_batch(x, y)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert after < 0.98 * before


def test_get_config_round_trip(spec, model, tmp_path):
    x, _ = batch(spec, 4)
    expected = numpy(model(x))
    clone = prepared(spec, type(model).from_config(model.get_config()))
    clone(x)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(numpy(clone(x)), expected, atol=1e-6)

    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_config() == model.get_config()
    assert not reloaded.compiled  # this model was never compiled
    np.testing.assert_allclose(numpy(reloaded(x)), expected, atol=1e-6)


def test_saved_weights_load_into_a_fresh_model(spec, model, tmp_path):
    x, _ = batch(spec, 4)
    model.save_weights(tmp_path / "model.weights.h5")
    fresh = built(spec)
    assert not np.allclose(numpy(fresh(x)), numpy(model(x)))  # another initialization
    fresh.load_weights(tmp_path / "model.weights.h5")
    np.testing.assert_array_equal(numpy(fresh(x)), numpy(model(x)))


def test_compiled_model_reloads_compiled_with_its_clipping(spec, model, tmp_path):
    recipe = config_lib.override(smoke_recipe(spec), {"clip_norm": 2.5, "clip_mode": "global"})
    compile_model(spec, recipe, model)
    x, y = batch(spec, 8)
    model.train_on_batch(x, y)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.compiled
    assert (reloaded.optimizer.clip_norm, reloaded.optimizer.clip_mode) == (2.5, "global")
    np.testing.assert_allclose(reloaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)


def test_mixed_bfloat16_multiplies_in_bfloat16_with_float32_weights_and_outputs(spec, model,
                                                                                 tmp_path):
    recipe = config_lib.override(smoke_recipe(spec), {"precision": "mixed_bfloat16"})
    low = prepared(spec, build_model(spec, recipe))
    low.set_weights(model.get_weights())
    assert low.dtype_policy.name == "mixed_bfloat16"
    assert {weight.dtype for weight in low.weights} == {"float32"}
    x, y = batch(spec, 8)
    products = matmul_dtypes(low, x)
    # all but the float32 output layer's (the recurrent steps' too)
    assert products.count("bfloat16") > products.count("float32"), products

    expected, outputs = numpy(model(x)), low(x)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
    outputs = numpy(outputs)
    assert np.all(np.isfinite(outputs))
    assert not np.array_equal(outputs, expected), "no bfloat16 in the outputs"
    # measured: at most 1.6e-2 of the outputs' scale (a forecaster), most under 4e-3
    np.testing.assert_allclose(outputs, expected, rtol=0,
                               atol=5e-2 * max(1, np.abs(expected).max()))

    low.save(tmp_path / "model.keras")  # its config holds the policy, handed to its layers
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert [layer.dtype_policy.name for layer in [reloaded, *reloaded.layers]] == \
        [layer.dtype_policy.name for layer in [low, *low.layers]]
    np.testing.assert_array_equal(numpy(reloaded(x)), outputs)

    compile_model(spec, config_lib.override(recipe, {"learning_rate": 3e-2,
                                                     "lr_schedule": "constant"}), low)
    before = low.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    for _ in range(10):
        low.train_on_batch(x, y)
    after = low.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert after < 0.98 * before
    assert {weight.dtype for weight in low.weights} == {"float32"}
