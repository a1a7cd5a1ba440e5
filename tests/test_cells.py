"""The LSTM variants and the GRU (`zoo.models.cells`): each against a plain step-by-step
implementation of its equations (outputs and gradients to 1e-5), against Keras' own cells where
a variant is one (the standard LSTM, the peephole LSTM with zero peepholes, the GRU), and
through the zoo's time loop."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import UsageError
from zoo.models.cells import CELLS, cell_params, make_cell
from zoo.models.recurrence import scan_in_chunks

BATCH, TIME, FEATURES, UNITS = 3, 7, 5, 4


def reference_step(name: str, weights: dict, x, h, c):
    """One step of `name` written gate by gate, with a weight matrix per gate."""
    def gate(index, state_terms=0.0):
        cols = slice(index * UNITS, (index + 1) * UNITS)
        return (tf.matmul(x, weights["kernel"][:, cols]) + weights["bias"][cols]
                + tf.matmul(h, weights["recurrent_kernel"][:, cols]) + state_terms)

    if name == "gru":
        cols = [slice(k * UNITS, (k + 1) * UNITS) for k in range(3)]
        def recurrent(k):
            return (tf.matmul(h, weights["recurrent_kernel"][:, cols[k]])
                    + weights["recurrent_bias"][cols[k]])

        def inputs(k):
            return tf.matmul(x, weights["kernel"][:, cols[k]]) + weights["bias"][cols[k]]

        z = tf.sigmoid(inputs(0) + recurrent(0))
        r = tf.sigmoid(inputs(1) + recurrent(1))
        candidate = tf.tanh(inputs(2) + r * recurrent(2))
        return z * h + (1 - z) * candidate, None
    if name in ("lstm", "peephole"):
        peep = weights.get("peephole", tf.zeros((3, UNITS)))
        i = tf.sigmoid(gate(0, peep[0] * c))
        f = tf.sigmoid(gate(1, peep[1] * c))
        c = f * c + i * tf.tanh(gate(2))
        o = tf.sigmoid(gate(3, peep[2] * c))
        return o * tf.tanh(c), c
    i, g, o = tf.sigmoid(gate(0)), tf.tanh(gate(1)), tf.sigmoid(gate(2))
    f = 1 - i if name == "cifg" else 1.0
    c = f * c + i * g
    return o * tf.tanh(c), c


def random_cell(name: str, seed: int = 0):
    cell = make_cell(name, UNITS)
    cell.build((None, FEATURES))
    rng = np.random.default_rng(seed)
    for weight in cell.weights:  # every weight away from its start (peepholes start at 0)
        weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))
    return cell


def run_cell(cell, inputs):
    """The cell called step by step from zeros; (outputs over time, last state)."""
    state = [tf.zeros((BATCH, UNITS))] * len(cell.state_size)
    outputs = []
    for t in range(TIME):
        output, state = cell(inputs[:, t], state)
        outputs.append(output)
    return tf.stack(outputs, axis=1), state


@pytest.mark.parametrize("name", CELLS)
def test_cell_matches_its_equations_with_gradients(name):
    cell = random_cell(name)
    inputs = tf.constant(np.random.default_rng(1).normal(size=(BATCH, TIME, FEATURES)),
                         tf.float32)
    weights = {w.name: w for w in cell.weights}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs)
        outputs, _ = run_cell(cell, inputs)
        h = c = tf.zeros((BATCH, UNITS))
        expected = []
        for t in range(TIME):
            h, c = reference_step(name, weights, inputs[:, t], h, c)
            expected.append(h)
        expected = tf.stack(expected, axis=1)
        # a loss that weighs every output differently
        mix = tf.constant(np.random.default_rng(2).normal(size=(TIME, UNITS)), tf.float32)
        loss, expected_loss = tf.reduce_sum(outputs * mix), tf.reduce_sum(expected * mix)
    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), atol=1e-5)
    sources = [inputs, *cell.trainable_variables]
    for got, want in zip(tape.gradient(loss, sources), tape.gradient(expected_loss, sources)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, inputs)))) > 1e-3


@pytest.mark.parametrize("name, keras_cell", [("lstm", "lstm"), ("peephole", "lstm"),
                                              ("gru", "gru")])
def test_variants_that_are_keras_cells_compute_what_keras_does(name, keras_cell):
    cell = random_cell(name)
    if name == "peephole":
        cell.peephole.assign(np.zeros((3, UNITS), "float32"))
    theirs = (keras.layers.LSTMCell(UNITS) if keras_cell == "lstm"
              else keras.layers.GRUCell(UNITS, reset_after=True))
    theirs.build((None, FEATURES))
    weights = [cell.kernel, cell.recurrent_kernel]
    weights.append(np.stack([cell.bias, cell.recurrent_bias]) if name == "gru" else cell.bias)
    theirs.set_weights([np.asarray(w) for w in weights])
    inputs = np.random.default_rng(3).normal(size=(BATCH, TIME, FEATURES)).astype("float32")
    expected = keras.layers.RNN(theirs, return_sequences=True)(inputs)
    ours = keras.layers.RNN(cell, return_sequences=True)(inputs)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), atol=1e-5)


@pytest.mark.parametrize("name", CELLS)
def test_the_time_loop_runs_every_cell_as_its_steps_do(name):
    cell = random_cell(name)
    inputs = tf.constant(np.random.default_rng(4).normal(size=(BATCH, TIME * 3, FEATURES)),
                         tf.float32)
    state = tuple([tf.zeros((BATCH, UNITS))] * len(cell.state_size))
    looped, last = scan_in_chunks(cell.step, tf.transpose(inputs, (1, 0, 2)), state,
                                  max_chunk=4, project=cell.project)
    outputs, expected_last = [], state
    for t in range(TIME * 3):
        output, expected_last = cell(inputs[:, t], list(expected_last))
        outputs.append(output)
    np.testing.assert_allclose(np.asarray(looped), np.stack(outputs), atol=1e-5)
    for got, want in zip(last, expected_last):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)


@pytest.mark.parametrize("name", CELLS)
def test_parameter_counts_config_and_start(name):
    cell = make_cell(name, UNITS)
    cell.build((None, FEATURES))
    assert sum(int(np.prod(w.shape)) for w in cell.trainable_weights) == \
        cell_params(name, FEATURES, UNITS)
    assert type(cell).from_config(cell.get_config()).get_config() == cell.get_config()
    if name in ("lstm", "peephole"):  # the forget gate's bias starts at 1, the rest at 0
        np.testing.assert_array_equal(np.asarray(cell.bias),
                                      np.repeat([0.0, 1.0, 0.0, 0.0], UNITS))


def test_gates_per_cell_and_unknown_names():
    assert {name: cell_params(name, 10, 8) for name in CELLS} == {
        "lstm": 4 * 8 * 19, "peephole": 4 * 8 * 19 + 24, "cifg": 3 * 8 * 19,
        "no_forget": 3 * 8 * 19, "gru": 3 * 8 * 19 + 24}
    with pytest.raises(UsageError, match="cell='vanilla' is not accepted; expected one of "
                                         "lstm, peephole, cifg, no_forget, gru"):
        make_cell("vanilla", 4)


# --- the cells in the models that take a `cell` setting -----------------------------------

VARIANTS = [name for name in CELLS if name != "lstm"]


# the forecaster's other decoder: each predicted row fed back through the cell's state
EXTRA = {"forecast_multi_multi": {"decoder": "autoregressive", "highway": True}}


def expected_params(model_name: str, cell: str, recipe) -> int:
    if model_name == "imdb_lstm":
        return (recipe.vocab_size * recipe.embedding_dim
                + cell_params(cell, recipe.embedding_dim, recipe.units)
                + cell_params(cell, recipe.units, recipe.units) + recipe.units + 1)
    if model_name.startswith("forecast"):
        columns = len(recipe.columns)
        out = recipe.horizon if recipe.decoder == "single_shot" else columns
        highway = (recipe.history * columns + 1) * recipe.horizon if recipe.highway else 0
        return cell_params(cell, columns, recipe.units) + recipe.units * out + out + highway
    if model_name == "text8_bigram_lstm":
        return (729 * recipe.embedding_dim + cell_params(cell, recipe.embedding_dim, recipe.units)
                + recipe.units * 27 + 27)
    return (28 * recipe.units + recipe.units + cell_params(cell, recipe.units, recipe.units)
            + recipe.units * 10 + 10)  # mnist_lstm: projection, cell, logits


@pytest.mark.parametrize("model_name", ["imdb_lstm", "mnist_lstm", "text8_bigram_lstm",
                                        "forecast_uni_single", "forecast_multi_multi"])
@pytest.mark.parametrize("cell", VARIANTS)
def test_models_train_with_every_cell(model_name, cell):
    from zoo import config as config_lib
    from zoo.build import build_model, compile_model, count_params
    from zoo.registry import REGISTRY

    keras.utils.set_random_seed(0)
    spec = REGISTRY[model_name]
    recipe = config_lib.override(spec.recipe, dict(spec.smoke, cell=cell, learning_rate=3e-2,
                                                   lr_schedule="constant",
                                                   **EXTRA.get(model_name, {})))
    model = compile_model(spec, recipe, build_model(spec, recipe))
    assert count_params(model) == expected_params(model_name, cell, recipe)
    x, y = spec.example_batch(recipe, 16, np.random.default_rng(0))
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    for _ in range(10):
        model.train_on_batch(x, y)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] < 0.98 * before


@pytest.mark.parametrize("cell", VARIANTS)
def test_imdb_lstm_loop_is_the_two_cells_stepped_by_hand(cell):
    from zoo.models.imdb_lstm.model import StackedLSTMClassifier

    model = StackedLSTMClassifier(vocab_size=30, sequence_length=9, embedding_dim=FEATURES,
                                  units=UNITS, dropout=0.5, cell=cell)
    ids = np.random.default_rng(5).integers(0, 30, size=(BATCH, 9)).astype("int32")
    got = model(ids)  # not training: no dropout
    vectors = model.embedding(ids)
    state_1 = [tf.zeros((BATCH, UNITS))] * len(model.cell_1.state_size)
    state_2 = list(state_1)
    for t in range(9):
        h_1, state_1 = model.cell_1(vectors[:, t], state_1)
        h_2, state_2 = model.cell_2(h_1, state_2)
    np.testing.assert_allclose(np.asarray(got), np.asarray(model.classifier(h_2)), atol=1e-5)


@pytest.mark.parametrize("cell", VARIANTS)
def test_mnist_loop_is_the_keras_rnn_layer(cell):
    from zoo.models.mnist_rnn.model import RowSequenceClassifier

    model = RowSequenceClassifier(cell=cell, units=UNITS, input_projection=True)
    images = np.random.default_rng(6).random((BATCH, 28, 28)).astype("float32")
    model(images)  # builds it
    np.testing.assert_allclose(np.asarray(model.logits_by_loop(images)),
                               np.asarray(model.logits_by_layer(images)), atol=1e-5)


def test_a_cell_setting_is_checked():
    from zoo import config as config_lib
    from zoo.registry import REGISTRY

    with pytest.raises(UsageError, match="cell='lstm2' is not accepted; expected lstm, "
                                         "peephole, cifg, no_forget, gru"):
        config_lib.override(REGISTRY["imdb_lstm"].recipe, {"cell": "lstm2"})


@pytest.mark.parametrize("cell", VARIANTS)
def test_the_language_model_carries_any_cell_s_state(cell):
    from zoo.models.text8_bigram_lstm.model import BigramLanguageModel

    model = BigramLanguageModel(embedding_dim=FEATURES, units=UNITS, dropout=0.0,
                                stream_batch_size=BATCH, cell=cell)
    ids = np.random.default_rng(7).integers(0, 729, size=(BATCH, 12)).astype("int32")
    whole, state = model(ids, return_state=True)
    assert len(model.stream_state) == len(state) == len(model.cell.state_size)
    # two training batches of the stream continue one sequence: the state is carried
    first = model(ids[:, :6], training=True)
    second = model(ids[:, 6:], training=True)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), np.asarray(whole),
                               atol=1e-5)
    for kept, final in zip(model.stream_state, state):
        np.testing.assert_allclose(kept.numpy(), np.asarray(final), atol=1e-5)
