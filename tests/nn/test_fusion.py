"""nn.utils.fusion against torch.nn.utils.fusion: fused layers equal conv/linear followed by
an eval BatchNorm, with torch's parameters, dtypes, flags and errors."""

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, randn, to_ember, to_torch


def _fill(module, values):
    """Copy the same NumPy values into parameters and buffers of either library."""
    lib = ember if isinstance(module, ember.nn.Module) else torch
    convert = to_ember if lib is ember else to_torch
    with lib.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if name in values:
                tensor.copy_(convert(values[name]))


def _bn_values(channels):
    return {"weight": randn(channels), "bias": randn(channels), "running_mean": randn(channels),
            "running_var": np.abs(randn(channels)) + 0.5}


CONVS = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9), "BatchNorm1d", False),
    ("Conv2d", (3, 5, 3), {"padding": 1, "bias": False}, (2, 3, 6, 6), "BatchNorm2d", False),
    ("Conv3d", (2, 3, 2), {}, (1, 2, 4, 4, 4), "BatchNorm3d", False),
    ("ConvTranspose2d", (3, 4, 3), {"stride": 2}, (2, 3, 4, 4), "BatchNorm2d", True),
]


@pytest.mark.parametrize("conv_name, args, kwargs, x_shape, bn_name, transpose", CONVS,
                         ids=[c[0] for c in CONVS])
def test_fuse_conv_bn_eval(conv_name, args, kwargs, x_shape, bn_name, transpose):
    conv_values = None
    bn_values = _bn_values(args[1])
    x = randn(*x_shape)
    found = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        conv = getattr(lib.nn, conv_name)(*args, **kwargs)
        if conv_values is None:
            conv_values = {name: randn(*p.shape) for name, p in conv.named_parameters()}
        _fill(conv, conv_values)
        bn = getattr(lib.nn, bn_name)(args[1])
        _fill(bn, bn_values)
        conv.eval()
        bn.eval()
        fused = lib.nn.utils.fusion.fuse_conv_bn_eval(conv, bn, transpose=transpose)
        assert fused is not conv and type(fused) is type(conv)
        out = fused(convert(x))
        # Loosened: the folded float32 weights round differently from two separate layers.
        assert lib.allclose(out, bn(conv(convert(x))), rtol=1e-5, atol=1e-5)
        found.append((out, fused.weight, fused.bias, fused.bias.requires_grad,
                      fused.weight.requires_grad))
    (e_out, e_w, e_b, e_bg, e_wg), (t_out, t_w, t_b, t_bg, t_wg) = found
    assert_same(e_out, t_out.detach(), rtol=1e-5, atol=1e-5)
    assert_same(e_w.detach(), t_w.detach())
    assert_same(e_b.detach(), t_b.detach())
    assert (e_bg, e_wg) == (t_bg, t_wg)
    assert isinstance(e_w, ember.nn.Parameter)


@pytest.mark.parametrize("bias, features, dtype", [(True, 4, np.float32), (False, 4, np.float64),
                                                   (True, 1, np.float32)])
def test_fuse_linear_bn_eval(bias, features, dtype):
    lin_values = {"weight": randn(4, 3, dtype=dtype), "bias": randn(4, dtype=dtype)}
    bn_values = {k: v.astype(dtype) for k, v in _bn_values(features).items()}
    x = randn(5, 3, dtype=dtype)
    found = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        dt = lib.float64 if dtype == np.float64 else lib.float32
        linear = lib.nn.Linear(3, 4, bias=bias, dtype=dt)
        _fill(linear, lin_values)
        bn = lib.nn.BatchNorm1d(features, dtype=dt)
        _fill(bn, bn_values)
        linear.eval()
        bn.eval()
        fused = lib.nn.utils.fusion.fuse_linear_bn_eval(linear, bn)
        found.append((fused(convert(x)), fused.weight, fused.bias, fused.bias.requires_grad))
    for e, t in zip(found[0][:3], found[1][:3]):
        assert_same(e.detach(), t.detach())
    assert found[0][3] == found[1][3]


def test_fuse_weights_functions_and_defaults():
    """The *_weights functions directly, with a missing conv bias and BN affine params."""
    w, rm, rv = randn(3, 2, 3, 3), randn(3), np.abs(randn(3)) + 0.5
    out = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        weight = convert(w, requires_grad=True)
        got = lib.nn.utils.fusion.fuse_conv_bn_weights(
            weight, None, convert(rm), convert(rv), 1e-5, None, None)
        out.append(got)
    for e, t in zip(*out):
        assert_same(e.detach(), t.detach())
        assert e.requires_grad == t.requires_grad
    lw, lb = randn(4, 3), randn(4)
    bn = [randn(4), randn(4), randn(4), np.abs(randn(4)) + 0.5]
    out = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        rm_, rv_, bw, bb = (convert(v) for v in (bn[2], bn[3], bn[0], bn[1]))
        out.append(lib.nn.utils.fusion.fuse_linear_bn_weights(
            convert(lw), convert(lb), rm_, rv_, 1e-3, bw, bb))
    for e, t in zip(*out):
        assert_same(e.detach(), t.detach())


@pytest.mark.parametrize("case", ["training", "features", "no_stats"])
def test_errors_match_torch(case):
    for lib in (ember, torch):
        linear, bn = lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(3 if case == "features" else 4)
        conv, bn2 = lib.nn.Conv2d(2, 4, 1), lib.nn.BatchNorm2d(4, track_running_stats=False)
        linear.eval()
        conv.eval()
        if case != "training":
            bn.eval()
            bn2.eval()
        with pytest.raises(AssertionError) as info:
            if case == "no_stats":
                lib.nn.utils.fusion.fuse_conv_bn_eval(conv, bn2)
            else:
                lib.nn.utils.fusion.fuse_linear_bn_eval(linear, bn)
        if lib is ember:
            message = str(info.value)
        else:
            assert str(info.value) == message
