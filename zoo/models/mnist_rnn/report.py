"""The MNIST report: extra test figures and pictures that the runner adds to a run."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from zoo import plots
from zoo.data.pipeline import Datasets
from zoo.io import write_json

TUTORIAL_TEST_IMAGES = 128


def digit_report(model: keras.Model, data: Datasets, run_dir: Path, *,
                 title: str) -> dict[str, float]:
    """Accuracy on the first 128 test images (the tutorials' own figure), a confusion matrix
    and a grid of misclassified digits."""
    batches = list(data.test.as_numpy_iterator())
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    predicted = np.argmax(model.predict(images, batch_size=512, verbose=0), axis=-1)
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    write_json(run_dir / "confusion_matrix.json", matrix.tolist())
    plots.confusion_matrix(matrix, run_dir / "confusion_matrix.png", f"{title}: test confusion")
    plots.misclassified_digits(images, labels, predicted, run_dir / "misclassified.png", title)
    first = slice(0, TUTORIAL_TEST_IMAGES)
    return {"accuracy_first_128": float(np.mean(predicted[first] == labels[first]))}
