"""text8_bigram_lstm: a character language model with bigram inputs (see `spec.py`)."""

from zoo.models.text8_bigram_lstm.cell import FusedLSTMCell
from zoo.models.text8_bigram_lstm.metrics import Perplexity
from zoo.models.text8_bigram_lstm.model import BigramLanguageModel
from zoo.models.text8_bigram_lstm.recipe import BigramLstmRecipe
from zoo.models.text8_bigram_lstm.sampling import sample
from zoo.models.text8_bigram_lstm.spec import SPEC

SPECS = [SPEC]

__all__ = ["SPEC", "SPECS", "BigramLanguageModel", "BigramLstmRecipe", "FusedLSTMCell",
           "Perplexity", "sample"]
