"""text8-format corpora: one line of `[a-z ]`, read as character ids, cut into the assignment's
validation slice, a training stream and a held-out tail.

    valid    the first `valid_chars` characters (the assignment's 1000)
    train    everything between
    heldout  the last `heldout_chars` characters, never trained on

The corpus is text8 itself (`text8.zip` from its canonical address, into keras' cache), a
corpus in the data directory's `text/` folder, or any text8-format file, plain or zipped.
A 100M-character corpus is read as bytes and mapped through a 256-entry table: about two
seconds and 200 MB, never a Python list of characters.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo.data.files import DataFile, download, find_local, sha256_of
from zoo.data.pipeline import Datasets
from zoo.errors import DataError, UsageError

if TYPE_CHECKING:
    import tensorflow as tf

ALPHABET = " abcdefghijklmnopqrstuvwxyz"  # ids 0-26
VOCAB = len(ALPHABET)
BIGRAMS = VOCAB * VOCAB
TEXT8_ORIGIN = "http://mattmahoney.net/dc/text8.zip"
TEXT8_BYTES = 31_344_016
TEXT_FOLDER = "text"
INVALID = 255
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# chunk length for scoring a long stream: long enough to amortise a call, short enough to keep
# its activations small
STREAM_CHUNK = 1024

# byte -> character id, for bytes.translate (no index array of 8-byte integers in between)
BYTE_TO_ID = bytes(ALPHABET.index(chr(b)) if chr(b) in ALPHABET else INVALID for b in range(256))


def bigram_ids(chars):
    """The ids, in [0, 729), of the bigrams (chars[t], chars[t + 1]) of character ids."""
    return chars[..., :-1] * VOCAB + chars[..., 1:]


def encode(text: str) -> np.ndarray:
    """Character ids of a string of `[a-z ]`; anything else is an error naming it."""
    bad = sorted(set(text) - set(ALPHABET))
    if bad:
        raise UsageError(f"text {text!r} has characters outside [a-z ]: {''.join(bad)!r}")
    ids = np.frombuffer(text.encode("ascii").translate(BYTE_TO_ID), dtype=np.uint8)
    return ids.astype(np.int32)


def decode(ids) -> str:
    return "".join(ALPHABET[i] for i in np.asarray(ids).reshape(-1))


def locate(corpus: str, data_dir: Path | None) -> DataFile:
    """The corpus file: a path, else `text/<corpus>[.zip]` in the data directory (checked
    against its manifest), else, for "text8", keras' cached download."""
    path = Path(corpus).expanduser()
    if path.is_file():
        return DataFile(path=path, sha256=sha256_of(path), source="path", file=path.name)
    for relative in (f"{TEXT_FOLDER}/{corpus}", f"{TEXT_FOLDER}/{corpus}.zip"):
        found = find_local(data_dir, relative)
        if found:
            return found
    if corpus == "text8":
        found = download("text8.zip", TEXT8_ORIGIN, None, data_dir=data_dir,
                         relative=f"{TEXT_FOLDER}/text8.zip")
        size = found.path.stat().st_size
        if size != TEXT8_BYTES:
            raise DataError(f"{found.path} has {size:,} bytes, not text8.zip's {TEXT8_BYTES:,}; "
                            "delete it to download it again")
        return found
    names = sorted({p.name.removesuffix(".zip") for p in (data_dir / TEXT_FOLDER).glob("*")}
                   if data_dir and (data_dir / TEXT_FOLDER).is_dir() else [])
    where = f"{data_dir / TEXT_FOLDER} holds {', '.join(names) or 'no corpus'}" if data_dir else \
        "no data directory was given"
    raise UsageError(f"corpus={corpus!r} is not a file and not a corpus name ({where}); "
                     "expected text8, one of those names, or the path of a text8-format file")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or its one member's if it is a zip archive (as `text8.zip`)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise DataError(
                        f"{path} holds {len(members)} files ({', '.join(members[:5])}); "
                        "expected a zip archive of exactly one text8-format file")
                return archive.read(members[0])
        return path.read_bytes()
    except (OSError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read corpus {path}: {error}") from None


def encode_bytes(raw: bytes, clean: bool, source: str) -> np.ndarray:
    """Character ids (uint8, 0 = space, 1-26 = a-z) of text8-format bytes.

    Bytes outside `[a-z ]` are an error naming the first few and their positions, unless
    `clean`: then, as text8's own cleaning (Matt Mahoney's wikifil.pl), text is lowercased,
    digits are spelled out, everything else becomes a space, and runs of spaces become one.
    """
    if clean:
        raw = raw.lower()
        for digit, word in enumerate(DIGITS):
            raw = raw.replace(str(digit).encode(), f" {word} ".encode())
    ids = np.frombuffer(raw.translate(BYTE_TO_ID), dtype=np.uint8)
    invalid = np.flatnonzero(ids == INVALID)
    if invalid.size and not clean:
        shown = ", ".join(f"{bytes([raw[i]])!r} at {i:,}" for i in invalid[:5])
        raise DataError(
            f"{source} has {invalid.size:,} characters outside [a-z ] ({shown}"
            f"{', ...' if invalid.size > 5 else ''}); pass --set clean_text=true to clean it "
            "as text8 was cleaned"
        )
    if clean:
        ids = ids.copy()
        ids[invalid] = 0
        repeated_space = (ids[1:] == 0) & (ids[:-1] == 0)
        ids = np.delete(ids, np.flatnonzero(repeated_space) + 1)
    return ids


def split(ids: np.ndarray, valid_chars: int, heldout_chars: int, min_train: int,
          source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid, train, heldout) views: the first `valid_chars`, the middle, the last
    `heldout_chars`."""
    train_chars = len(ids) - valid_chars - heldout_chars
    if train_chars < min_train:
        raise UsageError(
            f"{source} has {len(ids):,} characters; valid_chars={valid_chars:,} and "
            f"heldout_chars={heldout_chars:,} leave {max(train_chars, 0):,} to train on, fewer "
            f"than the {min_train:,} one batch needs; lower them or use a longer corpus"
        )
    return ids[:valid_chars], ids[valid_chars:len(ids) - heldout_chars], ids[-heldout_chars:]


def segment_batches(train: np.ndarray, batch_size: int, unrollings: int) -> tf.data.Dataset:
    """The assignment's batch generator, for bigrams: the stream is cut into `batch_size`
    segments, and row r of each batch continues row r of the one before, so the model's
    state can be carried across batches. A batch is (bigrams, targets), both
    (batch_size, unrollings) int32: the bigram (c[t-1], c[t]) and the character c[t+1].
    A row that reaches its segment's end starts it again. Endless.

    Each batch is sliced in the graph from one (batch_size, segment) tensor: a Python
    generator behind `from_generator` cost a fifth of a small model's training step.
    """
    import tensorflow as tf

    segment = len(train) // batch_size
    rows = tf.constant(train[: segment * batch_size].reshape(batch_size, segment), tf.int32)
    steps = (segment - 2) // unrollings

    def batch(step):
        # tf.slice with a fixed size keeps the batch's shape static, (batch_size, unrollings)
        window = tf.slice(rows, [0, step * unrollings], [batch_size, unrollings + 2])
        return bigram_ids(window[:, :-1]), window[:, 2:]

    return tf.data.Dataset.range(steps, output_type=tf.int32).repeat().map(batch)


def stream_chunks(ids: np.ndarray, chunk: int = STREAM_CHUNK) -> tf.data.Dataset:
    """A stream as consecutive (bigrams, targets) chunks of shape (1, <= chunk), in order,
    for scoring with the state carried from one to the next."""
    import tensorflow as tf

    ids = ids.astype(np.int32)
    pairs = tf.data.Dataset.from_tensor_slices((bigram_ids(ids[:-1]), ids[2:]))
    return pairs.batch(chunk).map(lambda x, y: (x[None], y[None]))


def read_split(recipe, data_dir: Path | None, min_train: int = 1):
    """The recipe's corpus located, read, encoded and split: (file found, all ids, (valid,
    train, heldout))."""
    found = locate(recipe.corpus, data_dir)
    ids = encode_bytes(read_bytes(found.path), recipe.clean_text, str(found.path))
    return found, ids, split(ids, recipe.valid_chars, recipe.heldout_chars, min_train,
                             str(found.path))


def load(recipe, data_dir: Path | None) -> Datasets:
    import tensorflow as tf

    min_train = recipe.batch_size * (recipe.unrollings + 2)
    found, ids, (valid, train, heldout) = read_split(recipe, data_dir, min_train)
    train_batches = segment_batches(train, recipe.batch_size, recipe.unrollings).prefetch(
        tf.data.AUTOTUNE)
    return Datasets(
        train=train_batches,
        # the whole slice as one sequence from a fresh state: the assignment's validation
        validation=stream_chunks(valid, chunk=len(valid)),
        test=stream_chunks(heldout),
        train_examples=recipe.steps_per_epoch * recipe.batch_size,
        steps_per_epoch=recipe.steps_per_epoch,
        info={
            "corpus": str(found.path),
            "file": found.file,
            "sha256": found.sha256,
            "source": found.source,
            "characters": int(len(ids)),
            "valid_characters": int(len(valid)),
            "train_characters": int(len(train)),
            "heldout_characters": int(len(heldout)),
            "vocabulary": VOCAB,
        },
    )
