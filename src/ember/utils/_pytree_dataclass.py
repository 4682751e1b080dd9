"""``torch.utils._pytree.register_dataclass``: a dataclass (or a class built from keyword
fields) as a pytree node, so batches and model outputs held in dataclasses go through
``tree_map``, ``tree_flatten`` and ``torch.export`` like dicts do.

Kept apart from ``_pytree`` (which is near the file-size budget); ``_pytree`` re-exports it.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any


def _init_field_names(cls, field_names, drop_field_names) -> list:
    """The fields the node carries: ``field_names`` as given (checked against the
    dataclass's init fields), else every init field of the dataclass."""
    if not dataclasses.is_dataclass(cls):
        if field_names is None:
            raise ValueError("field_names must be specified with a list of all fields used "
                             f"to initialize {cls}, as it is not a dataclass.")
        return list(field_names)
    init_fields = [f.name for f in dataclasses.fields(cls) if f.init]
    if field_names is None:
        return init_fields
    expected = set(init_fields) - set(drop_field_names)
    missing, unexpected = expected - set(field_names), set(field_names) - expected
    if missing or unexpected:
        message = "field_names does not include all dataclass fields.\n"
        if missing:
            message += (f"Missing fields in `field_names`: {missing}. If you want to include "
                        "these fields in the pytree, please add them to `field_names`, "
                        "otherwise please add them to `drop_field_names`.\n")
        if unexpected:
            message += (f"Unexpected fields in `field_names`: {unexpected}. Please remove "
                        "these fields, or add them to `drop_field_names`.\n")
        raise ValueError(message)
    return list(field_names)


def register_dataclass(cls: type, *, field_names: list | None = None,
                       drop_field_names: list | None = None,
                       serialized_type_name: str | None = None) -> None:
    """Register ``cls`` as a pytree node whose children are its fields' values.

    Fields holding ``None`` are not children: the spec's context remembers their names
    (``[present_names, none_names]``, as PyTorch's), so they come back as None.

    Example::

        >>> @dataclass
        ... class Point:
        ...     x: Tensor
        ...     y: Tensor
        >>> register_dataclass(Point)
        >>> tree_map(lambda t: t + 1, Point(torch.tensor(0), torch.tensor(1)))
    """
    from ._pytree import SUPPORTED_NODES, GetAttrKey, _private_register

    if cls in SUPPORTED_NODES:
        warnings.warn(f"{cls} is already registered as pytree node. Overwriting the previous "
                      "registration.", UserWarning, stacklevel=2)
    names = _init_field_names(cls, field_names, drop_field_names or [])

    def flatten(obj: Any):
        values = {name: getattr(obj, name) for name in names}
        present = [name for name in names if values[name] is not None]
        absent = [name for name in names if values[name] is None]
        return [values[name] for name in present], [present, absent]

    def unflatten(children, context):
        present, absent = context
        return cls(**dict(zip(present, children, strict=True)), **dict.fromkeys(absent))

    def flatten_with_keys(obj: Any):
        children, (present, _absent) = flatten(obj)
        return [(GetAttrKey(name), child) for name, child in zip(present, children, strict=True)], present

    _private_register(cls, flatten, unflatten, flatten_with_keys,
                      serialized_type_name or "NO_SERIALIZED_TYPE_NAME_FOUND")
