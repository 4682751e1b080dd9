"""Helpers shared by the quantizable models (torchvision.models.quantization.utils):
swap ReLU/ReLU6 for fresh non-inplace ReLUs (fusion and observers need one module per
use), fuse conv-bn(-relu) runs, and post-training quantize a model in eager mode."""

from __future__ import annotations

import ember
import ember.ao.quantization as aq
from ember import nn

__all__ = ["quantize_model"]

# ember's integer kernels give the same results under either name; both are accepted
# as torchvision's builders accept them (the weights were made with "fbgemm").
_ENGINES = ("fbgemm", "qnnpack")


def _pop_backend(weights, kwargs: dict, default: str) -> str:
    """The quantized engine a builder uses: the weights' own (a different ``backend=``
    argument is refused, as torchvision refuses it), else the argument, else ``default``."""
    if weights is not None and "backend" in weights.meta:
        backend = weights.meta["backend"]
        if "backend" in kwargs and kwargs["backend"] != backend:
            raise ValueError(f"The parameter 'backend' expected value {backend} but got "
                             f"{kwargs['backend']} instead.")
        kwargs["backend"] = backend
    return kwargs.pop("backend", default)


def _replace_relu(module: nn.Module) -> None:
    """Exactly ReLU or ReLU6 (not subclasses) -> ``nn.ReLU(inplace=False)``, recursively:
    fused conv-bn-relu kernels clamp at zero only, and each use needs its own module."""
    reassign = {}
    for name, child in module.named_children():
        _replace_relu(child)
        if type(child) is nn.ReLU or type(child) is nn.ReLU6:
            reassign[name] = nn.ReLU(inplace=False)
    for name, child in reassign.items():
        module._modules[name] = child


def _fuse_modules(model: nn.Module, modules_to_fuse, is_qat: bool | None, **kwargs):
    """``fuse_modules_qat`` for a model in training (or ``is_qat=True``): conv-bn stay two
    modules folded at each step; ``fuse_modules`` (BatchNorm folded now) otherwise."""
    if is_qat is None:
        is_qat = model.training
    method = aq.fuse_modules_qat if is_qat else aq.fuse_modules
    return method(model, modules_to_fuse, **kwargs)


def quantize_model(model: nn.Module, backend: str) -> None:
    """Post-training static quantization in place, as torchvision does: per-channel
    symmetric int8 weights for "fbgemm" (per-tensor for "qnnpack"), 7-bit activations
    (the default observer), calibrated on one random 299x299 image, then converted.
    Calibrating on noise only fixes the structure; pretrained quantized weights carry
    their own scales."""
    if backend not in _ENGINES:
        raise RuntimeError("Quantized backend not supported ")
    dummy = ember.rand(1, 3, 299, 299)
    model.eval()
    weight = (aq.default_per_channel_weight_observer if backend == "fbgemm"
              else aq.default_weight_observer)
    model.qconfig = aq.QConfig(activation=aq.default_observer, weight=weight)
    model.fuse_model()
    aq.prepare(model, inplace=True)
    with ember.no_grad():
        model(dummy)
    aq.convert(model, inplace=True)
