"""Helpers shared by the sparsifiers: fully-qualified names and the mask parametrization."""

from __future__ import annotations

from typing import Any

from .... import nn
from ....nn.utils.parametrize import is_parametrized, type_before_parametrizations

__all__ = [
    "module_contains_param",
    "swap_module",
    "module_to_fqn",
    "fqn_to_module",
    "get_arg_info_from_tensor_fqn",
    "FakeSparsity",
]


def module_contains_param(module: nn.Module, parametrization: type) -> bool:
    """Whether any parametrized tensor of ``module`` carries a ``parametrization``."""
    if not is_parametrized(module):
        return False
    return any(
        isinstance(p, parametrization)
        for plist in module.parametrizations.values()
        for p in plist
    )


def swap_module(mod: nn.Module, mapping: dict) -> nn.Module:
    """Replace ``mod`` by ``mapping[type].from_dense(mod)``, keeping its hooks and device."""
    target = mapping.get(type_before_parametrizations(mod))
    if target is None:
        return mod
    new_mod = target.from_dense(mod)
    for hook in mod._forward_pre_hooks.values():
        new_mod.register_forward_pre_hook(hook)
    for hook in mod._forward_hooks.values():
        new_mod.register_forward_hook(hook)
    devices = {t.device for t in list(mod.parameters()) + list(mod.buffers())}
    if len(devices) > 1:
        raise AssertionError(
            "swap_module only works with cpu or single-device CUDA modules, "
            f"but got devices {devices}"
        )
    if devices:
        new_mod.to(next(iter(devices)))
    return new_mod


def module_to_fqn(model: nn.Module, module: nn.Module, prefix: str = "") -> str | None:
    """The dotted name of ``module`` inside ``model`` ('' for the model), or None."""
    if module is model:
        return ""
    for name, child in model.named_children():
        fqn = module_to_fqn(child, module, ".")
        if fqn is not None:
            return prefix + name + fqn
    return None


def fqn_to_module(model: nn.Module | None, path: str):
    """The module or tensor at dotted ``path`` in ``model``, or None when absent."""
    obj = model
    if path:
        for name in path.split("."):
            obj = getattr(obj, name, None)
    return obj


def get_arg_info_from_tensor_fqn(model: nn.Module, tensor_fqn: str) -> dict[str, Any]:
    """Split 'a.b.weight' into module_fqn 'a.b', the module, tensor_name 'weight'."""
    module_fqn, _, tensor_name = tensor_fqn.rpartition(".")
    return {
        "module_fqn": module_fqn,
        "module": fqn_to_module(model, module_fqn),
        "tensor_name": tensor_name,
        "tensor_fqn": tensor_fqn,
    }


class FakeSparsity(nn.Module):
    """Parametrization multiplying a tensor by a ``mask`` buffer.

    Sparsifiers rewrite the mask's contents in place (``mask.data = ...``) so the object
    the parametrization holds never changes. The mask is not part of the model's
    state_dict (as PyTorch): the sparsifier's own state_dict carries it.
    """

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x):
        if self.mask.shape != x.shape:
            raise AssertionError(
                f"mask shape ({self.mask.shape}) must match x shape ({x.shape})"
            )
        return self.mask * x

    def state_dict(self, *args, **kwargs):
        return {}
