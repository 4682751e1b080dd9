"""ember.fx graph editing, passes and errors against torch.fx: every scenario is written
once against a library ``lib`` (torch or ember), run on both, and what a user sees
(generated code, graph text, values, errors) must agree."""

import copy
import io
import math
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
import torch.fx
import torch.fx.experimental.optimization
import torch.fx.passes.shape_prop
import torch.fx.subgraph_rewriter
import torch.nn.utils.fusion

import ember
import ember.fx
import ember.fx.experimental.optimization
import ember.fx.passes.shape_prop
import ember.fx.subgraph_rewriter
import ember.nn.utils.fusion


def scaled_sum(x, y):
    return x * y + 1


torch.fx.wrap("scaled_sum")
ember.fx.wrap("scaled_sum")
torch.fx.wrap("len")
ember.fx.wrap("len")


def record_value(x):
    return x


torch.fx.wrap("record_value")
ember.fx.wrap("record_value")
torch.fx.has_side_effect(record_value)
ember.fx.has_side_effect(record_value)


def _value(t):
    return t.detach().numpy() if hasattr(t, "detach") else t


def _both(scenario):
    """Run ``scenario(lib)`` for torch and ember; return both results."""
    torch.manual_seed(0)
    expected = scenario(torch)
    torch.manual_seed(0)  # ember scenarios copy their parameters from a fresh torch model
    actual = scenario(ember)
    return expected, actual


def _assert_same(expected, actual):
    if isinstance(expected, (tuple, list)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for e, a in zip(expected, actual):
            _assert_same(e, a)
    elif isinstance(expected, torch.Tensor):
        np.testing.assert_allclose(_value(actual), _value(expected), rtol=1e-5, atol=1e-6)
    else:
        assert actual == expected


def _load_from_torch(ember_model, torch_model):
    ember_model.load_state_dict({k: ember.tensor(v.detach().numpy())
                                 for k, v in torch_model.state_dict().items()})
    return ember_model


# -- graph editing ---------------------------------------------------------------------------

def edit_targets_and_insert(lib):
    class M(lib.nn.Module):
        def forward(self, x, y):
            return lib.add(x, y).relu() * 2

    gm = lib.fx.symbolic_trace(M())
    graph = gm.graph
    for node in graph.nodes:
        if node.op == "call_function" and node.target == lib.add:
            node.target = lib.mul
        if node.op == "call_method" and node.target == "relu":
            with graph.inserting_after(node):
                neg = graph.call_function(lib.neg, (node,))
                graph.call_function(lib.sigmoid, (node,))
            node.replace_all_uses_with(neg, delete_user_cb=lambda user: user.op != "call_function"
                                       or user.target not in (lib.neg, lib.sigmoid))
    graph.lint()
    code_before_dce = gm.recompile().src
    changed = graph.eliminate_dead_code()
    gm.recompile()
    out = gm(lib.full((2,), 2.0), lib.full((2,), 3.0))
    return code_before_dce, changed, gm.code, str(graph), out


def build_graph_by_hand(lib):
    graph = lib.fx.Graph()
    a = graph.placeholder("a")
    b = graph.placeholder("b", default_value=2)
    relu = graph.call_function(lib.relu, (a,))
    total = graph.call_method("sum", (relu,), {"dim": 0})
    total2 = graph.call_function(lib.sum, (total,))
    attr = graph.call_function(getattr, (a, "shape"))
    smooth = graph.call_function(lib.nn.functional.gelu, (a,))
    clipped = graph.call_function(lib.nn.functional.hardtanh, (smooth,))
    graph.output((total2, total, attr, b, clipped))
    copied = lib.fx.Graph()
    copied.output(copied.graph_copy(graph, {}))
    gm = lib.fx.GraphModule(lib.nn.Module(), graph, "Hand")
    out = gm(lib.tensor([[1.0, -2.0], [3.0, 4.0]]))
    rows = [(n.op, n.name, [u.name for u in n.users], [i.name for i in n.all_input_nodes])
            for n in graph.nodes]
    return (str(graph), graph.python_code("self").src, str(copied), gm.code, rows,
            out[0], out[1], tuple(out[2]), out[3], out[4], relu.prev.name, relu.next.name,
            relu.format_node(), type(gm).__name__)


def node_moves_and_copies(lib):
    gm = lib.fx.symbolic_trace(lambda x: (x + 1).neg().exp())
    graph = gm.graph
    nodes = {n.name: n for n in graph.nodes}
    nodes["exp"].append(nodes["add"])  # move add after exp, then back before neg
    nodes["neg"].prepend(nodes["add"])
    with graph.inserting_before(nodes["exp"]):
        twice = graph.node_copy(nodes["neg"], lambda n: nodes["neg"])
    nodes["exp"].replace_input_with(nodes["neg"], twice)
    nodes["exp"].update_arg(0, twice)
    graph.lint()
    gm.recompile()
    copy_gm = copy.deepcopy(gm)
    return gm.code, str(graph), gm(lib.ones(2)), copy_gm.code, type(copy_gm).__name__


def dict_root_and_submodules(lib):
    graph = lib.fx.Graph()
    x = graph.placeholder("x")
    scale = graph.get_attr("block.scale")
    lin = graph.call_module("block.lin", (x,))
    graph.output(graph.call_function(lib.mul, (lin, scale)))
    root = {"block.scale": lib.nn.Parameter(lib.full((2,), 3.0)),
            "block.lin": lib.nn.Linear(2, 2)}
    gm = lib.fx.GraphModule(root, graph, "FromDict")
    added = gm.add_submodule("extra.act", lib.nn.ReLU())
    listed = str(gm)
    gm.delete_all_unused_submodules()
    deleted = gm.delete_submodule("block.missing")
    with lib.no_grad():
        gm.block.lin.weight.fill_(1.0)
        gm.block.lin.bias.zero_()
    return (gm.code, listed, str(gm), added, deleted, list(gm.state_dict()),
            gm(lib.tensor([1.0, 2.0])))


def unused_submodules_keep_called_children(lib):
    # a Sequential traced as one call_module keeps its children (they run inside it)
    graph = lib.fx.Graph()
    graph.output(graph.call_module("seq", (graph.placeholder("x"),)))
    root = lib.nn.Module()
    root.seq = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
    root.unused = lib.nn.Linear(2, 2)
    gm = lib.fx.GraphModule(root, graph)
    gm.delete_all_unused_submodules()
    return str(gm), [name for name, _ in gm.named_modules()], tuple(gm(lib.ones(1, 2)).shape)


def dead_code(lib):
    def fn(x, flag):
        unused_add = x + 1  # noqa: F841 - dead on purpose
        x.add_(1)
        lib.neg(x)
        record_value(x)
        return x * 2

    gm = lib.fx.symbolic_trace(fn, concrete_args={"flag": False})
    changed = gm.graph.eliminate_dead_code()
    gm.recompile()
    kept = [n.name for n in gm.graph.nodes]
    unchanged = gm.graph.eliminate_dead_code()
    return changed, kept, unchanged, gm.code, gm(lib.ones(2), False)


@pytest.mark.parametrize("scenario", [edit_targets_and_insert, build_graph_by_hand,
                                      node_moves_and_copies, dict_root_and_submodules,
                                      unused_submodules_keep_called_children, dead_code])
def test_graph_editing_matches_torch(scenario):
    _assert_same(*_both(scenario))


def graph_errors(lib):
    messages = []
    graph = lib.fx.Graph()
    x = graph.placeholder("x")
    relu = graph.call_function(lib.relu, (x,))
    graph.output(relu)
    try:
        graph.erase_node(x)
    except RuntimeError as e:
        messages.append(str(e))
    neg = graph.call_function(lib.neg, (relu,))
    relu.prepend(neg)
    try:
        graph.lint()
    except RuntimeError as e:
        messages.append(str(e).splitlines()[0])
    gm_graph = lib.fx.Graph()
    gm_graph.output(gm_graph.get_attr("missing"))
    try:
        lib.fx.GraphModule(lib.nn.Module(), gm_graph)
    except AttributeError as e:
        messages.append(str(e))
    return messages


def test_graph_errors_match_torch():
    _assert_same(*_both(graph_errors))


# -- tracing features ------------------------------------------------------------------------

def trace_errors(lib):
    results = []
    cases = [lambda x: 1 if x.sum() > 0 else 2, lambda x: [v for v in x],
             lambda x: int(x), lambda x: x.sum() and 1]
    for fn in cases:
        try:
            lib.fx.symbolic_trace(fn)
            results.append("traced")
        except Exception as e:  # noqa: BLE001 - the type is what is compared
            results.append((type(e).__name__, str(e)))
    return results


def test_trace_errors_match_torch():
    originals = (ember.relu, ember.nn.functional.linear, ember.special.expit,
                 ember.nn.Module.__call__, ember.nn.Module.__getattr__)
    expected, actual = _both(trace_errors)
    assert actual == expected
    assert expected[0][0] == "TraceError"
    # a failed trace puts every patched function back
    assert all(a is b for a, b in zip(originals, (
        ember.relu, ember.nn.functional.linear, ember.special.expit,
        ember.nn.Module.__call__, ember.nn.Module.__getattr__)))
    with pytest.raises(ember.fx.proxy.TraceError,
                       match="symbolically traced variables cannot be used as inputs"):
        ember.fx.symbolic_trace(lambda x: x if x.max() else -x)


def test_len_on_proxy_message_matches_torch():
    messages = []
    for lib in (torch, ember):
        graph = lib.fx.Graph()
        proxy = lib.fx.Proxy(graph.placeholder("x"))
        with pytest.raises(RuntimeError) as info:
            proxy.__len__()
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "torch.fx.wrap('len')" in messages[1]


def concrete_args_and_wrap(lib):
    def branchy(x, flag, bias=None):
        y = x + 1 if flag else x - 1
        return y if bias is None else y + bias

    gm = lib.fx.symbolic_trace(branchy, concrete_args={"flag": True, "bias": None})
    out = gm(lib.ones(2), True, None)
    try:
        gm(lib.ones(2), False, None)
        error = None
    except AssertionError as e:
        error = str(e)

    def uses_wrapped(x):
        return scaled_sum(x, 2).relu() + len(x) + math.sqrt(4)

    wrapped = lib.fx.symbolic_trace(uses_wrapped)

    def star(x, *args, **kwargs):
        return x + args[0]

    starred = lib.fx.symbolic_trace(star)
    flag_only = lib.fx.symbolic_trace(branchy, concrete_args={"flag": True})
    retraced = (lib.fx.symbolic_trace(flag_only).code, lib.fx.symbolic_trace(wrapped).code)
    return (gm.code, str(gm.graph), out, error, wrapped.code, str(wrapped.graph),
            wrapped(lib.ones(3)), starred.code, starred(lib.ones(2), lib.ones(2)), retraced)


def annotations(lib):
    class M(lib.nn.Module):
        def forward(self, x: lib.Tensor, n: int = 2) -> lib.Tensor:
            return x * n

    def fn(x: lib.Tensor, y: float) -> lib.Tensor:
        return x + y

    module_gm, fn_gm = lib.fx.symbolic_trace(M()), lib.fx.symbolic_trace(fn)
    return (module_gm.code, str(module_gm.graph), fn_gm.code, str(fn_gm.graph),
            [str(n.type) != "None" for n in fn_gm.graph.nodes], module_gm(lib.ones(2)),
            fn_gm.print_readable(print_output=False, include_stride=True))


def test_annotations_match_torch():
    _assert_same(*_both(annotations))


def test_concrete_args_and_wrap_match_torch():
    _assert_same(*_both(concrete_args_and_wrap))


def leaf_customisation(lib):
    nn = lib.nn

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x).relu()

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Inner()
            self.b = nn.Sequential(Inner(), nn.ReLU())

        def forward(self, x):
            return self.b(self.a(x))

    class InnerIsLeaf(lib.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, Inner) or super().is_leaf_module(m, qualname)

    class NothingIsLeaf(lib.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return False

    model = Outer()
    leafy = lib.fx.GraphModule(model, InnerIsLeaf().trace(model))
    deep = lib.fx.GraphModule(model, NothingIsLeaf().trace(model), "Deep")
    x = lib.ones(1, 2)
    return (leafy.code, str(leafy), str(model.b), deep.code, list(deep.state_dict()),
            bool((leafy(x) - deep(x)).abs().max() < 1e-6))


def test_leaf_customisation_matches_torch():
    _assert_same(*_both(leaf_customisation))


# -- Interpreter, ShapeProp, Transformer -----------------------------------------------------

def _small_cnn(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.bn = nn.BatchNorm2d(2)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            return lib.sigmoid(self.fc(x.flatten(1))) + self.fc.bias

    return Net().eval()


def interpreter_passes(lib):
    model = _small_cnn(lib)
    if lib is ember:
        _load_from_torch(model, _small_cnn(torch))
    gm = lib.fx.symbolic_trace(model)
    x = lib.tensor(np.linspace(-1, 1, 32, dtype=np.float32).reshape(2, 1, 4, 4))
    lib.fx.passes.shape_prop.ShapeProp(gm).propagate(x)
    metas = []
    for node in gm.graph.nodes:
        meta = node.meta["tensor_meta"]
        metas.append((node.name, tuple(meta.shape), str(meta.dtype), meta.stride,
                      meta.requires_grad, str(meta.memory_format), meta.is_quantized))

    class Profiler(lib.fx.Interpreter):
        def __init__(self, module):
            super().__init__(module)
            self.seen = []

        def run_node(self, n):
            result = super().run_node(n)
            self.seen.append((n.op, n.name, tuple(result.shape)))
            return result

        def call_function(self, target, args, kwargs):
            if target is lib.sigmoid:
                return lib.tanh(*args)
            return super().call_function(target, args, kwargs)

    profiler = Profiler(gm)
    profiled = profiler.run(x)
    boxed = lib.fx.Interpreter(gm).boxed_run([x])
    return (metas, profiler.seen, profiled, boxed, gm(x),
            gm.print_readable(print_output=False))


def test_interpreter_profiler_and_shape_prop_match_torch():
    _assert_same(*_both(interpreter_passes))


def transformer_swap(lib):
    model = _small_cnn(lib)
    if lib is ember:
        _load_from_torch(model, _small_cnn(torch))
    gm = lib.fx.symbolic_trace(model)

    class Swap(lib.fx.Transformer):
        def call_function(self, target, args, kwargs):
            if target == lib.sigmoid:
                return lib.neg(*args, **kwargs)
            return super().call_function(target, args, kwargs)

        def call_method(self, target, args, kwargs):
            if target == "flatten":
                return super().call_method("reshape", (args[0], 2, -1), kwargs)
            return super().call_method(target, args, kwargs)

    new = Swap(gm).transform()
    x = lib.ones(2, 1, 4, 4)
    return new.code, str(new.graph), type(new).__name__, new(x), list(new.state_dict())


def test_transformer_matches_torch():
    _assert_same(*_both(transformer_swap))


def interpreter_error(lib):
    graph = lib.fx.Graph()
    x = graph.placeholder("x")
    graph.output(graph.call_function(lib.mm, (x, x)))
    gm = lib.fx.GraphModule(lib.nn.Module(), graph)
    try:
        lib.fx.Interpreter(gm).run(lib.ones(2, 3))
    except RuntimeError as e:
        return str(e).split("\n\n", 1)[1]
    return None


def test_interpreter_error_names_the_node_like_torch():
    _assert_same(*_both(interpreter_error))


# -- rewriting -------------------------------------------------------------------------------

def rewrite_pattern(lib):
    def pattern(a, b):
        return lib.add(a, b).relu()

    def replacement(a, b):
        return lib.sub(a, b).neg()

    class M(lib.nn.Module):
        def forward(self, x, y, z):
            u = lib.add(x, y).relu()
            v = lib.add(u, z).relu()
            return u * v, lib.add(v, v)

    gm = lib.fx.symbolic_trace(M())
    matches = lib.fx.subgraph_rewriter.replace_pattern(gm, pattern, replacement)
    anchors = [m.anchor.name for m in matches]
    mapped = [sorted((p.name, g.name) for p, g in m.nodes_map.items()) for m in matches]
    again = lib.fx.replace_pattern(gm, pattern, replacement)
    out = gm(lib.ones(2), lib.full((2,), 2.0), lib.full((2,), 3.0))
    return anchors, mapped, gm.code, len(again), out


def test_replace_pattern_matches_torch():
    _assert_same(*_both(rewrite_pattern))


def _parent_name(target):
    *parent, name = target.rsplit(".", 1)
    return (parent[0] if parent else ""), name


def fuse_conv_bn(lib):
    """The torch.fx conv-bn fusion tutorial, verbatim but for ``lib``."""
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))
    if lib is ember:
        _load_from_torch(model, torch.nn.Sequential(
            torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
            torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3)))
    with lib.no_grad():
        for index in (1, 4):
            model[index].running_mean.copy_(lib.tensor([0.1, -0.2, 0.3]))
            model[index].running_var.copy_(lib.tensor([0.5, 1.5, 2.0]))
    model.eval()
    fused = copy.deepcopy(model)
    fx_model = lib.fx.symbolic_trace(fused)
    modules = dict(fx_model.named_modules())
    for node in fx_model.graph.nodes:
        if node.op != "call_module":
            continue
        if type(modules[node.target]) is nn.BatchNorm2d and \
                type(modules[node.args[0].target]) is nn.Conv2d:
            if len(node.args[0].users) > 1:
                continue
            conv, bn = modules[node.args[0].target], modules[node.target]
            fused_conv = lib.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
            parent, name = _parent_name(node.args[0].target)
            setattr(modules[parent], name, fused_conv)
            node.replace_all_uses_with(node.args[0])
            fx_model.graph.erase_node(node)
    fx_model.graph.lint()
    fx_model.recompile()
    fx_model.delete_all_unused_submodules()
    x = lib.tensor(np.linspace(-2, 2, 2 * 2 * 5 * 5, dtype=np.float32).reshape(2, 2, 5, 5))
    return fx_model.code, str(fx_model), fx_model(x), model(x), list(fx_model.state_dict())


def test_conv_bn_fusion_tutorial_matches_torch():
    _assert_same(*_both(fuse_conv_bn))


def test_print_tabular_lists_every_node():
    gm = ember.fx.symbolic_trace(lambda x: x.relu() + 1)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        gm.graph.print_tabular()
    lines = buffer.getvalue().splitlines()
    assert lines[0].split() == ["opcode", "name", "target", "args", "kwargs"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["placeholder", "x"], ["call_method", "relu"], ["call_function", "add"],
        ["output", "output"]]
    assert "<built-in function add>" in lines[4] and "(relu, 1)" in lines[4]


def decompose_with_proxies(lib):
    """The torch.fx Proxy/retracing tutorial: rebuild a graph, emitting replacement
    nodes through Proxies on a GraphAppendingTracer."""
    F = lib.nn.functional

    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(3, 3)

        def forward(self, x):
            return F.relu(self.lin(x)) + F.relu(x).sum()

    def relu_decomposition(x):
        return (x > 0) * x

    rules = {F.relu: relu_decomposition}
    model = M()
    if lib is ember:
        _load_from_torch(model, _torch_lin_holder())
    graph = lib.fx.Tracer().trace(model)
    new_graph = lib.fx.Graph()
    env = {}
    tracer = lib.fx.proxy.GraphAppendingTracer(new_graph)
    for node in graph.nodes:
        if node.op == "call_function" and node.target in rules:
            proxy_args = [lib.fx.Proxy(env[a.name], tracer) if isinstance(a, lib.fx.Node) else a
                          for a in node.args]
            env[node.name] = rules[node.target](*proxy_args).node
        else:
            env[node.name] = new_graph.node_copy(node, lambda a: env[a.name])
    gm = lib.fx.GraphModule(model, new_graph)
    x = lib.tensor([[1.0, -2.0, 3.0]])
    return gm.code, str(gm.graph), gm(x), model(x)


def _torch_lin_holder():
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 3)

    return M()


def test_proxy_decomposition_tutorial_matches_torch():
    _assert_same(*_both(decompose_with_proxies))


def test_failing_generated_line_is_shown_like_torch(capsys):
    gm = ember.fx.symbolic_trace(lambda x, y: (x + 1) @ y)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied"):
        gm(ember.ones(2, 3), ember.ones(2, 3))
    err = capsys.readouterr().err
    assert "Call using an FX-traced Module, line 6 of the traced Module's generated forward " \
        "function:" in err
    assert "    matmul = add @ y;  add = y = None\n\n" + "~" * 33 + "~~~ <--- HERE" in err


def rewrite_multi_output_with_filters(lib):
    def pattern(x, y):
        s = lib.add(x, y)
        return s.relu(), s.sigmoid()

    def replacement(x, y):
        d = lib.sub(x, y)
        return d.neg(), d.tanh()

    class M(lib.nn.Module):
        def forward(self, a, b, c):
            s = lib.add(a, b)
            r, g = s.relu(), s.sigmoid()
            t = lib.add(r, c)
            return r * g, t.relu() + t.sigmoid()

    def not_on_c(match, original_graph, pattern_graph):
        return all(n.name != "c" for n in match.placeholder_nodes)

    gm = lib.fx.symbolic_trace(M())
    rewriter = lib.fx.subgraph_rewriter
    done = rewriter.replace_pattern_with_filters(gm, pattern, replacement, [not_on_c])
    summary = [(r.anchor.name, sorted(n.name for n in r.replacements)) for r in done]
    rest = rewriter.replace_pattern(gm, pattern, replacement)
    out = gm(lib.ones(2), lib.full((2,), 2.0), lib.full((2,), 3.0))
    return summary, len(rest), [m.anchor.name for m in rest], gm.code, out


def test_multi_output_pattern_and_filters_match_torch():
    _assert_same(*_both(rewrite_multi_output_with_filters))


def tracer_options(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.ones(3, 2))
            self.register_buffer("b", lib.ones(2))

        def forward(self, x, y):
            b = self.b
            z = x.reshape(-1, self.w.shape[0]) @ self.w
            return lib.nn.functional.relu(z + y, inplace=True) - b

    class BufferProxies(lib.fx.Tracer):
        proxy_buffer_attributes = True

    shapes_constant = str(lib.fx.Tracer(param_shapes_constant=True).trace(M()))
    buffers = lib.fx.GraphModule(M(), BufferProxies().trace(M())).code
    placeholder = lib.fx.symbolic_trace(M(), concrete_args={"y": lib.fx.PH})
    out = placeholder(lib.ones(2, 3), lib.full((2,), -1.0))
    return shapes_constant, buffers, placeholder.code, out


def test_tracer_options_match_torch():
    _assert_same(*_both(tracer_options))


def _fuse_net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3)
            self.bn = nn.BatchNorm2d(3)
            self.shared = nn.Conv2d(3, 3, 1)
            self.bn_shared = nn.BatchNorm2d(3)
            self.fc = nn.Linear(3, 4)
            self.bn_fc = nn.BatchNorm1d(4)

        def forward(self, x):
            y = self.bn(self.conv(x)).relu()
            s = self.shared(y)
            y = self.bn_shared(s) + s
            return self.bn_fc(self.fc(y.mean(dim=(2, 3))))

    model = Net()
    with lib.no_grad():
        model.bn.running_mean.copy_(lib.tensor([0.1, -0.2, 0.3]))
        model.bn.running_var.copy_(lib.tensor([0.5, 1.5, 2.0]))
        model.bn_fc.running_mean.copy_(lib.tensor([0.2, 0.0, -0.1, 0.4]))
    return model.eval()


def experimental_fuse(lib):
    """torch.fx.experimental.optimization.fuse: conv+bn and linear+bn fold; the conv whose
    output is used twice keeps its BatchNorm."""
    model = _fuse_net(lib)
    if lib is ember:
        _load_from_torch(model, _fuse_net(torch))
    fused = lib.fx.experimental.optimization.fuse(model)
    x = lib.tensor(np.linspace(-1, 1, 2 * 2 * 5 * 5, dtype=np.float32).reshape(2, 2, 5, 5))
    return fused.code, str(fused), fused(x), model(x), list(fused.state_dict())


def test_experimental_fuse_matches_torch():
    _assert_same(*_both(experimental_fuse))
