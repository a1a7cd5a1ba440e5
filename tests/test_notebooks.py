"""Every notebook runs top to bottom from a clean kernel in its small mode (ZOO_SMALL=1)."""

from __future__ import annotations

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_the_seven_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == ["forecasting", "from_pytorch", "imdb_lstm",
                                           "imdb_reviews_bilstm", "lstm_gates", "mnist_rnn",
                                           "text8_bigram_lstm"]


@pytest.mark.real_data
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_small_mode(path, real_data, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_SMALL", "1")
    monkeypatch.setenv("ZOO_DATA_DIR", str(real_data))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(path, as_version=4)
    # a fresh kernel working in a scratch folder (its run directories land there); a cell
    # that raises fails the test
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert "small run" in str(notebook.cells[1].outputs)
