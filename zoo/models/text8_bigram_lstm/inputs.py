"""What the language model's `zoo predict` and `zoo sample` accept, checked before TensorFlow
loads: a prime of `[a-z ]` (capitals lowercased, with a note, unless the caller keeps case),
a length, a temperature and a seed that the `sample` signature can take."""

from __future__ import annotations

import math
from typing import Any

from zoo.data.text8 import encode
from zoo.errors import UsageError


def read_prime(prime: str, keep_case: bool = False) -> tuple[str, str | None]:
    """The prime the model reads (lowercased unless `keep_case`: the corpora are lowercase),
    and a note when it differs from the one given."""
    if keep_case or prime.lower() == prime:
        return prime, None
    return prime.lower(), (f"prime {prime!r} read as {prime.lower()!r}: the model knows "
                           "lowercase letters only (--keep-case refuses capitals instead)")


MAX_SAMPLE = 1_000_000


def check_sampling(prime: str, length: int, temperature: float, seed: int) -> None:
    """Refuses sampling arguments that `sample` (and the exported `sample` signature) cannot
    take, naming the value and what is accepted."""
    if not prime:
        raise UsageError("prime '' is empty; expected at least one character of [a-z ]")
    encode(prime)
    if not 1 <= length <= MAX_SAMPLE:
        raise UsageError(f"length {length} is not accepted; expected an integer from 1 to "
                         f"{MAX_SAMPLE:,}")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise UsageError(f"temperature {temperature} is not accepted; expected a number > 0")
    if not 0 <= seed < 2**31:
        raise UsageError(f"seed {seed} is not accepted; expected an integer from 0 to 2**31 - 1")


def check_primes(inputs: list[str], options: dict[str, Any]) -> None:
    for prime in inputs:
        check_sampling(read_prime(prime, options.get("keep_case", False))[0], options["length"],
                       options["temperature"], options["seed"])
