"""The battery every registered model must pass; registering a model enrolls it."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo import config as config_lib
from zoo.registry import REGISTRY
from zoo.runner import build_model, compile_model, count_params

# Trainable parameters: (default recipe, smoke recipe), worked out by hand.
EXPECTED_PARAMS = {
    # Embedding 10000*100 + LSTMCell 4*64*(100+64+1) + LSTMCell 4*64*(64+64+1) + Dense 64+1
    # smoke: 50*8 + 4*4*(8+4+1) + 4*4*(4+4+1) + 4+1
    "imdb_lstm": (1_075_329, 757),
    # Dense 28*128+128 + LSTM 4*128*(128+128+1) + Dense 128*10+10
    # smoke (8 units): 28*8+8 + 4*8*(8+8+1) + 8*10+10
    "mnist_lstm": (136_586, 866),
    # GRU (Keras' reset_after: two bias rows) 3*128*(28+128) + 2*3*128 + Dense 128*10+10
    # smoke: 3*8*(28+8) + 2*3*8 + 8*10+10
    "mnist_gru": (61_962, 1_002),
    # Embedding 729*128 + fused cell (128+256)*4*256 + 4*256 + Dense 256*27+27
    # smoke: 729*8 + (8+8)*4*8 + 4*8 + 8*27+27
    "text8_bigram_lstm": (494_491, 6_619),
}

NAMES = sorted(REGISTRY)


def smoke_recipe(spec):
    return config_lib.override(spec.recipe, spec.smoke)


@pytest.fixture(params=NAMES)
def spec(request):
    keras.utils.set_random_seed(0)
    return REGISTRY[request.param]


@pytest.fixture
def model(spec):
    return build_model(spec, smoke_recipe(spec))


def batch(spec, size, seed=0):
    return spec.example_batch(smoke_recipe(spec), size, np.random.default_rng(seed))


def test_every_model_has_expected_counts():
    assert set(EXPECTED_PARAMS) == set(REGISTRY)


def test_exact_parameter_count(spec, model):
    default, smoke = EXPECTED_PARAMS[spec.name]
    assert count_params(model) == smoke
    assert count_params(build_model(spec, spec.recipe)) == default


def test_forward_pass(spec, model):
    x, y = batch(spec, 5)
    out = keras.ops.convert_to_numpy(model(x))
    assert out.shape[0] == 5
    assert np.all(np.isfinite(out))


def test_any_batch_size_gives_the_same_per_example_outputs(spec, model):
    x, _ = batch(spec, 7)
    full = keras.ops.convert_to_numpy(model(x))
    for size in (1, 3):
        part = keras.ops.convert_to_numpy(model(x[:size]))
        np.testing.assert_allclose(part, full[:size], atol=1e-5)
    # and through a traced graph with an unknown batch size
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), full, atol=1e-5)


def test_dropout_only_in_training_and_fresh_each_batch(spec, model):
    x, _ = batch(spec, 6)
    infer_1 = keras.ops.convert_to_numpy(model(x, training=False))
    infer_2 = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_array_equal(infer_1, infer_2)
    train_1 = keras.ops.convert_to_numpy(model(x, training=True))
    train_2 = keras.ops.convert_to_numpy(model(x, training=True))
    if getattr(smoke_recipe(spec), "dropout", 0) > 0:
        assert not np.allclose(train_1, infer_1)
        assert not np.allclose(train_1, train_2), "dropout mask reused across batches"
    else:
        np.testing.assert_allclose(train_1, infer_1, atol=1e-6)


def test_fit_evaluate_predict_and_call_share_one_model(spec, model):
    # LSTMCell's cached dropout mask once broke the second traced graph: fit, then
    # evaluate and predict (new graphs), then eager calls, must all run.
    recipe = smoke_recipe(spec)
    compile_model(spec, recipe, model)
    x, y = batch(spec, 8)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    model(x, training=True)
    model(x)


def test_get_config_round_trip(spec, model, tmp_path):
    x, _ = batch(spec, 4)
    expected = keras.ops.convert_to_numpy(model(x))
    clone = type(model).from_config(model.get_config())
    clone(x)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), expected, atol=1e-6)

    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_config() == model.get_config()
    assert not reloaded.compiled  # this model was never compiled
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x)), expected, atol=1e-6)


def test_compiled_model_reloads_compiled_with_its_clipping(spec, model, tmp_path):
    recipe = config_lib.override(smoke_recipe(spec), {"clip_norm": 2.5, "clip_mode": "global"})
    compile_model(spec, recipe, model)
    x, y = batch(spec, 8)
    model.train_on_batch(x, y)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert reloaded.compiled and (reloaded.clip_norm, reloaded.clip_mode) == (2.5, "global")
    np.testing.assert_allclose(reloaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)


def test_one_train_step_lowers_the_loss(spec, model):
    recipe = smoke_recipe(spec)
    compile_model(spec, recipe, model)
    x, y = batch(spec, 16)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    model.train_on_batch(x, y)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert after < before
