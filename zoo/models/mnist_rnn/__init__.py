"""mnist_lstm and mnist_gru: digits read as 28 rows of 28 pixels. The package holds the model
(`model.py`), its recipe, its export's signature (`serving.py`), what `zoo predict` accepts
(`inputs.py`), the test report (`report.py`), the tutorials' own code and the specs
(`spec.py`)."""

from zoo.models.mnist_rnn.spec import SPECS

__all__ = ["SPECS"]
