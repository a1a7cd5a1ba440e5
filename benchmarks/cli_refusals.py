"""How long the command line takes to refuse bad input, and to list the models: each command
run as a person runs it (a fresh `python -m zoo` process), timed from start to exit.

    python benchmarks/cli_refusals.py [--repeats 5]

Prints, per command, its exit status, its one error line and the median and slowest wall time
of the repeats, with the machine's CPU. The target is under 1.5 s for each refusal.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    ["run", "nosuchmodel"],
    ["predict", "imdb_lstm", ""],
    ["run", "imdb_lstm", "--set", "units=abc"],
    ["list"],
]


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{cpu()}, Python {sys.version.split()[0]}; median and slowest of {args.repeats} runs")
    for argv in COMMANDS:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "zoo", *argv], capture_output=True,
                                  text=True)
            times.append(time.perf_counter() - start)
        said = (done.stderr.strip().splitlines() or [""])[-1][:70]
        print(f"zoo {' '.join(repr(a) if not a else a for a in argv):40} exit {done.returncode}  "
              f"{statistics.median(times):.2f} s (max {max(times):.2f})  {said}")


if __name__ == "__main__":
    main()
