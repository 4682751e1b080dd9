"""ember.utils.plot: training curves and confusion matrices as PNG files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ember
from ember.utils import plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _image(path):
    with Image.open(path) as image:
        return image.format, image.size, np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("history", [
    {"train loss": [2.3, 1.1, 0.5]},
    {"train loss": [2.3, 1.1, 0.5], "test loss": [2.4, 1.3, 0.7],
     "test accuracy": [0.4, 0.7, 0.9]},
    {"loss": ember.tensor([1.0, 0.5]), "accuracy": np.array([0.5, 0.75])},   # tensors, arrays
    {"loss": [0.3]},
])
def test_history_png(tmp_path, history):
    path = plot.plot_history(history, tmp_path / "curves.png", title="run")
    assert path == str(tmp_path / "curves.png")
    image_format, size, pixels = _image(path)
    assert image_format == "PNG" and size == (700, 450)
    assert pixels.std() > 0                                        # something was drawn


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_png(tmp_path, normalize):
    matrix = np.array([[5, 1, 0], [0, 3, 2], [0, 0, 0]])             # an empty row stays 0
    path = plot.plot_confusion_matrix(ember.tensor(matrix), tmp_path / "cm.png",
                                      class_names=["cat", "dog", "eel"], normalize=normalize)
    assert open(path, "rb").read(8) == PNG_MAGIC
    image_format, size, _ = _image(path)
    assert image_format == "PNG" and size == (500, 400)


def test_confusion_matrix_size_grows_with_classes(tmp_path):
    path = plot.plot_confusion_matrix(np.eye(20, dtype=int), tmp_path / "big.png")
    assert _image(path)[1] == (1300, 1200)


@pytest.mark.parametrize("matrix, options, message", [
    (np.zeros((2, 3)), {}, "expected a square 2-D confusion matrix"),
    (np.zeros(4), {}, "expected a square 2-D confusion matrix"),
    (np.zeros((2, 2)), {"normalize": "rows"}, "normalize must be one of"),
    (np.zeros((2, 2)), {"class_names": ["a"]}, "1 class names for a 2x2 matrix"),
])
def test_confusion_matrix_errors(tmp_path, matrix, options, message):
    with pytest.raises(ValueError, match=message):
        plot.plot_confusion_matrix(matrix, tmp_path / "x.png", **options)


def test_no_global_backend_switch(tmp_path):
    import matplotlib
    backend = matplotlib.get_backend()
    plot.plot_history({"loss": [1.0, 0.5]}, tmp_path / "a.png")
    assert matplotlib.get_backend() == backend
