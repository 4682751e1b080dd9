"""``torch.utils._pytree``: flatten nests of containers to a list of leaves and back.

Code everywhere (function transforms, ``export``, custom ops, data collation) takes and
returns arbitrary nests of tensors; it works on the flat list of leaves and rebuilds the
structure from a ``TreeSpec``. This is ember's one implementation, with PyTorch's
semantics: tuples, lists, dicts, namedtuples, ``OrderedDict``, ``defaultdict`` and
``deque`` are nodes; everything else (``None`` included) is a leaf unless registered with
``register_pytree_node``. ``TreeSpec`` prints, compares and hashes as PyTorch's.

Example::

    >>> leaves, spec = tree_flatten({"a": 1, "b": (2, 3)})
    >>> leaves
    [1, 2, 3]
    >>> tree_unflatten([x * 10 for x in leaves], spec)
    {'a': 10, 'b': (20, 30)}
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

__all__ = [
    "SUPPORTED_NODES",
    "Context",
    "FlattenFunc",
    "GetAttrKey",
    "LeafSpec",
    "MappingKey",
    "PyTree",
    "SequenceKey",
    "TreeSpec",
    "UnflattenFunc",
    "is_namedtuple",
    "is_namedtuple_class",
    "key_get",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "tree_all",
    "tree_all_only",
    "tree_any",
    "tree_any_only",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_is_leaf",
    "tree_iter",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_",
    "tree_map_only",
    "tree_map_only_",
    "tree_map_with_path",
    "tree_structure",
    "tree_unflatten",
    "treespec_dict",
    "treespec_dumps",
    "treespec_leaf",
    "treespec_loads",
    "treespec_pprint",
    "treespec_tuple",
]

PyTree = Any
Context = Any
FlattenFunc = Callable[[PyTree], tuple[list, Context]]
UnflattenFunc = Callable[[Iterable, Context], PyTree]
TREE_SPEC_PROTOCOL_VERSION = 1


class NodeDef(NamedTuple):
    type: type
    flatten_fn: FlattenFunc
    unflatten_fn: UnflattenFunc
    flatten_with_keys_fn: Callable | None


@dataclasses.dataclass(frozen=True)
class _SerializeNodeDef:
    typ: type
    serialized_type_name: str
    to_dumpable_context: Callable | None
    from_dumpable_context: Callable | None


SUPPORTED_NODES: dict[type, NodeDef] = {}
SUPPORTED_SERIALIZED_TYPES: dict[type, _SerializeNodeDef] = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE: dict[str, type] = {}


def register_pytree_node(cls: type, flatten_fn: FlattenFunc, unflatten_fn: UnflattenFunc, *,
                         serialized_type_name: str | None = None,
                         to_dumpable_context: Callable | None = None,
                         from_dumpable_context: Callable | None = None,
                         flatten_with_keys_fn: Callable | None = None) -> None:
    """Make ``cls`` a container: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
    if serialized_type_name is None:
        serialized_type_name = "NO_SERIALIZED_TYPE_NAME_FOUND"
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} "
                         "must be None or registered.")
    SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(
        cls, serialized_type_name, to_dumpable_context, from_dumpable_context)
    SERIALIZED_TYPE_TO_PYTHON_TYPE[serialized_type_name] = cls


def _private_register(cls, flatten_fn, unflatten_fn, keys_fn, serialized_name,
                      to_dumpable=None, from_dumpable=None):
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, keys_fn)
    SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(cls, serialized_name, to_dumpable,
                                                        from_dumpable)
    SERIALIZED_TYPE_TO_PYTHON_TYPE[serialized_name] = cls


# -- keys (paths to leaves) ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self) -> str:
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp: tuple) -> str:
    """A key path as the source text that reaches the leaf: ``['a'][1].b``."""
    return "".join(str(k) for k in kp)


def key_get(obj, kp: tuple):
    for key in kp:
        obj = key.get(obj)
    return obj


# -- the built-in node types ---------------------------------------------------------------

def is_namedtuple_class(cls) -> bool:
    return (isinstance(cls, type) and issubclass(cls, tuple)
            and isinstance(getattr(cls, "_fields", None), tuple)
            and all(type(f) is str for f in cls._fields))


def is_namedtuple(obj) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return is_namedtuple_class(cls)


def _seq_keys(children, context):
    return [(SequenceKey(i), c) for i, c in enumerate(children)], context


def _tuple_flatten(t):
    return list(t), None


def _list_flatten(values):
    return list(values), None


def _dict_flatten(d):
    return list(d.values()), list(d.keys())


def _dict_keys(d):
    return [(MappingKey(k), v) for k, v in d.items()], list(d.keys())


def _namedtuple_flatten(t):
    return list(t), type(t)


def _namedtuple_keys(t):
    return [(GetAttrKey(f), v) for f, v in zip(t._fields, t)], type(t)


def _ordereddict_unflatten(values, context):
    return OrderedDict(zip(context, values))


def _defaultdict_flatten(d):
    return list(d.values()), [d.default_factory, list(d.keys())]


def _defaultdict_keys(d):
    return [(MappingKey(k), v) for k, v in d.items()], [d.default_factory, list(d.keys())]


def _defaultdict_unflatten(values, context):
    factory, keys = context
    return defaultdict(factory, zip(keys, values))


def _deque_flatten(d):
    return list(d), d.maxlen


_private_register(tuple, _tuple_flatten, lambda v, c: tuple(v),
                  lambda t: _seq_keys(list(t), None), "builtins.tuple")
_private_register(list, _list_flatten, lambda v, c: list(v),
                  lambda t: _seq_keys(list(t), None), "builtins.list")
_private_register(dict, _dict_flatten, lambda v, c: dict(zip(c, v)), _dict_keys,
                  "builtins.dict")
_private_register(namedtuple, _namedtuple_flatten, lambda v, c: c(*v), _namedtuple_keys,
                  "collections.namedtuple")
_private_register(OrderedDict, _dict_flatten, _ordereddict_unflatten, _dict_keys,
                  "collections.OrderedDict")
def _defaultdict_to_dumpable(context):
    factory, keys = context
    return {"default_factory_module": factory.__module__,
            "default_factory_name": factory.__qualname__, "dict_context": keys}


def _defaultdict_from_dumpable(dumped):
    import importlib

    context = dumped
    module = importlib.import_module(context["default_factory_module"])
    return [getattr(module, context["default_factory_name"]), context["dict_context"]]


_private_register(defaultdict, _defaultdict_flatten, _defaultdict_unflatten,
                  _defaultdict_keys, "collections.defaultdict", _defaultdict_to_dumpable,
                  _defaultdict_from_dumpable)
_private_register(deque, _deque_flatten, lambda v, c: deque(v, maxlen=c),
                  lambda d: _seq_keys(list(d), d.maxlen), "collections.deque")
BUILTIN_TYPES = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})
STANDARD_DICT_TYPES = frozenset({dict, OrderedDict, defaultdict})


def _get_node_type(tree) -> Any:
    cls = type(tree)
    if cls not in SUPPORTED_NODES and is_namedtuple_class(cls):
        return namedtuple
    return cls


def tree_is_leaf(tree: PyTree, is_leaf: Callable | None = None) -> bool:
    """True when ``tree`` is not a registered container (or ``is_leaf`` says so)."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _get_node_type(tree) not in SUPPORTED_NODES


# -- TreeSpec ------------------------------------------------------------------------------

@dataclasses.dataclass(init=False, frozen=True, eq=True, repr=False, slots=True)
class TreeSpec:
    """The structure of a pytree: the root's type, its context (dict keys, namedtuple
    class, deque maxlen) and one spec per child; a leaf is ``TreeSpec(None, None, [])``.
    A frozen, slotted dataclass with PyTorch's fields, so ``dataclasses.fields``,
    ``__match_args__`` and pickling see what they see on PyTorch's."""

    type: Any
    _context: Context
    _children: list

    num_nodes: int = dataclasses.field(init=False)
    num_leaves: int = dataclasses.field(init=False)
    num_children: int = dataclasses.field(init=False)

    def __init__(self, type: Any, context: Context, children_specs: list) -> None:
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "_context", context)
        object.__setattr__(self, "_children", children_specs)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.type is None:
            if self._context is not None:
                raise AssertionError("leaf node should not have a context")
            if self._children:
                raise AssertionError("leaf node should not have children")
            counts = (1, 1, 0)
        else:
            children = self._children
            counts = (1 + sum(c.num_nodes for c in children),
                      sum(c.num_leaves for c in children), len(children))
        for field, count in zip(("num_nodes", "num_leaves", "num_children"), counts):
            object.__setattr__(self, field, count)

    def __repr__(self, indent: int = 0) -> str:
        if self.type is None:
            return "*"
        text = f"TreeSpec({self.type.__name__}, {self._context}, ["
        if self._children:
            indent += 2
            parts = [self._children[0].__repr__(indent)]
            parts += ["\n" + " " * indent + child.__repr__(indent)
                      for child in self._children[1:]]
            text += ",".join(parts)
        return text + "])"

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (str(self.type) == str(other.type) and self._context == other._context
                and self._children == other._children)

    def __hash__(self) -> int:
        context = self._context
        if self.type is defaultdict:
            context = (context[0], tuple(context[1]))
        elif self.type in (dict, OrderedDict):
            context = tuple(context)
        elif self.type is not None and self.type not in BUILTIN_TYPES:
            context = None  # user contexts may not hash
        return hash((self.type, context, tuple(self._children)))

    def __reduce__(self):
        return (TreeSpec, (self.type, self._context, self._children))

    @property
    def context(self) -> Context:
        return self._context

    @property
    def children_specs(self) -> list:
        """Deprecated in PyTorch (a FutureWarning): the child specs themselves."""
        warnings.warn("`treespec.children_specs` is deprecated. Use `treespec.child(index)` to "
                      "access a single child, or `treespec.children()` to get all children.",
                      FutureWarning, stacklevel=2)
        return self._children

    def is_leaf(self) -> bool:
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self) -> list:
        return self._children.copy()

    def child(self, index: int) -> TreeSpec:
        return self._children[index]

    def flatten_up_to(self, tree: PyTree) -> list:
        """The subtrees of ``tree`` at this spec's leaves (``tree`` has this structure
        as a prefix), with PyTorch's errors where it does not."""
        subtrees: list = []
        self._flatten_up_to(tree, subtrees)
        return subtrees

    def _flatten_up_to(self, node, subtrees: list) -> None:
        if self.is_leaf():
            subtrees.append(node)
            return
        node_type = _get_node_type(node)
        if self.type not in BUILTIN_TYPES:
            if node_type != self.type:
                raise ValueError(f"Type mismatch; expected {self.type!r}, but got {node_type!r}.")
            children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
            if len(children) != self.num_children:
                raise ValueError(f"Node arity mismatch; expected {self.num_children}, "
                                 f"but got {len(children)}.")
            if context != self._context:
                raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
        else:
            both_dicts = self.type in STANDARD_DICT_TYPES and node_type in STANDARD_DICT_TYPES
            if not both_dicts and node_type != self.type:
                raise ValueError(f"Node type mismatch; expected {self.type!r}, "
                                 f"but got {node_type!r}.")
            if len(node) != self.num_children:
                raise ValueError(f"Node arity mismatch; expected {self.num_children}, "
                                 f"but got {len(node)}.")
            if both_dicts:
                keys = self._context[1] if self.type is defaultdict else self._context
                got, expected = set(node), set(keys)
                if got != expected:
                    message = ""
                    if expected - got:
                        message += f"; missing key(s): {expected - got}"
                    if got - expected:
                        message += f"; extra key(s): {got - expected}"
                    raise ValueError(f"Node keys mismatch{message}.")
                children = [node[key] for key in keys]
            else:
                children, context = SUPPORTED_NODES[node_type].flatten_fn(node)
                if node_type is not deque and context != self._context:
                    raise ValueError(
                        f"Node context mismatch for node type {self.type!r}; "
                        f"expected {self._context!r}, but got {context!r}.")
        for subtree, subspec in zip(children, self._children):
            subspec._flatten_up_to(subtree, subtrees)

    def unflatten(self, leaves: Iterable) -> PyTree:
        """The pytree of this structure holding ``leaves``."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the "
                f"spec refers to a pytree that holds {self.num_leaves} items ({self}).")
        return self._unflatten(iter(leaves))

    def _unflatten(self, leaves):
        if self.type is None:
            return next(leaves)
        children = [child._unflatten(leaves) for child in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(children, self._context)


class LeafSpec(TreeSpec):
    """The spec of a leaf (PyTorch keeps the class for old code; prefer ``is_leaf()``)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None, None, [])


_LEAF_SPEC = LeafSpec()


def treespec_leaf() -> TreeSpec:
    return _LEAF_SPEC


def treespec_tuple(iterable: Iterable = (), /) -> TreeSpec:
    children = list(iterable)
    if any(not isinstance(child, TreeSpec) for child in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(mapping=(), /, **kwargs) -> TreeSpec:
    d = dict(mapping, **kwargs)
    if any(not isinstance(child, TreeSpec) for child in d.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {d!r}.")
    return TreeSpec(dict, list(d.keys()), list(d.values()))


# -- flatten / unflatten and the functions built on them -----------------------------------

def tree_flatten(tree: PyTree, is_leaf: Callable | None = None) -> tuple[list, TreeSpec]:
    """(leaves, spec): the leaves left to right, and the structure to rebuild it."""
    leaves: list = []
    spec = _flatten_into(tree, leaves, is_leaf)
    return leaves, spec


def _flatten_into(tree, leaves: list, is_leaf) -> TreeSpec:
    if tree_is_leaf(tree, is_leaf):
        leaves.append(tree)
        return _LEAF_SPEC
    node_type = _get_node_type(tree)
    children, context = SUPPORTED_NODES[node_type].flatten_fn(tree)
    return TreeSpec(node_type, context, [_flatten_into(c, leaves, is_leaf) for c in children])


def tree_unflatten(leaves: Iterable, treespec: TreeSpec) -> PyTree:
    if not isinstance(treespec, TreeSpec):
        raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item of "
                        f"type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: Callable | None = None):
    """The leaves one by one, without building the spec."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_get_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree: PyTree, is_leaf: Callable | None = None) -> list:
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: Callable | None = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func: Callable, tree: PyTree, *rests: PyTree,
             is_leaf: Callable | None = None) -> PyTree:
    """``func`` applied leaf by leaf; the other trees need only have ``tree``'s
    structure as a prefix (a leaf of ``tree`` takes a whole subtree of each)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    flat_args = [leaves] + [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(map(func, *flat_args))


def tree_map_(func: Callable, tree: PyTree, *rests: PyTree,
              is_leaf: Callable | None = None) -> PyTree:
    """``func`` called on each leaf for its side effect; returns ``tree``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    flat_args = [leaves] + [spec.flatten_up_to(r) for r in rests]
    for args in zip(*flat_args):
        func(*args)
    return tree


def _type_predicate(type_or_types_or_pred) -> Callable[[Any], bool]:
    if isinstance(type_or_types_or_pred, (type, tuple, type(int | str))):
        types = type_or_types_or_pred
        return lambda x: isinstance(x, types)
    if callable(type_or_types_or_pred):
        return type_or_types_or_pred
    raise TypeError("Argument must be a type, a tuple of types, or a callable.")


def map_only(type_or_types_or_pred) -> Callable:
    """Decorator: apply the function only to leaves of the given type(s) (or passing the
    predicate); other leaves pass through unchanged."""
    pred = _type_predicate(type_or_types_or_pred)

    def wrapper(func):
        def wrapped(x):
            return func(x) if pred(x) else x
        return wrapped
    return wrapper


def tree_map_only(type_or_types_or_pred, /, func: Callable, tree: PyTree,
                  is_leaf: Callable | None = None) -> PyTree:
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func: Callable, tree: PyTree,
                   is_leaf: Callable | None = None) -> PyTree:
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred: Callable, tree: PyTree, is_leaf: Callable | None = None) -> bool:
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred: Callable, tree: PyTree, is_leaf: Callable | None = None) -> bool:
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred: Callable, tree: PyTree,
                  is_leaf: Callable | None = None) -> bool:
    check = _type_predicate(type_or_types)
    return all(pred(x) for x in tree_iter(tree, is_leaf) if check(x))


def tree_any_only(type_or_types, /, pred: Callable, tree: PyTree,
                  is_leaf: Callable | None = None) -> bool:
    check = _type_predicate(type_or_types)
    return any(pred(x) for x in tree_iter(tree, is_leaf) if check(x))


# -- key paths -----------------------------------------------------------------------------

def _flatten_with_keys_fn(node_type):
    node_def = SUPPORTED_NODES[node_type]
    if node_def.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {node_type}. Please "
                         "pass a flatten_with_keys_fn argument to register_pytree_node.")
    return node_def.flatten_with_keys_fn


def _generate_key_paths(key_path: tuple, tree, is_leaf):
    if tree_is_leaf(tree, is_leaf):
        yield key_path, tree
        return
    key_children, _ = _flatten_with_keys_fn(_get_node_type(tree))(tree)
    for key, child in key_children:
        yield from _generate_key_paths((*key_path, key), child, is_leaf)


def tree_flatten_with_path(tree: PyTree, is_leaf: Callable | None = None):
    """([(key_path, leaf), ...], spec)."""
    spec = tree_structure(tree, is_leaf)
    return list(_generate_key_paths((), tree, is_leaf)), spec


def tree_leaves_with_path(tree: PyTree, is_leaf: Callable | None = None) -> list:
    return list(_generate_key_paths((), tree, is_leaf))


def tree_map_with_path(func: Callable, tree: PyTree, *rests: PyTree,
                       is_leaf: Callable | None = None) -> PyTree:
    keypath_leaves, spec = tree_flatten_with_path(tree, is_leaf)
    keypaths, leaves = zip(*keypath_leaves) if keypath_leaves else ((), ())
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(*xs) for xs in zip(keypaths, leaves, *others))


class _DummyLeaf:
    def __repr__(self) -> str:
        return "*"


def treespec_pprint(treespec: TreeSpec) -> str:
    """The spec drawn as the pytree it describes, ``*`` for each leaf."""
    return repr(treespec.unflatten([_DummyLeaf() for _ in range(treespec.num_leaves)]))


def _broadcast_to_and_flatten(tree: PyTree, treespec: TreeSpec,
                              is_leaf: Callable | None = None) -> list | None:
    """One value per leaf of ``treespec`` from ``tree``, a prefix of it whose leaves stand
    for whole subtrees (vmap's in_dims and out_dims); None where the two do not line up."""
    result: list = []
    try:
        _broadcast_into(tree, treespec, result, is_leaf)
    except ValueError:
        return None
    return result


def _broadcast_into(prefix, spec: TreeSpec, result: list, is_leaf) -> None:
    if tree_is_leaf(prefix, is_leaf):
        result.extend([prefix] * spec.num_leaves)
        return
    if spec.is_leaf():
        raise ValueError("prefix tree is deeper than the full tree")
    one_level = TreeSpec(spec.type, spec.context, [_LEAF_SPEC] * spec.num_children)
    prefix_type = _get_node_type(prefix)
    if prefix_type != spec.type and not (
            prefix_type in STANDARD_DICT_TYPES and spec.type in STANDARD_DICT_TYPES):
        raise ValueError(f"Node type mismatch; expected {spec.type!r}, but got {prefix_type!r}.")
    for child, child_spec in zip(one_level.flatten_up_to(prefix), spec.children()):
        _broadcast_into(child, child_spec, result, is_leaf)


# re-exported: they read this module's registries (see _pytree_dataclass, _pytree_json)
from ._pytree_dataclass import register_dataclass
from ._pytree_json import treespec_dumps, treespec_loads
