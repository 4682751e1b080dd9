"""ember.jit's remaining names against torch.jit: Attribute, Error and the warning
types, jit.isinstance container refinement, CompilationUnit (TorchScript source run
eagerly), and the fuser switches (set_fusion_strategy, onednn fusion, strict_fusion,
fuser, optimized_execution)."""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: UP035 - jit's own forms

import numpy as np
import pytest
import torch

import ember


def test_attribute_is_a_value_type_pair_like_torch():
    ours, theirs = ember.jit.Attribute(3, int), torch.jit.Attribute(3, int)
    assert tuple(ours) == tuple(theirs) and (ours.value, ours.type) == (3, int)
    assert repr(ours) == repr(theirs) and isinstance(ours, tuple)


@pytest.mark.parametrize("name, base", [
    ("Error", Exception), ("ScriptWarning", Warning), ("TracerWarning", Warning),
    ("TracingCheckError", Exception)])
def test_exception_types(name, base):
    assert issubclass(getattr(ember.jit, name), base)
    assert issubclass(getattr(torch.jit, name), base)


@pytest.mark.parametrize("args", [("graphs differ", None, "extra"), (None, "a\nb"), ("g", "t")])
def test_tracing_check_error_message_like_torch(args):
    assert str(ember.jit.TracingCheckError(*args)) == str(torch.jit.TracingCheckError(*args))


def _cases(lib):
    t = lib.ones(2)
    return [
        ([1, 2], List[int]), ([1, "a"], List[int]), ([1, 2], list[int]),
        ([t, t], List[lib.Tensor]), ([[1], [2, 3]], List[List[int]]),
        ([[1], ["x"]], List[List[int]]),
        ({"a": 1}, Dict[str, int]), ({"a": 1}, Dict[int, int]),
        ({"a": [t]}, Dict[str, List[lib.Tensor]]), ({"a": [1.0]}, dict[str, List[int]]),
        ((1, "a"), Tuple[int, str]), ((1, "a"), Tuple[int, int]),
        ((1,), Tuple[int, str]), ((1, (2, "b")), Tuple[int, Tuple[int, str]]),
        (None, Optional[int]), (3, Optional[int]), ("s", Optional[int]), ([1], Optional[List[int]]),
        (2.0, Union[int, float]), ("x", int | str), (3, int), (3, (str, int)), (3, (str, float)),
        ([1, 2], Tuple[int, int]), (t, lib.Tensor), ({"a": 1}, List[int]),
    ]


@pytest.mark.parametrize("index", range(len(_cases(torch))))
def test_isinstance_matches_torch(index):
    ours, theirs = _cases(ember)[index], _cases(torch)[index]
    assert ember.jit.isinstance(*ours) is torch.jit.isinstance(*theirs)


def test_isinstance_errors_and_empty_container_warning():
    for jit in (ember.jit, torch.jit):
        with pytest.raises(RuntimeError, match="must be a type or a tuple of types"):
            jit.isinstance(1, [int])
        with pytest.raises(RuntimeError, match=r"Attempted to use List without a contained type"):
            jit.isinstance([1], List)
        with pytest.raises(RuntimeError, match=r"Attempted to use dict without contained types"):
            jit.isinstance({}, dict)
        with pytest.raises(RuntimeError, match=r"Attempted to use Optional without a contained"):
            jit.isinstance(None, Optional)
        with pytest.raises(TypeError, match="typing.Any cannot be used with isinstance"):
            jit.isinstance([1], Any)
        with pytest.warns(UserWarning, match="inner type of a container is lost"):
            assert jit.isinstance([], List[int])


def test_isinstance_keeps_builtin_isinstance_inside_jit():
    model = ember.nn.Linear(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = ember.jit.script(model)
    assert isinstance(scripted, ember.jit.ScriptModule)
    assert ember.jit.script(scripted) is scripted


SOURCE = """
def scale(x: Tensor, n: int) -> Tensor:
    return x * n

def combine(x: Tensor, ys: List[Tensor]) -> Tensor:
    total = scale(x, 2)
    for y in ys:
        total = total + torch.relu(y)
    return total.sum(dim=0)
"""


def test_compilation_unit_runs_torchscript_source_like_torch():
    ours, theirs = ember.jit.CompilationUnit(SOURCE), torch.jit.CompilationUnit(SOURCE)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    ys = [x * 3, -x]
    result = ours.combine(ember.tensor(x), [ember.tensor(y) for y in ys])
    expected = theirs.combine(torch.tensor(x), [torch.tensor(y) for y in ys])
    torch.testing.assert_close(torch.from_numpy(result.numpy()), expected)
    assert [f.name for f in ours.get_functions()] == [f.name for f in theirs.get_functions()]
    assert ours.find_function("missing") is None is theirs.find_function("missing")
    assert ours.find_function("scale").qualified_name == theirs.scale.qualified_name
    assert "return x * n" in ours.scale.code


def test_compilation_unit_define_adds_functions():
    for jit, lib in ((ember.jit, ember), (torch.jit, torch)):
        unit = jit.CompilationUnit()
        unit.define("def twice(x):\n    return x + x\n")
        unit.define("def four(x):\n    return x * 4.0\n")
        assert unit.four(unit.twice(lib.tensor([1.5]))).tolist() == [12.0]
        with pytest.raises(RuntimeError, match="undefined value twice"):  # not across defines
            unit.define("def eight(x):\n    return twice(four(x))\n")


@pytest.mark.parametrize("source, match", [
    ("def f(x:\n", "expected|was never closed|invalid syntax"),
    ("def f(x):\n  return undefined_name(x)\n", "undefined value undefined_name"),
])
def test_compilation_unit_errors(source, match):
    for jit in (ember.jit, torch.jit):
        with pytest.raises(RuntimeError, match=match if jit is ember.jit else None):
            jit.CompilationUnit(source)
    unit = ember.jit.CompilationUnit("def f(x):\n  return x\n")
    with pytest.raises(AttributeError, match="'CompilationUnit' has no attribute 'zz'"):
        unit.zz
    with pytest.raises(AttributeError, match="'CompilationUnit' has no attribute 'zz'"):
        torch.jit.CompilationUnit("def f(x):\n  return x\n").zz


def test_set_fusion_strategy_returns_the_previous_one_like_torch():
    for jit in (ember.jit, torch.jit):
        default = jit.set_fusion_strategy([("DYNAMIC", 3)])
        try:
            assert default == [("STATIC", 2), ("DYNAMIC", 10)]
            assert jit.set_fusion_strategy([("STATIC", 1), ("DYNAMIC", 4)]) == [("DYNAMIC", 3)]
            with pytest.raises(ValueError, match="'STATIC' or 'DYNAMIC', got: static"):
                jit.set_fusion_strategy([("static", 1)])
            with pytest.raises(TypeError):
                jit.set_fusion_strategy("STATIC")
            with pytest.raises(TypeError):
                jit.set_fusion_strategy([("STATIC", -1)])
        finally:
            jit.set_fusion_strategy(default)


def test_onednn_fusion_switch_like_torch():
    for jit in (ember.jit, torch.jit):
        assert jit.onednn_fusion_enabled() is False
        assert jit.enable_onednn_fusion(True) is None
        try:
            assert jit.onednn_fusion_enabled() is True
        finally:
            jit.enable_onednn_fusion(False)
        with pytest.raises(TypeError):
            jit.enable_onednn_fusion("yes")


def test_strict_fusion_fuser_and_optimized_execution():
    for jit in (ember.jit, torch.jit):
        with pytest.warns(UserWarning, match="Only works in script mode"):
            with jit.strict_fusion():
                pass
        with jit.fuser("fuser1"), jit.optimized_execution(False):
            pass
        with pytest.raises(Exception, match=r"unrecognized fuser option \(name: bad\)"):
            with jit.fuser("bad"):
                pass
