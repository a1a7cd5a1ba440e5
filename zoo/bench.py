"""`zoo bench`: each model's training speed against its tutorial's own code, side by side.

For each model with tutorial code (its spec's `comparison`) two worker processes start, one
training the tutorial's code as written (its model, its loop, TensorFlow's default threads) and
one training the zoo's model as `zoo run` does (the registry's model, data pipeline and
compiled train step, the zoo's thread settings). Thread pools are per process, and so is peak
memory, hence two processes; they take turns, so only one of them computes at any moment and
each timed window of one is next to a window of the other (`same_threads`: the tutorial's side
gets the zoo's thread settings too, so the ratio is the code's alone). Every figure is
reported with its ratio, zoo over tutorial:

    first_step_s       seconds from the first training call (one call of the compiled step:
                       `steps_per_execution` steps) to its end (tracing, compiling)
    train_per_s        examples (characters for a language model) per second: the median of
                       `windows` timed windows of `window` steps each, after the first step
    peak_rss_mb        the process's peak resident memory when training ends
    infer_b1_per_s     predictions per second at batch 1, from the zoo's exported SavedModel
    infer_b256_per_s   and at batch 256 (the tutorial's own model where its code allows it)

A model without tutorial code is benchmarked alone: the zoo's side only, no ratios.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import platform
import resource
import statistics
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from zoo.errors import ZooError
from zoo.spec import Comparison

INFERENCE_BATCHES = (1, 256)
INFERENCE_SECONDS = 1.0
DEFAULT_WINDOW = 20  # training steps per window for a model without a Comparison


def comparison(name: str) -> Comparison | None:
    """The registered model's bench record: its tutorial code, or None (benchmarked alone)."""
    from zoo.registry import get_spec

    return get_spec(name).comparison


def zoo_recipe(name: str, settings: dict[str, Any] | None = None):
    """The zoo's recipe in the bench: the registered one with the comparison's settings, then
    `settings` (the command line's `--set`)."""
    from zoo.config import override
    from zoo.registry import get_spec

    record = comparison(name)
    recipe = override(get_spec(name).recipe, record.zoo_settings if record else {})
    return override(recipe, settings or {})


def examples_per_step(recipe) -> int:
    """Examples in one training step: the batch, times its time steps for a language model
    (characters)."""
    return recipe.batch_size * getattr(recipe, "unrollings", 1)


def zoo_loop(spec, recipe, data_dir):
    """The zoo's model, data pipeline and train step for `recipe`, as `zoo run` builds them
    (also the race's zoo side); returns the loop and the `Datasets`."""
    from zoo.bench_loops import KerasLoop
    from zoo.build import build_and_compile

    data = spec.load_data(recipe, data_dir)
    model = build_and_compile(spec, recipe, data)
    return KerasLoop(model, data.train, examples_per_step(recipe)), data


def zoo_side(name: str, data_dir, settings: dict[str, Any] | None = None):
    """The zoo's loop for `name` in the bench, with the exported model's predictor."""
    from zoo.registry import get_spec

    spec = get_spec(name)
    recipe = zoo_recipe(name, settings)
    loop, _ = zoo_loop(spec, recipe, data_dir)
    loop.predictor = _export_predictor(spec, recipe, loop.model, data_dir)
    return loop


def _export_predictor(spec, recipe, model, data_dir):
    """A function of the batch size: `serving_default` of the model exported by the zoo's
    exporter and loaded back, fed that many inputs (a language model: a one-bigram prefix,
    one step, as the assignment's predictor takes one character)."""
    import tensorflow as tf

    from zoo import export
    from zoo.build import build_model

    exported = []  # exported on first use: after training, so peak memory leaves it out

    def predictor(batch: int):
        if not exported:
            inference = build_model(spec, recipe)
            inference.set_weights(model.get_weights())
            with tempfile.TemporaryDirectory(prefix="zoo-bench-") as folder:
                export.write_saved_model(inference, spec.serving(inference, recipe, data_dir),
                                         Path(folder) / "1", card="bench",
                                         record={"model": spec.name, "family": spec.family})
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


def worker(conn, name: str, side: str, data_dir, window: int, same_threads: bool,
           settings: dict[str, Any] | None = None) -> None:
    """One side of one model: builds when told, then one timed window per message."""
    try:
        _configure_threads(side, same_threads)
        conn.recv()
        if side == "zoo":
            loop = zoo_side(name, data_dir, settings)
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
        conn.send(failure(error))


def failure(error: Exception) -> dict[str, str]:
    """What a worker sends back for an error: its first line, and the traceback."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    return {"error": f"{type(error).__name__}: {first_line}", "traceback": traceback.format_exc()}


def bench_model(name: str, data_dir, windows: int, window: int | None,
                same_threads: bool = False, settings: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """Both sides of one model, taking turns (the zoo's alone for a model without tutorial
    code); returns their figures and the ratios."""
    record = comparison(name)
    window = window or (record.window_steps if record else DEFAULT_WINDOW)
    context = multiprocessing.get_context("spawn")
    sides, results = {}, {}
    try:
        for side in ("tutorial", "zoo") if record else ("zoo",):
            parent, child = context.Pipe()
            process = context.Process(target=worker,
                                      args=(child, name, side, data_dir, window, same_threads,
                                            settings),
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
        theirs, ours = results.get("tutorial", {}).get(key), results["zoo"][key]
        if isinstance(theirs, (int, float)) and isinstance(ours, (int, float)) and theirs:
            ratios[key] = round(ours / theirs, 2)
    from zoo.registry import get_spec

    spec_flops = get_spec(name).flops
    if spec_flops is not None:  # forward and backward: about 3 times the forward products
        results["zoo"]["gflops_per_s"] = round(
            3 * spec_flops(zoo_recipe(name, settings)) * results["zoo"]["train_per_s"] / 1e9, 1)
    return {"unit": record.unit if record else "examples", "window_steps": window,
            "zoo_settings": {**(record.zoo_settings if record else {}), **(settings or {})},
            **results, "ratio": ratios}


def matmul_peaks(size: int = 2048, seconds: float = 1.0) -> dict[str, float]:
    """GFLOP/s of `size` x `size` matrix products in float32 and bfloat16, on TensorFlow's
    default threads (all cores): this machine's arithmetic limit, as far as TensorFlow
    reaches it."""
    import tensorflow as tf

    peaks = {}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.random.normal([size, size], dtype=tf.float32)
        a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
        product = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1], tf.float32)))
        product(a, b).numpy()
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            product(a, b).numpy()
            calls += 1
        peaks[dtype.name] = round(2 * size**3 * calls / (time.perf_counter() - start) / 1e9, 1)
    return peaks


def measured_peaks() -> dict[str, float]:
    """`matmul_peaks` in a fresh process: the thread settings of this one (the zoo's) stay."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(matmul_peaks)


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

    from zoo.runtime import bfloat16_hardware, cpuinfo

    cpu, fields = platform.processor(), cpuinfo()
    if "model name" in fields:  # a name as bare as "AMD EPYC" needs its family and model
        cpu = (f"{fields['model name']} (family {fields.get('cpu family', '?')}, model "
               f"{fields.get('model', '?')})")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "gpus": len(tf.config.list_physical_devices("GPU")),
            "bfloat16_units": bfloat16_hardware()}


def bench(names: list[str], data_dir, *, windows: int = 5, window: int | None = None,
          same_threads: bool = False, settings: dict[str, Any] | None = None,
          output: Path | None = None, echo=print) -> dict[str, Any]:
    """Benchmarks `names`, prints a table, writes the JSON to `output`; returns the report.
    `same_threads` gives the tutorial's side the zoo's thread settings too; `settings`
    change the zoo's recipe."""
    from zoo.io import write_json

    report = {"machine": machine(), "matmul_peaks_gflops": measured_peaks(),
              "date": time.strftime("%Y-%m-%d %H:%M"), "windows": windows,
              "tutorial_threads": "zoo's" if same_threads else "default",
              "settings": settings or {}, "models": {}}
    for name in names:
        sides = "tutorial and zoo" if comparison(name) else "zoo alone (no tutorial code)"
        echo(f"bench {name}: {sides}, {windows} windows each ...")
        report["models"][name] = bench_model(name, data_dir, windows, window, same_threads,
                                             settings)
    echo(table(report))
    if output is not None:
        write_json(output, report)
        echo(f"wrote {output}")
    return report


def table(report: dict[str, Any]) -> str:
    """A markdown table: each figure as zoo / tutorial (ratio), and the zoo's GFLOP/s against
    this machine's matrix-product peaks."""
    columns = [("train_per_s", "train /s"), ("first_step_s", "first step s"),
               ("peak_rss_mb", "peak MB"), ("infer_b1_per_s", "infer b1 /s"),
               ("infer_b256_per_s", "infer b256 /s")]
    lines = ["| model | " + " | ".join(label for _, label in columns) + " | zoo GFLOP/s |",
             "|---|" + "---|" * (len(columns) + 1)]
    for name, result in report["models"].items():
        cells = []
        for key, _ in columns:
            ours, ratio = result["zoo"][key], result["ratio"].get(key)
            if "tutorial" not in result:
                cells.append(f"{ours} / -")
                continue
            theirs = result["tutorial"][key]
            theirs = theirs if isinstance(theirs, (int, float)) else "fails"
            cells.append(f"{ours} / {theirs}" + (f" (**{ratio}x**)" if ratio else ""))
        cells.append(str(result["zoo"].get("gflops_per_s", "-")))
        unit = " (chars)" if result["unit"] == "chars" else ""
        lines.append(f"| {name}{unit} | " + " | ".join(cells) + " |")
    machine, peaks = report["machine"], report["matmul_peaks_gflops"]
    settings = "".join(f" --set {key}={value}" for key, value in report["settings"].items())
    lines.append(f"\nzoo{settings} / tutorial (tutorial with {report['tutorial_threads']} "
                 f"threads); zoo GFLOP/s: its matrix products, forward and backward, per second "
                 f"of training; this machine's 2048 x 2048 products: float32 "
                 f"{peaks['float32']}, bfloat16 {peaks['bfloat16']} GFLOP/s; "
                 f"{machine['cpu']}, {machine['cores']} cores, bfloat16 units: "
                 f"{', '.join(machine['bfloat16_units']) or 'none'}, TF {machine['tensorflow']}, "
                 f"Keras {machine['keras']}, {report['date']}")
    return "\n".join(lines)
