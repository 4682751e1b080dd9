"""``ember.utils.plot``: training curves and confusion matrices saved as PNG files.

Needs matplotlib (``pip install ember[plot]``). Figures are drawn on matplotlib's
object API with the Agg canvas, never through ``pyplot``: no window opens, no global
backend is switched, and it works on a headless server or inside a test.

Example::

    >>> history = {"train loss": [0.9, 0.4, 0.2], "test accuracy": [0.8, 0.9, 0.95]}
    >>> plot_history(history, "curves.png")
    >>> plot_confusion_matrix(confusion, "confusion.png", class_names=list("0123456789"))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_history", "plot_confusion_matrix"]


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install 'ember[plot]' "
                          "(or pip install matplotlib)") from error
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _as_numpy(values) -> np.ndarray:
    """A tensor (any device) or array-like as a NumPy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike,
                 title: str = "Training", xlabel: str = "epoch") -> str:
    """Save curves (one per ``history`` entry, x = 1..n) as a PNG; returns the path.

    Entries whose name mentions "acc" go on a second y axis on the right, so a loss
    falling from 2.3 and an accuracy rising to 0.99 are both readable on one figure.
    """
    figure = _figure(7, 4.5)
    axes = figure.add_subplot(1, 1, 1)
    accuracy_axes = None
    for name, values in history.items():
        values = _as_numpy(values).astype(float).ravel()
        epochs = np.arange(1, len(values) + 1)
        if "acc" in name.lower():
            if accuracy_axes is None:
                accuracy_axes = axes.twinx()
                accuracy_axes.set_ylabel("accuracy")
            accuracy_axes.plot(epochs, values, marker="o", linestyle="--", label=name,
                               color=f"C{len(axes.lines) + len(accuracy_axes.lines)}")
        else:
            axes.plot(epochs, values, marker="o", label=name,
                      color=f"C{len(axes.lines)}")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if accuracy_axes is not None:
        more_handles, more_labels = accuracy_axes.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if handles:
        axes.legend(handles, labels, loc="center right")
    figure.tight_layout()
    path = os.fspath(path)
    figure.savefig(path, format="png")
    return path


def plot_confusion_matrix(matrix, path: str | os.PathLike,
                          class_names: Sequence[str] | None = None,
                          normalize: str | None = None,
                          title: str = "Confusion matrix") -> str:
    """Save a confusion matrix (rows: true class, columns: predicted) as a PNG heat map
    with the count written in each cell; returns the path.

    ``normalize`` is None (counts), ``"true"`` (rows sum to 1), ``"pred"`` (columns sum
    to 1) or ``"all"``, as scikit-learn's; empty rows/columns stay 0.
    """
    counts = _as_numpy(matrix).astype(float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"expected a square 2-D confusion matrix, got shape {counts.shape}")
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError("normalize must be one of {'true', 'pred', 'all', None}")
    shown = counts
    if normalize is not None:
        axis = {"true": 1, "pred": 0, "all": None}[normalize]
        totals = counts.sum(axis=axis, keepdims=axis is not None)
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.nan_to_num(counts / totals)
    size = counts.shape[0]
    names = [str(n) for n in class_names] if class_names is not None else \
        [str(i) for i in range(size)]
    if len(names) != size:
        raise ValueError(f"{len(names)} class names for a {size}x{size} matrix")

    side = max(4.0, 0.5 * size + 2)
    figure = _figure(side + 1, side)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(shown, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(size), labels=names)
    axes.set_yticks(range(size), labels=names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    # Dark text on light cells, light text on dark cells.
    threshold = (shown.max() + shown.min()) / 2 if shown.size else 0
    rows, cols = np.indices(shown.shape)
    for row, col, value in zip(rows.ravel(), cols.ravel(), shown.ravel()):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        axes.text(col, row, text, ha="center", va="center", fontsize=8,
                  color="white" if value > threshold else "black")
    figure.tight_layout()
    path = os.fspath(path)
    figure.savefig(path, format="png")
    return path
