"""The IMDB loader against keras' own processing, and its handling of bad or missing files."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import write_manifest, write_tiny_imdb

from zoo.data import files, imdb
from zoo.errors import DataError
from zoo.models.imdb_lstm.recipe import ImdbLstmRecipe


def keras_reference(path, monkeypatch):
    """keras.datasets.imdb.load_data(num_words=10000) on our file, then pad_sequences(80)."""
    import keras.src.datasets.imdb as keras_imdb

    monkeypatch.setattr(keras_imdb, "get_file", lambda **kwargs: str(path))
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=10000)
    pad = keras.utils.pad_sequences
    return (pad(x_train, maxlen=80), y_train), (pad(x_test, maxlen=80), y_test)


def test_matches_keras_load_data_and_pad_sequences(tmp_path, monkeypatch):
    path = write_tiny_imdb(tmp_path / "imdb.npz")
    (x_train, y_train), (x_test, y_test) = imdb.process(imdb.read_raw(path), 10000, 80)
    (kx_train, ky_train), (kx_test, ky_test) = keras_reference(path, monkeypatch)
    np.testing.assert_array_equal(x_train, kx_train)
    np.testing.assert_array_equal(y_train, ky_train)
    np.testing.assert_array_equal(x_test, kx_test)
    np.testing.assert_array_equal(y_test, ky_test)
    assert x_train.dtype == np.int32 and x_train.shape == (60, 80)
    # the tiny file exercises every rule: OOV ids, start ids, pre-padding, pre-truncation
    assert (x_train == imdb.OOV_ID).any() and (x_train == 0).any()
    assert (x_train[:, 0] != 0).any() and x_train.max() < 10000


def test_load_splits_validation_and_keeps_every_test_example(tiny_data):
    recipe = ImdbLstmRecipe(batch_size=8, validation_split=0.25)
    data = imdb.load(recipe, tiny_data)
    assert data.train_examples == 45
    assert sum(int(x.shape[0]) for x, _ in data.validation) == 15
    assert sum(int(x.shape[0]) for x, _ in data.test) == 37  # last partial batch kept
    assert data.info["source"] == "data directory"


def test_checksum_mismatch_is_reported_before_the_file_is_read(tiny_data, monkeypatch):
    npz = tiny_data / "imdb" / "imdb.npz"
    (tiny_data / "SHA256SUMS").write_text(f"{'0' * 64}  imdb/imdb.npz\n")

    def must_not_unpickle(path):
        raise AssertionError("read a file that failed its checksum")

    monkeypatch.setattr(imdb, "read_raw", must_not_unpickle)
    with pytest.raises(DataError) as error:
        imdb.load(ImdbLstmRecipe(), tiny_data)
    message = str(error.value)
    assert str(npz) in message and "0" * 64 in message and files.sha256_of(npz) in message


def test_file_missing_from_manifest_is_refused(tiny_data):
    write_tiny_imdb(tiny_data / "imdb" / "imdb.npz", seed=1)  # changed, manifest unchanged
    (tiny_data / "SHA256SUMS").write_text("")
    with pytest.raises(DataError, match="not listed in"):
        imdb.load(ImdbLstmRecipe(), tiny_data)


def test_no_manifest_still_loads(tmp_path):
    write_tiny_imdb(tmp_path / "imdb" / "imdb.npz")
    data = imdb.load(ImdbLstmRecipe(batch_size=8), tmp_path)
    assert data.train_examples == 54


def test_corrupt_file_is_one_clear_error(tmp_path):
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "imdb.npz").write_bytes(b"not a zip file")
    write_manifest(tmp_path, "imdb/imdb.npz")
    with pytest.raises(DataError, match="not a readable IMDB .npz"):
        imdb.load(ImdbLstmRecipe(), tmp_path)


def test_offline_without_local_copy_names_both_ways(tmp_path, monkeypatch):
    def offline(**kwargs):
        raise Exception("URL fetch failure on https://...: None -- [Errno -3] name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DataError) as error:
        imdb.load(ImdbLstmRecipe(), tmp_path)
    message = str(error.value)
    assert "imdb/imdb.npz" in message and "--data-dir" in message and "ZOO_DATA_DIR" in message
    assert imdb.ORIGIN in message and "\n" not in message


def test_data_dir_that_is_not_a_directory(tmp_path):
    with pytest.raises(DataError, match="is not a directory"):
        files.resolve_data_dir(tmp_path / "nowhere")


def test_env_var_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path))
    assert files.resolve_data_dir(None) == tmp_path
    monkeypatch.delenv("ZOO_DATA_DIR")
    assert files.resolve_data_dir(None) is None
