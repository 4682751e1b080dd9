"""A small pytree: flatten nested tuples, lists, dicts and namedtuples to leaves and back.

The function transforms take and return arbitrary nests of tensors (a dict of parameters,
a tuple of outputs); they all work on the flat list of leaves and rebuild the structure at
the end. ``None`` is a leaf, as in PyTorch's Python pytree.
"""

from __future__ import annotations

from collections import OrderedDict


class TreeSpec:
    """The shape of a nest: a node kind, its context (dict keys, namedtuple class) and the
    specs of its children; ``LEAF`` for a leaf."""

    __slots__ = ("children", "context", "kind", "num_leaves")

    def __init__(self, kind, context, children):
        self.kind = kind
        self.context = context
        self.children = children
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)

    def is_leaf(self) -> bool:
        return self.kind is None

    def __eq__(self, other):
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.kind == other.kind and self.context == other.context
                and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, len(self.children)))

    def __repr__(self):
        if self.kind is None:
            return "*"
        name = self.kind if isinstance(self.kind, str) else self.kind.__name__
        context = self.context if self.kind in ("dict", "OrderedDict") else None
        children = ", ".join(repr(c) for c in self.children)
        return f"TreeSpec({name}, {context}, [{children}])"


LEAF = TreeSpec(None, None, [])


def _node(tree):
    """(kind, context, children) for a container, or None for a leaf."""
    if isinstance(tree, tuple):
        if hasattr(tree, "_fields"):
            return type(tree), None, list(tree)
        return "tuple", None, list(tree)
    if isinstance(tree, list):
        return "list", None, list(tree)
    if isinstance(tree, OrderedDict):
        keys = list(tree)
        return "OrderedDict", keys, [tree[k] for k in keys]
    if isinstance(tree, dict):
        keys = list(tree)
        return "dict", keys, [tree[k] for k in keys]
    return None


def tree_flatten(tree):
    """(leaves, spec): the leaves left to right, and what tree_unflatten needs back."""
    leaves = []
    spec = _flatten_into(tree, leaves)
    return leaves, spec


def _flatten_into(tree, leaves):
    node = _node(tree)
    if node is None:
        leaves.append(tree)
        return LEAF
    kind, context, children = node
    return TreeSpec(kind, context, [_flatten_into(c, leaves) for c in children])


def tree_unflatten(leaves, spec):
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(
            f"tree_unflatten(leaves, spec): `leaves` has length {len(leaves)} but the spec "
            f"refers to a pytree that holds {spec.num_leaves} items ({spec})."
        )
    iterator = iter(leaves)
    return _build(iterator, spec)


def _build(iterator, spec):
    if spec.kind is None:
        return next(iterator)
    children = [_build(iterator, c) for c in spec.children]
    if spec.kind == "tuple":
        return tuple(children)
    if spec.kind == "list":
        return children
    if spec.kind == "dict":
        return dict(zip(spec.context, children))
    if spec.kind == "OrderedDict":
        return OrderedDict(zip(spec.context, children))
    return spec.kind(*children)  # a namedtuple class


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(leaf) for leaf in leaves], spec)


def broadcast_prefix(prefix, spec):
    """Flatten ``prefix`` (a nest whose leaves stand for whole subtrees of ``spec``, as
    vmap's in_dims and out_dims do) to one value per leaf of ``spec``; None where the
    two structures do not line up."""
    result = []
    if _broadcast_into(prefix, spec, result):
        return result
    return None


def _broadcast_into(prefix, spec, result):
    node = _node(prefix)
    if node is None:
        result.extend([prefix] * spec.num_leaves)  # a leaf of the prefix covers a subtree
        return True
    kind, context, children = node
    if spec.kind is None or kind != spec.kind or len(children) != len(spec.children):
        return False
    if context != spec.context:
        if set(context) != set(spec.context):
            return False
        by_key = dict(zip(context, children))
        children = [by_key[k] for k in spec.context]
    return all(_broadcast_into(c, s, result) for c, s in zip(children, spec.children))
