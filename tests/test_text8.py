"""The text8 language model: corpus loading, the assignment's batches, the fused cell, the
carried state, stream perplexity and sampling."""

from __future__ import annotations

import math
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_text, write_tiny_corpus

from zoo import build, runner
from zoo.config import CELLS
from zoo.data import text8
from zoo.errors import DataError, UsageError
from zoo.models.text8_bigram_lstm import metrics as lm_metrics
from zoo.models.text8_bigram_lstm import model as lm_model
from zoo.models.text8_bigram_lstm import tutorial as text8_lstm
from zoo.models.text8_bigram_lstm.cell import FusedLSTMCell
from zoo.models.text8_bigram_lstm.model import BigramLanguageModel
from zoo.models.text8_bigram_lstm.recipe import BigramLstmRecipe
from zoo.models.text8_bigram_lstm.sampling import sample
from zoo.models.text8_bigram_lstm.scoring import stream_nats
from zoo.registry import get_spec

SMOKE = get_spec("text8_bigram_lstm").smoke


def recipe(**values) -> BigramLstmRecipe:
    return BigramLstmRecipe(**{**SMOKE, "epochs": 1, **values})


# --- corpus -----------------------------------------------------------------------------------

def test_zipped_and_plain_corpora_read_the_same(tmp_path):
    zipped = write_tiny_corpus(tmp_path / "tiny.zip")
    plain = tmp_path / "tiny"
    plain.write_text(tiny_text())
    ids = text8.encode_bytes(text8.read_bytes(zipped), False, "tiny")
    np.testing.assert_array_equal(ids, text8.encode_bytes(text8.read_bytes(plain), False, "t"))
    assert ids.dtype == np.uint8 and len(ids) == 3000
    assert text8.decode(ids) == tiny_text()
    assert text8.decode(text8.encode(" abz")) == " abz"
    assert text8.encode(" az").tolist() == [0, 1, 26]


def test_text_outside_the_alphabet_names_characters_and_positions():
    with pytest.raises(DataError) as error:
        text8.encode_bytes(b"ok Then 42 times\n", False, "corpus.txt")
    message = str(error.value)
    assert "corpus.txt has 4 characters outside [a-z ]" in message
    assert "b'T' at 3" in message and "b'4' at 8" in message and "b'\\n' at 16" in message
    assert "clean_text=true" in message and "\n" not in message


def test_cleaning_follows_text8s_own():
    cleaned = text8.encode_bytes(b"The 2 Cats, (aged 10)!\n", True, "x")
    assert text8.decode(cleaned) == "the two cats aged one zero "


def test_zip_of_several_files_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a", "abc")
        archive.writestr("b", "def")
    with pytest.raises(DataError, match="holds 2 files .*exactly one"):
        text8.read_bytes(path)


def test_corpus_by_path_by_name_and_unknown(tiny_data, tmp_path):
    by_name = text8.locate("tiny_text8", tiny_data)
    assert by_name.path == tiny_data / "text" / "tiny_text8.zip"
    assert by_name.source == "data directory"
    assert text8.locate(str(by_name.path), None).sha256 == by_name.sha256
    with pytest.raises(UsageError, match="corpus='shakespeare' .* holds text8, tiny_text8"):
        text8.locate("shakespeare", tiny_data)


def test_text8_offline_without_a_local_copy_names_both_ways(tmp_path, monkeypatch):
    def offline(**kwargs):
        raise Exception("URL fetch failure: [Errno -3] name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DataError) as error:
        text8.locate("text8", tmp_path)
    assert text8.TEXT8_ORIGIN in str(error.value) and "--data-dir" in str(error.value)


def test_split_keeps_the_first_and_last_characters_out_of_training():
    ids = np.arange(100) % 27
    valid, train, heldout = text8.split(ids, 10, 30, 5, "x")
    assert (len(valid), len(train), len(heldout)) == (10, 60, 30)
    np.testing.assert_array_equal(np.concatenate([valid, train, heldout]), ids)
    with pytest.raises(UsageError, match="leave 0 to train on"):
        text8.split(ids, 50, 60, 5, "x")


def assignment_rows(text: str, batch_size: int, unrollings: int, n_batches: int) -> list[str]:
    """The characters each row of the assignment's own `BatchGenerator` sees (its one-hot
    batches decoded); each batch starts with the last character of the one before."""
    generator = text8_lstm.BatchGenerator(text, batch_size, unrollings)
    batches = [generator.next() for _ in range(n_batches)]
    one_hot = np.stack([batches[0][0]] + [b for batch in batches for b in batch[1:]])
    return [text8.decode(one_hot[:, row].argmax(-1)) for row in range(batch_size)]


def test_batches_continue_each_row_as_the_assignments_generator_does():
    text = tiny_text(1000)
    ids = text8.encode_bytes(text.encode(), False, "t")
    batches = text8.segment_batches(ids, batch_size=4, unrollings=5)
    expected = assignment_rows(text, 4, 5, n_batches=13)
    bigrams, targets = zip(*[(x.numpy(), y.numpy()) for x, y in batches.take(12)])
    bigrams, targets = np.concatenate(bigrams, axis=1), np.concatenate(targets, axis=1)
    assert bigrams.shape == targets.shape == (4, 60) and bigrams.dtype == np.int32
    for row in range(4):
        chars = text8.encode(expected[row])
        # the bigram (c[t], c[t+1]) is followed by c[t+2]; the first character only opens
        # the first bigram, as the assignment's first batch only opens its first input
        np.testing.assert_array_equal(bigrams[row], text8.bigram_ids(chars[:61]))
        np.testing.assert_array_equal(targets[row], chars[2:62])


def test_stream_chunks_cover_the_stream_in_order():
    ids = text8.encode(tiny_text(100))
    chunks = list(text8.stream_chunks(ids, chunk=30))
    assert [tuple(x.shape) for x, _ in chunks] == [(1, 30), (1, 30), (1, 30), (1, 8)]
    bigrams = np.concatenate([x.numpy()[0] for x, _ in chunks])
    targets = np.concatenate([y.numpy()[0] for _, y in chunks])
    np.testing.assert_array_equal(bigrams, text8.bigram_ids(ids[:-1]))
    np.testing.assert_array_equal(targets, ids[2:])


# --- the cell and the model -------------------------------------------------------------------

def test_fused_cell_computes_what_keras_lstmcell_computes():
    rng = np.random.default_rng(0)
    reference, fused = keras.layers.LSTMCell(16), FusedLSTMCell(16)
    x = rng.normal(size=(5, 7)).astype("float32")
    state = [rng.normal(size=(5, 16)).astype("float32") for _ in range(2)]
    reference(x, state)
    fused(x, state)
    kernel, recurrent_kernel, bias = [rng.normal(scale=0.5, size=w.shape).astype("float32")
                                      for w in reference.weights]
    reference.set_weights([kernel, recurrent_kernel, bias])
    fused.set_weights([np.concatenate([kernel, recurrent_kernel]), bias])  # stacked, one matmul
    for _ in range(3):  # several steps, each fed the state it returned
        expected, expected_state = reference(x, state)
        output, fused_state = fused(x, state)
        np.testing.assert_allclose(output, expected, atol=1e-6)
        for ours, theirs in zip(fused_state, expected_state):
            np.testing.assert_allclose(ours, theirs, atol=1e-6)
        state = [np.asarray(s) for s in expected_state]
    # a new cell's forget gate starts open, as Keras' unit_forget_bias
    new = FusedLSTMCell(3)
    new.build((None, 2))
    np.testing.assert_array_equal(new.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def small_model(dropout: float = 0.0, stream_batch_size: int = 3) -> BigramLanguageModel:
    keras.utils.set_random_seed(0)
    model = BigramLanguageModel(embedding_dim=6, units=5, dropout=dropout,
                                stream_batch_size=stream_batch_size)
    model(np.zeros((1, 2), "int32"))
    return model


def test_sequence_pass_equals_stepping_the_cell():
    model = small_model()
    bigrams = np.random.default_rng(1).integers(0, text8.BIGRAMS, size=(3, 9)).astype("int32")
    logits = model(bigrams).numpy()
    state = model.zero_state(3)
    vectors = model.embedding(bigrams)
    for t in range(9):
        h, state = model.cell(vectors[:, t], state)
        np.testing.assert_allclose(model.logits(h).numpy(), logits[:, t], atol=1e-6)


original_gather = lm_model.gather_rows


def table_and_character_paths(model, bigrams, targets, monkeypatch):
    """Loss and gradients of a training call (in a graph, as `fit` runs it) by the gate
    table and by each character's product, checking which path each took."""
    gathered = []
    monkeypatch.setattr(lm_model, "gather_rows",
                        lambda *args: gathered.append(1) or original_gather(*args))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    results = []
    for min_chars in (0, 10 ** 9):  # every call by the table, then none
        model.table_min_chars = min_chars
        gathered.clear()

        @tf.function
        def run():
            with tf.GradientTape() as tape:
                value = loss(targets, model(bigrams, training=True))
            return value, [tf.convert_to_tensor(g)
                           for g in tape.gradient(value, model.trainable_weights)]

        results.append(run())
        assert bool(gathered) == (min_chars == 0)
    return results


@pytest.mark.parametrize("cell", CELLS)
def test_gate_table_gives_each_characters_product_and_its_gradient(cell, monkeypatch):
    # a call of 8 x 100 characters: 10 chunks of the loop, more characters than table rows
    keras.utils.set_random_seed(3)
    model = BigramLanguageModel(embedding_dim=6, units=5, dropout=0.0, stream_batch_size=4,
                                cell=cell)
    rng = np.random.default_rng(4)
    bigrams = rng.integers(0, text8.BIGRAMS, size=(8, 100)).astype("int32")
    targets = rng.integers(0, text8.VOCAB, size=(8, 100))
    model(bigrams[:1, :2])
    (by_table, table_gradients), (by_character, character_gradients) = \
        table_and_character_paths(model, bigrams, targets, monkeypatch)
    assert float(by_table) == pytest.approx(float(by_character), rel=1e-6)
    for ours, theirs, weight in zip(table_gradients, character_gradients,
                                    model.trainable_weights):
        np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=weight.path)


def test_gate_table_only_for_calls_of_more_characters_than_its_rows(monkeypatch):
    gathered = []
    monkeypatch.setattr(lm_model, "gather_rows",
                        lambda *args: gathered.append(1) or original_gather(*args))
    model = small_model()
    model(np.zeros((1, 10), "int32"))  # 10 characters: the table would multiply 729 rows
    assert not gathered
    model(np.zeros((8, 100), "int32"))
    assert gathered
    gathered.clear()
    model(np.zeros((8, 100), "int32"), training=True)  # and in training, without dropout
    assert gathered
    gathered.clear()
    small_model(dropout=0.1)(np.zeros((8, 100), "int32"), training=True)
    assert not gathered  # each character's vector is dropped on its own


def test_gate_table_gradient_is_summed_in_float32_under_mixed_precision(monkeypatch):
    # 3,200 characters on 4 bigrams: each row gathers 800 gradients, whose sum in bfloat16
    # would be further from float32's than two roundings (1% where this sums in float32: 0.4%)
    rng = np.random.default_rng(5)
    bigrams = rng.choice(rng.integers(0, text8.BIGRAMS, 4), size=(32, 100)).astype("int32")
    targets = rng.integers(0, text8.VOCAB, size=(32, 100))
    models = []
    for policy in ("float32", "mixed_bfloat16"):
        keras.utils.set_random_seed(6)
        models.append(BigramLanguageModel(embedding_dim=16, units=32, dropout=0.0,
                                          stream_batch_size=4, dtype=policy))
        models[-1](bigrams[:1, :2])
    models[1].set_weights(models[0].get_weights())
    _, reference = table_and_character_paths(models[0], bigrams, targets, monkeypatch)[0]
    (_, table), (_, character) = table_and_character_paths(models[1], bigrams, targets,
                                                           monkeypatch)
    for index, weight in enumerate(models[0].trainable_weights[:2]):  # embedding, kernel
        scale = np.linalg.norm(reference[index])
        table_error = np.linalg.norm(np.asarray(table[index]) - reference[index]) / scale
        character_error = np.linalg.norm(np.asarray(character[index]) - reference[index]) / scale
        # within two bfloat16 roundings, or twice the per-character path's error
        assert table_error <= max(2 * character_error, 2 ** -7), weight.path


def test_a_stream_scored_in_chunks_equals_one_pass():
    model = small_model()
    ids = text8.encode(tiny_text(200))
    whole, count = stream_nats(model, text8.stream_chunks(ids, chunk=len(ids)))
    chunked, _ = stream_nats(model, text8.stream_chunks(ids, chunk=7))
    assert count == 198
    assert chunked == pytest.approx(whole, rel=1e-6)
    # and it is the mean cross-entropy of predicting each next character
    logits = model(text8.bigram_ids(ids[:-1])[None].astype("int32"))
    nats = keras.losses.sparse_categorical_crossentropy(ids[2:][None], logits, from_logits=True)
    assert whole == pytest.approx(float(np.mean(nats)), rel=1e-5)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("length", [8, 98])  # one unrolled chunk; 14 chunks of 7, a gate table
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_scoring_call_is_the_mean_cross_entropy_of_its_logits(policy, length, cell):
    keras.utils.set_random_seed(3)
    model = BigramLanguageModel(embedding_dim=8, units=16, dropout=0.1, stream_batch_size=4,
                                cell=cell, dtype=policy)
    rng = np.random.default_rng(length)
    bigrams = rng.integers(0, text8.BIGRAMS, (8, length)).astype("int32")
    targets = rng.integers(0, text8.VOCAB, (8, length)).astype("int32")
    # weights 4x their start: sharp enough logits that products run in float32 instead of the
    # policy's bfloat16 move the figure 100x more than the tolerance (checked)
    model(bigrams[:1, :2])
    model.set_weights([4 * weight for weight in model.get_weights()])
    nats = lm_metrics.nats(targets, model(bigrams))
    got = model(bigrams, targets=targets)
    assert got.dtype == tf.float64 and got.shape == (8,)
    # the same products (bfloat16 ones under the mixed policy), summed in another order
    np.testing.assert_allclose(got, np.mean(np.asarray(nats, np.float64), axis=1), rtol=1e-5)


def test_training_batches_carry_the_state_and_evaluation_starts_fresh():
    model = small_model()
    step = tf.function(lambda x: model(x, training=True))
    x = np.random.default_rng(2).integers(0, text8.BIGRAMS, size=(3, 4)).astype("int32")
    first = step(x).numpy()
    np.testing.assert_allclose(first, model(x).numpy(), atol=1e-6)  # the stream starts at zeros
    carried = [v.numpy() for v in model.stream_state]
    assert np.abs(carried[0]).sum() > 0
    second = step(x).numpy()
    continued = model(x, initial_state=carried).numpy()
    np.testing.assert_allclose(second, continued, atol=1e-6)
    assert not np.allclose(second, first)
    # a batch of another size starts from zeros and leaves the stream alone
    before = [v.numpy() for v in model.stream_state]
    np.testing.assert_allclose(step(x[:2]).numpy(), model(x[:2]).numpy(), atol=1e-6)
    np.testing.assert_array_equal(model.stream_state[0].numpy(), before[0])
    model.reset_stream()
    assert not np.any(model.stream_state[0].numpy())
    assert len(model.weights) == 5  # the stream state is not a weight

    # the same when the batch size is only known when the graph runs (Keras fit on arrays)
    unknown = tf.function(lambda x: model(x, training=True),
                          input_signature=[tf.TensorSpec((None, 4), tf.int32)])
    np.testing.assert_allclose(unknown(x).numpy(), first, atol=1e-6)
    np.testing.assert_allclose(unknown(x).numpy(), second, atol=1e-6)
    carried = [v.numpy() for v in model.stream_state]
    np.testing.assert_allclose(unknown(x[:2]).numpy(), model(x[:2]).numpy(), atol=1e-6)
    np.testing.assert_array_equal(model.stream_state[0].numpy(), carried[0])
    # with dropout too, whose masks take their shape from the loop's outputs
    dropped = small_model(dropout=0.5)
    unknown = tf.function(lambda x: dropped(x, training=True),
                          input_signature=[tf.TensorSpec((None, 4), tf.int32)])
    for rows in (x, x[:2], x):
        logits = unknown(rows).numpy()
        assert logits.shape == (len(rows), 4, text8.VOCAB) and np.isfinite(logits).all()


def test_perplexity_metric_is_exp_of_the_loss():
    model = small_model()
    spec = get_spec("text8_bigram_lstm")
    build.compile_model(spec, recipe(batch_size=3), model)
    x, y = spec.example_batch(recipe(), 6, np.random.default_rng(0))
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]), rel=1e-5)


# --- sampling ---------------------------------------------------------------------------------

def test_sampling_repeats_with_its_seed():
    model = small_model()
    text = sample(model, "the ", 40, temperature=1.0, seed=7)
    assert text.startswith("the ") and len(text) == 44
    assert set(text) <= set(text8.ALPHABET)
    assert sample(model, "the ", 40, temperature=1.0, seed=7) == text
    assert sample(model, "the ", 40, temperature=1.0, seed=8) != text
    assert len(sample(model, "a", 5)) == 6  # one character is read after a space


@pytest.mark.parametrize("prime, length, temperature, message", [
    ("", 10, 1.0, "prime '' is empty"),
    ("The", 10, 1.0, "outside [a-z ]: 'T'"),
    ("the", 0, 1.0, "length 0 is not accepted"),
    ("the", 10, 0.0, "temperature 0.0 is not accepted"),
])
def test_bad_sampling_arguments_are_one_line_errors(prime, length, temperature, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        sample(small_model(), prime, length, temperature)


# --- a whole run ------------------------------------------------------------------------------

def test_run_reports_validation_and_heldout_perplexity(tiny_data, tmp_path):
    smoke = dict(SMOKE, epochs=2, heldout_chars=500)
    metrics = runner.run("text8_bigram_lstm", smoke, data_dir=tiny_data,
                         output=tmp_path / "run", verbose=0)
    test = metrics["test"]
    assert metrics["steps_trained"] == 6
    assert metrics["data"]["heldout_characters"] == 500
    assert test["heldout_bpc"] == pytest.approx(math.log2(test["heldout_perplexity"]))
    # the validation slice scored the assignment's way is what fit reported as val_perplexity
    assert test["valid_perplexity_1000"] == pytest.approx(
        metrics["history"]["val_perplexity"][metrics["evaluated_epoch"] - 1], rel=1e-4)
    assert 1 < test["heldout_perplexity"] < 27


def test_steps_per_execution_changes_no_result(tiny_data, tmp_path):
    """Several steps per graph call (the language model's default) train exactly what one
    step per call trains, the stream's state carried from step to step inside the call; the
    runner lowers it to stop at `max_steps` (6) and at each epoch's end (4 steps)."""
    base = dict(SMOKE, steps_per_epoch=4, epochs=2, heldout_chars=500, max_steps=6)
    runs = [runner.run("text8_bigram_lstm", dict(base, steps_per_execution=n),
                       data_dir=tiny_data, output=tmp_path / str(n), verbose=0)
            for n in (1, 4)]
    assert runs[0]["steps_trained"] == runs[1]["steps_trained"] == 6
    assert runs[0]["data"] == runs[1]["data"]
    for key in ("loss", "perplexity", "val_loss"):
        np.testing.assert_allclose(runs[1]["history"][key], runs[0]["history"][key], rtol=1e-5)
    for key, value in runs[0]["test"].items():
        assert runs[1]["test"][key] == pytest.approx(value, rel=1e-5)


def test_validation_split_is_refused_not_ignored():
    # the language model validates on the corpus' first characters: it has no such setting
    with pytest.raises(UsageError, match="unknown setting 'validation_split' for BigramLstmRecipe"):
        runner.run("text8_bigram_lstm", {"validation_split": 0.2})
