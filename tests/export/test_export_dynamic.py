"""ember.export's dynamic shapes against torch.export (torch 2.13): Dim reprs and errors,
range constraints, symbolic sizes in graphs, input guards at call time, and PyTorch's
errors for dims the code specializes and for badly keyed dynamic_shapes."""

import re

import numpy as np
import pytest
import torch

import ember


def _model(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(4, 3)

        def forward(self, x, y):
            return self.fc(x).relu() + y.sum(), x.view(x.size(0), -1)

    return Net()


def _pair():
    t_model, e_model = _model(torch), _model(ember)
    e_model.load_state_dict({k: ember.tensor(v.detach().numpy())
                             for k, v in t_model.state_dict().items()})
    return t_model, e_model


def _symbols(text: str) -> str:
    return re.sub(r"\bs\d+\b", "s", text)


def _export_both(dynamic, x_shape=(5, 4)):
    t_model, e_model = _pair()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    y = rng.standard_normal(3).astype(np.float32)
    t_ep = torch.export.export(t_model, (torch.tensor(x), torch.tensor(y)),
                               dynamic_shapes=dynamic(torch))
    e_ep = ember.export.export(e_model, (ember.tensor(x), ember.tensor(y)),
                               dynamic_shapes=dynamic(ember))
    return t_ep, e_ep


def test_dim_reprs_and_errors():
    for lib in (torch, ember):
        Dim = lib.export.Dim
        assert repr(Dim("batch", min=2, max=64)) == "Dim('batch', max=64)"
        assert repr(Dim("c")) == "Dim('c', min=0)"
        assert repr(Dim("d", min=3)) == "Dim('d', min=3)"
        assert repr(lib.export.dims("a", "b", max=8)) == "(Dim('a', min=0, max=8), " \
                                                         "Dim('b', min=0, max=8))"
        with pytest.raises(AssertionError, match=r"^Cannot create Dim with inconsistent "
                                                 r"min=5, max=3$"):
            Dim("x", min=5, max=3)
        with pytest.raises(AssertionError, match="^Dim name must be a valid identifier, "
                                                 "got 1x$"):
            Dim("1x")


def test_dynamic_batch_graph_guards_and_outputs():
    t_ep, e_ep = _export_both(lambda lib: {"x": {0: lib.export.Dim("batch", min=2, max=64)},
                                           "y": None})
    assert _symbols(repr(e_ep.range_constraints)) == _symbols(repr(t_ep.range_constraints))
    t_meta = [_symbols(str(list(n.meta["val"].shape))) for n in t_ep.graph.nodes
              if n.op != "output" and hasattr(n.meta.get("val"), "shape")]
    e_meta = [_symbols(str(list(n.meta["val"].shape))) for n in e_ep.graph.nodes
              if n.op != "output" and hasattr(n.meta.get("val"), "shape")]
    assert e_meta == t_meta
    view = next(n for n in e_ep.graph.nodes if n.name == "view")
    assert str(view.args[1][0].target) == "aten.sym_size.int"
    rng = np.random.default_rng(1)
    t_module, e_module = t_ep.module(), e_ep.module()
    for x_shape, y_shape in [((7, 4), (3,)), ((7, 5), (3,)), ((70, 4), (3,)), ((7, 4), (4,)),
                             ((1, 4), (3,)), ((64, 4), (3,))]:
        x = rng.standard_normal(x_shape).astype(np.float32)
        y = rng.standard_normal(y_shape).astype(np.float32)
        try:
            want = t_module(torch.tensor(x), torch.tensor(y))
        except AssertionError as e:
            with pytest.raises(AssertionError) as info:
                e_module(ember.tensor(x), ember.tensor(y))
            assert str(info.value) == str(e)
            continue
        got = e_module(ember.tensor(x), ember.tensor(y))
        for g, w in zip(got, want):
            assert tuple(g.shape) == tuple(w.shape)
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)


def test_min_bound_guard():
    t_ep, e_ep = _export_both(lambda lib: ({0: lib.export.Dim("b", min=3)}, None))
    assert _symbols(repr(e_ep.range_constraints)) == _symbols(repr(t_ep.range_constraints))
    with pytest.raises(AssertionError) as want:
        t_ep.module()(torch.randn(2, 4), torch.randn(3))
    with pytest.raises(AssertionError) as got:
        e_ep.module()(ember.randn(2, 4), ember.randn(3))
    assert str(got.value) == str(want.value)


def _raises_same(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(Exception) as got:
        call(ember)
    assert type(got.value).__name__ == type(want.value).__name__
    assert str(got.value) == str(want.value)


def test_specialized_dim_and_bad_keys_raise_torchs_errors():
    t_model, e_model = _pair()
    models = {torch: t_model, ember: e_model}
    _raises_same(lambda lib: lib.export.export(
        models[lib], (lib.randn(5, 4), lib.randn(3)),
        dynamic_shapes={"x": {1: lib.export.Dim("f")}, "y": None}))
    _raises_same(lambda lib: lib.export.export(
        models[lib], (lib.randn(5, 4), lib.randn(3)),
        dynamic_shapes={"z": {1: lib.export.Dim("f")}, "y": None}))


def test_auto_dim_specializes_silently():
    t_ep, e_ep = _export_both(lambda lib: {"x": {0: lib.export.Dim.AUTO,
                                                 1: lib.export.Dim.AUTO}, "y": None})
    assert _symbols(repr(e_ep.range_constraints)) == _symbols(repr(t_ep.range_constraints))
    with pytest.raises(AssertionError) as want:
        t_ep.module()(torch.randn(6, 5), torch.randn(3))
    with pytest.raises(AssertionError) as got:
        e_ep.module()(ember.randn(6, 5), ember.randn(3))
    assert str(got.value) == str(want.value)
    assert tuple(e_ep.module()(ember.randn(6, 4), ember.randn(3))[0].shape) == (6, 3)


def _shared_dim_model(lib):
    class Shared(lib.nn.Module):
        def forward(self, x, pair):
            a, b = pair
            return x.view(x.size(0) * 2, -1), a + b, x.reshape(x.shape[0], 2, -1)

    return Shared()


def test_dim_shared_by_nested_inputs():
    results = []
    for lib in (torch, ember):
        batch = lib.export.Dim("b")
        ep = lib.export.export(_shared_dim_model(lib),
                               (lib.randn(4, 6), (lib.randn(4, 3), lib.randn(4, 3))),
                               dynamic_shapes={"x": {0: batch}, "pair": ({0: batch}, {0: batch})})
        module = ep.module()
        shapes = [tuple(t.shape) for t in module(lib.randn(8, 6),
                                                 (lib.randn(8, 3), lib.randn(8, 3)))]
        with pytest.raises(AssertionError) as info:
            module(lib.randn(8, 6), (lib.randn(6, 3), lib.randn(8, 3)))
        targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
        results.append((shapes, str(info.value), targets))
    assert results[1] == results[0]


@pytest.mark.parametrize("bounds", [{}, {"min": 0}, {"min": 1}, {"min": 1, "max": 64},
                                    {"min": 3, "max": 10}, {"max": 10}])
def test_named_dim_range_keeps_its_bounds(bounds):
    t_ep, e_ep = _export_both(lambda lib: {"x": {0: lib.export.Dim("b", **bounds)},
                                           "y": None})
    assert _symbols(repr(e_ep.range_constraints)) == _symbols(repr(t_ep.range_constraints))


def test_dims_with_one_name_are_one_symbol():
    """``Dim("b")`` written for two inputs is one symbol with an equality guard."""
    def run(lib):
        class Net(lib.nn.Module):
            def forward(self, x, y):
                return x.sum(1) + y.sum(1)

        Dim = lib.export.Dim
        ep = lib.export.export(Net(), (lib.ones(5, 2), lib.ones(5, 3)),
                               dynamic_shapes={"x": {0: Dim("b")}, "y": {0: Dim("b")}})
        shapes = [_symbols(str(list(n.meta["val"].shape))) for n in ep.graph.nodes
                  if n.op == "placeholder"]
        with pytest.raises(AssertionError) as info:
            ep.module()(lib.ones(3, 2), lib.ones(4, 3))
        return (_symbols(repr(ep.range_constraints)), shapes,
                tuple(ep.module()(lib.ones(3, 2), lib.ones(3, 3)).shape), str(info.value))

    assert run(ember) == run(torch)
