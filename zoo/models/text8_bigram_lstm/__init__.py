"""text8_bigram_lstm: a character language model with bigram inputs. The package holds the
fused-gate cell (`cell.py`), the model, its metric, stream scoring (`scoring.py`), sampling,
its recipe, its export's signatures (`serving.py`), what `zoo predict` and `zoo sample` accept
(`inputs.py`), the assignment's own code and the spec (`spec.py`)."""

from zoo.models.text8_bigram_lstm.spec import SPEC

SPECS = [SPEC]
