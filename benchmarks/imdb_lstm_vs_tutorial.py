"""The zoo's imdb_lstm against the tutorial's own code, side by side in one process.

    ZOO_DATA_DIR=../shared/data python benchmarks/imdb_lstm_vs_tutorial.py [--epochs 4]

1. Throughput: both models are built and traced, then timed in alternating windows of
   `--window` training batches of 128 real reviews (so a busy moment of the machine hits both),
   and the median training examples per second of each is printed.
2. Quality (unless --skip-quality): the tutorial's script and `zoo run imdb_lstm` each train
   their full recipe; their test accuracies and per-epoch throughput are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import keras
import tensorflow as tf

from zoo.data import imdb
from zoo.data.files import resolve_data_dir
from zoo.reference import imdb_lstm as tutorial
from zoo.registry import get_spec
from zoo.runner import EpochRecord, EpochRecorder, build_and_compile, run


def throughput(data_dir, windows: int, window: int) -> dict[str, dict]:
    raw = imdb.read_raw(imdb.locate(data_dir).path)
    (x_train, y_train), _ = imdb.process(raw, tutorial.total_words, tutorial.max_review_len)
    batches = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .batch(tutorial.batchsz, drop_remainder=True)
        .take(window)
        .cache()
    )
    theirs = tutorial.MyRNN(64)
    theirs.compile(optimizer=keras.optimizers.Adam(0.001),
                   loss=keras.losses.BinaryCrossentropy(), metrics=["accuracy"])
    spec = get_spec("imdb_lstm")
    models = {"tutorial": theirs, "zoo": build_and_compile(spec, spec.recipe)}
    results = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(batches.take(1), epochs=1, verbose=0)
        results[name] = {"first_step_seconds": round(time.perf_counter() - start, 1),
                         "windows": []}
    for _ in range(windows):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(batches, epochs=1, verbose=0)
            rate = window * tutorial.batchsz / (time.perf_counter() - start)
            results[name]["windows"].append(round(rate, 1))
    for result in results.values():
        result["median_examples_per_second"] = round(statistics.median(result["windows"]), 1)
    return results


def quality(data_dir, epochs: int, output: str | None) -> dict[str, dict]:
    record = EpochRecord()
    # The tutorial drops the last partial batch: 195 batches of 128 per epoch.
    kept = 25000 // tutorial.batchsz * tutorial.batchsz
    recorder = EpochRecorder(record, tutorial.batchsz, kept)
    _, test = tutorial.train_tutorial(data_dir, epochs, callbacks=[recorder], verbose=2)
    results = {"tutorial": {"test_accuracy": round(test["accuracy"], 4), "test_examples": kept,
                            "train_examples_per_second": round(record.examples_per_second(), 1)}}
    with tempfile.TemporaryDirectory() as scratch:
        metrics = run("imdb_lstm", {"epochs": epochs}, data_dir=data_dir,
                      output=output or scratch, verbose=2)
    results["zoo"] = {"test_accuracy": round(metrics["test"]["accuracy"], 4),
                      "test_examples": metrics["data"]["test_examples"],
                      "train_examples_per_second": metrics["train_examples_per_second"]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window", type=int, default=30, help="batches per timed window")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--output", help="keep zoo's run directory here (default: discard it)")
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)

    report = {"throughput": throughput(data_dir, args.windows, args.window)}
    if not args.skip_quality:
        report["quality"] = quality(data_dir, args.epochs, args.output)
    print(json.dumps(report, indent=2))
    header = ("", "train ex/s (windows)", "first step s", "test acc", "test n")
    print("\n{:9} {:>20} {:>12} {:>9} {:>7}".format(*header))
    for name in ("tutorial", "zoo"):
        speed = report["throughput"][name]
        q = report.get("quality", {}).get(name, {})
        print(f"{name:9} {speed['median_examples_per_second']:>20} "
              f"{speed['first_step_seconds']:>12} {q.get('test_accuracy', '-'):>9} "
              f"{q.get('test_examples', '-'):>7}")


if __name__ == "__main__":
    main()
