"""ember.utils._pytree against torch.utils._pytree: leaves, spec reprs, round trips,
tree_map variants, key paths, serialization and errors."""

from collections import OrderedDict, defaultdict, deque, namedtuple

import pytest
import torch.utils._pytree as tpt

import ember.utils._pytree as ept

Point = namedtuple("Point", "x y")


def _trees():
    return [
        1, None, [], (), {}, [None], [1, [2, 3]], (1, (2,), [3, {"a": 4}]),
        {"b": [1, (2, None)], "a": Point(3, 4)},
        OrderedDict(z=5, y=6), defaultdict(list, {"k": 7}), deque([8, 9], maxlen=3),
        {2: "x", 1: ("y", "z")}, [Point([1, 2], None)],
    ]


TREES = _trees()


@pytest.mark.parametrize("index", range(len(TREES)))
def test_flatten_matches_torch(index):
    tree = _trees()[index]
    leaves, spec = ept.tree_flatten(tree)
    t_leaves, t_spec = tpt.tree_flatten(tree)
    assert leaves == t_leaves
    assert repr(spec) == repr(t_spec) and str(spec) == str(t_spec)
    assert (spec.num_leaves, spec.num_nodes, spec.num_children, spec.is_leaf()) == (
        t_spec.num_leaves, t_spec.num_nodes, t_spec.num_children, t_spec.is_leaf())
    assert spec.type == t_spec.type and spec.context == t_spec.context
    rebuilt = ept.tree_unflatten(leaves, spec)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert ept.tree_leaves(tree) == list(ept.tree_iter(tree)) == t_leaves
    assert ept.treespec_pprint(spec) == tpt.treespec_pprint(t_spec)
    paths = [(ept.keystr(k), v) for k, v in ept.tree_leaves_with_path(tree)]
    assert paths == [(tpt.keystr(k), v) for k, v in tpt.tree_leaves_with_path(tree)]


def test_spec_equality_and_hash():
    assert ept.tree_structure([1, 2]) == ept.tree_structure([3, 4])
    assert ept.tree_structure((1,)) != ept.tree_structure([1])
    assert hash(ept.tree_structure({"a": [1]})) == hash(ept.tree_structure({"a": [2]}))
    assert ept.tree_structure(5) == ept.treespec_leaf() and repr(ept.LeafSpec()) == "*"
    assert repr(ept.treespec_tuple([ept.treespec_leaf()] * 2)) == repr(
        tpt.treespec_tuple([tpt.treespec_leaf()] * 2))


def test_is_leaf_argument():
    tree = [1, [2, 3], {"a": [4]}]
    for is_leaf in (lambda x: isinstance(x, list) and len(x) == 2, lambda x: x == [4]):
        leaves, spec = ept.tree_flatten(tree, is_leaf=is_leaf)
        t_leaves, t_spec = tpt.tree_flatten(tree, is_leaf=is_leaf)
        assert leaves == t_leaves and repr(spec) == repr(t_spec)
        fn = len if is_leaf(tree[1]) else str
        assert ept.tree_map(lambda x, fn=fn: fn(x) if isinstance(x, list) else x, tree,
                            is_leaf=is_leaf) == tpt.tree_map(
            lambda x, fn=fn: fn(x) if isinstance(x, list) else x, tree, is_leaf=is_leaf)


@pytest.mark.parametrize("case", [
    lambda pt: pt.tree_map(lambda x: x * 10, {"x": 7, "y": (42, 64)}),
    lambda pt: pt.tree_map(lambda x, y: [x] + y, [5, 6], [[7, 9], [1, 2]]),
    lambda pt: pt.tree_map(lambda x, y: (x, y), {"a": 1, "b": 2}, OrderedDict(b=3, a=4)),
    lambda pt: pt.tree_map_only(int, lambda x: -x, [1, "a", 2.0, True]),
    lambda pt: pt.tree_map_only((int, float), lambda x: -x, [1, "a", 2.0]),
    lambda pt: pt.tree_map_only(lambda x: x == "a", str.upper, {"k": ["a", "b"]}),
    lambda pt: pt.tree_map(lambda x: x is None, {"x": 7, "z": None}),
    lambda pt: (pt.tree_all(lambda x: x > 0, [1, 2]), pt.tree_any(lambda x: x > 1, [1, 2]),
                pt.tree_all_only(int, lambda x: x > 0, [1, "a"]),
                pt.tree_any_only(str, lambda x: x == "b", [1, "a"])),
    lambda pt: pt.tree_map_with_path(lambda k, v: (pt.keystr(k), v), {"a": [1, Point(2, 3)]}),
    lambda pt: pt.tree_map_(lambda x: None, [1]),
    lambda pt: pt.tree_map(lambda x: x, [1, 2], [3, 4, 5]),
    lambda pt: pt.tree_map(lambda x, y: x, {"a": 1}, {"b": 1}),
    lambda pt: pt.tree_map(lambda x, y: x, [1], (1,)),
    lambda pt: pt.tree_map(lambda x, y: x, Point(1, 2), (1, 2)),
    lambda pt: pt.tree_unflatten([1], pt.tree_structure([1, 2])),
    lambda pt: pt.tree_unflatten([1], [1]),
    lambda pt: pt.tree_is_leaf(None) and not pt.tree_is_leaf([]),
], ids=lambda case: "")
def test_functions_match_torch(case):
    try:
        expected = case(tpt)
    except Exception as e:  # noqa: BLE001 - the oracle's exception is the expectation
        with pytest.raises(type(e)) as info:
            case(ept)
        assert str(info.value) == str(e)
        return
    assert case(ept) == expected


class Pair:
    def __init__(self, first, second):
        self.first, self.second = first, second


def test_register_pytree_node():
    def flatten(p):
        return [p.first, p.second], "ctx"

    def unflatten(values, context):
        return Pair(*values)

    for pt in (ept, tpt):
        pt.register_pytree_node(Pair, flatten, unflatten, serialized_type_name="mod.Pair",
                                to_dumpable_context=lambda c: c,
                                from_dumpable_context=lambda c: c)
    try:
        leaves, spec = ept.tree_flatten([Pair(1, [2, 3])])
        t_leaves, t_spec = tpt.tree_flatten([Pair(1, [2, 3])])
        assert leaves == t_leaves and repr(spec) == repr(t_spec)
        rebuilt = ept.tree_unflatten([10, 20, 30], spec)[0]
        assert (rebuilt.first, rebuilt.second) == (10, [20, 30])
        assert ept.treespec_dumps(spec) == tpt.treespec_dumps(t_spec)
        with pytest.raises(ValueError, match=r"is already registered as pytree node\.$"):
            ept.register_pytree_node(Pair, flatten, unflatten)
    finally:
        for pt in (ept, tpt):
            pt.SUPPORTED_NODES.pop(Pair, None)
            pt.SUPPORTED_SERIALIZED_TYPES.pop(Pair, None)
            pt.SERIALIZED_TYPE_TO_PYTHON_TYPE.pop("mod.Pair", None)


@pytest.mark.parametrize("tree", [[1, {"a": 2}], (1, OrderedDict(b=[2])), 3,
                                  {"d": defaultdict(int, {"k": 1})}, deque([1], maxlen=2)])
def test_treespec_dumps_loads(tree):
    spec = ept.tree_structure(tree)
    text = ept.treespec_dumps(spec)
    assert text == tpt.treespec_dumps(tpt.tree_structure(tree))
    assert ept.treespec_loads(text) == spec


def test_broadcast_prefix_for_vmap():
    spec = ept.tree_structure(({"a": 1, "b": [2, 3]}, 4))
    assert ept._broadcast_to_and_flatten((0, None), spec) == [0, 0, 0, None]
    assert ept._broadcast_to_and_flatten(({"b": 1, "a": 2}, 3), spec) == [2, 1, 1, 3]
    assert ept._broadcast_to_and_flatten(([0], 1), spec) is None
    # PyTorch's own helper keeps the prefix's key order here ([1, 1, 2, 3]); ember pairs
    # each key with its own subtree, as vmap's in_dims documentation describes


def _dataclass_types():
    """Fresh classes per library (registration is global and keyed by class)."""
    import dataclasses

    @dataclasses.dataclass
    class Out:
        logits: list
        loss: object = None
        aux: int = 3

    @dataclasses.dataclass
    class Three:
        a: int
        b: int
        c: int = 0

    class Plain:
        def __init__(self, u, v):
            self.u, self.v = u, v

    return Out, Three, Plain


def test_register_dataclass_matches_torch():
    results = []
    for lib in (ept, tpt):
        Out, Three, Plain = _dataclass_types()
        lib.register_dataclass(Out)
        tree = Out([1, 2])
        leaves, spec = lib.tree_flatten(tree)
        mapped = lib.tree_map(lambda x: x * 10, tree)
        paths = [(lib.keystr(k), v) for k, v in lib.tree_flatten_with_path(tree)[0]]
        with pytest.warns(UserWarning, match="already registered as pytree node. Overwriting"):
            lib.register_dataclass(Out)
        errors = []
        for kwargs in [{"field_names": ["a", "b"]}, {"field_names": ["a", "b", "d"],
                                                     "drop_field_names": ["c"]}]:
            with pytest.raises(ValueError) as info:
                lib.register_dataclass(Three, **kwargs)
            errors.append(str(info.value))
        lib.register_dataclass(Three, field_names=["a", "c"], drop_field_names=["b"])
        with pytest.raises(ValueError) as info:
            lib.register_dataclass(Plain)
        errors.append(str(info.value).replace(Plain.__qualname__, "Plain"))
        lib.register_dataclass(Plain, field_names=["u", "v"])
        plain = lib.tree_unflatten([5], lib.tree_structure(Plain(1, None)))
        results.append((leaves, repr(spec), (mapped.logits, mapped.loss, mapped.aux), paths,
                        errors, (plain.u, plain.v), lib.tree_leaves(Plain(1, [2, 3]))))
    assert results[0] == results[1]
