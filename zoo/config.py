"""Recipes: one record of defaults per model, overridable from the command line.

Every recipe extends `Recipe`, so every model has the training settings below. Overrides
arrive as strings (`--set key=value`) or JSON values and are checked against the recipe's
field names and types: a typo or a wrong type is an error, never a silently ignored flag.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from zoo.errors import UsageError

if TYPE_CHECKING:
    from zoo.spec import ModelSpec

R = TypeVar("R", bound="Recipe")

CLIP_MODES = ("norm", "global")
LR_SCHEDULES = ("constant", "cosine")
# the recurrent cells a recipe's `cell` names (`zoo.models.cells`)
CELLS = ("lstm", "peephole", "cifg", "no_forget", "gru")
# their gates (blocks of `units` in a kernel's columns), as the cells' `gates` say
CELL_GATES = {"lstm": 4, "peephole": 4, "cifg": 3, "no_forget": 3, "gru": 3}
# the Keras dtype policies a recipe's `precision` names (`zoo.build.build_model` applies it)
PRECISIONS = ("float32", "mixed_bfloat16", "auto")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Training settings shared by every model.

    Attributes:
        epochs: passes over the training data.
        batch_size: examples per training and evaluation batch.
        learning_rate: Adam's step size (its starting value, under a schedule).
        beta_1: Adam's decay rate for its running mean of the gradient (Keras' default 0.9).
        beta_2: Adam's decay rate for its running mean of the squared gradient (Keras'
            default 0.999). Lower rates follow the gradient more closely, which can pay in a
            short run at a high learning rate.
        lr_schedule: "constant", or "cosine" decay to 0 over the run's training steps.
        clip_norm: gradient clipping threshold; `None` turns clipping off.
        clip_mode: "norm" clips each gradient with `tf.clip_by_norm`; "global" clips all of
            them together with `tf.clip_by_global_norm`.
        max_steps: stop after this many training batches in all, even mid-epoch (0: no
            limit); training ends at `epochs` or `max_steps`, whichever comes first.
        restore_best: after training, go back to the weights of the epoch with the lowest
            validation loss (as Keras' `restore_best_weights`) before the test evaluation.
        seed: seeds weights, dropout and shuffling, so a run can be repeated.
        steps_per_execution: training steps per call into the compiled graph (Keras'
            `steps_per_execution`); more saves Python's per-step cost on a small model. It
            changes no result: the runner lowers it to divide `max_steps` and the steps of
            an epoch, so runs stop where they would have.
        precision: "float32"; "mixed_bfloat16" (Keras' mixed precision): the matrix
            products in bfloat16, while the weights, the outputs, the loss and the recurrent
            state of the zoo's own loops stay float32 (Keras' `LSTM` layer carries its state
            in bfloat16; bfloat16 has float32's range: the loss needs no scaling);
            or "auto": mixed_bfloat16 where the hardware multiplies bfloat16 natively (CPU
            flags amx_bf16 or avx512_bf16, a GPU of compute capability 8.0 on), else
            float32. It pays only where the products are large enough
            (benchmarks/README.md).
    """

    epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    lr_schedule: str = "constant"
    clip_norm: float | None = None
    clip_mode: str = "norm"
    max_steps: int = 0
    restore_best: bool = True
    seed: int = 1
    steps_per_execution: int = 1
    precision: str = "float32"

    def __post_init__(self) -> None:
        require(self, "epochs", 1 <= self.epochs < 2**31, "an integer from 1 to 2**31 - 1")
        require(self, "batch_size", 1 <= self.batch_size < 2**31,
                "an integer from 1 to 2**31 - 1")
        require(self, "learning_rate", self.learning_rate > 0, "a number > 0")
        for name in ("beta_1", "beta_2"):
            require(self, name, 0 <= getattr(self, name) < 1, "a number in [0, 1)")
        require(
            self, "clip_norm", self.clip_norm is None or self.clip_norm > 0, "a number > 0 or none"
        )
        require(self, "lr_schedule", self.lr_schedule in LR_SCHEDULES, " or ".join(LR_SCHEDULES))
        require(self, "clip_mode", self.clip_mode in CLIP_MODES, " or ".join(CLIP_MODES))
        require(self, "max_steps", 0 <= self.max_steps < 2**63,
                "an integer from 0 (no limit) to 2**63 - 1")
        require(self, "seed", 0 <= self.seed < 2**32, "an integer from 0 to 2**32 - 1")
        require(self, "steps_per_execution", self.steps_per_execution >= 1, "an integer >= 1")
        require(self, "precision", self.precision in PRECISIONS, " or ".join(PRECISIONS))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HeldOutRecipe(Recipe):
    """Settings of a model trained on a set of examples, validated on some held out of them.

    Attributes, beyond `Recipe`'s:
        validation_split: fraction of the training examples held out for validation.
    """

    validation_split: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self, "validation_split", 0 < self.validation_split < 1, "a fraction between 0 and 1"
        )


def step_flops(cell: str, inputs: int, units: int) -> int:
    """Floating-point operations of one step of `cell` (one of `CELLS`) on one example,
    counting its matrix products only (2 per multiply-add): the input's and the state's
    shares of the gates."""
    return 2 * CELL_GATES[cell] * units * (inputs + units)


def require(recipe: Recipe, name: str, ok: bool, accepted: str) -> None:
    if not ok:
        raise UsageError(f"{name}={getattr(recipe, name)!r} is not accepted; expected {accepted}")


def fields(recipe: Recipe | type[Recipe]) -> dict[str, Any]:
    """The recipe's settings and their types."""
    cls = recipe if isinstance(recipe, type) else type(recipe)
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def override(recipe: R, values: Mapping[str, Any]) -> R:
    """Returns `recipe` with `values` replacing its settings.

    Values may be strings as typed on a command line (`"0.5"`, `"none"`, `"true"`) or
    already-typed JSON values. Raises `UsageError` naming the key or value and what would
    be accepted.
    """
    known = fields(recipe)
    parsed = {}
    for key, value in values.items():
        if key not in known:
            raise UsageError(
                f"unknown setting {key!r} for {type(recipe).__name__}; "
                f"accepted: {', '.join(sorted(known))}"
            )
        parsed[key] = _parse(key, value, known[key])
    return dataclasses.replace(recipe, **parsed)


def parse_assignments(items: list[str], flag: str = "--set") -> dict[str, str]:
    """Turns `["key=value", ...]` into a dict, rejecting items without `=` and keys given
    twice (which of two values was meant is not for the zoo to guess)."""
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{flag} {item!r} is not of the form key=value")
        if key in result:
            raise UsageError(f"{key} is given twice, {flag} {key}={result[key]} and {flag} "
                             f"{item.strip()}; give it once")
        result[key] = value.strip()
    return result


def descriptions(cls: type[Recipe]) -> dict[str, str]:
    """Each setting's meaning, from the `Attributes:` sections of the recipe class and its
    bases (the docstrings are the one place they are written)."""
    meanings: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        doc = inspect.cleandoc(klass.__doc__ or "") if "Recipe" in klass.__name__ else ""
        if "Attributes" not in doc:
            continue
        name = None
        for line in doc.split("Attributes", 1)[1].splitlines()[1:]:
            match = re.match(r"    (\w+): (.*)", line)
            if match:
                name, text = match.groups()
                meanings[name] = text
            elif name and line.startswith("        "):
                meanings[name] += " " + line.strip()
            elif line.strip():
                name = None
    return meanings


def _parse(key: str, value: Any, kind: Any) -> Any:
    optional = _is_optional(kind)
    base = _base_type(kind)
    name = base.__name__ + (" or none" if optional else "")
    if optional and (value is None or (isinstance(value, str) and value.lower() == "none")):
        return None
    try:
        if isinstance(value, str):
            return _parse_string(value, base)
        return _coerce(value, base)
    except ValueError:
        raise UsageError(f"{key}={value!r} is not a valid {name}") from None


def _parse_string(value: str, base: type) -> Any:
    if base is bool:
        lowered = value.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(value)
    if base is float:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    return base(value)


def _coerce(value: Any, base: type) -> Any:
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, base) and not (base is int and isinstance(value, bool)):
        return value
    raise ValueError(value)


def _is_optional(kind: Any) -> bool:
    return isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)


def _base_type(kind: Any) -> type:
    if isinstance(kind, types.UnionType):
        (base,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return base
    return kind


def read_hparams(path: str | Path, name: str) -> dict[str, Any]:
    """The settings in a best_hparams.json written for `name`: the searched values and the
    fixed settings the search ran with."""
    try:
        saved = json.loads(Path(path).read_text())
        if not isinstance(saved, dict):
            raise TypeError(f"it holds a JSON {type(saved).__name__}, not an object")
        if not all(isinstance(saved.get(key, {}), dict) for key in ("hparams", "settings")):
            raise TypeError("hparams or settings is not a mapping")
        hparams, model = {**saved.get("settings", {}), **saved["hparams"]}, saved["model"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"--hparams {str(path)!r} is not a best_hparams.json ({error})") \
            from None
    if model != name:
        raise UsageError(f"--hparams {str(path)!r} was searched for {model}, not for {name}")
    return hparams


TUNER_NAMES = ("random", "bayesian", "hyperband")


def check_search(spec: ModelSpec, tuner: str, max_trials: int, epochs: int | None,
                 settings: Mapping[str, Any] | None, space: dict[str, str] | None
                 ) -> tuple[Recipe, dict[str, list]]:
    """The recipe and search space of a `zoo tune` command, every value checked (before any
    trial, and before TensorFlow loads)."""
    if tuner not in TUNER_NAMES:
        raise UsageError(f"unknown tuner {tuner!r}; expected {', '.join(TUNER_NAMES)}")
    if max_trials < 1:
        raise UsageError(f"--max-trials {max_trials} is not accepted; expected an integer >= 1")
    recipe = override(spec.recipe, {**(settings or {}),
                                    **({} if epochs is None else {"epochs": epochs})})
    return recipe, search_space(spec, space)


def search_space(spec: ModelSpec, overrides: dict[str, str] | None = None
                 ) -> dict[str, list]:
    """The spec's search space, with `overrides` ("key" -> "v1,v2,...", as typed after
    `--space`) replacing or adding candidate lists. Every value is checked by the recipe."""
    space = {key: list(values) for key, values in spec.search_space.items()}
    for key, text in (overrides or {}).items():
        space[key] = [v.strip() for v in text.split(",") if v.strip()]
    for key, values in space.items():
        if not values:
            raise UsageError(f"search space {key}= has no values; expected a comma-separated "
                             "list such as units=32,64,128")
        # typed and range-checked as any setting: a bad value fails now, not in trial 7
        space[key] = [getattr(override(spec.recipe, {key: v}), key) for v in values]
    return space
