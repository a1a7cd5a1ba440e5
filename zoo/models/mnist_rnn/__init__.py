"""mnist_lstm and mnist_gru: digits read as 28 rows of 28 pixels (see `spec.py`)."""

from zoo.models.mnist_rnn.model import RowSequenceClassifier
from zoo.models.mnist_rnn.recipe import MnistRnnRecipe
from zoo.models.mnist_rnn.spec import SPECS

__all__ = ["SPECS", "MnistRnnRecipe", "RowSequenceClassifier"]
