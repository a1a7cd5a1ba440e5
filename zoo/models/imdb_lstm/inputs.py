"""What `zoo predict imdb_lstm` accepts, checked before TensorFlow loads: review text with at
least one word once keras' punctuation filter has removed what it removes."""

from __future__ import annotations

import re
from typing import Any

from zoo.data.imdb import KERAS_FILTERS
from zoo.errors import UsageError

SHOWN_CHARACTERS = 60


def words(text: str) -> list[str]:
    """The words keras' tokenization reads from `text` (lowercased, its filter's characters
    made spaces, split on spaces)."""
    return re.sub(f"[{re.escape(KERAS_FILTERS)}]", " ", text.lower()).split()


def shown(text: str) -> str:
    """`text` on one line, cut to its first characters."""
    line = " ".join(text.split())
    return repr(line if len(line) <= SHOWN_CHARACTERS else line[:SHOWN_CHARACTERS] + "...")


def check_reviews(inputs: list[str], options: dict[str, Any]) -> None:
    for text in inputs:
        if not words(text):
            raise UsageError(f"review text {shown(text)} has no words (keras' tokenization "
                             "drops punctuation and spaces); expected the words of a review")
