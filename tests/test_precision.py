"""`--set precision=mixed_bfloat16`: the policy reaches the model it is asked for and no other,
a bad value is one line, and a mixed run resumes, exports and serves float32 outputs. What
every model computes under it is the battery's (`test_battery.py`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_tiny_data, matmul_dtypes

from zoo import config as config_lib
from zoo import export, runner, runtime
from zoo.build import build_model
from zoo.cli import main
from zoo.errors import UsageError
from zoo.registry import REGISTRY

MIXED = {"precision": "mixed_bfloat16"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_tiny_data(tmp_path_factory.mktemp("data"))


def smoke(name: str, **settings) -> config_lib.Recipe:
    spec = REGISTRY[name]
    return config_lib.override(spec.recipe, {**spec.smoke, **settings})


def policies(model: keras.Model) -> set[str]:
    return {layer.dtype_policy.name for layer in [model, *model.layers]}


def test_the_policy_reaches_only_the_model_built_with_it():
    spec = REGISTRY["mnist_lstm"]
    x, _ = spec.example_batch(smoke("mnist_lstm"), 2, np.random.default_rng(0))
    mixed = build_model(spec, smoke("mnist_lstm", **MIXED))
    assert keras.config.dtype_policy().name == "float32"
    plain = build_model(spec, smoke("mnist_lstm"))
    assert policies(plain) == {"float32"} and set(matmul_dtypes(plain, x)) == {"float32"}
    assert "mixed_bfloat16" in policies(mixed)

    # the recipe decides, whatever the global policy; and a failed build puts it back too
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        assert policies(build_model(spec, smoke("mnist_lstm"))) == {"float32"}
        assert keras.config.dtype_policy().name == "mixed_bfloat16"

        def fails(recipe):
            raise RuntimeError("no model")

        with pytest.raises(RuntimeError, match="no model"):
            build_model(dataclasses.replace(spec, build_model=fails), smoke("mnist_lstm"))
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.config.set_dtype_policy("float32")


def test_a_precision_other_than_float32_or_mixed_bfloat16_is_one_line(data, tmp_path, capsys):
    accepted = "precision='float16' is not accepted; expected float32 or mixed_bfloat16 or auto"
    with pytest.raises(UsageError, match=accepted):
        config_lib.override(REGISTRY["imdb_lstm"].recipe, {"precision": "float16"})
    out = tmp_path / "run"
    code = main(["run", "mnist_gru", "--set", "precision=float16", "--data-dir", str(data),
                 "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and accepted in err
    assert not out.exists()


def test_a_mixed_run_resumes_exports_and_serves_float32(data, tmp_path):
    # the language model: its state crosses calls (scoring, sampling), as no other's does
    name = "text8_bigram_lstm"
    spec = REGISTRY[name]
    out = tmp_path / "run"
    runner.run(name, {**spec.smoke, **MIXED, "epochs": 1}, data_dir=data, output=out,
               verbose=0)
    resumed = runner.run(name, {"epochs": 2}, data_dir=data, output=out, resume=True, verbose=0)
    assert resumed["config"]["precision"] == "mixed_bfloat16"
    assert resumed["dtype_policy"] == "mixed_bfloat16"
    assert all(np.isfinite(value) for value in resumed["history"]["loss"])

    _, recipe, model = runner.load_run_model(out)
    assert model.dtype_policy.name == "mixed_bfloat16"
    path = export.export_run(out, to=tmp_path / "export", data_dir=data)
    loaded = tf.saved_model.load(str(path))
    serving = spec.serving(model, recipe, data)
    for signature, inputs in spec.serving_examples(recipe, np.random.default_rng(0)).items():
        function = serving.signatures[signature]
        dtypes = {tensor.name: tensor.dtype for tensor in function.input_signature}
        arguments = {key: tf.constant(value, dtypes[key]) for key, value in inputs.items()}
        got = loaded.signatures[signature](**arguments)
        for key, expected in function(**arguments).items():
            assert got[key].dtype == expected.dtype, key
            if expected.dtype.is_floating:
                assert expected.dtype == tf.float32, key
                np.testing.assert_allclose(got[key].numpy(), expected.numpy(), atol=1e-6)


@pytest.mark.parametrize("flags, policy", [({"avx512_bf16", "avx2"}, "mixed_bfloat16"),
                                           ({"amx_bf16"}, "mixed_bfloat16"),
                                           ({"avx2", "fma"}, "float32")])
def test_auto_precision_follows_the_cpus_bfloat16_units(flags, policy, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_flags", lambda: flags)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert runtime.resolve_precision("auto") == policy
    assert runtime.resolve_precision("float32") == "float32"
    model = build_model(REGISTRY["mnist_gru"], smoke("mnist_gru", precision="auto"))
    assert policies(model) - {"float32"} == ({policy} - {"float32"})


def test_this_machines_cpu_flags_are_read():
    flags = runtime.cpu_flags()
    if Path("/proc/cpuinfo").exists():  # Linux: every x86 or arm CPU lists some flags
        assert flags and all(flag == flag.strip() and flag for flag in flags)
