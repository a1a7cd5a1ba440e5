"""imdb_lstm: sentiment of an IMDB review from two stacked LSTM cells (see `spec.py`)."""

from zoo.models.imdb_lstm.model import StackedLSTMClassifier
from zoo.models.imdb_lstm.recipe import ImdbLstmRecipe
from zoo.models.imdb_lstm.spec import SPEC

SPECS = [SPEC]

__all__ = ["SPEC", "SPECS", "ImdbLstmRecipe", "StackedLSTMClassifier"]
