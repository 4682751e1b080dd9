"""ember.export against torch.export (torch 2.13): graphs (node names, ATen targets,
arguments), printed programs, graph signatures, state dicts, module() outputs and
errors, run_decompositions, save/load, custom ops inside exported graphs."""

import io
import re

import numpy as np
import pytest
import torch

import ember


def _model(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.bn = nn.BatchNorm1d(3)
            self.register_buffer("scale", lib.ones(3))

        def forward(self, x, y=None):
            h = lib.relu(self.fc(x)) * self.scale + 1
            h = self.bn(h)
            return h.view(2, 3).sum(dim=1), h.flatten() + x.sum()

    return Net()


def _pair(factory, train=False):
    """The same module in torch and ember, ember's weights copied from torch's."""
    t_model, e_model = factory(torch), factory(ember)
    state = {k: ember.tensor(v.detach().numpy()) for k, v in t_model.state_dict().items()}
    e_model.load_state_dict(state)
    t_model.train(train)
    e_model.train(train)
    return t_model, e_model


def _nodes(ep):
    return [(n.op, n.name, str(n.target), _fmt(n.args), _fmt(n.kwargs)) for n in ep.graph.nodes]


def _fmt(value):
    text = str(value).replace("ember.", "torch.")
    return re.sub(r"\bs\d+\b", "s", text)


def _normalize(text: str) -> str:
    """A printed program without PyTorch's stack-trace comments (ember records none)
    and with symbols renamed (PyTorch's are hashes: s77)."""
    lines = [line.rstrip() for line in text.split("\n")
             if "# File:" not in line and "# No stacktrace" not in line and line.strip()]
    return re.sub(r"\bs\d+\b", "s", "\n".join(lines))


def test_program_matches_torch():
    t_model, e_model = _pair(_model)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    t_ep = torch.export.export(t_model, (torch.tensor(x),))
    e_ep = ember.export.export(e_model, (ember.tensor(x),))
    assert _nodes(e_ep) == _nodes(t_ep)
    assert _normalize(str(e_ep)) == _normalize(str(t_ep))
    assert str(e_ep.graph) == str(t_ep.graph)
    assert repr(e_ep.graph_signature) == repr(t_ep.graph_signature)
    sig, t_sig = e_ep.graph_signature, t_ep.graph_signature
    for attr in ("parameters", "buffers", "user_inputs", "user_outputs", "inputs_to_parameters",
                 "inputs_to_buffers", "buffers_to_mutate"):
        assert getattr(sig, attr) == getattr(t_sig, attr), attr
    assert list(e_ep.state_dict) == list(t_ep.state_dict)
    assert e_ep.range_constraints == {} and str(e_ep.call_spec) == str(t_ep.call_spec)
    new_x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    for got, want in zip(e_ep.module()(ember.tensor(new_x)), t_ep.module()(torch.tensor(new_x))):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    decomposed, t_decomposed = e_ep.run_decompositions(), t_ep.run_decompositions()
    assert _nodes(decomposed) == _nodes(t_decomposed)
    np.testing.assert_allclose(decomposed.module()(ember.tensor(new_x))[1].detach().numpy(),
                               t_ep.module()(torch.tensor(new_x))[1].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def _ops_model(lib):
    class Ops(lib.nn.Module):
        def forward(self, x):
            return (1 - x, 2 / x, x ** 2, 2 ** x, x > 0, x > x.t(), -x, x[:, 0], x @ x.T,
                    x.softmax(-1), lib.cat([x, x], 1), x.transpose(0, 1), x.max(dim=1)[0],
                    x.mean(), x.unsqueeze(0), x.reshape(-1), x.permute(1, 0),
                    x.sum(1, keepdim=True), x.abs(), x // 2, x.clone(), x[1:3], x[:, 1:],
                    x[None, 0], x[..., 0], x[:, ::2], x[-1], x.mT, x[:2, -1],
                    lib.nn.functional.gelu(x), x.exp().log1p())
    return Ops()


def test_op_targets_and_arguments_match_torch():
    x = np.random.default_rng(2).standard_normal((4, 4)).astype(np.float32)
    t_ep = torch.export.export(_ops_model(torch), (torch.tensor(x),))
    e_ep = ember.export.export(_ops_model(ember), (ember.tensor(x),))
    assert _nodes(e_ep) == _nodes(t_ep)
    for got, want in zip(e_ep.module()(ember.tensor(x)), t_ep.module()(torch.tensor(x))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def _conv_model(lib):
    nn = lib.nn

    class ConvNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, stride=2)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(8, 5)
            self.const = lib.arange(5.0)  # a plain tensor attribute: a lifted constant

        def forward(self, x):
            h = self.drop(lib.relu(self.conv(x)))
            return {"logits": self.fc(h.flatten(1)) + self.const, "features": h}

    return ConvNet()


def test_constants_dict_outputs_and_signature():
    t_model, e_model = _pair(_conv_model)
    e_model.const = ember.arange(5.0)
    x = np.random.default_rng(3).standard_normal((3, 1, 5, 5)).astype(np.float32)
    t_ep = torch.export.export(t_model, (torch.tensor(x),))
    e_ep = ember.export.export(e_model, (ember.tensor(x),))
    assert str(e_ep.graph_signature) == str(t_ep.graph_signature)
    assert [n.target for n in e_ep.graph.nodes if n.op == "placeholder"] == \
        [n.target for n in t_ep.graph.nodes if n.op == "placeholder"]
    assert list(e_ep.constants) == list(t_ep.constants)
    got, want = e_ep.module()(ember.tensor(x)), t_ep.module()(torch.tensor(x))
    assert list(got) == list(want)
    for key in want:
        np.testing.assert_allclose(got[key].detach().numpy(), want[key].detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def _train_model(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(4, 3)
            self.bn = lib.nn.BatchNorm1d(3)

        def forward(self, x):
            return self.bn(self.fc(x))

    return Net()


def test_training_batch_norm_keeps_in_place_update():
    t_model, e_model = _pair(_train_model, train=True)
    x = np.random.default_rng(4).standard_normal((2, 4)).astype(np.float32)
    t_ep = torch.export.export(t_model, (torch.tensor(x),))
    e_ep = ember.export.export(e_model, (ember.tensor(x),))
    assert _normalize(str(e_ep)) == _normalize(str(t_ep))
    t_mod, e_mod = t_ep.module(), e_ep.module()
    for lib_mod in (t_mod, e_mod):
        with pytest.raises(NotImplementedError, match=r"^Calling train\(\) is not supported"):
            lib_mod.train()
    np.testing.assert_allclose(e_mod(ember.tensor(x)).detach().numpy(),
                               t_mod(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    for key, value in t_mod.state_dict().items():
        np.testing.assert_allclose(e_mod.state_dict()[key].numpy(), value.numpy(), rtol=1e-5)


def _nested_model(lib):
    class Nested(lib.nn.Module):
        def forward(self, x, pair, cfg, scale=2.0):
            a, b = pair
            return (x + a) * cfg["w"] * scale, [b.sum()]

    return Nested()


def test_pytree_inputs_names_and_structure_errors():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]

    def inputs(lib):
        x, a, b, w = (lib.tensor(v) for v in arrays)
        return (x, (a, b), {"w": w})

    t_ep = torch.export.export(_nested_model(torch), inputs(torch), {"scale": 3.0})
    e_ep = ember.export.export(_nested_model(ember), inputs(ember), {"scale": 3.0})
    assert _nodes(e_ep) == _nodes(t_ep)
    assert str(e_ep.graph_signature) == str(t_ep.graph_signature)
    got = e_ep.module()(*inputs(ember), scale=3.0)
    want = t_ep.module()(*inputs(torch), scale=3.0)
    np.testing.assert_allclose(got[0].numpy(), want[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(got[1][0].numpy(), want[1][0].numpy(), rtol=1e-5)
    for lib, ep in ((torch, t_ep), (ember, e_ep)):
        x, pair, cfg = inputs(lib)
        with pytest.raises(RuntimeError, match="^Unable to call ExportedProgram directly"):
            ep(x, pair, cfg)
    cases = [lambda lib, x, pair, cfg: (x, pair, cfg),
             lambda lib, x, pair, cfg: (x, list(pair), cfg, 3.0),
             lambda lib, x, pair, cfg: (x[:1], pair, cfg)]
    for case in cases:
        try:
            t_ep.module()(*case(torch, *inputs(torch)), scale=3.0)
            expected = None
        except Exception as e:  # noqa: BLE001 - the oracle's exception is the expectation
            expected = e
        if expected is None:
            e_ep.module()(*case(ember, *inputs(ember)), scale=3.0)
            continue
        with pytest.raises(type(expected)) as info:
            e_ep.module()(*case(ember, *inputs(ember)), scale=3.0)
        assert str(info.value) == str(expected)


def _varargs_model(lib):
    class VarArgs(lib.nn.Module):
        def forward(self, x, *rest, k=None, **extra):
            return x + rest[0] + k + extra["z"]

    return VarArgs()


def test_varargs_and_keyword_placeholder_names():
    names = []
    for lib in (torch, ember):
        ep = lib.export.export(_varargs_model(lib), (lib.ones(2), lib.ones(2)),
                               {"k": lib.ones(2), "z": lib.ones(2)})
        names.append([(n.name, n.target) for n in ep.graph.nodes if n.op == "placeholder"])
    assert names[1] == names[0]


def test_export_argument_errors_match_torch():
    for bad in (lambda lib: lib.export.export(lambda x: x, (lib.ones(1),)),
                lambda lib: lib.export.export(lib.nn.ReLU(), lib.ones(1))):
        with pytest.raises(Exception) as expected:
            bad(torch)
        with pytest.raises(Exception) as got:
            bad(ember)
        assert type(got.value).__name__ == type(expected.value).__name__
        assert str(got.value).replace("ember._tensor.", "torch.") == str(expected.value)


def test_save_load_round_trip(tmp_path):
    e_model = _pair(_conv_model)[1]
    x = ember.randn(2, 1, 5, 5)
    ep = ember.export.export(e_model, (x,), dynamic_shapes={"x": {0: ember.export.Dim("b")}})
    path = tmp_path / "net.pt2"
    ember.export.save(ep, path)
    loaded = ember.export.load(path)
    assert str(loaded) == str(ep)
    x7 = ember.randn(7, 1, 5, 5)
    np.testing.assert_allclose(loaded.module()(x7)["logits"].detach().numpy(),
                               e_model(x7)["logits"].detach().numpy(), rtol=1e-5, atol=1e-6)
    buffer = io.BytesIO()
    ember.save({"not": "a program"}, buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="not a program written by ember.export.save"):
        ember.export.load(buffer)


def test_custom_op_in_exported_graph():
    results = [_export_custom_op(lib) for lib in (torch, ember)]
    assert results[1][0] == results[0][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])


def _export_custom_op(lib):
    @lib.library.custom_op("xexport::scaled", mutates_args=())
    def scaled(x: lib.Tensor, k: float) -> lib.Tensor:
        return x * k

    @scaled.register_fake
    def _(x, k):
        return lib.empty_like(x)

    class UsesOp(lib.nn.Module):
        def forward(self, x):
            return lib.ops.xexport.scaled(x, 3.0).relu() + scaled(x, 0.5)

    ep = lib.export.export(UsesOp(), (lib.ones(2, 3),))
    return _nodes(ep), ep.module()(lib.full((2, 3), -1.0)).numpy()


@pytest.mark.parametrize("build", [
    lambda lib: lib.nn.LSTM(4, 5, batch_first=True),
    lambda lib: lib.nn.GRU(4, 5, num_layers=2, bidirectional=True),
    lambda lib: lib.nn.RNN(4, 5, nonlinearity="relu"),
])
def test_recurrent_modules_are_one_aten_node(build):
    t_model, e_model = _pair(build)
    x = np.random.default_rng(6).standard_normal((2, 3, 4)).astype(np.float32)
    t_ep = torch.export.export(t_model, (torch.tensor(x),))
    e_ep = ember.export.export(e_model, (ember.tensor(x),))
    assert _nodes(e_ep) == _nodes(t_ep)
    other = np.random.default_rng(7).standard_normal((2, 3, 4)).astype(np.float32)
    got = ember.utils._pytree.tree_leaves(e_ep.module()(ember.tensor(other)))
    want = torch.utils._pytree.tree_leaves(t_ep.module()(torch.tensor(other)))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_untraceable_computation_is_refused():
    class ViaNumpy(ember.nn.Module):
        def forward(self, x):
            return ember.from_numpy(x.numpy() * 2) + x

    with pytest.raises(RuntimeError, match="does not reproduce output 0 of ViaNumpy"):
        ember.export.export(ViaNumpy(), (ember.randn(3),))


def _branchy(lib):
    class Branchy(lib.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x + 1
            return x - 1

    return Branchy()


def _item_model(lib):
    class UsesItem(lib.nn.Module):
        def forward(self, x):
            return x * x.sum().item()

    return UsesItem()


def test_data_dependent_branch_refused_and_item_traced():
    with pytest.raises(Exception) as want:
        torch.export.export(_branchy(torch), (torch.ones(2),))
    with pytest.raises(RuntimeError) as got:
        ember.export.export(_branchy(ember), (ember.ones(2),))
    assert type(got.value).__name__ == type(want.value).__name__
    assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]
    t_ep = torch.export.export(_item_model(torch), (torch.ones(2),))
    e_ep = ember.export.export(_item_model(ember), (ember.ones(2),))
    assert _nodes(e_ep) == _nodes(t_ep)
    np.testing.assert_array_equal(e_ep.module()(ember.full((2,), 3.0)).numpy(),
                                  t_ep.module()(torch.full((2,), 3.0)).numpy())


def _layers_model(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1), nn.BatchNorm1d(3), nn.SiLU(), nn.AvgPool1d(2),
        nn.Flatten(), nn.Linear(12, 5), nn.LayerNorm(5), nn.GELU(), nn.Dropout(0.1),
        nn.Softmax(-1))


def _image_layers_model(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.ConvTranspose2d(2, 3, 3, stride=2), nn.Upsample(scale_factor=2),
        nn.AdaptiveAvgPool2d(2), nn.GroupNorm(1, 3), nn.PReLU(), nn.MaxPool2d(2),
        nn.Hardswish(), nn.Tanh(), nn.LeakyReLU(0.2))


def _resample_model(lib):
    F = lib.nn.functional

    class Resample(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(2, 2, 3, stride=2, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return (F.interpolate(y, size=(5, 6), mode="bilinear", align_corners=False),
                    F.interpolate(y, scale_factor=2, mode="nearest"), F.avg_pool2d(x, 2),
                    F.max_pool1d(x.flatten(2), 3, 2),
                    F.interpolate(x.flatten(2), scale_factor=2.0, mode="linear"))

    return Resample()


@pytest.mark.parametrize("build,shape", [(_layers_model, (2, 2, 8)),
                                         (_image_layers_model, (1, 2, 4, 4)),
                                         (_resample_model, (2, 2, 6, 6))])
def test_layer_stacks_match_torch(build, shape, tmp_path):
    t_model, e_model = _pair(build)
    x = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    t_ep = torch.export.export(t_model, (torch.tensor(x),))
    e_ep = ember.export.export(e_model, (ember.tensor(x),))
    assert _nodes(e_ep) == _nodes(t_ep)
    ember.export.save(e_ep, tmp_path / "stack.pt2")
    loaded = ember.export.load(tmp_path / "stack.pt2").module()
    want = torch.utils._pytree.tree_leaves(t_ep.module()(torch.tensor(x)))
    for module in (e_ep.module(), loaded):
        got = ember.utils._pytree.tree_leaves(module(ember.tensor(x)))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-4,
                                       atol=1e-5)


def _nested_blocks(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x).relu()

    class Blocks(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = lib.nn.Sequential(Block(), Block())

        def forward(self, x):
            return self.blocks(x) + 1

    return Blocks()


def test_nn_module_stack_meta():
    stacks = []
    for lib in (torch, ember):
        ep = lib.export.export(_nested_blocks(lib), (lib.ones(1, 2),))
        stacks.append([(n.name, n.meta.get("nn_module_stack")) for n in ep.graph.nodes])
    assert stacks[1] == stacks[0]


def _tree_model(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x).relu()

    class Tree(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = lib.nn.Sequential(Block(), Block())
            self.head = lib.nn.Linear(2, 3)

        def forward(self, x):
            return self.head(self.blocks(x) + 1)

    return Tree()


def _shared_call_model(lib):
    class Shared(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(2, 2)
            self.out = lib.nn.Linear(2, 1)

        def forward(self, x):
            return self.out(self.fc(self.fc(x)) + self.fc.bias)

    return Shared()


def test_unflatten_matches_torch():
    t_model, e_model = _pair(_tree_model)
    t_unflat = torch.export.unflatten(torch.export.export(t_model, (torch.ones(3, 2),)))
    e_unflat = ember.export.unflatten(ember.export.export(e_model, (ember.ones(3, 2),)))
    assert str(e_unflat) == str(t_unflat)
    assert [(name, str(getattr(m, "graph", None))) for name, m in e_unflat.named_modules()] == \
        [(name, str(getattr(m, "graph", None))) for name, m in t_unflat.named_modules()]
    assert sorted(k for k, _ in e_unflat.named_parameters()) == sorted(
        k for k, _ in t_unflat.named_parameters())
    x = np.random.default_rng(9).standard_normal((3, 2)).astype(np.float32)
    np.testing.assert_allclose(e_unflat(ember.tensor(x)).detach().numpy(),
                               t_unflat(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    t_model, e_model = _pair(_shared_call_model)
    e_unflat = ember.export.unflatten(ember.export.export(e_model, (ember.ones(3, 2),)))
    np.testing.assert_allclose(e_unflat(ember.tensor(x)).detach().numpy(),
                               t_model(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
