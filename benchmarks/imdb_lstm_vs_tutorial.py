"""The zoo's imdb_lstm against the tutorial's own code: test accuracy after the full recipe.

    ZOO_DATA_DIR=../shared/data python benchmarks/imdb_lstm_vs_tutorial.py [--epochs 4]

The tutorial's script and `zoo run imdb_lstm` each train their full recipe; their test
accuracies and per-epoch throughput are printed. Speed side by side: `zoo bench imdb_lstm`.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from zoo.callbacks import EpochRecord, EpochRecorder
from zoo.data.files import resolve_data_dir
from zoo.models.imdb_lstm import tutorial
from zoo.runner import run


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
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--output", help="keep zoo's run directory here (default: discard it)")
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)

    report = quality(data_dir, args.epochs, args.output)
    print(json.dumps(report, indent=2))
    print("\n{:9} {:>9} {:>7} {:>14}".format("", "test acc", "test n", "train ex/s"))
    for name, result in report.items():
        print(f"{name:9} {result['test_accuracy']:>9} {result['test_examples']:>7} "
              f"{result['train_examples_per_second']:>14}")


if __name__ == "__main__":
    main()
