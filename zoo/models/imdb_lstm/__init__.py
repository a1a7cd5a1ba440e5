"""imdb_lstm: sentiment of an IMDB review from two stacked LSTM cells. The package holds the
model (`model.py`), its recipe, its export's signatures (`serving.py`), what `zoo predict`
accepts (`inputs.py`), the tutorial's own code and the spec joining them (`spec.py`)."""

from zoo.models.imdb_lstm.spec import SPEC

SPECS = [SPEC]
