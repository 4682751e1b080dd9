"""Tensor printing, laid out as PyTorch lays it out (``set_printoptions`` included)."""

from __future__ import annotations

import math

import numpy as np

from ._backend import dtypes as _dt


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    if profile == "default":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return {
        "precision": PRINT_OPTS.precision, "threshold": PRINT_OPTS.threshold,
        "edgeitems": PRINT_OPTS.edgeitems, "linewidth": PRINT_OPTS.linewidth,
        "sci_mode": PRINT_OPTS.sci_mode,
    }


class _Formatter:
    """Chooses integer, fixed or scientific layout from the finite values, as PyTorch."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not self.floating:
            for v in values.ravel():
                self.max_width = max(self.max_width, len(self._plain(v)))
            return
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            for v in values.ravel():
                self.max_width = max(self.max_width, len(str(v).replace("inf", "inf")))
            self.int_mode = True
            return
        nonzero = np.abs(finite[finite != 0])
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            if nonzero.size and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8):
                self.sci_mode = True
        elif nonzero.size and (
            nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8 or nonzero.min() < 1e-4
        ):
            self.sci_mode = True
        if PRINT_OPTS.sci_mode is not None:
            self.sci_mode = PRINT_OPTS.sci_mode
        for v in values.ravel():
            self.max_width = max(self.max_width, len(self._text(v)))

    @staticmethod
    def _plain(v):
        if isinstance(v, (np.bool_, bool)):
            return "True" if v else "False"
        return str(v)

    def _text(self, v):
        if not self.floating:
            return self._plain(v)
        p = PRINT_OPTS.precision
        if not np.isfinite(v):
            return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
        if self.sci_mode:
            return f"{v:.{p}e}"
        if self.int_mode:
            return f"{v:.0f}."
        return f"{v:.{p}f}"

    def width(self):
        return self.max_width

    def format(self, v):
        return self._text(v).rjust(self.max_width)


def _summarized_values(array, edge):
    """The values that will be printed (edges only for large tensors)."""
    if array.ndim == 0:
        return array.reshape(1)
    if array.shape[0] > 2 * edge:
        parts = [array[:edge], array[-edge:]]
    else:
        parts = [array]
    pieces = [_summarized_values(p[i], edge) for p in parts for i in range(p.shape[0])]
    return np.concatenate(pieces) if pieces else array.reshape(-1)


def _format_array(array, formatter, indent, summarize):
    if array.ndim == 0:
        return formatter.format(array.item() if array.dtype.kind != "f" else array[()])
    edge = PRINT_OPTS.edgeitems
    if array.ndim == 1:
        width = formatter.width() + 2
        per_line = max(int(math.floor((PRINT_OPTS.linewidth - indent) / width)), 1)
        if summarize and array.shape[0] > 2 * edge:
            items = [formatter.format(v) for v in array[:edge]] + [" ..."] + [
                formatter.format(v) for v in array[-edge:]
            ]
        else:
            items = [formatter.format(v) for v in array]
        lines = [items[i:i + per_line] for i in range(0, len(items), per_line)]
        body = (",\n" + " " * (indent + 1)).join(", ".join(line) for line in lines)
        return "[" + body + "]"
    rows = []
    if summarize and array.shape[0] > 2 * edge:
        rows = [_format_array(array[i], formatter, indent + 1, summarize) for i in range(edge)]
        rows.append("...")
        rows += [_format_array(array[i], formatter, indent + 1, summarize)
                 for i in range(array.shape[0] - edge, array.shape[0])]
    else:
        rows = [_format_array(array[i], formatter, indent + 1, summarize)
                for i in range(array.shape[0])]
    separator = "," + "\n" * (array.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(rows) + "]"


def tensor_repr(tensor) -> str:
    array = tensor.__array__()
    dtype = tensor.dtype
    if array.dtype.kind == "V":  # bfloat16: print its float32 values
        array = array.astype(np.float32)
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    summarize = array.size > PRINT_OPTS.threshold
    if array.size == 0:
        body = "[]"
    else:
        values = _summarized_values(array, PRINT_OPTS.edgeitems) if summarize else array.ravel()
        if values.dtype.kind == "c":
            body = np.array2string(array, separator=", ")
        else:
            formatter = _Formatter(values)
            body = _format_array(array, formatter, indent, summarize)
    device = tensor.device
    if device.type != "cpu":
        suffixes.append(f"device='{device}'")
    if array.size == 0 and array.ndim != 1:
        suffixes.append(f"size={tuple(array.shape)}")
    default_float = _dt.get_default_dtype()
    implicit = {default_float, _dt.int64, _dt.bool_}
    if dtype not in implicit or (array.size == 0 and dtype is not default_float and dtype is not _dt.int64):
        suffixes.append(f"dtype={dtype}")
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    for suffix in suffixes:
        text += ", " + suffix
    return text + ")"
