"""``torch.utils._pytree.treespec_dumps`` / ``treespec_loads``: a TreeSpec as PyTorch's
protocol-1 JSON (``[1, {"type": ..., "context": ..., "children_spec": [...]}]``), so specs
written by ember load in PyTorch and the reverse (``torch.export`` archives hold them).

Kept apart from ``_pytree`` (the file-size budget); ``_pytree`` re-exports both.
"""

from __future__ import annotations

import json
from collections import namedtuple

from ._pytree import (
    _LEAF_SPEC,
    SERIALIZED_TYPE_TO_PYTHON_TYPE,
    SUPPORTED_SERIALIZED_TYPES,
    TREE_SPEC_PROTOCOL_VERSION,
    TreeSpec,
)


def _spec_to_json(spec: TreeSpec) -> dict:
    if spec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    if spec.type not in SUPPORTED_SERIALIZED_TYPES:
        raise NotImplementedError(f"Serializing {spec.type} in pytree is not registered.")
    entry = SUPPORTED_SERIALIZED_TYPES[spec.type]
    if entry.serialized_type_name == "NO_SERIALIZED_TYPE_NAME_FOUND":
        raise NotImplementedError(
            f"No registered serialization name for {spec.type} found. Please update your "
            "_register_pytree_node call with a `serialized_type_name` kwarg.")
    if spec.type is namedtuple:
        raise NotImplementedError("Serializing namedtuple contexts is not supported by ember.")
    if entry.to_dumpable_context is not None:
        dumped = entry.to_dumpable_context(spec.context)
    else:
        try:
            dumped = json.dumps(spec.context)
        except TypeError as e:
            raise TypeError("Unable to serialize context. Please make the context json "
                            "dump-able, or register a custom serializer using "
                            "_register_pytree_node.") from e
    return {"type": entry.serialized_type_name, "context": dumped,
            "children_spec": [_spec_to_json(c) for c in spec.children()]}


def _json_to_spec(data: dict) -> TreeSpec:
    if data["type"] is None and data["context"] is None and not data["children_spec"]:
        return _LEAF_SPEC
    name = data["type"]
    if name not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Deserializing {name} in pytree is not registered.")
    typ = SERIALIZED_TYPE_TO_PYTHON_TYPE[name]
    entry = SUPPORTED_SERIALIZED_TYPES[typ]
    if entry.from_dumpable_context is not None:
        context = entry.from_dumpable_context(data["context"])
    else:
        context = json.loads(data["context"])
    return TreeSpec(typ, context, [_json_to_spec(c) for c in data["children_spec"]])


def treespec_dumps(treespec: TreeSpec, protocol: int | None = None) -> str:
    """The spec as a JSON string (``[protocol, spec]``), as PyTorch writes it."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"treespec_dumps(treespec, protocol): Expected `treespec` to be "
                        f"instance of TreeSpec but got item of type {type(treespec)}.")
    if protocol is None:
        protocol = TREE_SPEC_PROTOCOL_VERSION
    if protocol != TREE_SPEC_PROTOCOL_VERSION:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: "
                         f"{[TREE_SPEC_PROTOCOL_VERSION]}")
    return json.dumps([protocol, _spec_to_json(treespec)])


def treespec_loads(serialized: str) -> TreeSpec:
    protocol, json_schema = json.loads(serialized)
    if protocol != TREE_SPEC_PROTOCOL_VERSION:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: "
                         f"{[TREE_SPEC_PROTOCOL_VERSION]}")
    return _json_to_spec(json_schema)
