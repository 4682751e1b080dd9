"""ember.nn.intrinsic (+ .qat, .quantized): PyTorch's deprecated aliases of
ao.nn.intrinsic, the same classes."""

import torch
import torch.nn.intrinsic
import torch.nn.intrinsic.qat
import torch.nn.intrinsic.quantized

import ember
import ember.ao.nn.intrinsic as ao_intrinsic
import ember.ao.nn.intrinsic.qat as ao_qat
import ember.ao.nn.intrinsic.quantized as ao_quantized


def test_intrinsic_names_and_identity():
    assert ember.nn.intrinsic.__all__ == torch.nn.intrinsic.__all__
    for name in ember.nn.intrinsic.__all__:
        assert getattr(ember.nn.intrinsic, name) is getattr(ao_intrinsic, name)


def test_qat_alias():
    torch_names = {n for n in dir(torch.nn.intrinsic.qat) if not n.startswith("_")} - {"modules"}
    assert set(ember.nn.intrinsic.qat.__all__) == torch_names
    for name in ember.nn.intrinsic.qat.__all__:
        assert getattr(ember.nn.intrinsic.qat, name) is getattr(ao_qat, name)


def test_quantized_alias_offers_what_ember_implements():
    assert set(ember.nn.intrinsic.quantized.__all__) <= set(torch.nn.intrinsic.quantized.__all__)
    for name in ember.nn.intrinsic.quantized.__all__:
        assert getattr(ember.nn.intrinsic.quantized, name) is getattr(ao_quantized, name)


def test_fused_module_works_through_the_alias():
    fused = ember.nn.intrinsic.ConvReLU2d(ember.nn.Conv2d(1, 2, 3), ember.nn.ReLU())
    out = fused(ember.randn(1, 1, 5, 5))
    assert out.shape == (1, 2, 3, 3) and (out >= 0).all().item()
    assert isinstance(fused, ao_intrinsic._FusedModule)


def _fused_pair():
    import numpy as np

    rng = np.random.default_rng(3)
    weight, bias = rng.standard_normal((4, 3), dtype=np.float32), rng.standard_normal(4)
    models = []
    for lib in (ember, torch):
        linear = lib.nn.Linear(3, 4)
        linear.weight.data = lib.tensor(weight)
        linear.bias.data = lib.tensor(bias.astype(np.float32))
        intrinsic = lib.ao.nn.intrinsic
        models.append(lib.nn.Sequential(intrinsic.LinearReLU(linear, lib.nn.ReLU())))
    return models, rng.standard_normal((5, 3)).astype(np.float32)


def test_dynamic_linear_relu_matches_torch():
    """quantize_dynamic on a fused LinearReLU: the dynamic quantized LinearReLU, as torch."""
    import warnings

    import torch.nn.intrinsic.quantized.dynamic  # noqa: F401

    import ember.ao.nn.intrinsic.quantized.dynamic as ember_dynamic

    (mine, theirs), x = _fused_pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation of its quantized tensors
        theirs = torch.ao.quantization.quantize_dynamic(
            theirs, {torch.ao.nn.intrinsic.LinearReLU}, dtype=torch.qint8)
    mine = ember.ao.quantization.quantize_dynamic(mine, {ember.ao.nn.intrinsic.LinearReLU},
                                                  dtype=ember.qint8)
    assert type(mine[0]) is ember_dynamic.LinearReLU
    assert repr(mine) == repr(theirs)
    out, expected = mine(ember.tensor(x)), theirs(torch.tensor(x))
    torch.testing.assert_close(torch.from_numpy(out.numpy()), expected)
    assert (out >= 0).all().item()
    torch_names = {n for n in dir(torch.nn.intrinsic.quantized.dynamic)
                   if not n.startswith("_")} - {"modules"}
    assert set(ember.nn.intrinsic.quantized.dynamic.__all__) == torch_names
    assert ember.nn.intrinsic.quantized.dynamic.LinearReLU is ember_dynamic.LinearReLU
