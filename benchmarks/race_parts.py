"""What a zoo side of `zoo bench --to-quality` spends its time on: the first training call
and the first scoring (tracing, grappler, fresh memory) against later ones.

    ZOO_DATA_DIR=../shared/data python benchmarks/race_parts.py text8_bigram_lstm \
        [--runs 3] [--set KEY=VALUE ...]

Each run is a fresh process (as in the race) that builds the race's zoo side, then times one
graph call of training, a scoring of the held-out data, and 4 rounds of an evaluation
interval's training and a scoring. Prints, per run, those seconds with the minor page faults
and the kernel time (`getrusage`) of the first scoring: memory a process touches for the
first time costs a page fault a page.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor

from zoo import race
from zoo.config import parse_assignments
from zoo.data.files import resolve_data_dir


def timed(function):
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    function()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return seconds, after.ru_minflt - before.ru_minflt, after.ru_stime - before.ru_stime


def parts(name: str, settings: dict, data_dir) -> dict:
    """One run's figures, in this process."""
    from zoo.training import configure_threads

    configure_threads()
    goal = race.target(name)
    held_out, _ = goal.evaluation(race.zoo_recipe(name, 1, settings), data_dir)
    side = race.ZooSide(name, data_dir, 1, settings)
    every = goal.eval_every // side.examples_per_step

    def score():
        race.evaluate(side, held_out, goal.metric, goal.eval_batch)

    first_call = timed(lambda: side.run(1))  # one graph call: steps_per_execution steps
    first_score = timed(score)
    trains, scores = [], []
    for _ in range(4):
        trains.append(timed(lambda: side.run(every))[0])
        scores.append(timed(score)[0])
    return {"first_call_s": first_call[0], "first_score_s": first_score[0],
            "first_score_faults": first_score[1], "first_score_sys_s": first_score[2],
            "interval_train_s": sorted(trains)[1:3], "score_s": sorted(scores)[1:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a model with a target: " + ", ".join(race.raced_models()))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    race.target(args.name)
    settings = parse_assignments(args.set)
    race.check_settings(args.name, settings)
    data_dir = resolve_data_dir(None)
    context = multiprocessing.get_context("spawn")
    for run in range(1, args.runs + 1):
        # a fresh process a run; an error in it is raised here, not waited on
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            figures = pool.submit(parts, args.name, settings, data_dir).result()
        print(f"run {run}: first call {figures['first_call_s']:.3f} s, first scoring "
              f"{figures['first_score_s']:.3f} s ({figures['first_score_faults']:,} page "
              f"faults, {figures['first_score_sys_s']:.2f} s in the kernel); an interval's "
              f"training {' / '.join(f'{s:.3f}' for s in figures['interval_train_s'])} s, a "
              f"scoring {' / '.join(f'{s:.3f}' for s in figures['score_s'])} s (middle 2 "
              "of 4)", flush=True)


if __name__ == "__main__":
    main()
