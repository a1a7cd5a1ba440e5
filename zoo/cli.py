"""The `zoo` command line: `zoo list`, `zoo run NAME`, `zoo eval RUN_DIR`.

Bad input (an unknown model or setting, a value of the wrong type, a missing or corrupt
file) ends with one line on stderr and a non-zero status (2 for usage errors), never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from zoo.errors import UsageError, ZooError

# Named flags are shorthands for `--set`: one parser and one type check for every setting.
SHORTHANDS = ("epochs", "batch_size", "learning_rate", "clip_norm", "seed")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but its errors are one line (exit status 2) instead of usage plus message."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="zoo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    commands.add_parser("list", help="the registered models")

    run = commands.add_parser("run", help="train a model, evaluate it, write a run directory")
    run.add_argument("name", help="a registered model (see `zoo list`)")
    run.add_argument("--epochs", metavar="N")
    run.add_argument("--batch-size", metavar="N")
    run.add_argument("--learning-rate", metavar="LR")
    run.add_argument("--clip-norm", metavar="NORM", help="clip gradients to NORM ('none': off)")
    run.add_argument("--seed", metavar="N")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="any recipe setting (repeatable); see `zoo run NAME --show-config`")
    run.add_argument("--show-config", action="store_true",
                     help="print the recipe after overrides and exit")
    run.add_argument("--output", metavar="DIR", help="run directory (default runs/NAME/TIME)")
    run.add_argument("--resume", action="store_true",
                     help="continue from the last checkpoint of --output (default: newest run)")
    _add_data_dir(run)

    evaluate = commands.add_parser("eval", help="evaluate a run's trained model on the test set")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    _add_data_dir(evaluate)
    return parser


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help="folder holding the datasets (default: $ZOO_DATA_DIR, else download)")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        args = make_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130


def cmd_list(args: argparse.Namespace) -> int:
    from zoo.registry import REGISTRY
    from zoo.runner import build_model, count_params

    rows = [("name", "task", "dataset", "parameters", "reference result")]
    for spec in REGISTRY.values():
        params = count_params(build_model(spec, spec.recipe))
        rows.append((spec.name, spec.task, spec.dataset, f"{params:,}", spec.reference))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from zoo import config as config_lib
    from zoo.registry import get_spec
    from zoo.runner import run

    spec = get_spec(args.name)
    overrides = config_lib.parse_assignments(args.set)
    for key in SHORTHANDS:
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.show_config:
        recipe = config_lib.override(spec.recipe, overrides)
        for key, value in recipe.to_dict().items():
            print(f"{key}={value}")
        return 0
    metrics = run(spec.name, overrides, data_dir=args.data_dir, output=args.output,
                  resume=args.resume)
    test = ", ".join(f"{k} {v:.4f}" for k, v in metrics["test"].items())
    print(f"{spec.name}: test {test}; {metrics['train_examples_per_second']} training "
          f"examples/s; run directory {metrics['run_dir']}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from zoo.runner import evaluate_run

    test = evaluate_run(args.run_dir, data_dir=args.data_dir)
    print(", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    return 0


COMMANDS = {"list": cmd_list, "run": cmd_run, "eval": cmd_eval}

if __name__ == "__main__":
    sys.exit(main())
