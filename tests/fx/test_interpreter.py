"""fx.Interpreter details against torch.fx: freeing values after their last use, inputs with
defaults and ``*args``, starting from a partial environment, and the error paths (which node
failed, KeyError turned into RuntimeError, missing targets, values and inputs)."""

import operator

import numpy as np
import pytest
import torch
import torch.fx

import ember
import ember.fx


def _chain(lib):
    """x, y=2.0 -> a = x * y; b = a + x; c = b.neg(); output (c, a)."""
    graph = lib.fx.Graph()
    x = graph.placeholder("x")
    y = graph.placeholder("y", default_value=2.0)
    a = graph.call_function(operator.mul, (x, y))
    b = graph.call_function(operator.add, (a, x))
    c = graph.call_method("neg", (b,))
    graph.output((c, a))
    return lib.fx.GraphModule(lib.nn.Module(), graph)


def _names(mapping):
    return {str(k): sorted(str(v) for v in vs) for k, vs in mapping.items()}


def _values(result):
    return [np.asarray(r.detach().numpy() if hasattr(r, "detach") else r) for r in result]


@pytest.mark.parametrize("collect", [True, False])
def test_environment_and_last_uses_match_torch(collect):
    seen = []
    for lib in (torch, ember):
        interp = lib.fx.Interpreter(_chain(lib), garbage_collect_values=collect)
        out = interp.run(lib.tensor([1.0, -2.0]))
        last = _names(interp.user_to_last_uses) if collect else None
        seen.append((_values(out), sorted(str(n) for n in interp.env), last,
                     hasattr(interp, "user_to_last_uses")))
    (t_out, *t_rest), (e_out, *e_rest) = seen
    for t, e in zip(t_out, e_out):
        np.testing.assert_allclose(e, t)
    assert e_rest == t_rest


def test_initial_env_and_varargs_match_torch():
    seen = []
    for lib in (torch, ember):
        gm = _chain(lib)
        x_node = next(iter(gm.graph.nodes))
        partial = lib.fx.Interpreter(gm).run(initial_env={x_node: lib.tensor([3.0])})
        graph = lib.fx.Graph()
        first = graph.placeholder("first")
        rest = graph.placeholder("*rest")
        graph.output((first, rest))
        star = lib.fx.Interpreter(lib.fx.GraphModule(lib.nn.Module(), graph)).run(1, 2, 3)
        seen.append((_values(partial), star))
    np.testing.assert_allclose(seen[1][0][0], seen[0][0][0])
    assert seen[1][1] == seen[0][1] == (1, [2, 3])


def _error(run):
    try:
        run()
    except Exception as err:  # noqa: BLE001 - the scenario compares whatever was raised
        return type(err).__name__, str(err).split("\n")[0], type(err.__cause__).__name__
    return None


def test_errors_match_torch():
    seen = []
    for lib in (torch, ember):
        gm = _chain(lib)
        graph = lib.fx.Graph()
        table = graph.placeholder("table")
        graph.output(graph.call_function(operator.getitem, (table, "missing")))
        lookup = lib.fx.GraphModule(lib.nn.Module(), graph)
        quiet = lib.fx.Interpreter(lookup)
        quiet.extra_traceback = False
        attr_graph = lib.fx.Graph()
        attr_graph.output(attr_graph.get_attr("inner.weight"))
        owner = lib.nn.Module()
        owner.inner = lib.nn.Module()
        owner.inner.register_buffer("weight", lib.ones(1))
        attr = lib.fx.GraphModule(owner, attr_graph)
        del attr.inner.weight  # gone after tracing: the run names the missing target
        nodes = list(gm.graph.nodes)
        seen.append([
            _error(lambda: lib.fx.Interpreter(gm).run()),  # x has no default
            _error(lambda: lib.fx.Interpreter(lookup).run({})),  # KeyError -> RuntimeError
            _error(lambda: quiet.run({})),  # untouched KeyError
            _error(lambda: lib.fx.Interpreter(attr).run()),
            _error(lambda: lib.fx.Interpreter(gm).map_nodes_to_values((nodes[0],), nodes[2])),
            _error(lambda: lib.fx.Interpreter(gm).boxed_run([lib.ones(1)])),  # one input short
            _error(lambda: lib.fx.Interpreter(gm).boxed_run([lib.ones(1)] * 3)),
        ])
    assert seen[1] == seen[0]
    assert seen[1][1][0] == "RuntimeError" and seen[1][2][0] == "KeyError"
