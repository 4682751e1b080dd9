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
