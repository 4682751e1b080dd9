"""ember.fx against torch.fx: the same modules traced by both must give the same generated
code, graph printout, node list, state_dict keys and outputs. One row per model."""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.fx

import ember
import ember.fx


def _pair(builder):
    """The same model built on torch and on ember, ember holding torch's parameters."""
    torch.manual_seed(0)
    torch_model = builder(torch)
    ember_model = builder(ember)
    state = {k: ember.tensor(v.detach().numpy()) for k, v in torch_model.state_dict().items()}
    ember_model.load_state_dict(state)
    torch_model.eval()
    ember_model.eval()
    return torch_model, ember_model


def _node_rows(gm):
    return [(n.op, n.name, str(n.args), str(n.kwargs), len(n.users)) for n in gm.graph.nodes]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [leaf for item in out for leaf in _flat(item)]
    return [out]


def _check_same_trace(torch_gm, ember_gm, inputs, atol=1e-5):
    assert ember_gm.code == torch_gm.code
    assert str(ember_gm.graph) == str(torch_gm.graph)
    assert _node_rows(ember_gm) == _node_rows(torch_gm)
    assert list(ember_gm.state_dict()) == list(torch_gm.state_dict())
    assert type(ember_gm).__name__ == type(torch_gm).__name__
    assert ember_gm.print_readable(print_output=False) == \
        torch_gm.print_readable(print_output=False)
    torch_out = torch_gm(*[torch.tensor(x) for x in inputs])
    ember_out = ember_gm(*[ember.tensor(x) for x in inputs])
    for t_val, e_val in zip(_flat(torch_out), _flat(ember_out)):
        if isinstance(t_val, torch.Tensor):
            assert str(e_val.dtype) == str(t_val.dtype)
            np.testing.assert_allclose(e_val.detach().numpy(), t_val.detach().numpy(),
                                       rtol=1e-5, atol=atol)
        else:
            assert e_val == t_val


# -- models, written once for either library --------------------------------------------

def mlp(lib):
    nn, F = lib.nn, lib.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return F.log_softmax(self.fc2(self.act(self.fc1(x))), dim=-1)

    return MLP()


def cnn_bn(lib):
    nn, F = lib.nn, lib.nn.functional

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                          nn.ReLU(), nn.MaxPool2d(2))
            self.conv = nn.Conv2d(4, 4, 3, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            x = self.features(x)
            x = F.relu(self.bn(self.conv(x)))
            x = F.adaptive_avg_pool2d(x, 1)
            x = lib.flatten(x, 1)
            return self.head(F.dropout(x, 0.5, self.training))

    return CNN()


def residual(lib):
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x):
            identity = x
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return lib.relu(out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(2, 3, 1)
            self.layers = nn.Sequential(Block(3), Block(3))

        def forward(self, x):
            return self.layers(self.stem(x)).mean(dim=(2, 3))

    return Net()


def functions_methods_operators(lib):
    nn, F = lib.nn, lib.nn.functional

    class Ops(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)
            self.scale = nn.Parameter(lib.ones(3))
            self.register_buffer("shift", lib.zeros(3))

        def forward(self, x, y=None):
            a = lib.sigmoid(self.lin(x)) * self.scale - self.shift
            a = F.linear(a, self.lin.weight[:, :3])
            b = a.sum(dim=1, keepdim=True).view(-1) / 2
            c = a[:, 0] + a.shape[0] + a.size(1)
            d = lib.cat([a, -a], dim=1).transpose(0, 1).contiguous()
            e = F.softmax(d, dim=-1) ** 2 // 1 % 3
            f = (a @ a.t()).clamp(min=0.1) > 0.5
            g = lib.add(a, 1, alpha=2).abs() != a
            h = F.gelu(a) + F.tanh(a) + F.sigmoid(a) + lib.exp(a).log1p()
            return b, c, e, f, g, h, a[..., None], lib.where(f, 1.0, 0.0)

    return Ops()


def parameter_getattr(lib):
    nn = lib.nn

    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(lib.randn(3, 4))
            self.bias = nn.Parameter(lib.randn(3))
            self.sub = nn.Linear(3, 3)
            self.register_buffer("running", lib.ones(3))
            self.const = lib.full((3,), 2.0)

        def forward(self, x):
            y = lib.matmul(x, self.weight.t()) + self.bias
            y = y * self.running + self.const
            return y + self.sub.bias * self.sub.weight.sum()

    return Affine()


def functional_namespaces(lib):
    nn = lib.nn

    class Spaces(nn.Module):
        def forward(self, x):
            a = lib.special.expit(x) + lib.special.erf(x)
            b = lib.linalg.vector_norm(x, dim=-1)
            c = lib.fft.rfft(x).abs()
            d = nn.functional.pad(x, (1, 1)).relu()
            e = nn.functional.max_pool1d(x.unsqueeze(1), 2)
            f = nn.functional.interpolate(x.unsqueeze(1), scale_factor=2)
            return a, b, c, d, e, f, lib.einsum("ij,kj->ik", x, x), lib.split(x, 2, 1)

    return Spaces()


def unpack_and_chunks(lib):
    nn = lib.nn

    class Chunks(nn.Module):
        def forward(self, x):
            first, second = x.chunk(2, dim=1)
            p, q = lib.split(x, [1, 3], dim=1)
            return first * second, p.expand(-1, 3) - q, x.reshape(x.size(0), -1).permute(1, 0)

    return Chunks()


def constants_and_reflected_operators(lib):
    class Consts(lib.nn.Module):
        def forward(self, x, y):
            c = lib.tensor([1.0, 2.0])
            a = (c + x, c * y, c / x, c ** y, c @ x, 2 - x, 1 / (y + 3), 2 ** x, x // 2, x % 2)
            b = (x.to(lib.float64), lib.zeros_like(x), lib.arange(x.size(0)), x.new_zeros(2, 3),
                 x.type_as(y), lib.ones(2, dtype=lib.int64) + x.sum().long(),
                 (x > 0) & (y < 1) | ~(x == y), x.masked_fill(x > 0, 0.0),
                 lib.stack([x, y]).max(dim=0).values, lib.max(x, y), x.unsqueeze(-1).squeeze())
            return a, b, x.shape[-1]

    return Consts()


def tensor_constant_methods(lib):
    class Methods(lib.nn.Module):
        def forward(self, x):
            c = lib.tensor([1.0, 2.0])
            d = c.clone()
            d[0] = x.sum()
            return (c.add(x), c.mul(x), c < x, c >= x, c[x.long()], d, c.expand_as(x),
                    c.new_ones(2) + x, c + x, c // (x + 3))

    return Methods()


MODELS = {
    "mlp": (mlp, [(2, 4)]),
    "cnn_bn": (cnn_bn, [(2, 1, 8, 8)]),
    "residual": (residual, [(2, 2, 5, 5)]),
    "functions_methods_operators": (functions_methods_operators, [(3, 4)]),
    "parameter_getattr": (parameter_getattr, [(2, 4)]),
    "functional_namespaces": (functional_namespaces, [(2, 4)]),
    "unpack_and_chunks": (unpack_and_chunks, [(2, 4)]),
    "constants_and_reflected_operators": (constants_and_reflected_operators, [(2,), (2,)]),
    "tensor_constant_methods": (tensor_constant_methods, [(2,)]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_symbolic_trace_matches_torch(name):
    builder, shapes = MODELS[name]
    torch_model, ember_model = _pair(builder)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    torch_gm = torch.fx.symbolic_trace(torch_model)
    ember_gm = ember.fx.symbolic_trace(ember_model)
    _check_same_trace(torch_gm, ember_gm, inputs)
    # a GraphModule traces again: its generated code records the same calls
    _check_same_trace(torch.fx.symbolic_trace(torch_gm), ember.fx.symbolic_trace(ember_gm),
                      inputs)


def test_trace_matches_eager_and_keeps_namespaces_intact():
    _, ember_model = _pair(cnn_bn)
    before = (ember.relu, ember.nn.functional.relu, ember.nn.Module.__call__, ember.cat)
    gm = ember.fx.symbolic_trace(ember_model)
    assert (ember.relu, ember.nn.functional.relu, ember.nn.Module.__call__, ember.cat) == before
    assert before[0] is ember.relu and before[2] is ember.nn.Module.__call__
    x = ember.tensor(np.random.default_rng(1).standard_normal((2, 1, 8, 8)).astype(np.float32))
    np.testing.assert_allclose(gm(x).detach().numpy(), ember_model(x).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    node = next(n for n in gm.graph.nodes if n.name == "relu")
    assert node.target is ember.nn.functional.relu


def _relu_matmul_sum(lib):
    def fn(x, w):
        return (lib.relu(x @ w) + 1).sum()

    return fn


def test_trace_plain_function_and_gradients_flow():
    results = {}
    for lib in (torch, ember):
        gm = lib.fx.symbolic_trace(_relu_matmul_sum(lib))
        x = lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) - 2, requires_grad=True)
        w = lib.tensor(np.ones((3, 2), np.float32) * 0.5, requires_grad=True)
        out = gm(x, w)
        out.backward()
        results[lib.__name__] = (gm.code, out.item(), x.grad.numpy(), w.grad.numpy())
    t_code, t_val, t_gx, t_gw = results["torch"]
    e_code, e_val, e_gx, e_gw = results["ember"]
    assert e_code == t_code
    assert e_val == pytest.approx(t_val)
    np.testing.assert_allclose(e_gx, t_gx)
    np.testing.assert_allclose(e_gw, t_gw)


BUILTIN_MODULES = [
    ("Linear", (2, 3)), ("ReLU", ()), ("Conv2d", (1, 2, 3)), ("Conv1d", (1, 1, 1)),
    ("MaxPool2d", (2,)), ("AvgPool2d", (2,)), ("AdaptiveAvgPool2d", (1,)), ("Dropout", ()),
    ("Flatten", ()), ("Sigmoid", ()), ("GELU", ()), ("LayerNorm", (2,)), ("Identity", ()),
    ("LeakyReLU", ()), ("ReLU6", ()), ("Softplus", ()), ("GroupNorm", (1, 2)),
    ("Embedding", (3, 2)), ("PReLU", ()), ("Upsample", ()),
]


@pytest.mark.parametrize("name, args", BUILTIN_MODULES)
def test_tracing_through_builtin_modules_matches_torch(name, args):
    """A tracer with no leaves records a built-in module's functional calls, as torch's."""
    codes = []
    for lib in (torch, ember):
        class NoLeaves(lib.fx.Tracer):
            def is_leaf_module(self, m, qualname):
                return False

        kwargs = {"scale_factor": 2} if name == "Upsample" else {}
        module = getattr(lib.nn, name)(*args, **kwargs)
        codes.append(lib.fx.GraphModule(module, NoLeaves().trace(module)).code)
    assert codes[1] == codes[0]


@pytest.mark.parametrize("name", ["cnn_bn", "functions_methods_operators", "parameter_getattr"])
def test_pickle_and_deepcopy_round_trip(name):
    builder, shapes = MODELS[name]
    gm = ember.fx.symbolic_trace(builder(ember).eval())
    x = ember.tensor(np.random.default_rng(2).standard_normal(shapes[0]).astype(np.float32))
    for copied in (pickle.loads(pickle.dumps(gm)), copy.deepcopy(gm)):
        assert copied.code == gm.code
        assert str(copied.graph) == str(gm.graph)
        assert list(copied.state_dict()) == list(gm.state_dict())
        for expected, actual in zip(_flat(gm(x)), _flat(copied(x))):
            np.testing.assert_array_equal(actual.detach().numpy(), expected.detach().numpy())


def test_resnet18_traces_like_torchvision():
    """ember.vision's resnet18 under ember.fx against torchvision's resnet18 under torch.fx
    (torchvision 0.28's Python, loaded without its C ops): the same generated code, node
    for node, then the traced module computes what the model computes on the same weights."""
    from vision._torchvision import load_torchvision

    from ember.vision.models import resnet18

    torch.manual_seed(0)
    reference = load_torchvision().models.resnet18(num_classes=4).eval()
    model = resnet18(num_classes=4).eval()
    model.load_state_dict({k: ember.tensor(v.numpy()) for k, v in reference.state_dict().items()})
    expected, gm = torch.fx.symbolic_trace(reference), ember.fx.symbolic_trace(model)
    assert gm.code == expected.code
    assert _node_rows(gm) == _node_rows(expected)
    # stem 4, eight blocks of 6 (relu twice), 3 downsamples of 2, avgpool, fc
    assert sum(n.op == "call_module" for n in gm.graph.nodes) == 60
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    got = gm(ember.tensor(x)).detach().numpy()
    np.testing.assert_array_equal(got, model(ember.tensor(x)).detach().numpy())
    with torch.no_grad():
        np.testing.assert_allclose(got, expected(torch.from_numpy(x)).numpy(), rtol=1e-4,
                                   atol=1e-5)
