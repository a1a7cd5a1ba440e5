"""`zoo bench --to-quality`: time until each model is as good as its tutorial's code.

MLPerf Training's yardstick, on a small scale: for each model with a `QualityTarget` (its
spec's `comparison.target`), the zoo's recipe for the race and the tutorial's code are each
trained, seed after seed, until an evaluation on the same held-out data reaches the
tutorial's own final figure. Every run is a fresh process (tracing and thread pools are paid
per run, as a user pays them), the runs take turns so only one computes at a time, and
both sides are evaluated by the same harness every `eval_every` training examples:

    clock        starts at the first training step (tracing included) and stops at the end
                 of the evaluation that reaches the target; evaluations are on it. Reading
                 the data and building the model are not (MLPerf's initialization).
    steps        training steps taken by then; examples = steps x examples per step
    test         the test figure of the model where it stopped, off the clock

Per side: the median seconds with the spread (lowest, highest), and with 5 or more seeds the
mean without the fastest and slowest (MLPerf's rule). A run that has not reached the target
within its budget counts as never (infinity); a median of never is reported as such.
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import UsageError, ZooError
from zoo.spec import QualityTarget

SIDES = ("tutorial", "zoo")


def target(name: str) -> QualityTarget:
    from zoo.registry import get_spec

    comparison = get_spec(name).comparison
    if comparison is None or comparison.target is None:
        raise UsageError(f"zoo bench --to-quality: {name} has no tutorial target; models with "
                         f"one: {', '.join(raced_models())}")
    return comparison.target


def raced_models() -> list[str]:
    from zoo.registry import REGISTRY

    return [name for name, spec in REGISTRY.items()
            if spec.comparison is not None and spec.comparison.target is not None]


def zoo_recipe_record(name: str):
    """The zoo's recipe for the race: the registered one with the target's settings."""
    from zoo.config import override
    from zoo.registry import get_spec

    return override(get_spec(name).recipe, target(name).zoo_settings)


def check_settings(name: str, settings: dict[str, Any]) -> None:
    """Refuses, in one line and before TensorFlow loads, a `--set` the race cannot take: one
    that changes the data both sides see, or the seed, which the race sets; or a batch whose
    examples do not divide the evaluation interval (the sides would be scored at different
    points)."""
    from zoo.bench import examples_per_step
    from zoo.config import override

    goal = target(name)
    for key in settings:
        if key == "seed" or key in goal.data_settings:
            fixed = ", ".join(("seed", *goal.data_settings))
            raise UsageError(f"--set {key}: the race fixes {fixed} for {name} (the data both "
                             "sides see, and the seed of each run); change other settings")
    recipe = override(zoo_recipe_record(name), settings)
    per_step = examples_per_step(recipe)
    if goal.eval_every % per_step:
        raise UsageError(f"--set batch_size={recipe.batch_size}: {name} is evaluated every "
                         f"{goal.eval_every:,} examples, which {per_step} a step does not divide")


def zoo_recipe(name: str, seed: int, settings: dict[str, Any] | None = None):
    """The race's recipe with `settings` (the command line's `--set`) and the seed."""
    from zoo.config import override

    return override(zoo_recipe_record(name), {**(settings or {}), "seed": seed})


class ZooSide:
    """The zoo's model as `zoo run` trains it (registry, data pipeline, compiled step),
    scored by the target's `score`. Its graph calls take whole evaluation intervals' steps
    (`steps_per_execution` lowered to divide them), so it is scored where the tutorial is."""

    def __init__(self, name: str, data_dir, seed: int, settings: dict[str, Any] | None):
        import keras

        from zoo.bench import examples_per_step, zoo_loop
        from zoo.build import total_steps
        from zoo.config import override
        from zoo.registry import get_spec

        goal = target(name)
        recipe = zoo_recipe(name, seed, settings)
        self.examples_per_step = examples_per_step(recipe)
        every = goal.eval_every // self.examples_per_step
        recipe = override(recipe, {"steps_per_execution":
                                   math.gcd(recipe.steps_per_execution, every)})
        keras.utils.set_random_seed(seed)
        self.loop, data = zoo_loop(get_spec(name), recipe, data_dir)
        self.model = self.loop.model
        self.budget_steps = total_steps(recipe, data.train_examples)
        self._score = goal.score

    def run(self, steps: int) -> int:
        return self.loop.run(steps)

    def score(self, x, y):
        return self._score(self.model, x, y)


def batches(x: np.ndarray, y: np.ndarray, size: int):
    """`(x, y)` in batches of exactly `size`, the last padded by repeating its first rows;
    yields (x, y, real rows)."""
    for start in range(0, len(x), size):
        xb, yb = x[start:start + size], y[start:start + size]
        real = len(xb)
        if real < size:
            pad = np.resize(np.arange(real), size - real)
            xb, yb = np.concatenate([xb, xb[pad]]), np.concatenate([yb, yb[pad]])
        yield xb, yb, real


def evaluate(side, data: tuple[np.ndarray, np.ndarray], metric: str, batch: int) -> float:
    """The harness: the side's per-example figures over `data`, as accuracy (their mean)
    or perplexity (e to their mean)."""
    x, y = data
    figures = [np.asarray(side.score(xb, yb), np.float64)[:real]
               for xb, yb, real in batches(x, y, batch)]
    mean = float(np.concatenate(figures).mean())
    return math.exp(mean) if metric == "perplexity" else mean


def reached(figure: float, goal: QualityTarget) -> bool:
    return figure <= goal.value if goal.metric == "perplexity" else figure >= goal.value


def race_one(name: str, side: str, data_dir, seed: int, settings: dict[str, Any] | None,
             budget_scale: float, stop_at_target: bool = True) -> dict[str, Any]:
    """One side's run of one seed, in this process: trains until the target or the budget
    (the whole budget, evaluated all along, without `stop_at_target`)."""
    from zoo.training import configure_threads

    goal = target(name)
    if side == "zoo":
        configure_threads()  # as `zoo run` ships; the tutorial's side keeps TensorFlow's
    held_out, test = goal.evaluation(zoo_recipe(name, seed, settings), data_dir)
    if side == "zoo":
        runner = ZooSide(name, data_dir, seed, settings)
        budget = runner.budget_steps
    else:
        runner = goal.tutorial(data_dir, seed)
        budget = 2 * goal.tutorial_steps
    budget = max(1, int(budget * budget_scale))
    every = max(1, goal.eval_every // runner.examples_per_step)
    steps, history, train_s, eval_s = 0, [], 0.0, 0.0
    figure = math.nan
    while steps < budget:
        start = time.perf_counter()
        steps += runner.run(min(every, budget - steps))
        train_s += time.perf_counter() - start
        start = time.perf_counter()
        figure = evaluate(runner, held_out, goal.metric, goal.eval_batch)
        eval_s += time.perf_counter() - start
        history.append((steps, round(train_s + eval_s, 2), round(figure, 4)))
        if stop_at_target and reached(figure, goal):
            break
    result = {"reached": reached(figure, goal), "seconds": round(train_s + eval_s, 2),
              "train_s": round(train_s, 2), "eval_s": round(eval_s, 2), "steps": steps,
              "examples": steps * runner.examples_per_step, "figure": round(figure, 4),
              "history": history}
    if side == "zoo":  # the recipe's precision, "auto" resolved
        result["dtype_policy"] = runner.model.dtype_policy.name
    if test is not None:
        result["test"] = round(evaluate(runner, test, goal.metric, goal.eval_batch), 4)
    else:
        result["test"] = result["figure"]
    return result


def _worker(conn, *args) -> None:
    from zoo.bench import failure

    try:
        conn.send(race_one(*args))
    except Exception as error:
        conn.send(failure(error))


def run_in_process(name: str, side: str, data_dir, seed: int, settings, budget_scale: float,
                   stop_at_target: bool = True) -> dict[str, Any]:
    """`race_one` in a fresh process."""
    from zoo.bench import _receive

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_worker, daemon=True,
                              args=(child, name, side, data_dir, seed, settings, budget_scale,
                                    stop_at_target))
    process.start()
    child.close()
    try:
        return _receive(parent, process, name, side)
    finally:
        parent.close()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds and steps with their spread; MLPerf's trimmed mean from 5 runs on."""
    seconds = sorted(run["seconds"] if run["reached"] else math.inf for run in runs)
    steps = sorted(run["steps"] if run["reached"] else math.inf for run in runs)
    tests = [run["test"] for run in runs if "error" not in run]
    result = {"median_s": statistics.median(seconds), "min_s": seconds[0],
              "max_s": seconds[-1], "median_steps": statistics.median(steps),
              "reached": sum(run["reached"] for run in runs), "count": len(runs),
              "failed": sum("error" in run for run in runs),
              "median_test": statistics.median(tests) if tests else math.nan}
    if len(seconds) >= 5:
        result["mlperf_mean_s"] = statistics.fmean(seconds[1:-1])
    return result


def race(names: list[str], data_dir, *, seeds: int = 3, settings: dict[str, Any] | None = None,
         budget_scale: float = 1.0, output: Path | None = None, echo=print,
         run=run_in_process) -> dict[str, Any]:
    """Races each of `names` against its tutorial, `seeds` runs a side taking turns; prints
    the table, writes the JSON to `output`, returns the report."""
    from zoo.bench import machine
    from zoo.io import write_json

    if seeds < 1:
        raise UsageError(f"--seeds {seeds} must be an integer >= 1")
    for name in names:
        check_settings(name, settings or {})
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "seeds": seeds,
              "models": {}}
    for name in names:
        goal = target(name)
        echo(f"race {name}: to {goal.metric} {goal.value} on held-out data, {seeds} seeds a side")
        runs = {side: [] for side in SIDES}
        for seed in range(1, seeds + 1):
            for side in SIDES:
                try:
                    result = run(name, side, data_dir, seed, settings, budget_scale)
                    state = "reached" if result["reached"] else "not reached"
                    echo(f"  {side} seed {seed}: {goal.metric} {result['figure']} {state} after "
                         f"{result['steps']} steps, {result['seconds']} s (test {result['test']})")
                except ZooError as error:  # one failed run: the others are still worth having
                    result = {"reached": False, "error": str(error), "seconds": math.nan,
                              "steps": 0, "figure": math.nan, "test": math.nan, "history": []}
                    echo(f"  {side} seed {seed}: failed: {error}")
                runs[side].append(result)
        model = {"metric": goal.metric, "target": goal.value, "eval_every": goal.eval_every,
                 "zoo_settings": {**goal.zoo_settings, **(settings or {})}}
        for side in SIDES:
            model[side] = {**summary(runs[side]), "runs": runs[side]}
        theirs, ours = model["tutorial"]["median_s"], model["zoo"]["median_s"]
        model["ratio"] = (round(theirs / ours, 2) if math.isfinite(ours) and ours > 0
                          and math.isfinite(theirs) else None)
        report["models"][name] = model
    echo(table(report))
    if output is not None:
        write_json(output, report)
        echo(f"wrote {output}")
    return report


def _seconds(side: dict[str, Any]) -> str:
    def show(value):
        return "never" if math.isinf(value) else f"{value:.1f}"

    text = f"{show(side['median_s'])} ({show(side['min_s'])}-{show(side['max_s'])})"
    if "mlperf_mean_s" in side:
        text += f", trimmed mean {show(side['mlperf_mean_s'])}"
    return text


def table(report: dict[str, Any]) -> str:
    """A markdown table: median seconds (spread), median steps, test figure, and how many
    times sooner the zoo got there."""
    lines = ["| model | target | zoo s | tutorial s | zoo steps | tutorial steps | "
             "zoo test | tutorial test | sooner |", "|---|---|---|---|---|---|---|---|---|"]
    for name, model in report["models"].items():
        zoo, tutorial = model["zoo"], model["tutorial"]
        sooner = f"**{model['ratio']}x**" if model["ratio"] else "-"
        if math.isinf(tutorial["median_s"]) and math.isfinite(zoo["median_s"]):
            sooner = "tutorial never"
        goal = ("<= " if model["metric"] == "perplexity" else ">= ") + str(model["target"])
        lines.append(f"| {name} | {model['metric']} {goal} | {_seconds(zoo)} | "
                     f"{_seconds(tutorial)} | {zoo['median_steps']} | "
                     f"{tutorial['median_steps']} | {zoo['median_test']:.4f} | "
                     f"{tutorial['median_test']:.4f} | {sooner} |")
    machine = report["machine"]
    lines.append(f"\nmedian seconds (lowest-highest) of {report['seeds']} seeds a side, "
                 f"evaluation on the clock; {machine['cpu']}, {machine['cores']} cores, TF "
                 f"{machine['tensorflow']}, Keras {machine['keras']}, {report['date']}")
    return "\n".join(lines)

