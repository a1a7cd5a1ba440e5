"""The one registry: every model family's specs, by name. A new family is one folder under
`zoo/models/` whose package exports `SPECS`, and its name in `FAMILIES`."""

from __future__ import annotations

import importlib

from zoo.errors import UsageError
from zoo.spec import ModelSpec

FAMILIES = [
    "forecast",
    "imdb_lstm",
    "imdb_reviews_bilstm",
    "mnist_rnn",
    "text8_bigram_lstm",
]

SPECS: list[ModelSpec] = [spec for family in FAMILIES
                          for spec in importlib.import_module(f"zoo.models.{family}").SPECS]

REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in SPECS}


def get_spec(name: str) -> ModelSpec:
    """The registered model called `name`; an unknown name lists the accepted ones."""
    if name not in REGISTRY:
        raise UsageError(f"unknown model {name!r}; registered models: {', '.join(REGISTRY)}")
    return REGISTRY[name]
