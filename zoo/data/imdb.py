"""IMDB reviews as word-rank ids, exactly as `keras.datasets.imdb.load_data` yields them.

The raw `imdb.npz` (keras' own format) comes from the data directory when it holds
`imdb/imdb.npz`, else from keras' download and cache. Either way the same processing is
applied: keras' shuffle (seed 113), start id 1, OOV id 2, ranks offset by 3, ids at or
above `num_words` replaced by the OOV id; then `pad_sequences` to `maxlen`.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile

import numpy as np

from zoo.config import HeldOutRecipe
from zoo.data.files import DataFile, download, find_local
from zoo.data.pipeline import Datasets, array_datasets
from zoo.errors import DataError

RELATIVE_PATH = "imdb/imdb.npz"
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
KERAS_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"

WORD_INDEX_PATH = "imdb/imdb_word_index.json"
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
# keras.preprocessing.text.text_to_word_sequence's default filters: each becomes a space
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

START_ID = 1
OOV_ID = 2
INDEX_FROM = 3
SHUFFLE_SEED = 113


def locate(data_dir) -> DataFile:
    """The checked local `imdb/imdb.npz`, else keras' cached download."""
    return find_local(data_dir, RELATIVE_PATH) or download(
        "imdb.npz", ORIGIN, KERAS_SHA256, data_dir=data_dir, relative=RELATIVE_PATH
    )


def load_word_index(data_dir) -> dict[str, int]:
    """keras' `imdb.get_word_index()`: word -> frequency rank (1 = most frequent)."""
    found = find_local(data_dir, WORD_INDEX_PATH) or download(
        "imdb_word_index.json", WORD_INDEX_ORIGIN, WORD_INDEX_MD5, data_dir=data_dir,
        relative=WORD_INDEX_PATH)
    try:
        index = json.loads(found.path.read_text(encoding="utf-8"))
        if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
            raise ValueError("not a mapping of words to integer ranks")
    except (OSError, ValueError) as error:
        raise DataError(f"{found.path} is not keras' IMDB word index ({error})") from None
    return index


def tokenize(texts, ranks, num_words: int, maxlen: int):
    """Review strings `(batch,)` -> int32 ids `(batch, maxlen)` in TensorFlow ops, as the
    training data was made: lowercase, keras' punctuation filter, split on spaces, rank + 3,
    ranks beyond `num_words` and unknown words -> OOV 2, start id 1, then `pad_sequences`
    (padded and truncated at the front). `ranks` maps words to ranks (-1 when unknown).
    """
    import tensorflow as tf

    filtered = tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"),
                                        f"[{re.escape(KERAS_FILTERS)}]", " ")
    words = tf.strings.split(filtered, sep=" ")
    words = tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)
    ids = tf.cast(ranks.lookup(words), tf.int32) + INDEX_FROM
    ids = tf.where((ids < INDEX_FROM) | (ids >= num_words), OOV_ID, ids)
    starts = tf.fill([tf.shape(texts)[0], 1], START_ID)
    ids = tf.concat([starts, ids], axis=1)[:, -maxlen:]
    # pad at the front: reverse, pad at the end, reverse back
    return tf.reverse(tf.reverse(ids, axis=[1]).to_tensor(0, shape=[None, maxlen]), axis=[1])


def read_raw(path) -> dict[str, np.ndarray]:
    """Reads keras' `imdb.npz`; call only on a file that passed its checksum.

    Its ragged reviews are pickled object arrays; they are unpickled with nothing but numpy's
    array reconstruction allowed (`ArrayUnpickler`), so even a file that was never checked
    cannot run code.
    """
    try:
        arrays = read_npz(path)
    except Exception as error:
        raise DataError(f"{path} is not a readable IMDB .npz file ({error})") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise DataError(
            f"{path} lacks {', '.join(sorted(missing))}; expected keras' imdb.npz with "
            "x_train, y_train, x_test, y_test"
        )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 1 or y.shape != (len(x),):
            raise DataError(
                f"{path}: x_{split} {x.shape} and y_{split} {y.shape} are not n reviews with "
                "n labels"
            )
    return arrays


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays (object arrays of lists included) and refuses everything else,
    such as a `__reduce__` that calls `os.system`."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def read_npz(path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file: numeric ones read with pickling off, object arrays through
    `ArrayUnpickler` (numpy's own `allow_pickle=True` would run any pickle)."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                          else np.lib.format.read_array_header_2_0)
                shape, fortran_order, dtype = header(stream)
                if dtype.hasobject:
                    array = ArrayUnpickler(stream).load()
                else:
                    count = int(np.prod(shape))
                    array = np.frombuffer(stream.read(count * dtype.itemsize), dtype, count)
                    array = array.reshape(shape, order="F" if fortran_order else "C")
            arrays[member.removesuffix(".npy")] = array
    return arrays


def process(raw: dict[str, np.ndarray], num_words: int, maxlen: int):
    """Keras' `load_data(num_words=...)` processing, then `pad_sequences(maxlen=...)`.

    Returns `(x_train, y_train), (x_test, y_test)`: int32 ids of shape (n, maxlen),
    padded and truncated at the front, and int64 labels.
    """
    from keras.utils import pad_sequences

    # One generator for both splits, in this order, as keras does.
    rng = np.random.RandomState(SHUFFLE_SEED)
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = raw[x_key], raw[y_key]
        order = np.arange(len(x))
        rng.shuffle(order)
        sequences = [_encode(x[i], num_words) for i in order]
        padded = pad_sequences(sequences, maxlen=maxlen, dtype="int32")
        splits.append((padded, np.asarray(y)[order].astype("int64")))
    return splits[0], splits[1]


def _encode(review, num_words: int) -> np.ndarray:
    ids = np.concatenate([[START_ID], np.asarray(review, dtype=np.int64) + INDEX_FROM])
    ids[ids >= num_words] = OOV_ID
    return ids


def load(recipe: HeldOutRecipe, data_dir) -> Datasets:
    """Training, validation and test pipelines for a recipe with `vocab_size`, `sequence_length`."""
    found = locate(data_dir)
    (x_train, y_train), (x_test, y_test) = process(
        read_raw(found.path), recipe.vocab_size, recipe.sequence_length
    )
    info = {"dataset": "imdb", "path": str(found.path), "file": found.file,
            "sha256": found.sha256,
            "source": found.source}
    return array_datasets(x_train, y_train, x_test, y_test, recipe, info)
