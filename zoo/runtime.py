"""Loading TensorFlow for the command line: only once a command has checked its arguments,
settings and files (a refusal takes a fraction of a second), and without the lines its native
code prints to stderr on import (about eight: oneDNN, CUDA drivers, cuInit) unless asked."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


@contextlib.contextmanager
def native_stderr_silenced():
    """Sends what native code writes to file descriptor 2 to /dev/null, Python's own stderr
    (errors, tracebacks) included, until the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def load_tensorflow(verbose: bool = False) -> None:
    """Imports TensorFlow and Keras and sets the thread pools (`zoo.training`). Unless
    `verbose`, native log lines are kept off stderr: those printed during the import, and
    (TF_CPP_MIN_LOG_LEVEL=3) later ones such as "failed call to cuInit"; errors still reach
    Python as exceptions."""
    if "tensorflow" not in sys.modules:
        if verbose:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        else:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            with native_stderr_silenced():
                import keras  # noqa: F401
                import tensorflow  # noqa: F401
    from zoo.distribute import split_cpu
    from zoo.training import configure_threads

    split_cpu()
    configure_threads()


# CPU flags (Linux' /proc/cpuinfo) of matrix units that multiply bfloat16 natively
BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpuinfo() -> dict[str, str]:
    """The first CPU's fields in Linux' /proc/cpuinfo ("model name", "cpu family", "flags",
    ...); empty where there is none."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty where /proc/cpuinfo is absent)."""
    return set(cpuinfo().get("flags", "").split())


def bfloat16_hardware() -> list[str]:
    """What on this machine multiplies bfloat16 natively: the CPU's flags among
    `BFLOAT16_FLAGS`, and GPUs of compute capability 8.0 or more (Ampere on)."""
    import tensorflow as tf

    found = sorted(set(BFLOAT16_FLAGS) & cpu_flags())
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and tuple(capability) >= (8, 0):
            found.append(f"{gpu.name} (compute capability {capability[0]}.{capability[1]})")
    return found


def resolve_precision(precision: str) -> str:
    """A recipe's `precision` as a Keras dtype policy name: "auto" is "mixed_bfloat16" where
    the hardware multiplies bfloat16 natively (`bfloat16_hardware`), else "float32"."""
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if bfloat16_hardware() else "float32"
