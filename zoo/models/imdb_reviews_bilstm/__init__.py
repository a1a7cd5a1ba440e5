"""imdb_reviews_bilstm: raw review text in, sentiment out. The package holds the model and its
stored vocabulary (`model.py`), its recipe, its export's signatures (`serving.py`), what `zoo
predict` accepts (`inputs.py`) and the spec (`spec.py`)."""

from zoo.models.imdb_reviews_bilstm.spec import SPECS

__all__ = ["SPECS"]
