"""Shared fixtures: tiny keras-format IMDB and MNIST files, a tiny text8-format corpus, and the
real data directory when present."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent


def real_data_dir() -> Path | None:
    """ZOO_DATA_DIR, else ../shared/data beside the repository, if it exists."""
    chosen = os.environ.get("ZOO_DATA_DIR") or REPO.parent / "shared" / "data"
    path = Path(chosen)
    return path if path.is_dir() else None


@pytest.fixture
def real_data() -> Path:
    path = real_data_dir()
    if path is None:
        pytest.skip("no real data directory: set ZOO_DATA_DIR or place shared/data beside the repo")
    return path


def write_tiny_imdb(path: Path, n_train: int = 60, n_test: int = 37, seed: int = 0) -> Path:
    """A keras-format imdb.npz: object arrays of int lists, ranks up to 12,000, lengths
    1-150, so that OOV replacement, truncation and padding all happen."""
    rng = np.random.default_rng(seed)

    def reviews(n):
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = [int(w) for w in rng.integers(1, 12000, size=rng.integers(1, 150))]
        return out

    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=reviews(n_train),
        y_train=rng.integers(0, 2, n_train),
        x_test=reviews(n_test),
        y_test=rng.integers(0, 2, n_test),
    )
    return path


def write_tiny_word_index(path: Path, words: int = 12000) -> Path:
    """A word index like keras' imdb_word_index.json: word -> rank, here "w<rank>"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({f"w{rank}": rank for rank in range(1, words + 1)}))
    return path


def write_tiny_mnist(path: Path, n_train: int = 80, n_test: int = 40, seed: int = 0) -> Path:
    """A keras-format mnist.npz of random uint8 images."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train).astype(np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test).astype(np.uint8),
    )
    return path


def tiny_text(n_chars: int = 3000, seed: int = 0) -> str:
    """text8-format text: words of a-z separated by single spaces, starting with a space."""
    rng = np.random.default_rng(seed)
    words = ["the", "of", "and", "a", "film", "movie", "was", "good", "bad", "actor", "plot"]
    text = ""
    while len(text) < n_chars:
        text += " " + words[rng.integers(len(words))]
    return text[:n_chars]


def write_tiny_corpus(path: Path, n_chars: int = 3000, seed: int = 0) -> Path:
    """`tiny_text` written as text8.zip is: a zip archive of one member."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.stem, tiny_text(n_chars, seed))
    return path


WEATHER_COLUMNS = ["temp_c", "dewpoint_c", "rel_humidity", "pressure_mbar", "wind_speed",
                   "wind_dir_deg", "ghi_wm2", "total_cloud_tenths"]


def weather(hours: int = 400, seed: int = 0) -> np.ndarray:
    """(hours, 8) values shaped like the Greensboro columns: a daily cycle plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    daily = np.sin(2 * np.pi * t / 24)
    columns = [15 + 8 * daily, 8 + 4 * daily, 60 - 20 * daily, 1000 + 5 * np.cos(t / 50),
               3 + daily, (t * 7) % 360, np.maximum(0, 800 * daily), (t // 9) % 11]
    return np.stack(columns, axis=1) + rng.normal(0, 0.5, (hours, 8))


def write_series(path: Path, values: np.ndarray, columns: list[str] | None = None,
                 start: str = "2001-01-01T00", step_minutes: int = 60,
                 time_format: str = "%Y-%m-%d %H:%M") -> Path:
    """A CSV of a timestamp column and `columns` (default Greensboro's), a row every
    `step_minutes`."""
    from datetime import datetime, timedelta

    columns = columns or WEATHER_COLUMNS[:values.shape[1]]
    first = datetime.fromisoformat(start)
    lines = [",".join(["timestamp", *columns])]
    for i, row in enumerate(values):
        when = (first + timedelta(minutes=i * step_minutes)).strftime(time_format)
        lines.append(",".join([when, *(f"{v:.3f}" for v in row)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def tfds_imdb_features():
    """TFDS' `imdb_reviews` features: the review's text and its label, neg or pos."""
    import tensorflow_datasets as tfds

    return tfds.features.FeaturesDict({
        "text": tfds.features.Text(), "label": tfds.features.ClassLabel(names=["neg", "pos"])})


def write_tiny_tfds_imdb(root: Path, n_train: int = 60, n_test: int = 30, seed: int = 0) -> Path:
    """A TFDS data directory holding a tiny `imdb_reviews` (plain_text 1.0.0) that
    `tfds.load("imdb_reviews", data_dir=root, download=False)` reads, written with TFDS' own
    features and `tfds.folder_dataset.write_metadata`. Positive reviews lean to "good" words."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(seed)
    version_dir = root / "imdb_reviews" / "plain_text" / "1.0.0"
    version_dir.mkdir(parents=True, exist_ok=True)
    features = tfds_imdb_features()
    words = {0: ["bad", "boring", "dull", "film", "the", "plot"],
             1: ["good", "great", "moving", "film", "the", "plot"]}
    for split, n in (("train", n_train), ("test", n_test), ("unsupervised", 4)):
        path = version_dir / f"imdb_reviews-{split}.tfrecord-00000-of-00001"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for i in range(n):
                label = i % 2
                text = " ".join(rng.choice(words[label], size=rng.integers(3, 40))) + "."
                writer.write(features.serialize_example({"text": text.capitalize(),
                                                         "label": label}))
    template = tfds.core.ShardedFileTemplate(
        data_dir=version_dir, template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
        dataset_name="imdb_reviews", filetype_suffix="tfrecord")
    # TFDS prints what it found and a progress bar; a test reading stderr must not see them
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        splits = tfds.folder_dataset.compute_split_info_from_directory(
            data_dir=version_dir, filename_template=template)
        tfds.folder_dataset.write_metadata(data_dir=version_dir, features=features,
                                           split_infos=splits, filename_template=template)
    return root


def matmul_dtypes(model, x) -> list[str]:
    """The dtype of every matrix product in the graph of `model(x)`, the loop bodies' too."""
    import tensorflow as tf

    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.constant(x)).graph.as_graph_def()
    nodes = [*graph.node, *(node for function in graph.library.function
                            for node in function.node_def)]
    return [tf.dtypes.as_dtype(node.attr["T"].type).name for node in nodes
            if node.op in ("MatMul", "BatchMatMulV2", "BatchMatMulV3")]


def write_manifest(data_dir: Path, *relative: str) -> None:
    lines = [
        f"{hashlib.sha256((data_dir / r).read_bytes()).hexdigest()}  {r}\n" for r in relative
    ]
    (data_dir / "SHA256SUMS").write_text("".join(lines))


def make_tiny_data(data_dir: Path) -> Path:
    """A data directory holding tiny imdb/imdb.npz (and its word index), mnist/mnist.npz,
    text/tiny_text8.zip (also as text/text8.zip, the language model's default corpus) and
    timeseries/greensboro_tmy3.csv (400 hours), a TFDS folder tensorflow_datasets/ with a tiny
    imdb_reviews, and a manifest: every model's smoke recipe runs on it as it is."""
    write_tiny_imdb(data_dir / "imdb" / "imdb.npz")
    write_tiny_word_index(data_dir / "imdb" / "imdb_word_index.json")
    write_tiny_mnist(data_dir / "mnist" / "mnist.npz")
    write_tiny_corpus(data_dir / "text" / "tiny_text8.zip")
    write_tiny_corpus(data_dir / "text" / "text8.zip")
    write_series(data_dir / "timeseries" / "greensboro_tmy3.csv", weather())
    write_tiny_tfds_imdb(data_dir / "tensorflow_datasets")
    write_manifest(data_dir, "imdb/imdb.npz", "imdb/imdb_word_index.json", "mnist/mnist.npz",
                   "text/tiny_text8.zip", "text/text8.zip", "timeseries/greensboro_tmy3.csv")
    return data_dir


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    """`make_tiny_data` in a test's own folder."""
    return make_tiny_data(tmp_path / "data")
