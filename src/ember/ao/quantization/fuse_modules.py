"""fuse_modules: merge conv-bn(-relu) and linear(-bn)(-relu) runs into one module, as
``torch.ao.quantization.fuse_modules``, so they quantize as one integer kernel."""

from __future__ import annotations

import copy

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from ..nn import intrinsic as nni

__all__ = ["fuse_known_modules", "fuse_modules", "get_fuser_method"]


def _fuse_conv_bn(is_qat, conv, bn):
    _same_mode(conv, bn, "Conv and BN both must be in the same mode (train or eval).")
    _eval_only(is_qat)
    return fuse_conv_bn_eval(conv, bn)


def _fuse_conv_bn_relu(is_qat, conv, bn, relu):
    _same_mode(conv, bn, "Conv and BN both must be in the same mode (train or eval).")
    _eval_only(is_qat)
    return nni.ConvReLU2d(fuse_conv_bn_eval(conv, bn), relu)


def _fuse_linear_bn(is_qat, linear, bn):
    _same_mode(linear, bn, "Linear and BN both must be in the same mode (train or eval).")
    _eval_only(is_qat)
    return fuse_linear_bn_eval(linear, bn)


def _same_mode(a, b, message):
    if a.training != b.training:
        raise AssertionError(message)


def _eval_only(is_qat):
    if is_qat:
        raise NotImplementedError("quantization-aware training fusion is not provided")


_FUSER_METHODS = {
    (nn.Conv2d, nn.BatchNorm2d): _fuse_conv_bn,
    (nn.Conv2d, nn.BatchNorm2d, nn.ReLU): _fuse_conv_bn_relu,
    (nn.Conv2d, nn.ReLU): lambda is_qat, conv, relu: nni.ConvReLU2d(conv, relu),
    (nn.Linear, nn.ReLU): lambda is_qat, linear, relu: nni.LinearReLU(linear, relu),
    (nn.Linear, nn.BatchNorm1d): _fuse_linear_bn,
}


def get_fuser_method(op_list, additional_fuser_method_mapping=None):
    mapping = dict(_FUSER_METHODS)
    mapping.update(additional_fuser_method_mapping or {})
    method = mapping.get(tuple(op_list))
    if method is None:
        raise AssertionError(f"did not find fuser method for: {tuple(op_list)} ")
    return method


def fuse_known_modules(mod_list, is_qat=False, additional_fuser_method_mapping=None):
    """The fused module first, then an Identity per module it absorbed."""
    types = tuple(type(m) for m in mod_list)
    fused = get_fuser_method(types, additional_fuser_method_mapping)(is_qat, *mod_list)
    for pre_hook in mod_list[0]._forward_pre_hooks.values():
        fused.register_forward_pre_hook(pre_hook)
    mod_list[0]._forward_pre_hooks.clear()
    for hook in mod_list[-1]._forward_hooks.values():
        fused.register_forward_hook(hook)
    mod_list[-1]._forward_hooks.clear()
    new_mods = [fused]
    for _ in mod_list[1:]:
        identity = nn.Identity()
        identity.training = mod_list[0].training
        new_mods.append(identity)
    return new_mods


def _get_module(model, dotted):
    for name in dotted.split("."):
        model = getattr(model, name)
    return model


def _set_module(model, dotted, module):
    *parents, last = dotted.split(".")
    for name in parents:
        model = getattr(model, name)
    setattr(model, last, module)


def fuse_modules(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                 fuse_custom_config_dict=None):
    """Fuse each list of submodule names (``[['conv', 'bn', 'relu'], ['fc', 'relu2']]``
    or one such list). The model must be in eval mode for conv-bn folding."""
    if not inplace:
        model = copy.deepcopy(model)
    groups = [modules_to_fuse] if all(isinstance(m, str) for m in modules_to_fuse) \
        else modules_to_fuse
    additional = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping")
    for names in groups:
        modules = [_get_module(model, name) for name in names]
        if fuser_func is fuse_known_modules:
            new_mods = fuser_func(modules, False, additional)
        else:
            new_mods = fuser_func(modules, False)
        for name, module in zip(names, new_mods):
            _set_module(model, name, module)
    return model
