"""Nested state dicts as flat ones: ``{'a': {'b': t}}`` is saved under the key ``a.b``,
with the path ``('a', 'b')`` kept in the metadata's ``planner_data`` so a load can put
values back. Lists are walked only when they hold tensors or containers (a list of
numbers stays one pickled value), as PyTorch does since 2.4."""

from collections.abc import Mapping

import ember

__all__ = ["flatten_state_dict", "unflatten_state_dict", "traverse_state_dict", "set_element",
           "get_element"]


def traverse_state_dict(state_dict, visitor, keep_traversing=None):
    """Call ``visitor(path, value)`` for every leaf of ``state_dict``."""
    from .utils import _is_sharded

    keep = keep_traversing or (lambda value: isinstance(value, ember.Tensor)
                               or _is_sharded(value))

    def is_terminal(value):
        if isinstance(value, Mapping):
            return False
        if not isinstance(value, list):
            return True
        for entry in value:
            if isinstance(entry, (Mapping, list)) and not is_terminal(entry):
                return False
            if keep(entry):
                return False
        return True

    def walk(path, value):
        if isinstance(value, Mapping):
            for key, entry in value.items():
                walk(path + (str(key),), entry)
        elif is_terminal(value):
            visitor(path, value)
        elif isinstance(value, (list, tuple)):
            for i, entry in enumerate(value):
                walk(path + (i,), entry)

    for key, value in state_dict.items():
        walk((str(key),), value)


def flatten_state_dict(state_dict):
    """(flat dict keyed by dotted paths, {dotted key: path})."""
    flattened, mappings = {}, {}

    def flat_copy(path, value):
        key = ".".join(map(str, path))
        if key in flattened:
            raise ValueError(f"duplicated flatten key {key}")
        flattened[key] = value
        mappings[key] = path

    traverse_state_dict(state_dict, flat_copy)
    return flattened, mappings


def unflatten_state_dict(state_dict, mapping):
    nested = {}
    for key, value in state_dict.items():
        set_element(nested, mapping[key], value)
    return nested


def set_element(root, path, value) -> None:
    """Set ``value`` at ``path`` in ``root``, creating dicts (str keys) and lists (int
    keys) on the way."""
    container = root

    def extend(items, index):
        while len(items) <= index:
            items.append(None)

    for i in range(1, len(path)):
        previous, key = path[i - 1], path[i]
        default = {} if type(key) is str else []
        if isinstance(container, Mapping):
            container = container.setdefault(previous, default)
        else:
            extend(container, previous)
            if container[previous] is None:
                container[previous] = default
            container = container[previous]
    if type(path[-1]) is int:
        extend(container, path[-1])
    container[path[-1]] = value


def get_element(root, path, default_value=None):
    value = root
    for part in path:
        if type(part) is int:
            if not isinstance(value, list) or len(value) < part:
                return default_value
        elif not isinstance(value, Mapping) or part not in value:
            return default_value
        value = value[part]
    return value
