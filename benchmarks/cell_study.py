"""The variant study: each cell of `zoo.models.cells` on each task that takes a `cell` setting,
several seeds each, through the runner with the task's default recipe; mean and spread of the
test figure and of training speed, as a table and a picture.

    ZOO_DATA_DIR=../shared/data python benchmarks/cell_study.py [--tasks imdb_lstm ...]
        [--seeds 1 2 3] [--out runs/cell_study]

Writes `results.json` (every run), `table.md` and `cells.png` into `--out`, and prints the
table. A run that was already done (its result in `results.json`) is not run again, so an
interrupted study continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from zoo.config import CELLS
from zoo.data.files import resolve_data_dir
from zoo.io import write_json

# task -> (test figure, what is better, settings beyond the default recipe)
TASKS = {
    "imdb_lstm": ("accuracy", "max", {}),
    "mnist_lstm": ("accuracy", "max", {"max_steps": 782}),  # the tutorial's budget
    # the assignment's 64 units, 2,000 steps: about 80 s a run instead of the recipe's 500
    "text8_bigram_lstm": ("heldout_perplexity", "min",
                          {"corpus": "austen_text8", "heldout_chars": 300000, "units": 64,
                           "epochs": 2}),
}


def summary(runs: list[dict], key: str, places: int) -> str:
    values = [run[key] for run in runs]
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{places}f} ± {spread:.{places}f}"


def table(results: dict) -> str:
    lines = ["| task | cell | runs | test figure (mean ± sd) | training examples/s (mean ± sd) |",
             "|---|---|---|---|---|"]
    for task, (figure, _, _) in TASKS.items():
        for cell in CELLS:
            runs = [r for r in results.values() if r["task"] == task and r["cell"] == cell]
            if runs:
                speed = summary(runs, "examples_per_s", 0)
                lines.append(f"| {task} | {cell} | {len(runs)} | {figure} "
                             f"{summary(runs, 'figure', 4)} | {speed} |")
    return "\n".join(lines)


def picture(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if any(r["task"] == t for r in results.values())]
    figure, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for x, cell in enumerate(CELLS):
            values = [r["figure"] for r in results.values()
                      if r["task"] == task and r["cell"] == cell]
            ax.scatter([x] * len(values), values, color="tab:blue", alpha=0.7)
            if values:
                ax.hlines(statistics.mean(values), x - 0.25, x + 0.25, color="black")
        ax.set_xticks(range(len(CELLS)), CELLS)
        ax.set_title(f"{task}: {TASKS[task][0]}\n(each seed; line: mean)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    from zoo.runner import run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--cells", nargs="*", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--out", default="runs/cell_study")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "results.json"
    results = json.loads(saved.read_text()) if saved.is_file() else {}
    data_dir = resolve_data_dir(None)
    for task in args.tasks:
        figure, _, settings = TASKS[task]
        for cell in args.cells:
            for seed in args.seeds:
                key = f"{task}/{cell}/{seed}"
                if key in results:
                    continue
                with tempfile.TemporaryDirectory() as scratch:
                    metrics = run(task, {**settings, "cell": cell, "seed": seed},
                                  data_dir=data_dir, output=Path(scratch) / "run", verbose=0)
                results[key] = {"task": task, "cell": cell, "seed": seed,
                                "figure": metrics["test"][figure],
                                "examples_per_s": metrics["train_examples_per_second"],
                                "train_seconds": sum(metrics["train_seconds"])}
                write_json(saved, results)
                print(f"{key}: test {figure} {results[key]['figure']:.4f}, "
                      f"{results[key]['examples_per_s']} examples/s", flush=True)
    (out / "table.md").write_text(table(results) + "\n")
    picture(results, out / "cells.png")
    print(table(results))


if __name__ == "__main__":
    main()
