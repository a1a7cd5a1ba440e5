"""What `zoo predict imdb_reviews_bilstm` accepts, checked before TensorFlow loads: review text
with at least one word once punctuation is stripped, as the model's vectorization strips it."""

from __future__ import annotations

import string
from typing import Any

from zoo.errors import UsageError
from zoo.models.imdb_lstm.inputs import shown


def check_texts(inputs: list[str], options: dict[str, Any]) -> None:
    for text in inputs:
        if not text.translate(str.maketrans("", "", string.punctuation)).split():
            raise UsageError(f"review text {shown(text)} has no words (punctuation and spaces "
                             "are stripped); expected the words of a review")
