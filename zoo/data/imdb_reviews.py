"""The Large Movie Review Dataset as raw text, through tensorflow-datasets' `imdb_reviews`.

With a data directory, `tfds.load` reads its `tensorflow_datasets/` folder (a TFDS `data_dir`)
and never downloads; without one, TFDS downloads and prepares the data as it does for anyone
online. Validation is the last `validation_split` of the training reviews, shuffled once with
a fixed seed (TFDS' training split comes in file order); the test split's 25,000 reviews are
scored once, at the end. The vocabulary is fitted on the remaining training reviews only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.config import HeldOutRecipe
from zoo.data.pipeline import Datasets, array_datasets
from zoo.errors import DataError

TFDS_FOLDER = "tensorflow_datasets"
NAME = "imdb_reviews"
SHUFFLE_SEED = 113  # as keras' imdb loader


def read(data_dir: Path | None) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """{"train": (texts, labels), "test": (...)} as numpy arrays of bytes and float32 0/1, and
    where they came from."""
    import tensorflow_datasets as tfds

    tfds_dir = None if data_dir is None else data_dir / TFDS_FOLDER
    try:
        loaded, info = tfds.load(NAME, split=["train", "test"], data_dir=tfds_dir,
                                 download=data_dir is None, as_supervised=True, with_info=True)
    except Exception as error:  # TFDS raises assorted types for a missing or broken folder
        reason = " ".join(str(error).split())[:200]
        where = (f"{tfds_dir} holds no prepared {NAME} (make it with tfds' "
                 f"`tfds.builder('{NAME}', data_dir=...).download_and_prepare()` online, or "
                 f"run without --data-dir and ZOO_DATA_DIR to let TFDS download it)"
                 if tfds_dir is not None else "TFDS could not download and prepare it")
        raise DataError(f"cannot load {NAME}: {where} ({reason})") from None
    parts = {}
    for split, dataset in zip(("train", "test"), loaded):
        texts, labels = [], []
        for batch_texts, batch_labels in dataset.batch(5000):
            texts += list(batch_texts.numpy())
            labels += list(batch_labels.numpy())
        parts[split] = (np.array(texts, dtype=object), np.array(labels, dtype="float32"))
    source = {"dataset": NAME, "tfds_version": str(info.version),
              "source": "data directory" if tfds_dir is not None else "download",
              "file": f"{TFDS_FOLDER}/{NAME}/{info.config_name}/{info.version}"}
    return parts, source


def load(recipe: HeldOutRecipe, data_dir: Path | None) -> Datasets:
    """Pipelines of (review bytes, label) and the vocabulary's `adapt` on the training part."""
    parts, source = read(data_dir)
    texts, labels = parts["train"]
    order = np.random.RandomState(SHUFFLE_SEED).permutation(len(texts))
    datasets = array_datasets(texts[order], labels[order], *parts["test"], recipe, source)
    fit_texts = datasets.train.map(lambda text, label: text)
    datasets.adapt = lambda model: model.adapt(fit_texts)
    return datasets
