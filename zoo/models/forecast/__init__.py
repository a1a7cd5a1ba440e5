"""forecast_uni_single, forecast_uni_multi, forecast_multi_single, forecast_multi_multi: an
LSTM with a linear highway forecasting a series' next value or next day. The package holds the
model (`model.py`), its recipe and the four set-ups, the baselines it is scored against
(`baselines.py`), the test report, its export's signatures (`serving.py`), what `zoo predict`
accepts (`inputs.py`) and the specs (`spec.py`)."""

from zoo.models.forecast.spec import SPECS

__all__ = ["SPECS"]
