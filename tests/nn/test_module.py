"""nn.Module against PyTorch: registration, traversal, state_dict keys and errors, hooks,
repr, modes and conversions. Each scenario runs on both libraries and compares."""

from __future__ import annotations

import copy
import os
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module  # noqa: E402
from oracle import assert_same, randn  # noqa: E402

import ember  # noqa: E402

LIBS = [torch, ember]


def build_net(lib):
    """A nested model with buffers (persistent and not), a shared parameter and None slots."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.register_buffer("running", lib.zeros(4))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.register_parameter("unused", None)

        def forward(self, x):
            return self.fc(x) + self.running

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(3, 4), nn.Identity(), Block())
            self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 1)})
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
            self.scale = nn.Parameter(lib.ones(1))
            self.tied = self.layers[0]

        def forward(self, x):
            h = self.encoder(x)
            for layer in self.layers:
                h = layer(h)
            return self.heads["a"](h) * self.scale, self.heads["b"](h)

    return Net()


def _names(items):
    return [(name, tuple(t.shape)) for name, t in items]


TRAVERSALS = [
    ("named_parameters", lambda m: _names(m.named_parameters())),
    ("named_parameters_dup", lambda m: _names(m.named_parameters(remove_duplicate=False))),
    ("named_parameters_prefix", lambda m: _names(m.named_parameters(prefix="model"))),
    ("named_parameters_norecurse", lambda m: _names(m.named_parameters(recurse=False))),
    ("named_buffers", lambda m: _names(m.named_buffers())),
    ("named_buffers_norecurse", lambda m: _names(m.encoder[2].named_buffers(recurse=False))),
    ("named_modules", lambda m: [(n, type(x).__name__) for n, x in m.named_modules()]),
    ("named_modules_dup", lambda m: [n for n, _ in m.named_modules(remove_duplicate=False)]),
    ("named_children", lambda m: [n for n, _ in m.named_children()]),
    ("children", lambda m: [type(c).__name__ for c in m.children()]),
    ("modules_count", lambda m: len(list(m.modules()))),
    ("parameters_count", lambda m: len(list(m.parameters()))),
    ("buffers_count", lambda m: len(list(m.buffers()))),
    ("state_dict_keys", lambda m: _names(m.state_dict().items())),
    ("state_dict_prefix", lambda m: list(m.state_dict(prefix="p.").keys())),
    ("state_dict_metadata", lambda m: dict(m.state_dict()._metadata)),
    ("get_submodule", lambda m: type(m.get_submodule("encoder.2.fc")).__name__),
    ("get_parameter", lambda m: tuple(m.get_parameter("encoder.2.fc.weight").shape)),
    ("get_buffer", lambda m: tuple(m.get_buffer("encoder.2.running").shape)),
    ("dir", lambda m: [k for k in dir(m) if not k.startswith("_") and k not in dir(type(m))]),
    ("repr", repr),
]


@pytest.mark.parametrize("name,fn", TRAVERSALS, ids=[t[0] for t in TRAVERSALS])
def test_traversal_matches_torch(name, fn):
    assert fn(build_net(ember)) == fn(build_net(torch))


def test_state_dict_roundtrip_and_forward():
    def make(lib):
        return build_net(lib)

    e_net, t_net, _, _ = check_module(make, randn(5, 3), rtol=1e-5, atol=1e-5)
    state = e_net.state_dict()
    assert all(not v.requires_grad for v in state.values())
    kept = e_net.state_dict(keep_vars=True)
    assert kept["scale"] is e_net.scale
    assert state["encoder.2.running"].data_ptr() == e_net.encoder[2].running.data_ptr()


GET_ERRORS = [
    ("missing_child", lambda m: m.get_submodule("encoder.9")),
    ("not_module", lambda m: m.get_submodule("scale")),
    ("missing_param", lambda m: m.get_parameter("encoder.0.nope")),
    ("not_param", lambda m: m.get_parameter("encoder.2.running")),
    ("not_buffer", lambda m: m.get_buffer("encoder.2.fc.weight")),
    ("getattr", lambda m: m.nothing),
]


@pytest.mark.parametrize("name,fn", GET_ERRORS, ids=[g[0] for g in GET_ERRORS])
def test_lookup_errors_match_torch(name, fn):
    with pytest.raises(AttributeError) as t_info:
        fn(build_net(torch))
    with pytest.raises(AttributeError) as e_info:
        fn(build_net(ember))
    assert str(e_info.value) == str(t_info.value)


def _load(lib, mutate, strict=True):
    net = build_net(lib)
    state = {k: v.clone() for k, v in build_net(lib).state_dict().items()}
    mutate(lib, state)
    return net.load_state_dict(state, strict=strict)


def _drop(*keys):
    def mutate(lib, state):
        for k in keys:
            del state[k]
    return mutate


def _add(*keys):
    def mutate(lib, state):
        for k in keys:
            state[k] = lib.zeros(2)
    return mutate


def _resize(key, *shape):
    def mutate(lib, state):
        state[key] = lib.zeros(*shape)
    return mutate


def _combo(*mutations):
    def mutate(lib, state):
        for m in mutations:
            m(lib, state)
    return mutate


LOAD_CASES = [
    ("missing", _drop("encoder.0.bias", "scale")),
    ("unexpected", _add("encoder.0.extra", "heads.c.weight", "zzz")),
    ("size_mismatch", _resize("heads.a.weight", 3, 4)),
    ("all_three", _combo(_drop("layers.1.weight"), _add("bogus"), _resize("scale", 2))),
    ("buffer_missing", _drop("encoder.2.running")),
    ("not_tensor", lambda lib, s: s.__setitem__("scale", 3.0)),
]


@pytest.mark.parametrize("name,mutate", LOAD_CASES, ids=[c[0] for c in LOAD_CASES])
def test_load_state_dict_errors_match_torch(name, mutate):
    with pytest.raises(RuntimeError) as t_info:
        _load(torch, mutate)
    with pytest.raises(RuntimeError) as e_info:
        _load(ember, mutate)
    assert str(e_info.value) == str(t_info.value)


@pytest.mark.parametrize("name,mutate", LOAD_CASES[:2] + LOAD_CASES[4:5],
                         ids=[c[0] for c in LOAD_CASES[:2] + LOAD_CASES[4:5]])
def test_load_state_dict_non_strict_result(name, mutate):
    t_res, e_res = _load(torch, mutate, strict=False), _load(ember, mutate, strict=False)
    assert e_res.missing_keys == t_res.missing_keys
    assert e_res.unexpected_keys == t_res.unexpected_keys
    assert repr(e_res) == repr(t_res)
    assert repr(build_net(ember).load_state_dict(build_net(ember).state_dict())) == \
        "<All keys matched successfully>"


def test_load_state_dict_copies_in_place_or_assigns():
    net = ember.nn.Linear(2, 3)
    weight = net.weight
    source = ember.nn.Linear(2, 3).state_dict()
    net.load_state_dict(source)
    assert net.weight is weight and np.array_equal(weight.detach().numpy(),
                                                   source["weight"].numpy())
    assert net.weight.data_ptr() != source["weight"].data_ptr()
    version = weight._version
    net.load_state_dict(source)
    assert weight._version > version
    net.load_state_dict(source, assign=True)
    assert isinstance(net.weight, ember.nn.Parameter) and net.weight.requires_grad
    assert net.weight.data_ptr() == source["weight"].data_ptr()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_dtype_cast_and_scalar_from_1d():
    net = ember.nn.Linear(2, 3)
    net.load_state_dict({"weight": ember.zeros(3, 2, dtype=ember.float64),
                         "bias": ember.ones(3, dtype=ember.float64)})
    assert net.weight.dtype == ember.float32 and float(net.bias.sum()) == 3.0

    class Scalar(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.s = ember.nn.Parameter(ember.tensor(1.0))

    m = Scalar()
    m.load_state_dict({"s": ember.tensor([5.0])})
    assert float(m.s) == 5.0


REGISTRATION_ERRORS = [
    ("param_type", lambda lib, m: m.register_parameter("p", lib.zeros(2)), TypeError),
    ("param_dot", lambda lib, m: m.register_parameter("a.b", None), KeyError),
    ("param_empty", lambda lib, m: m.register_parameter("", None), KeyError),
    ("param_exists", lambda lib, m: m.register_parameter("training", None), KeyError),
    ("param_nonleaf", lambda lib, m: m.register_parameter(
        "p", lib.nn.Parameter(lib.ones(2)) * 2), TypeError),
    ("buffer_type", lambda lib, m: m.register_buffer("b", 3), TypeError),
    ("buffer_dot", lambda lib, m: m.register_buffer("a.b", None), KeyError),
    ("buffer_exists", lambda lib, m: m.register_buffer("fc", None), KeyError),
    ("module_type", lambda lib, m: m.add_module("x", 3), TypeError),
    ("module_dot", lambda lib, m: m.add_module("a.b", None), KeyError),
    ("module_empty", lambda lib, m: m.add_module("", None), KeyError),
    ("assign_tensor_to_param", lambda lib, m: setattr(m.fc, "weight", lib.zeros(2)), TypeError),
    ("assign_int_to_module", lambda lib, m: setattr(m, "fc", 3), TypeError),
    ("assign_int_to_buffer", lambda lib, m: setattr(m, "buf", 3), TypeError),
]


def _reg_module(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(2, 2)
            self.register_buffer("buf", lib.zeros(1))

    return M()


@pytest.mark.parametrize("name,fn,exc", REGISTRATION_ERRORS,
                         ids=[r[0] for r in REGISTRATION_ERRORS])
def test_registration_errors_match_torch(name, fn, exc):
    with pytest.raises(exc) as t_info:
        fn(torch, _reg_module(torch))
    with pytest.raises(exc) as e_info:
        fn(ember, _reg_module(ember))
    assert str(e_info.value) == str(t_info.value)


def test_assignment_before_init_and_attribute_moves():
    for lib in LIBS:
        class Early(lib.nn.Module):
            def __init__(self):
                self.p = lib.nn.Parameter(lib.ones(1))

        with pytest.raises(AttributeError, match="cannot assign parameters before "
                                                 r"Module.__init__\(\) call"):
            Early()
    m = _reg_module(ember)
    m.fc = None
    assert "fc" in m._modules and m.fc is None
    m.buf = None
    assert m._buffers["buf"] is None
    m.plain = 3
    assert m.plain == 3 and "plain" in m.__dict__
    m.plain = ember.nn.Parameter(ember.ones(1))
    assert "plain" not in m.__dict__ and "plain" in m._parameters
    m.newbuf = ember.nn.Buffer(ember.ones(2), persistent=False)
    assert "newbuf" in m._buffers and "newbuf" in m._non_persistent_buffers_set
    del m.newbuf, m.plain, m.fc
    assert "newbuf" not in m._buffers and "plain" not in m._parameters and "fc" not in m._modules
    with pytest.raises(AttributeError):
        del m.nothing


def test_train_eval_apply_requires_grad_zero_grad():
    net = build_net(ember)
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train(1)
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen[-1] == "Net" and seen[0] == "Linear"
    out = net(ember.randn(2, 3))
    (out[0].sum() + out[1].sum()).backward()
    grads = {name: p.grad for name, p in net.named_parameters()}
    assert all(g is not None for g in grads.values())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    assert grads["encoder.0.weight"] is net.encoder[0].weight.grad
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_dtype_and_device_conversions_keep_parameter_identity():
    net = build_net(ember)
    weight = net.encoder[0].weight
    assert net.double() is net
    assert weight is net.encoder[0].weight and weight.dtype == ember.float64
    assert net.encoder[2].running.dtype == ember.float64
    net.float()
    assert weight.dtype == ember.float32
    net.half()
    assert weight.dtype == ember.float16
    net.to(ember.float64)
    assert weight.dtype == ember.float64
    net.to("cpu", dtype=ember.float32)
    assert weight.dtype == ember.float32 and net.cpu() is net
    net.to(ember.zeros(1, dtype=ember.float64))
    assert weight.dtype == ember.float64
    net.type(ember.float32)
    assert weight.dtype == ember.float32
    ints = ember.nn.Module()
    ints.register_buffer("count", ember.zeros(2, dtype=ember.int64))
    ints.double()
    assert ints.count.dtype == ember.int64
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex "
                                        "dtypes, but got desired dtype=torch.int64"):
        ints.to(ember.int64)
    assert net.share_memory() is net


def test_deepcopy_keeps_sharing_structure():
    net = build_net(ember)
    clone = copy.deepcopy(net)
    assert clone.tied is clone.layers[0] and clone.tied is not net.tied
    assert type(clone.scale) is ember.nn.Parameter
    a = net(ember.ones(2, 3))
    b = clone(ember.ones(2, 3))
    np.testing.assert_array_equal(a[0].detach().numpy(), b[0].detach().numpy())


def _hooked_run(lib, register):
    """Registers hooks via ``register(lib, module, log)``, runs forward and backward."""
    log = []
    module = lib.nn.Linear(3, 2)
    module.load_state_dict({
        "weight": lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 10),
        "bias": lib.full((2,), 0.5)})
    register(lib, module, log)
    x = lib.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / 7, requires_grad=True)
    out = module(x)
    out.sum().backward()
    return log, out.detach().numpy(), x.grad.numpy()


def _fmt(value):
    if hasattr(value, "shape"):
        return ("T", tuple(value.shape), np.round(np.asarray(value.detach().numpy(), float), 4)
                .tolist())
    if isinstance(value, (tuple, list)):
        return tuple(_fmt(v) for v in value)
    if isinstance(value, dict):
        return {k: _fmt(v) for k, v in value.items()}
    return value


def _reg_pre_post(lib, m, log):
    m.register_forward_pre_hook(lambda mod, args: log.append(("pre1", _fmt(args))))
    m.register_forward_pre_hook(lambda mod, args: log.append(("pre0", None)), prepend=True)
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    m.register_forward_hook(lambda mod, args, out: log.append(("post", _fmt(args), _fmt(out))))
    m.register_forward_hook(lambda mod, args, out: out + 1)
    m.register_forward_hook(lambda mod, args, out: log.append(("post0", None)), prepend=True)


def _reg_kwargs(lib, m, log):
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: log.append(("kw", _fmt(kwargs))),
                            with_kwargs=True)


def _reg_backward(lib, m, log):
    m.register_full_backward_pre_hook(lambda mod, gout: log.append(("bpre", _fmt(gout))))
    m.register_full_backward_hook(
        lambda mod, gin, gout: log.append(("bwd", _fmt(gin), _fmt(gout))))


def _reg_backward_modify(lib, m, log):
    m.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 3,))
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 0.5,))
    m.register_full_backward_hook(lambda mod, gin, gout: log.append(("seen", _fmt(gin))))


def _reg_removed(lib, m, log):
    handle = m.register_forward_hook(lambda mod, args, out: log.append("removed"))
    handle.remove()
    with m.register_forward_pre_hook(lambda mod, args: log.append("ctx")):
        pass
    m.register_forward_hook(lambda mod, args, out: log.append("kept"))


HOOK_CASES = [
    ("pre_post_order_and_replace", _reg_pre_post),
    ("with_kwargs", _reg_kwargs),
    ("full_backward", _reg_backward),
    ("full_backward_modify", _reg_backward_modify),
    ("removed", _reg_removed),
]


@pytest.mark.parametrize("name,register", HOOK_CASES, ids=[h[0] for h in HOOK_CASES])
def test_hooks_match_torch(name, register):
    t_log, t_out, t_grad = _hooked_run(torch, register)
    e_log, e_out, e_grad = _hooked_run(ember, register)
    assert e_log == t_log
    np.testing.assert_allclose(e_out, t_out, rtol=1e-6)
    np.testing.assert_allclose(e_grad, t_grad, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_backward_hook_without_input_grad_and_always_call():
    for lib in LIBS:
        log = []
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gin, gout: log.append((gin, len(gout))))
        m(lib.ones(1, 2)).sum().backward()
        assert log == [((None,), 1)]

        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        boom = Boom()
        boom.register_forward_hook(lambda mod, args, out: log.append("always"), always_call=True)
        boom.register_forward_hook(lambda mod, args, out: log.append("never"))
        with pytest.raises(ValueError, match="boom"):
            boom(lib.ones(1))
        assert log[-1] == "always" and "never" not in log


def test_state_dict_hooks_match_torch():
    def run(lib):
        log = []
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))
        m[0].register_state_dict_pre_hook(lambda mod, prefix, keep: log.append(("pre", prefix)))
        m.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta: log.append(("post", sorted(sd))))
        m[0]._register_state_dict_hook(lambda mod, sd, prefix, meta: sd.pop(prefix + "bias"))
        keys = list(m.state_dict().keys())
        m.register_load_state_dict_post_hook(
            lambda mod, keys: log.append(("load_post", list(keys.missing_keys))))
        m[0].register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, *rest: log.append(("load_pre", prefix)))
        m.load_state_dict({"0.weight": lib.zeros(2, 2)}, strict=False)
        return log, keys

    assert run(ember) == run(torch)


def test_full_module_hooks_gradients_on_mlp():
    """Backward hooks see PyTorch's grad_input / grad_output for a real model."""
    def make(lib):
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Linear(4, 2))
        net.log = []
        net[1].register_full_backward_hook(lambda m, gi, go: net.log.append((gi[0], go[0])))
        return net

    e_net, t_net, _, _ = check_module(make, randn(5, 3), rtol=1e-5, atol=1e-5)
    (e_gi, e_go), = e_net.log
    (t_gi, t_go), = t_net.log
    assert_same(e_gi, t_gi, 1e-5, 1e-5)
    assert_same(e_go, t_go, 1e-5, 1e-5)


def test_custom_module_forward_missing():
    for lib in LIBS:
        with pytest.raises(NotImplementedError,
                           match=r'Module \[Module\] is missing the required "forward" function'):
            lib.nn.Module()(1)


def test_extra_repr_multiline_and_nested():
    def make(lib):
        class Custom(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = lib.nn.Sequential(OrderedDict(relu=lib.nn.Identity(),
                                                           fc=lib.nn.Linear(2, 2)))

            def extra_repr(self):
                return "alpha=1\nbeta=2"

        return lib.nn.ModuleList([Custom(), lib.nn.Linear(1, 1), lib.nn.Linear(1, 1)])

    assert repr(make(ember)) == repr(make(torch))


def test_parameter_and_buffer_types():
    p = ember.nn.Parameter(ember.ones(2))
    t = torch.nn.Parameter(torch.ones(2))
    assert repr(p) == repr(t)
    assert ember.nn.Parameter(ember.ones(2), requires_grad=False).requires_grad is False
    assert ember.nn.Parameter().shape == (0,)
    clone = copy.deepcopy(p)
    assert type(clone) is ember.nn.Parameter and clone.requires_grad
    assert clone.data_ptr() != p.data_ptr()
    import pickle

    restored = pickle.loads(pickle.dumps(p))
    assert type(restored) is ember.nn.Parameter and restored.requires_grad
    np.testing.assert_array_equal(restored.detach().numpy(), p.detach().numpy())
    shared = ember.ones(3)
    assert ember.nn.Parameter(shared).data_ptr() == shared.data_ptr()
    b = ember.nn.Buffer(ember.ones(2))
    assert isinstance(b, ember.nn.Buffer) and not isinstance(ember.ones(2), ember.nn.Buffer)
    with pytest.raises(RuntimeError):
        ember.nn.Parameter(ember.ones(2, dtype=ember.int64))


def _global_hooks_run(lib):
    mm = lib.nn.modules.module
    log = []
    handles = [
        mm.register_module_forward_pre_hook(lambda m, a: log.append(("pre", type(m).__name__))),
        mm.register_module_forward_hook(lambda m, a, o: log.append(("post", type(m).__name__))),
        mm.register_module_full_backward_hook(
            lambda m, gi, go: log.append(("bwd", type(m).__name__, tuple(go[0].shape)))),
        mm.register_module_buffer_registration_hook(
            lambda m, n, b: log.append(("buffer", n))),
        mm.register_module_module_registration_hook(lambda m, n, c: log.append(("module", n))),
        mm.register_module_parameter_registration_hook(
            lambda m, n, p: log.append(("param", n))),
    ]
    try:
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Identity())
        net.register_buffer("steps", lib.zeros(1))
        net(lib.ones(4, 2, requires_grad=True)).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    lib.nn.Linear(1, 1)(lib.ones(1))
    return log


def test_global_module_hooks_match_torch():
    assert _global_hooks_run(ember) == _global_hooks_run(torch)


def test_extra_state_and_set_submodule_match_torch():
    def run(lib):
        class WithState(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(1, 1)
                self.counter = 3

            def get_extra_state(self):
                return {"counter": self.counter}

            def set_extra_state(self, state):
                self.counter = state["counter"]

        outer = lib.nn.Sequential(WithState())
        keys = list(outer.state_dict())
        state = outer.state_dict()
        state["0._extra_state"] = {"counter": 7}
        outer.load_state_dict(state)
        missing = outer.load_state_dict({k: v for k, v in state.items()
                                         if "extra" not in k}, strict=False)
        outer.set_submodule("0.fc", lib.nn.Linear(1, 2))
        with pytest.raises(AttributeError) as info:
            outer.set_submodule("0.nothing.x", lib.nn.Identity())
        return keys, outer[0].counter, list(missing.missing_keys), repr(outer), str(info.value)

    assert run(ember) == run(torch)


def test_to_empty_keeps_shapes():
    net = build_net(ember).to_empty(device="cpu")
    assert [(n, tuple(p.shape)) for n, p in net.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in build_net(torch).named_parameters()]


def test_state_dict_legacy_forms_and_load_reports_match_torch():
    """The positional state_dict(destination, prefix, keep_vars) form, _metadata, a
    public post-hook that returns a value, assign=True on a frozen parameter, and the
    strict texts for extra state and non-tensor values."""
    def run(lib):
        out = []
        m = lib.nn.Sequential(lib.nn.Linear(2, 1), lib.nn.BatchNorm1d(1))
        dest = OrderedDict()
        m.state_dict(dest, "net.", True)
        out.append((list(dest), type(dest["net.0.weight"]).__name__))
        out.append(dict(m.state_dict()._metadata))
        m[0].weight.requires_grad_(False)
        state = {k: v.clone() + 1 for k, v in m.state_dict().items()}
        m.load_state_dict(state, assign=True)
        out.append((type(m[0].weight).__name__, m[0].weight.requires_grad,
                    m[0].bias.requires_grad))
        bad = dict(state, **{"0.bias": 3.0, "1._extra_state": 1, "2.weight": lib.ones(1)})
        with pytest.raises(RuntimeError) as info:
            m.load_state_dict(bad)
        out.append(str(info.value))
        handle = m.register_state_dict_post_hook(lambda *a: {})
        with pytest.raises(RuntimeError) as info:
            m.state_dict()
        out.append(str(info.value))
        handle.remove()
        return out

    ours, theirs = run(ember), run(torch)
    assert ours[:-2] == theirs[:-2]
    assert [s.replace("ember", "torch") for s in ours[-2:]] == theirs[-2:]
