"""export's newer helpers against torch.export (PyTorch 2.13): register_dataclass inputs
and outputs, ShapesCollection and AdditionalInputs as dynamic_shapes (and verify),
default_decompositions and keeping an op by removing it, draft_export's report."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import ember


def _ops(ep) -> list:
    return [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]


def _dynamic_dims(ep) -> list:
    """Per placeholder of a user input, which dims are symbols."""
    dims = []
    for node in ep.graph.nodes:
        if node.op == "placeholder" and node.name.startswith(("x", "y", "inp", "others")):
            shape = node.meta["val"].shape
            dims.append([not str(s).isdigit() for s in shape])  # a symbol, not a number
    return dims


@dataclass
class EmberIn:
    feature: ember.Tensor
    bias: int


@dataclass
class EmberOut:
    res: ember.Tensor


@dataclass
class TorchIn:
    feature: torch.Tensor
    bias: int


@dataclass
class TorchOut:
    res: torch.Tensor


def test_register_dataclass_inputs_and_outputs():
    ember.export.register_dataclass(EmberIn)
    ember.export.register_dataclass(EmberOut, serialized_type_name="test.EmberOut")
    torch.export.register_dataclass(TorchIn)
    torch.export.register_dataclass(TorchOut, serialized_type_name="test.TorchOut")
    results = []
    for lib, In, Out in ((torch, TorchIn, TorchOut), (ember, EmberIn, EmberOut)):
        class Mod(lib.nn.Module):
            def forward(self, x):
                return Out(res=x.feature * 2 + x.bias)

        data = np.arange(4.0).reshape(2, 2)
        ep = lib.export.export(Mod(), (In(lib.tensor(data), 1),))
        out = ep.module()(In(lib.tensor(data + 1), 1))
        assert isinstance(out, Out)
        results.append((out.res.numpy(), _ops(ep)))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    assert results[1][1] == results[0][1]


class _Pair:
    @staticmethod
    def make(lib):
        class M(lib.nn.Module):
            def forward(self, x, others):
                return x.sum(0) + others[0].mean(0) * others[1].shape[0]
        return M()


def test_shapes_collection_builds_dynamic_shapes():
    structures = []
    for lib in (torch, ember):
        x, y, z = lib.ones(3, 4), lib.ones(5, 4), lib.ones(2)
        batch = lib.export.Dim("batch")
        shapes = lib.export.ShapesCollection()
        shapes[x] = {0: batch}
        shapes[y] = (lib.export.Dim("rows"), None)
        model = _Pair.make(lib)
        spec = shapes.dynamic_shapes(model, (x, [y, z]))
        structures.append((list(spec), spec["x"] == {0: batch}, spec["others"][1]))
        assert len(shapes) == 2
        ep = lib.export.export(model, (x, [y, z]), dynamic_shapes=shapes)
        structures.append(_dynamic_dims(ep))
        orphan = lib.export.ShapesCollection()
        orphan[lib.ones(1)] = {0: batch}
        with pytest.raises(ValueError, match="Some tensors that were assigned shapes were not"):
            orphan.dynamic_shapes(model, (x, [y, z]))
        with pytest.raises(AssertionError, match="Cannot assign shape to non-tensor"):
            orphan[3] = {}
        with pytest.raises(AssertionError, match="Shapes assigned to input do not match"):
            shapes[x] = {0: lib.export.Dim("other")}
    assert structures[0] == structures[2] and structures[1] == structures[3]
    assert structures[1] == [[True, False], [True, False], [False]]


def test_additional_inputs_mark_varying_dims_dynamic_and_verify():
    outcomes = []
    for lib in (torch, ember):
        model = lib.nn.Linear(4, 2)
        extra = lib.export.AdditionalInputs()
        extra.add((lib.ones(5, 4),))
        extra.add((lib.ones(7, 4),), None)
        spec = extra.dynamic_shapes(model, (lib.ones(3, 4),))
        outcomes.append((list(spec), [str(d) for d in spec["input"]]))
        ep = lib.export.export(model, (lib.ones(3, 4),), dynamic_shapes=extra)
        extra.verify(ep)
        outcomes.append(_dynamic_dims(ep))
        static = lib.export.export(model, (lib.ones(3, 4),))
        with pytest.raises(Exception):  # noqa: B017 - each library's guard error type
            extra.verify(static)
        with pytest.raises(AssertionError, match="must be a tuple"):
            extra.add([lib.ones(2, 4)])
        with pytest.raises(AssertionError, match="must be None or a dict"):
            extra.add((lib.ones(2, 4),), [])
        odd = lib.export.AdditionalInputs()
        odd.add((lib.ones(3, 4), True))
        with pytest.raises(ValueError, match="differing values, but they cannot be marked"):
            odd.dynamic_shapes(lambda a, b: a, (lib.ones(3, 4), False))
    assert outcomes[0] == outcomes[2]
    assert outcomes[1] == outcomes[3] == [[True, False]]


def test_default_decompositions_and_keeping_an_op():
    results = []
    for lib in (torch, ember):
        model = lib.nn.Linear(4, 3)
        ep = lib.export.export(model, (lib.ones(2, 4),))
        table = lib.export.default_decompositions()
        assert lib.ops.aten.linear.default in table
        results.append(_ops(ep.run_decompositions(table)))
        kept = table.copy()
        kept.pop(lib.ops.aten.linear.default)
        assert lib.ops.aten.linear.default in table  # the copy was edited
        results.append(_ops(ep.run_decompositions(kept)))
        out = ep.run_decompositions(kept).module()(lib.ones(2, 4))
        results.append(tuple(out.shape))
    assert results[:3] == results[3:]


def test_draft_export_reports_data_dependent_branches():
    reports = []
    for lib in (torch, ember):
        class Branchy(lib.nn.Module):
            def forward(self, x):
                if x.sum() > 0:
                    return x * 2
                return x - 1

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = lib.export.draft_export(Branchy(), (lib.ones(3),))
        report = ep._report
        reports.append((report.successful(), len(report.failures),
                        str(report.failures[0].failure_type),
                        ep.module()(lib.ones(3)).tolist(),
                        "1. Data dependent error." in str(report)))
        clean = lib.export.draft_export(lib.nn.Linear(2, 2), (lib.ones(3, 2),))
        reports.append((clean._report.successful(), "Congratulations" in str(clean._report)))
        with pytest.raises(Exception, match="data-dependent"):
            lib.export.export(Branchy(), (lib.ones(3),))
    assert reports[0] == reports[2] and reports[1] == reports[3]
