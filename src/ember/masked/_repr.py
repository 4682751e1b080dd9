"""``repr(MaskedTensor)`` as PyTorch prints it: floats as ``{:8.4f}``, other values as
``str``, masked-out elements as ``--``, one nested bracket per dim."""

from __future__ import annotations

_FLOAT = "{0:8.4f}"


def _element(value) -> str:
    return _FLOAT.format(value) if isinstance(value, float) else str(value)


def _rows(values, mask) -> str:
    if values and not isinstance(values[0], list):
        shown = [_element(v) for v in values]
        width = max(8 if not m else len(s) for s, m in zip(shown, mask))
        return "[" + ", ".join(s if m else "--".rjust(width) for s, m in zip(shown, mask)) + "]"
    if not values:
        return "[]"
    inner = [_rows(v, m) for v, m in zip(values, mask)]
    inner = ["\n".join("  " + line for line in s.split("\n")) for s in inner]
    return "[\n" + ",\n".join(inner) + "\n]"


def masked_tensor_repr(mt) -> str:
    data = mt._masked_data.tolist()
    mask = mt._dense_mask().tolist()
    if mt.dim() == 0:
        shown = _element(data) if mask else "--"
        return f"MaskedTensor({shown}, {mask})"
    body = "\n".join("  " + line for line in _rows(data, mask).split("\n"))
    return "MaskedTensor(\n" + body + "\n)"
