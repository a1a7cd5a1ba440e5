"""Loading TensorFlow for the command line: only once a command has checked its arguments,
settings and files (a refusal takes a fraction of a second), and without the lines its native
code prints to stderr on import (about eight: oneDNN, CUDA drivers, cuInit) unless asked."""

from __future__ import annotations

import contextlib
import os
import sys


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
