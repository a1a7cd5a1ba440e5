"""Trains the tutorial's code and `zoo run imdb_lstm` one after the other in one process and
prints their training throughput and test accuracy side by side.

    ZOO_DATA_DIR=../shared/data python benchmarks/imdb_lstm_vs_tutorial.py [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import tempfile

from zoo.data.files import resolve_data_dir
from zoo.reference.imdb_lstm import batchsz, train_tutorial
from zoo.runner import EpochRecord, EpochRecorder, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data-dir")
    parser.add_argument("--zoo-first", action="store_true", help="train zoo's model first")
    parser.add_argument("--output", help="keep zoo's run directory here (default: discard it)")
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)

    def tutorial():
        record = EpochRecord()
        # The tutorial drops the last partial batch: 195 batches of 128 per epoch.
        recorder = EpochRecorder(record, batchsz, 25000 // batchsz * batchsz)
        _, test = train_tutorial(data_dir, args.epochs, callbacks=[recorder], verbose=2)
        return {"train_examples_per_second": round(record.examples_per_second(), 1),
                "train_seconds": record.train_seconds,
                "test_accuracy": test["accuracy"], "test_examples": 25000 // batchsz * batchsz}

    def zoo():
        with tempfile.TemporaryDirectory() as scratch:
            metrics = run("imdb_lstm", {"epochs": args.epochs}, data_dir=data_dir,
                          output=args.output or scratch, verbose=2)
        return {"train_examples_per_second": metrics["train_examples_per_second"],
                "train_seconds": metrics["train_seconds"],
                "test_accuracy": metrics["test"]["accuracy"],
                "test_examples": metrics["data"]["test_examples"]}

    order = [("zoo", zoo), ("tutorial", tutorial)]
    if not args.zoo_first:
        order.reverse()
    results = {name: fn() for name, fn in order}
    print(json.dumps(results, indent=2))
    print(f"{'':10} {'train ex/s':>10} {'test acc':>9} {'test n':>7}")
    for name, r in results.items():
        print(f"{name:10} {r['train_examples_per_second']:>10} {r['test_accuracy']:>9.4f} "
              f"{r['test_examples']:>7}")


if __name__ == "__main__":
    main()
