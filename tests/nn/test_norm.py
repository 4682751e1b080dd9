"""Normalisation against PyTorch: functional batch/instance/group/layer/RMS/local-response
norm (values and every gradient), the modules with torch's parameters copied in (train
and eval), running statistics over several steps (momentum 0.1 and None), state_dict
keys and loading, gradcheck in float64 (and gradgradcheck for the fused Function), and
error texts."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module  # noqa: E402
from oracle import assert_same, check, check_raises, randn  # noqa: E402

import ember

def _f(lib):
    return lib.nn.functional


# --- functional ---------------------------------------------------------------------

FUNCTIONAL = [
    ("bn-train-2d", lambda L, x, w, b: _f(L).batch_norm(x, None, None, w, b, training=True),
     [(4, 3, 5, 6), (3,), (3,)]),
    ("bn-train-1d-NC", lambda L, x, w, b: _f(L).batch_norm(x, None, None, w, b, True),
     [(7, 3), (3,), (3,)]),
    ("bn-train-noaffine-3d", lambda L, x: _f(L).batch_norm(x, None, None, training=True),
     [(2, 3, 2, 3, 4)]),
    ("bn-train-eps", lambda L, x, w: _f(L).batch_norm(x, None, None, w, None, True, 0.1, 0.3),
     [(5, 2, 3), (2,)]),
    ("ln-last", lambda L, x, w, b: _f(L).layer_norm(x, (6,), w, b), [(4, 5, 6), (6,), (6,)]),
    ("ln-two", lambda L, x, w, b: _f(L).layer_norm(x, [5, 6], w, b, 1e-3),
     [(4, 5, 6), (5, 6), (5, 6)]),
    ("ln-weight-only", lambda L, x, w: _f(L).layer_norm(x, (6,), w), [(2, 6), (6,)]),
    ("gn", lambda L, x, w, b: _f(L).group_norm(x, 2, w, b), [(3, 4, 5, 2), (4,), (4,)]),
    ("gn-3d-noaffine", lambda L, x: _f(L).group_norm(x, 3, eps=1e-3), [(2, 6, 5)]),
    ("gn-one-group", lambda L, x, w, b: _f(L).group_norm(x, 1, w, b), [(2, 4, 3, 3), (4,), (4,)]),
    ("in", lambda L, x, w, b: _f(L).instance_norm(x, weight=w, bias=b), [(2, 3, 4, 5), (3,), (3,)]),
    ("in-1d", lambda L, x: _f(L).instance_norm(x), [(2, 3, 7)]),
    ("rms", lambda L, x, w: _f(L).rms_norm(x, (6,), w), [(3, 4, 6), (6,)]),
    ("rms-eps-two", lambda L, x: _f(L).rms_norm(x, [4, 6], eps=1e-3), [(3, 4, 6)]),
    ("lrn-3d", lambda L, x: _f(L).local_response_norm(x, 3), [(2, 5, 4)]),
    ("lrn-4d", lambda L, x: _f(L).local_response_norm(x, 2, 1e-2, 0.5, 2.0), [(2, 5, 3, 4)]),
    ("lrn-5d", lambda L, x: _f(L).local_response_norm(x, 4, 0.1), [(2, 6, 2, 3, 2)]),
]


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in FUNCTIONAL], ids=[c[0] for c in FUNCTIONAL])
def test_functional(fn, shapes):
    check(fn, *[randn(*s) for s in shapes], rtol=1e-5, atol=1e-5)


def test_batch_norm_eval_uses_running_stats():
    mean, var = randn(3), np.abs(randn(3)) + 0.5
    check(lambda L, x, w, b, m, v: _f(L).batch_norm(x, m.detach(), v.detach(), w, b, False),
          randn(4, 3, 2, 2), randn(3), randn(3), mean, var)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_of_an_empty_batch(training, affine):
    """PyTorch returns before its backends: the input's copy times weight[0] plus
    bias[0] (its nodes), running statistics untouched."""
    def norm(L, x, w, b):
        stats = (L.zeros(3, device=x.device), L.ones(3, device=x.device))
        out = _f(L).batch_norm(x, *stats, w if affine else None, b if affine else None,
                               training)
        return out, stats[0], stats[1]

    (e_out, e_mean, e_var), _ = check(norm, randn(0, 3, 4), randn(3), randn(3))
    assert e_out.grad_fn.name() == ("AddBackward0" if affine else "CloneBackward0")
    assert e_mean.tolist() == [0.0] * 3 and e_var.tolist() == [1.0] * 3


@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_functional_running_stats_update(momentum):
    x = randn(6, 3, 4)
    stats = {}
    base_mean, base_var = randn(3), np.abs(randn(3)) + 0.5
    for lib in (torch, ember):
        rm, rv = lib.tensor(base_mean.copy()), lib.tensor(base_var.copy())
        _f(lib).batch_norm(lib.tensor(x), rm, rv, training=True, momentum=momentum)
        stats[lib.__name__] = (rm, rv)
    assert_same(stats["ember"][0], stats["torch"][0])
    assert_same(stats["ember"][1], stats["torch"][1])


def test_instance_norm_running_stats():
    x = randn(4, 3, 5)
    out = {}
    for lib in (torch, ember):
        rm, rv = lib.zeros(3), lib.ones(3)
        y = _f(lib).instance_norm(lib.tensor(x), rm, rv, momentum=0.3)
        out[lib.__name__] = (y, rm, rv)
    for e, t in zip(out["ember"], out["torch"]):
        assert_same(e, t, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
@pytest.mark.parametrize("name", ["bn-train-2d", "ln-two", "gn", "in", "rms"])
def test_functional_other_dtypes(name, dtype):
    """Half precision accumulates in float32 (as torch); float64 stays float64."""
    fn, shapes = {c[0]: c[1:] for c in FUNCTIONAL}[name]
    tol = 4e-3 if dtype == np.float16 else None
    check(fn, *[randn(*s, dtype=dtype) for s in shapes], rtol=tol, atol=tol)


NONCONTIGUOUS = [
    ("bn", lambda L, x, w, b: _f(L).batch_norm(x.permute(3, 2, 1, 0), None, None, w, b, True)),
    ("ln", lambda L, x, w, b: _f(L).layer_norm(x.permute(3, 2, 1, 0), (5, 4))),
    ("gn", lambda L, x, w, b: _f(L).group_norm(x.permute(3, 2, 1, 0), 3, w, b)),
    ("in", lambda L, x, w, b: _f(L).instance_norm(x.permute(3, 2, 1, 0), weight=w, bias=b)),
]


@pytest.mark.parametrize("fn", [c[1] for c in NONCONTIGUOUS], ids=[c[0] for c in NONCONTIGUOUS])
def test_noncontiguous_input(fn):
    check(fn, randn(4, 5, 3, 2), randn(3), randn(3), rtol=1e-5)


# --- gradcheck in float64 -----------------------------------------------------------

GRADCHECK = [
    ("bn", lambda x, w, b: ember.nn.functional.batch_norm(x, None, None, w, b, True),
     [(3, 2, 2), (2,), (2,)]),
    ("ln", lambda x, w, b: ember.nn.functional.layer_norm(x, (3,), w, b), [(2, 3), (3,), (3,)]),
    ("bn-eval", lambda x, w, b: ember.nn.functional.batch_norm(
        x, ember.tensor([0.3, -0.2], dtype=ember.float64),
        ember.tensor([0.5, 2.0], dtype=ember.float64), w, b, False), [(3, 2, 2), (2,), (2,)]),
    ("gn", lambda x, w, b: ember.nn.functional.group_norm(x, 2, w, b), [(2, 4, 2), (4,), (4,)]),
    ("in", lambda x: ember.nn.functional.instance_norm(x), [(2, 2, 3)]),
    ("rms", lambda x, w: ember.nn.functional.rms_norm(x, (3,), w), [(2, 3), (3,)]),
    ("lrn", lambda x: ember.nn.functional.local_response_norm(x, 3, 0.5), [(1, 4, 3)]),
]


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in GRADCHECK], ids=[c[0] for c in GRADCHECK])
def test_gradcheck(fn, shapes):
    inputs = [ember.tensor(randn(*s, dtype=np.float64), requires_grad=True) for s in shapes]
    assert ember.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in GRADCHECK[:3]], ids=["bn", "ln", "bn-eval"])
def test_gradgradcheck(fn, shapes):
    inputs = [ember.tensor(randn(*s, dtype=np.float64), requires_grad=True) for s in shapes]
    assert ember.autograd.gradgradcheck(fn, inputs)


# --- modules ------------------------------------------------------------------------

MODULES = [
    ("BatchNorm1d", (3,), {}, (5, 3)),
    ("BatchNorm1d", (3,), {"affine": False}, (4, 3, 6)),
    ("BatchNorm2d", (3,), {"momentum": None}, (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), {"bias": False, "eps": 1e-3}, (2, 3, 3, 2)),
    ("BatchNorm3d", (2,), {}, (2, 2, 3, 2, 2)),
    ("SyncBatchNorm", (3,), {}, (4, 3, 5)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 6)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 6)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 4, 5)),
    ("InstanceNorm3d", (2,), {}, (2, 2, 3, 2, 2)),
    ("LayerNorm", (5,), {}, (3, 4, 5)),
    ("LayerNorm", ([4, 5],), {"elementwise_affine": False}, (3, 4, 5)),
    ("LayerNorm", (5,), {"bias": False}, (3, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("GroupNorm", (4, 4), {"affine": False}, (3, 4, 2, 2)),
    ("RMSNorm", (5,), {}, (3, 5)),
    ("RMSNorm", ([2, 5],), {"eps": 1e-4, "elementwise_affine": False}, (3, 2, 5)),
    ("LocalResponseNorm", (2,), {}, (2, 4, 3, 3)),
    ("CrossMapLRN2d", (3,), {"alpha": 0.1, "k": 2}, (2, 5, 3, 3)),
    ("CrossMapLRN2d", (4,), {"alpha": 0.3, "beta": 0.5}, (2, 7, 2, 3)),
    ("CrossMapLRN2d", (5,), {"alpha": 0.3}, (1, 3, 2, 2)),
]
# torch 2.11's batch/instance/layer/group norms take no bias= (BatchNorm) and print none
NORM_BIAS = pytest.mark.oracle_torch("2.13", "torch 2.11's norm modules lack bias= "
                                     "(argument and repr)")
MODULE_PARAMS = [pytest.param(*m, id=f"{m[0]}-{m[2]}", marks=NORM_BIAS if m[0].startswith(
    ("BatchNorm", "SyncBatchNorm", "InstanceNorm", "LayerNorm", "GroupNorm")) else ())
    for m in MODULES]


def _randomise(t_mod):
    """Non-trivial weights and running stats, so copying them across is tested."""
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.randn(p.shape))
        for name, buf in t_mod.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape))
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape) + 0.5)


@pytest.mark.parametrize("name,args,kwargs,shape", MODULE_PARAMS)
@pytest.mark.parametrize("train", [True, False])
def test_module(name, args, kwargs, shape, train):
    def make(lib):
        mod = getattr(lib.nn, name)(*args, **kwargs)
        if lib is torch:
            _randomise(mod)
        return mod

    e_mod, t_mod, _, _ = check_module(make, randn(*shape), train=train, rtol=1e-5, atol=1e-5)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    for key, value in t_mod.state_dict().items():
        assert_same(e_mod.state_dict()[key], value, rtol=1e-5, atol=1e-6, what=key)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm2d", (4, 3, 3, 2)),
                                        ("InstanceNorm1d", (4, 3, 5))])
def test_running_stats_over_steps(name, shape, momentum):
    kwargs = {"momentum": momentum}
    if name.startswith("Instance"):
        kwargs["track_running_stats"] = True
    t_mod = getattr(torch.nn, name)(3, **kwargs)
    e_mod = getattr(ember.nn, name)(3, **kwargs)
    for _ in range(4):
        x = randn(*shape) * 3 + 1
        t_mod(torch.tensor(x))
        e_mod(ember.tensor(x))
    for key, value in t_mod.state_dict().items():
        assert_same(e_mod.state_dict()[key], value, rtol=1e-5, atol=1e-6, what=key)
    t_mod.eval()
    e_mod.eval()
    x = randn(*shape)
    assert_same(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)), rtol=1e-5)


def test_batchnorm_state_dict_roundtrip_and_missing_counter():
    t_mod = torch.nn.BatchNorm2d(3)
    _randomise(t_mod)
    e_mod = ember.nn.BatchNorm2d(3)
    state = {k: ember.tensor(v.numpy().copy()) for k, v in t_mod.state_dict().items()}
    del state["num_batches_tracked"]
    e_mod.num_batches_tracked.fill_(5)
    result = e_mod.load_state_dict(state)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    assert int(e_mod.num_batches_tracked) == 5
    assert_same(e_mod.running_var, t_mod.running_var)
    assert e_mod.num_batches_tracked.dtype == ember.int64


def test_instancenorm_rejects_running_stats_without_tracking():
    t_mod, e_mod = torch.nn.InstanceNorm1d(3), ember.nn.InstanceNorm1d(3)
    state = {"running_mean": np.zeros(3, np.float32), "running_var": np.ones(3, np.float32)}
    with pytest.raises(RuntimeError) as t_err:
        t_mod.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    with pytest.raises(RuntimeError) as e_err:
        e_mod.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
    assert "Unexpected running stats buffer(s)" in str(e_err.value)
    assert "Unexpected running stats buffer(s)" in str(t_err.value)


def test_lazy_batchnorm_and_convert_sync():
    e_mod = ember.nn.LazyBatchNorm2d()
    e_mod(ember.randn(2, 4, 3, 3))
    assert type(e_mod) is ember.nn.BatchNorm2d and e_mod.num_features == 4
    net = ember.nn.Sequential(ember.nn.Linear(3, 3), ember.nn.BatchNorm1d(3))
    converted = ember.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert type(converted[1]) is ember.nn.SyncBatchNorm
    assert converted[1].weight is net[1].weight or converted[1].weight.data_ptr() == \
        net[1].weight.data_ptr()


def test_lazy_instancenorm():
    e_mod = ember.nn.LazyInstanceNorm1d(affine=True)
    out = e_mod(ember.randn(2, 5, 4))
    assert type(e_mod) is ember.nn.InstanceNorm1d and e_mod.weight.shape == (5,)
    assert tuple(out.shape) == (2, 5, 4)


def test_batchnorm_double_input_and_inplace_counter():
    t_mod, e_mod = torch.nn.BatchNorm1d(2).double(), ember.nn.BatchNorm1d(2).double()
    x = randn(5, 2, dtype=np.float64)
    assert_same(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)))
    assert_same(e_mod.running_var, t_mod.running_var)
    assert int(e_mod.num_batches_tracked) == 1


# --- errors -------------------------------------------------------------------------

ERRORS = [
    ("one-value-per-channel", lambda L, x: _f(L).batch_norm(x, None, None, training=True),
     [(1, 3)], "Expected more than 1 value per channel when training, got input size "
     r"torch.Size\(\[1, 3\]\)"),
    ("bn-running-size", lambda L, x, m, v: _f(L).batch_norm(x, m, v), [(2, 3, 4), (4,), (4,)],
     "running_mean should contain 3 elements not 4"),
    ("bn-weight-size", lambda L, x, m, v, w: _f(L).batch_norm(x, m, v, w),
     [(2, 3, 4), (3,), (3,), (4,)], "weight should contain 3 elements not 4"),
    ("bn-eval-no-stats", lambda L, x: _f(L).batch_norm(x, None, None), [(2, 3)],
     "running_mean must be defined in evaluation mode"),
    ("in-one-spatial", lambda L, x: _f(L).instance_norm(x), [(2, 3, 1)],
     "Expected more than 1 spatial element when training"),
    ("ln-shape", lambda L, x: _f(L).layer_norm(x, [3]), [(2, 3, 4)],
     r"Given normalized_shape=\[3\], expected input with shape \[\*, 3\], but got input of "
     r"size\[2, 3, 4\]"),
    ("ln-weight", lambda L, x, w: _f(L).layer_norm(x, [4], w), [(2, 3, 4), (3,)],
     "Expected weight to be of same shape as normalized_shape"),
    ("gn-groups", lambda L, x: _f(L).group_norm(x, 2), [(2, 3, 4)],
     r"Expected number of channels in input to be divisible by num_groups, but got input of "
     r"shape \[2, 3, 4\] and num_groups=2"),
    ("lrn-2d", lambda L, x: _f(L).local_response_norm(x, 2), [(2, 3)],
     "Expected 3D or higher dimensionality"),
    ("module-num-features", lambda L, x: L.nn.BatchNorm2d(4)(x), [(2, 3, 4, 4)],
     "running_mean should contain 3 elements not 4"),
    ("ln-int-shape", lambda L, x: _f(L).layer_norm(x, 6), [(3, 6)],
     r"layer_norm\(\): argument 'normalized_shape' \(position 2\) must be tuple of ints"),
    ("module-dim", lambda L, x: L.nn.BatchNorm2d(3)(x), [(2, 3, 4)],
     r"expected 4D input \(got 3D input\)"),
    ("module-1d-dim", lambda L, x: L.nn.BatchNorm1d(3)(x), [(2, 3, 4, 4)],
     r"expected 2D or 3D input \(got 4D input\)"),
    ("in-affine-features", lambda L, x: L.nn.InstanceNorm1d(4, affine=True)(x), [(2, 3, 4)],
     r"expected input's size at dim=1 to match num_features \(4\), but got: 3."),
    ("gn-module", lambda L: L.nn.GroupNorm(2, 3), [],
     r"num_channels \(3\) must be divisible by num_groups \(2\)"),
]


@pytest.mark.parametrize("fn,shapes,match", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors(fn, shapes, match):
    check_raises(fn, *[randn(*s) for s in shapes], match=match)


def test_module_one_value_per_channel_message():
    with pytest.raises(ValueError) as info:
        ember.nn.BatchNorm1d(3)(ember.randn(1, 3))
    assert str(info.value) == ("Expected more than 1 value per channel when training, got "
                               "input size torch.Size([1, 3])")


@pytest.mark.parametrize("grad", [False, True])
def test_layer_norm_of_a_transposed_input_is_contiguous_like_torch(grad):
    strides = []
    for lib in (ember, torch):
        x = lib.arange(24, dtype=lib.float32).reshape(4, 6).cos().t().requires_grad_(grad)
        strides.append(lib.nn.functional.layer_norm(x, (4,)).stride())
    assert strides[0] == strides[1]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("norm", ["batch_norm", "layer_norm", "group_norm", "instance_norm"])
def test_half_precision_backward_matches_torch(norm, dtype):
    """Half-precision inputs keep a float32 copy for backward; the incoming gradient is
    half precision and is widened too (bfloat16 batch norm's backward used to fail).
    Where the gradient cancels, PyTorch's and ember's roundings differ by several steps, so
    both are measured against the float64 gradient of the same rounded inputs: ember's error
    must not exceed PyTorch's."""
    rng = np.random.default_rng(0)
    x_values, weights = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    calls = {"batch_norm": lambda F, x, w: F.batch_norm(x, None, None, w, None, training=True),
             "layer_norm": lambda F, x, w: F.layer_norm(x, (5,), None),
             "group_norm": lambda F, x, w: F.group_norm(x, 3, w),
             "instance_norm": lambda F, x, w: F.instance_norm(x, weight=w)}

    def grad_of(lib, dtype_name):
        dtype = getattr(lib, dtype_name)
        x = lib.tensor(x_values).to(dtype).detach().requires_grad_()
        w = lib.tensor([1.0, 2.0, 3.0]).to(dtype)
        y = calls[norm](lib.nn.functional, x, w)
        (y * lib.tensor(weights).to(dtype)).sum().backward()
        assert x.grad.dtype == dtype
        return x.grad.double().detach().numpy()

    x_values = torch.tensor(x_values).to(getattr(torch, dtype)).double().numpy()
    weights = torch.tensor(weights).to(getattr(torch, dtype)).double().numpy()
    truth = grad_of(torch, "float64")
    ours, theirs = grad_of(ember, dtype), grad_of(torch, dtype)
    assert np.abs(ours - truth).max() <= np.abs(theirs - truth).max()


# --- batchnorm module plumbing: lazy forms, conversion, old checkpoints -------------------

LAZY = [("LazyBatchNorm1d", {}, (4, 3)), ("LazyBatchNorm1d", {"bias": False}, (4, 3, 2)),
        ("LazyBatchNorm2d", {"affine": False}, (2, 3, 2, 2)),
        ("LazyBatchNorm3d", {"track_running_stats": False, "momentum": None}, (2, 3, 1, 2, 2))]


@NORM_BIAS
@pytest.mark.parametrize("name,kwargs,shape", LAZY)
def test_lazy_batchnorm_materialises_like_torch(name, kwargs, shape):
    t_mod, e_mod = getattr(torch.nn, name)(**kwargs), getattr(ember.nn, name)(**kwargs)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    x = randn(*shape)
    assert_same(e_mod(ember.tensor(x)), t_mod(torch.tensor(x)), rtol=1e-5, atol=1e-6)
    assert type(e_mod).__name__ == type(t_mod).__name__ and repr(e_mod) == repr(t_mod)
    for key, value in t_mod.state_dict().items():
        assert_same(e_mod.state_dict()[key], value, rtol=1e-5, atol=1e-6, what=key)
    with pytest.raises(ValueError) as t_err:
        t_mod(torch.zeros(*shape, 1, 1))
    with pytest.raises(ValueError) as e_err:
        e_mod(ember.zeros(*shape, 1, 1))
    assert str(e_err.value) == str(t_err.value)


def test_reset_parameters_restores_identity_and_counters_like_torch():
    mods = [lib.nn.BatchNorm1d(3, momentum=None) for lib in (torch, ember)]
    x = randn(6, 3) * 2 + 1
    for mod, lib in zip(mods, (torch, ember)):
        mod(lib.tensor(x))
        mod(lib.tensor(x * 2))
        with lib.no_grad():
            mod.weight.fill_(3.0)
            mod.bias.fill_(-1.0)
    for key, value in mods[0].state_dict().items():
        assert_same(mods[1].state_dict()[key], value, rtol=1e-5, atol=1e-6, what=key)
    for mod in mods:
        mod.reset_parameters()
    for key, value in mods[0].state_dict().items():
        assert_same(mods[1].state_dict()[key], value, what=key)


def _bn_net(lib):
    net = lib.nn.Sequential(lib.nn.BatchNorm2d(3, affine=False),
                            lib.nn.Sequential(lib.nn.BatchNorm1d(2, bias=False,
                                                                 track_running_stats=False)),
                            lib.nn.BatchNorm3d(2, momentum=None))
    net[1][0].eval()
    net[2].qconfig = "marker"
    return net


@NORM_BIAS
def test_convert_sync_batchnorm_like_torch():
    t_net, e_net = _bn_net(torch), _bn_net(ember)
    t_sync = torch.nn.SyncBatchNorm.convert_sync_batchnorm(t_net)
    e_sync = ember.nn.SyncBatchNorm.convert_sync_batchnorm(e_net)
    assert repr(e_sync) == repr(t_sync)
    assert list(e_sync.state_dict()) == list(t_sync.state_dict())
    for (_, t_m), (_, e_m), (_, e_old) in zip(t_sync.named_modules(), e_sync.named_modules(),
                                              e_net.named_modules()):
        assert type(e_m).__name__ == type(t_m).__name__ and e_m.training == t_m.training
        assert getattr(e_m, "qconfig", None) == getattr(t_m, "qconfig", None)
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            assert (getattr(e_m, name, None) is None) == (getattr(t_m, name, None) is None)
            if getattr(e_m, name, None) is not None:
                assert getattr(e_m, name) is getattr(e_old, name)   # shared, not copied


@pytest.mark.parametrize("make", [lambda L: L.nn.SyncBatchNorm(3)(L.zeros(3)),
                                  lambda L: L.nn.SyncBatchNorm(0)(L.zeros(2, 0, 3))])
def test_sync_batchnorm_errors_like_torch(make):
    with pytest.raises(ValueError) as t_err:
        make(torch)
    with pytest.raises(ValueError) as e_err:
        make(ember)
    assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("version", [None, 1, 2])
@pytest.mark.parametrize("track", [True, False])
def test_checkpoint_without_counter_loads_like_torch(version, track):
    """Only checkpoints older than format version 2 may lack num_batches_tracked."""
    def load(lib):
        mod = lib.nn.BatchNorm1d(3, track_running_stats=track)
        if track:
            mod.num_batches_tracked.fill_(4)
        state = {k: v for k, v in mod.state_dict().items() if k != "num_batches_tracked"}
        state = type(mod.state_dict())(state)
        state._metadata = {"": {} if version is None else {"version": version}}
        result = mod.load_state_dict(state, strict=False)
        count = None if mod.num_batches_tracked is None else int(mod.num_batches_tracked)
        return list(result.missing_keys), count

    assert load(ember) == load(torch)
