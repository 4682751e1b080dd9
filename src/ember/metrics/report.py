"""classification_report: scikit-learn's text (or dict) table of per-class scores.

Arguments keep scikit-learn's order ``(y_true, y_pred)`` so a report line copied from a
scikit-learn tutorial runs unchanged; the output is character-for-character the same.
"""

from __future__ import annotations

import warnings

import ember

from ._stats import classification_state, is_multilabel, label_indices
from .classification import prf_compute

HEADERS = ["precision", "recall", "f1-score", "support"]


def classification_report(y_true, y_pred, labels=None, target_names=None, digits=2,
                          output_dict=False, zero_division="warn"):
    """Per-class precision, recall, F1 and support, then accuracy and averages.

    ``y_true``/``y_pred`` are class indices (or 0/1 indicator rows for multilabel).

    >>> print(classification_report([0, 1, 2, 2], [0, 2, 2, 2]))  # doctest: +SKIP
                  precision    recall  f1-score   support
    ...
    """
    state = classification_state(y_pred, y_true)
    multilabel = is_multilabel(state)
    if multilabel:
        seen = ember.arange(state["tp"].shape[0])
    else:
        seen = label_indices(state["confmat"], None, None)
    labels_given = labels is not None
    labels = [int(label) for label in labels] if labels_given else seen.tolist()
    micro_is_accuracy = not multilabel and (
        not labels_given or set(labels) >= set(seen.tolist())
    )
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(labels)}, does not match size of target_names, "
                          f"{len(target_names)}", UserWarning, stacklevel=2)
        else:
            raise ValueError(
                f"Number of classes, {len(labels)}, does not match size of target_names, "
                f"{len(target_names)}. Try specifying the labels parameter"
            )
    if target_names is None:
        target_names = [str(label) for label in labels]

    def scores(average):
        return prf_compute(state, average=average, labels=labels, zero_division=zero_division)

    precision, recall, f1, support = scores(None)
    support = support.tolist()
    # sklearn's quirk, kept for identical text: with no correct prediction at all its
    # support counts come out as floats and print as "3.0".
    if not multilabel and int(ember.diagonal(state["confmat"]).sum()) == 0:
        support = [float(count) for count in support]
    rows = list(zip(target_names, precision.tolist(), recall.tolist(), f1.tolist(), support))
    total_support = sum(support)
    averages = ("micro", "macro", "weighted") + (("samples",) if multilabel else ())

    if output_dict:
        report = {name: dict(zip(HEADERS, [float(value) for value in values]))
                  for name, *values in rows}
    else:
        width = max(max(len(name) for name in target_names), len("weighted avg"), digits)
        report = ("{:>{width}s} " + " {:>9}" * len(HEADERS)).format("", *HEADERS, width=width)
        report += "\n\n"
        row_format = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for row in rows:
            report += row_format.format(*row, width=width, digits=digits)
        report += "\n"

    for average in averages:
        heading = "accuracy" if average == "micro" and micro_is_accuracy else average + " avg"
        avg_precision, avg_recall, avg_f1, _ = scores(average)
        values = [float(avg_precision), float(avg_recall), float(avg_f1), total_support]
        if output_dict:
            report[heading] = dict(zip(HEADERS, [float(value) for value in values]))
        elif heading == "accuracy":
            accuracy_format = ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}"
                               + " {:>9}\n")
            report += accuracy_format.format(heading, "", "", *values[2:], width=width,
                                             digits=digits)
        else:
            report += row_format.format(heading, *values, width=width, digits=digits)

    if output_dict and "accuracy" in report:
        report["accuracy"] = report["accuracy"]["precision"]
    return report


__all__ = ["classification_report"]
