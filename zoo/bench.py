"""`zoo bench`: each model's training speed against its tutorial's own code, side by side.

For each model two worker processes start, one training the tutorial's code as written (its
model, its loop, TensorFlow's default threads) and one training the zoo's model as `zoo run`
does (the registry's model, data pipeline and compiled train step, the zoo's thread settings).
Thread pools are per process, and so is peak memory, hence two processes; they take turns, so
only one of them computes at any moment and each timed window of one is next to a window of
the other (`same_threads`: the tutorial's side gets the zoo's thread settings too, so the
ratio is the code's alone). Every figure is reported with its ratio, zoo over tutorial:

    first_step_s       seconds from the first training call to its end (tracing, compiling)
    train_per_s        examples (characters for a language model) per second: the median of
                       `windows` timed windows of `window` steps each, after the first step
    peak_rss_mb        the process's peak resident memory when training ends
    infer_b1_per_s     predictions per second at batch 1, from the zoo's exported SavedModel
    infer_b256_per_s   and at batch 256 (the tutorial's own model where its code allows it)
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import multiprocessing.connection
import os
import platform
import resource
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.errors import UsageError, ZooError


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What `zoo bench` compares for one model.

    Attributes:
        tutorial: builds the tutorial's loop from the data directory.
        window_steps: training steps in a timed window (about a second or more on 2 cores).
        unit: what `train_per_s` counts: "examples", or "chars" for a language model.
        zoo_settings: changes to the zoo's registered recipe for the comparison.
    """

    tutorial: Callable[[Any], Any]
    window_steps: int
    unit: str = "examples"
    zoo_settings: dict[str, Any] = dataclasses.field(default_factory=dict)


INFERENCE_BATCHES = (1, 256)
INFERENCE_SECONDS = 1.0


class KerasLoop:
    """`model.fit`'s inner loop without its callbacks: the compiled train function called on
    one persistent iterator over the (repeated) training pipeline."""

    def __init__(self, model, dataset, examples_per_step: int):
        self.model = model
        self.dataset = dataset
        self.examples_per_step = examples_per_step
        self.iterator = None

    def run(self, steps: int) -> int:
        """Trains about `steps` steps, whole calls of the compiled function; returns how many."""
        ran = 0
        if self.iterator is None:  # the first call builds the step as `fit` does
            self.model.fit(self.dataset.take(1), epochs=1, verbose=0)
            self.iterator = iter(self.dataset.repeat())
            ran = 1
        per_call = self.model.steps_per_execution
        logs = None
        for _ in range(math.ceil(max(0, steps - ran) / per_call)):
            logs = self.model.train_function(self.iterator)
            ran += per_call
        if logs is not None:
            float(logs.get_value()["loss"] if hasattr(logs, "get_value") else logs["loss"])
        return ran


def _imdb_tutorial(data_dir) -> KerasLoop:
    """The TF2 stacked-LSTMCell tutorial: its model and pipeline, trained by Keras' loop."""
    from zoo.reference import imdb_lstm as tutorial

    db_train, _ = tutorial.tutorial_datasets(data_dir)
    model = tutorial.tutorial_model()
    loop = KerasLoop(model, db_train, tutorial.batchsz)
    example = next(iter(db_train))[0]
    loop.predictor = lambda batch: _keras_predictor(model, example, batch)
    return loop


def _mnist_tutorial(cell: str) -> Callable[[Any], Any]:
    """The TF1 MNIST tutorial for `cell` ("lstm" or "gru"), built from the data directory."""

    def build(data_dir):
        from zoo.reference import mnist_rnn

        return mnist_rnn.TutorialLoop(cell, data_dir)

    return build


def _text8_tutorial(data_dir):
    """The Udacity assignment's graph and loop, on the training text the zoo's side reads."""
    from zoo.data import text8
    from zoo.reference import text8_lstm

    recipe = _zoo_recipe("text8_bigram_lstm")
    ids = text8.encode_bytes(text8.read_bytes(text8.locate(recipe.corpus, data_dir).path),
                             recipe.clean_text, recipe.corpus)
    _, train, _ = text8.split(ids, recipe.valid_chars, recipe.heldout_chars, 1, recipe.corpus)
    return text8_lstm.AssignmentLoop(text8.decode(train))


# The language model is compared at the assignment's 64 units, on a corpus that is here offline.
COMPARISONS = {
    "imdb_lstm": Comparison(_imdb_tutorial, window_steps=20),
    "mnist_lstm": Comparison(_mnist_tutorial("lstm"), window_steps=40),
    "mnist_gru": Comparison(_mnist_tutorial("gru"), window_steps=40),
    "text8_bigram_lstm": Comparison(
        _text8_tutorial, window_steps=200, unit="chars",
        zoo_settings={"units": 64, "corpus": "austen_text8", "heldout_chars": 300000}),
}


def comparison(name: str) -> Comparison:
    """The bench's record for `name`; refuses a model it has no tutorial code for."""
    if name not in COMPARISONS:
        raise UsageError(f"zoo bench has no tutorial code for {name!r}; it has "
                         f"{', '.join(COMPARISONS)}")
    return COMPARISONS[name]


def _keras_predictor(model, example, batch: int):
    """The tutorial model's own forward pass on `batch` examples (it may refuse the size)."""
    import tensorflow as tf

    inputs = tf.repeat(example[:1], batch, axis=0)
    predict = tf.function(lambda x: model(x, training=False))
    predict(inputs)
    return lambda: predict(inputs)


def _zoo_recipe(name: str):
    from zoo.config import override
    from zoo.registry import get_spec

    return override(get_spec(name).recipe, comparison(name).zoo_settings)


def zoo_side(name: str, data_dir):
    """The zoo's model, data pipeline and train step for `name`, as `zoo run` builds them."""
    from zoo import runner
    from zoo.registry import get_spec

    spec = get_spec(name)
    recipe = _zoo_recipe(name)
    data = spec.load_data(recipe, data_dir)
    model = runner.build_and_compile(spec, recipe, data.train_examples)
    per_step = recipe.batch_size * getattr(recipe, "unrollings", 1)
    loop = KerasLoop(model, data.train, per_step)
    loop.predictor = _export_predictor(spec, recipe, model, data_dir)
    return loop


def _export_predictor(spec, recipe, model, data_dir):
    """A function of the batch size: `serving_default` of the model exported by the zoo's
    exporter and loaded back, fed that many inputs (a language model: a one-bigram prefix,
    one step, as the assignment's predictor takes one character)."""
    import tensorflow as tf

    from zoo import export, runner

    exported = []  # exported on first use: after training, so peak memory leaves it out

    def predictor(batch: int):
        if not exported:
            inference = runner.build_model(spec, recipe)
            inference.set_weights(model.get_weights())
            with tempfile.TemporaryDirectory(prefix="zoo-bench-") as folder:
                export.write_saved_model(inference, spec.serving(inference, recipe, data_dir),
                                         Path(folder) / "1", card="bench")
                exported.append(tf.saved_model.load(str(Path(folder) / "1")))
        signature = exported[0].signatures["serving_default"]
        inputs = {}
        for key, tensor_spec in signature.structured_input_signature[1].items():
            shape = [batch, *tensor_spec.shape[1:]]
            inputs[key] = (tf.fill(shape, "th") if tensor_spec.dtype == tf.string
                           else tf.zeros(shape, tensor_spec.dtype))
        return lambda: signature(**inputs)

    return predictor


def _configure_threads(side: str, same_threads: bool) -> None:
    if side == "zoo" or same_threads:
        from zoo.training import configure_threads

        configure_threads()


def _inference_rate(loop, batch: int) -> float | str:
    try:
        predict = loop.predictor(batch)
        predict()
    except Exception as error:  # a tutorial's model may refuse the batch size: report why
        return "fails: " + str(error).strip().splitlines()[-1][:120]
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < INFERENCE_SECONDS:
        predict()
        calls += 1
    return round(calls * batch / (time.perf_counter() - start), 1)


def worker(conn, name: str, side: str, data_dir, window: int, same_threads: bool) -> None:
    """One side of one model: builds when told, then one timed window per message."""
    try:
        _configure_threads(side, same_threads)
        conn.recv()
        if side == "zoo":
            loop = zoo_side(name, data_dir)
        else:
            loop = comparison(name).tutorial(data_dir)
        start = time.perf_counter()
        loop.run(1)
        conn.send(time.perf_counter() - start)
        while conn.recv() == "window":
            start = time.perf_counter()
            steps = loop.run(window)
            conn.send(steps * loop.examples_per_step / (time.perf_counter() - start))
        result = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        for batch in INFERENCE_BATCHES:
            result[f"infer_b{batch}_per_s"] = _inference_rate(loop, batch)
        conn.send(result)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the parent stopped the bench
        return
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        conn.send({"error": f"{type(error).__name__}: {first_line}",
                   "traceback": traceback.format_exc()})


def bench_model(name: str, data_dir, windows: int, window: int | None,
                same_threads: bool = False) -> dict[str, Any]:
    """Both sides of one model, taking turns; returns their figures and the ratios."""
    record = comparison(name)
    window = window or record.window_steps
    context = multiprocessing.get_context("spawn")
    sides, results = {}, {}
    try:
        for side in ("tutorial", "zoo"):
            parent, child = context.Pipe()
            process = context.Process(target=worker,
                                      args=(child, name, side, data_dir, window, same_threads),
                                      daemon=True)
            process.start()
            child.close()  # the worker's end: only the worker may hold it, so its death is seen
            sides[side] = (parent, process)
        for side, (conn, process) in sides.items():
            conn.send("build")
            results[side] = {"first_step_s": round(_receive(conn, process, name, side), 2),
                             "windows": []}
        for _ in range(windows):
            for side, (conn, process) in sides.items():
                conn.send("window")
                results[side]["windows"].append(round(_receive(conn, process, name, side), 1))
        for side, (conn, process) in sides.items():
            conn.send("finish")
            results[side].update(_receive(conn, process, name, side))
            results[side]["train_per_s"] = round(statistics.median(results[side]["windows"]), 1)
    finally:
        for conn, process in sides.values():
            conn.close()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    ratios = {}
    for key in ("train_per_s", "first_step_s", "peak_rss_mb", "infer_b1_per_s",
                "infer_b256_per_s"):
        theirs, ours = results["tutorial"][key], results["zoo"][key]
        if isinstance(theirs, (int, float)) and isinstance(ours, (int, float)) and theirs:
            ratios[key] = round(ours / theirs, 2)
    return {"unit": record.unit, "window_steps": window,
            "zoo_settings": dict(record.zoo_settings), **results, "ratio": ratios}


def _receive(conn, process, name: str, side: str):
    # wait for a message or for the worker's end, whichever comes first
    multiprocessing.connection.wait([conn, process.sentinel])
    try:
        if not conn.poll():
            raise EOFError
        message = conn.recv()
    except EOFError:
        raise ZooError(f"bench {name}: the {side} worker died (exit code "
                       f"{process.exitcode}; out of memory?)") from None
    if isinstance(message, dict) and "error" in message:
        raise ZooError(f"bench {name}: the {side} side failed: {message['error']}")
    return message


def machine() -> dict[str, Any]:
    import keras
    import tensorflow as tf

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "gpus": len(tf.config.list_physical_devices("GPU"))}


def bench(names: list[str], data_dir, *, windows: int = 5, window: int | None = None,
          same_threads: bool = False, output: Path | None = None, echo=print) -> dict[str, Any]:
    """Benchmarks `names`, prints a table, writes the JSON to `output`; returns the report.
    `same_threads` gives the tutorial's side the zoo's thread settings too."""
    from zoo.io import write_json

    for name in names:
        comparison(name)  # refuse a model without a tutorial before any worker starts
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "windows": windows, "tutorial_threads": "zoo's" if same_threads else "default",
              "models": {}}
    for name in names:
        echo(f"bench {name}: tutorial and zoo, {windows} windows each ...")
        report["models"][name] = bench_model(name, data_dir, windows, window, same_threads)
    echo(table(report))
    if output is not None:
        write_json(output, report)
        echo(f"wrote {output}")
    return report


def table(report: dict[str, Any]) -> str:
    """A markdown table: each figure as zoo / tutorial (ratio)."""
    columns = [("train_per_s", "train /s"), ("first_step_s", "first step s"),
               ("peak_rss_mb", "peak MB"), ("infer_b1_per_s", "infer b1 /s"),
               ("infer_b256_per_s", "infer b256 /s")]
    lines = ["| model | " + " | ".join(label for _, label in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, result in report["models"].items():
        cells = []
        for key, _ in columns:
            ours, theirs = result["zoo"][key], result["tutorial"][key]
            ratio = result["ratio"].get(key)
            theirs = theirs if isinstance(theirs, (int, float)) else "fails"
            cells.append(f"{ours} / {theirs}" + (f" (**{ratio}x**)" if ratio else ""))
        unit = " (chars)" if result["unit"] == "chars" else ""
        lines.append(f"| {name}{unit} | " + " | ".join(cells) + " |")
    machine = report["machine"]
    lines.append(f"\nzoo / tutorial (tutorial with {report['tutorial_threads']} threads); "
                 f"{machine['cpu']}, {machine['cores']} cores, TF {machine['tensorflow']}, "
                 f"Keras {machine['keras']}, {report['date']}")
    return "\n".join(lines)
