"""nn.utils.memory_format, the nn.utils re-exports of fusion, and nn.init's deprecated eye/dirac,
against torch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import ember


def _model(lib, dims):
    nn = lib.nn
    conv, convt = (nn.Conv2d, nn.ConvTranspose2d) if dims == 2 else (nn.Conv3d, nn.ConvTranspose3d)
    return nn.Sequential(conv(3, 4, 3), nn.Sequential(convt(4, 2, 2), nn.ReLU()), nn.Flatten())


def _copy_params(src, dst):
    for (name, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        q.data = ember.tensor(p.detach().numpy())


@pytest.mark.parametrize("dims,fmt", [(2, "channels_last"), (3, "channels_last_3d"),
                                      (2, "contiguous_format")])
def test_convert_conv_weight_memory_format(dims, fmt):
    t_model, e_model = _model(torch, dims), _model(ember, dims)
    _copy_params(t_model, e_model)
    weights = [p for p in e_model.parameters()]
    convert = f"convert_conv{dims}d_weight_memory_format"
    t_out = getattr(torch.nn.utils, convert)(t_model, getattr(torch, fmt))
    e_out = getattr(ember.nn.utils, convert)(e_model, getattr(ember, fmt))
    assert e_out is e_model and t_out is t_model
    assert [p for p in e_model.parameters()] == weights  # the same Parameter objects
    for p, q in zip(t_model.parameters(), e_model.parameters()):
        assert p.stride() == q.stride()
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    x = np.random.default_rng(0).standard_normal((1, 3) + (5,) * dims).astype(np.float32)
    torch.testing.assert_close(torch.from_numpy(e_model(ember.tensor(x)).detach().numpy()),
                               t_model(torch.from_numpy(x)).detach())


def test_convert_leaves_other_dims_alone():
    model = ember.nn.Sequential(ember.nn.Conv1d(2, 2, 1), ember.nn.Conv3d(2, 2, 1))
    ember.nn.utils.convert_conv2d_weight_memory_format(model, ember.channels_last)
    assert model[1].weight.is_contiguous()


def test_fusion_reexports_are_the_fusion_functions():
    for name in ("fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
                 "fuse_linear_bn_weights"):
        assert getattr(ember.nn.utils, name) is getattr(ember.nn.utils.fusion, name)
        assert name in ember.nn.utils.__all__
    conv, bn = ember.nn.Conv2d(2, 3, 1).eval(), ember.nn.BatchNorm2d(3).eval()
    x = ember.randn(1, 2, 4, 4)
    torch.testing.assert_close(torch.from_numpy(ember.nn.utils.fuse_conv_bn_eval(conv, bn)(x)
                                                .detach().numpy()),
                               torch.from_numpy(bn(conv(x)).detach().numpy()))


@pytest.mark.parametrize("name,shape", [("eye", (3, 4)), ("dirac", (4, 2, 3))])
def test_deprecated_init_eye_dirac(name, shape):
    message = f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`."
    results = []
    for lib in (torch, ember):
        tensor = lib.empty(*shape)
        with pytest.warns(FutureWarning, match=re.escape(message)):
            out = getattr(lib.nn.init, name)(tensor)
        assert out is tensor
        results.append(np.asarray(out.detach().numpy()))
    np.testing.assert_array_equal(results[1], results[0])
    assert getattr(ember.nn.init, name).__name__ == name
