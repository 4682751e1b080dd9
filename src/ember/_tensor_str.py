"""Tensor printing, laid out character for character as PyTorch lays it out.

The structure follows ``torch/_tensor_str.py`` (one formatter chooses integer, fixed or
scientific layout from the finite non-zero values; nested brackets, summarisation with
``...`` and suffixes such as ``dtype=`` and ``grad_fn=<...>``), because users compare
printed tensors with PyTorch's and doctests embed them. Column widths come from a
handful of extreme values instead of formatting every element twice.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ._backend import dtypes as _dt


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """As ``torch.set_printoptions``: ``profile`` resets a preset, then the given fields
    apply; ``sci_mode`` is always set (None restores automatic choice)."""
    if profile is not None:
        presets = {"default": (4, 1000, 3), "short": (2, 1000, 2), "full": (4, math.inf, 3)}
        if profile in presets:
            precision_, threshold_, edgeitems_ = presets[profile]
            PRINT_OPTS.precision, PRINT_OPTS.threshold = precision_, threshold_
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = edgeitems_, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    return asdict(PRINT_OPTS)


class _Formatter:
    """Chooses the layout of one tensor's elements and their common column width."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            if flat.size:
                if flat.dtype.kind == "b":
                    self.max_width = 5 if not flat.all() else 4
                else:
                    self.max_width = max(len(str(flat.max().item())), len(str(flat.min().item())))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return  # PyTorch leaves the layout (and sci_mode) untouched here
        magnitude = np.abs(finite)
        smallest, largest = magnitude.min(), magnitude.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        precision = PRINT_OPTS.precision
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(largest / smallest > 1000.0 or largest > 1.0e8
                                 or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        if self.sci_mode:
            self.max_width = self._widest(finite, lambda v: f"{v:.{precision}e}")
        elif self.int_mode:
            self.max_width = self._widest(finite, lambda v: f"{v:.0f}") + 1
        else:
            self.max_width = self._widest(finite, lambda v: f"{v:.{precision}f}")

    def _widest(self, finite, fmt):
        """The longest formatted value is one of the extremes of each sign (text length
        grows with magnitude, and sci exponents widen at both ends)."""
        candidates = []
        for part in (finite[finite > 0], finite[finite < 0]):
            if part.size:
                candidates += [part.min(), part.max()]
        return max(self.max_width, *(len(fmt(float(v))) for v in candidates))

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating:
            precision = PRINT_OPTS.precision
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _summarized(array):
    """The elements that will be printed: edges of every dim when summarising."""
    edge = PRINT_OPTS.edgeitems
    if array.ndim == 0:
        return array
    if array.ndim == 1:
        if array.shape[0] > 2 * edge:
            return np.concatenate((array[:edge], array[-edge:] if edge else array[:0]))
        return array
    if not edge:
        return array.reshape(-1)[:0]
    if array.shape[0] > 2 * edge:
        rows = list(range(edge)) + list(range(array.shape[0] - edge, array.shape[0]))
    else:
        rows = range(array.shape[0])
    return np.stack([_summarized(array[i]) for i in rows])


def _join_complex(real_text, imag_text):
    imag_text = (imag_text + "j").lstrip()
    if imag_text[0] in "+-":
        return real_text + imag_text
    return real_text + "+" + imag_text


def _scalar_str(array, formatters):
    value = array.item()
    if len(formatters) == 2:
        return _join_complex(formatters[0].format(value.real), formatters[1].format(value.imag))
    return formatters[0].format(value)


def _vector_str(array, indent, summarize, formatters):
    element_length = formatters[0].width() + 2
    if len(formatters) == 2:
        element_length += formatters[1].width() + 1
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))

    def fmt(values):
        if len(formatters) == 2:
            return [_join_complex(formatters[0].format(v.real), formatters[1].format(v.imag))
                    for v in values]
        return [formatters[0].format(v) for v in values]

    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * edge:
        data = fmt(array[:edge].tolist()) + [" ..."] + fmt(array[-edge:].tolist())
    else:
        data = fmt(array.tolist())
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(array, indent, summarize, formatters):
    ndim = array.ndim
    if ndim == 0:
        return _scalar_str(array, formatters)
    if ndim == 1:
        return _vector_str(array, indent, summarize, formatters)
    edge = PRINT_OPTS.edgeitems
    if summarize and array.shape[0] > 2 * edge:
        slices = (
            [_tensor_str_with_formatter(array[i], indent + 1, summarize, formatters)
             for i in range(edge)]
            + ["..."]
            + [_tensor_str_with_formatter(array[i], indent + 1, summarize, formatters)
               for i in range(array.shape[0] - edge, array.shape[0])]
        )
    else:
        slices = [_tensor_str_with_formatter(array[i], indent + 1, summarize, formatters)
                  for i in range(array.shape[0])]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _widened(array):
    """float32 values of a half-precision array; complex64 of a complex32 one."""
    if array.dtype.fields is not None:
        from ._complex32 import to_complex64

        return to_complex64(array)
    return array.astype(np.float32)


def _tensor_str(array, indent):
    if array.size == 0:
        return "[]"
    summarize = array.size > PRINT_OPTS.threshold
    if array.dtype.kind == "V" or array.dtype == np.float16:  # bfloat16/half print as float
        array = _widened(array)
    sample = _summarized(array) if summarize else array
    if array.dtype.kind == "c":
        formatters = (_Formatter(sample.real), _Formatter(sample.imag))
    else:
        formatters = (_Formatter(sample),)
    return _tensor_str_with_formatter(array, indent, summarize, formatters)


def _add_suffixes(tensor_str, suffixes, indent):
    """Append ``, suffix`` items, wrapping to a new line past the line width."""
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(tensor) -> str:
    from ._backend import get_default_device
    from ._tensor import Tensor

    if tensor.is_meta:  # no values to show: PyTorch's "tensor(..., device='meta', ...)"
        from ._device_meta import meta_repr

        return meta_repr(tensor)
    array = tensor._host_array()
    dtype = tensor.dtype
    plain = type(tensor) is Tensor or type(tensor).__name__ == "Parameter"
    prefix = "tensor(" if plain else f"{type(tensor).__name__}("
    indent = len(prefix)
    suffixes = []
    device = tensor.device
    if device.type != get_default_device().type:
        suffixes.append(f"device='{device}'")
    default_float = _dt.get_default_dtype()
    implicit = (default_float, _dt.default_complex(), _dt.int64, _dt.bool_)
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype is not default_float:
            suffixes.append(f"dtype={dtype}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype not in implicit:
            suffixes.append(f"dtype={dtype}")
        body = _tensor_str(array, indent)
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
