"""Where `zoo bench --to-quality`'s targets come from: each tutorial's code trained to its own
length, seed after seed, scored on the race's held-out data by the race's harness.

    ZOO_DATA_DIR=../shared/data python benchmarks/tutorial_targets.py [NAME ...] [--seeds 3]

Prints, per model, the tutorial's held-out figure at the end of its run for each seed, and
their median, beside the model's `QualityTarget`: a target should be a figure the tutorial's
own runs reach (benchmarks/README.md says how each was set).
"""

from __future__ import annotations

import argparse
import json
import statistics

from zoo import race
from zoo.data.files import resolve_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models with a target (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", help="JSON of every run")
    args = parser.parse_args()
    data_dir = resolve_data_dir(None)
    report = {}
    for name in args.names or race.raced_models():
        goal = race.target(name)
        # budget: twice the tutorial's length, halved: its own length, evaluated all along
        runs = [race.run_in_process(name, "tutorial", data_dir, seed, None, 0.5,
                                    stop_at_target=False)
                for seed in range(1, args.seeds + 1)]
        finals = [run["figure"] for run in runs]
        report[name] = {"metric": goal.metric, "target": goal.value, "finals": finals,
                        "median": statistics.median(finals), "runs": runs}
        print(f"{name}: the tutorial's final held-out {goal.metric} over {args.seeds} seeds: "
              f"{finals}, median {statistics.median(finals):.4f} (target {goal.value})",
              flush=True)
    if args.output:
        with open(args.output, "w") as file:
            json.dump(report, file, indent=1)


if __name__ == "__main__":
    main()
