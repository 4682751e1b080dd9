"""fuse_modules: merge conv-bn(-relu) and linear(-bn)(-relu) runs into one module, as
``torch.ao.quantization.fuse_modules``, so they quantize as one integer kernel."""

from __future__ import annotations

import copy

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from ..nn import intrinsic as nni

__all__ = ["fuse_known_modules", "fuse_modules", "fuse_modules_qat", "get_fuser_method"]


_CONV_BN = {nn.Conv1d: nni.ConvBn1d, nn.Conv2d: nni.ConvBn2d, nn.Conv3d: nni.ConvBn3d}
_CONV_BN_RELU = {nn.Conv1d: nni.ConvBnReLU1d, nn.Conv2d: nni.ConvBnReLU2d,
                 nn.Conv3d: nni.ConvBnReLU3d}
_CONV_RELU = {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d, nn.Conv3d: nni.ConvReLU3d}


def _check_qat_bn(conv, bn):
    """PyTorch's requirements on a BatchNorm kept for quantization-aware training."""
    if bn.num_features != conv.out_channels:
        raise AssertionError(
            "Output channel of Conv2d must match num_features of BatchNorm2d")
    if not bn.affine:
        raise AssertionError("Only support fusing BatchNorm2d with affine set to True")
    if not bn.track_running_stats:
        raise AssertionError(
            "Only support fusing BatchNorm2d with tracking_running_stats set to True")


def _fuse_conv_bn(is_qat, conv, bn):
    """QAT keeps conv and BatchNorm apart in a ConvBn (folded at every step); inference
    folds the BatchNorm into the conv now."""
    _same_mode(conv, bn, "Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        _check_qat_bn(conv, bn)
        return _CONV_BN[type(conv)](conv, bn)
    return fuse_conv_bn_eval(conv, bn)


def _fuse_conv_bn_relu(is_qat, conv, bn, relu):
    if not conv.training == bn.training == relu.training:  # the relu too, as PyTorch
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        _check_qat_bn(conv, bn)
        return _CONV_BN_RELU[type(conv)](conv, bn, relu)
    return _CONV_RELU[type(conv)](fuse_conv_bn_eval(conv, bn), relu)


def _fuse_linear_bn(is_qat, linear, bn):
    _same_mode(linear, bn, "Linear and BN both must be in the same mode (train or eval).")
    if is_qat:
        if bn.num_features != linear.out_features:
            raise AssertionError(
                "Output features of Linear must match num_features of BatchNorm1d")
        if not bn.affine:
            raise AssertionError("Only support fusing BatchNorm1d with affine set to True")
        if not bn.track_running_stats:
            raise AssertionError(
                "Only support fusing BatchNorm1d with tracking_running_stats set to True")
        return nni.LinearBn1d(linear, bn)
    return fuse_linear_bn_eval(linear, bn)


def _same_mode(a, b, message):
    if a.training != b.training:
        raise AssertionError(message)


def _fuse_conv_relu(is_qat, conv, relu):
    return _CONV_RELU[type(conv)](conv, relu)


_FUSER_METHODS = {
    (nn.Linear, nn.ReLU): lambda is_qat, linear, relu: nni.LinearReLU(linear, relu),
    (nn.Linear, nn.BatchNorm1d): _fuse_linear_bn,
    (nn.BatchNorm2d, nn.ReLU): lambda is_qat, bn, relu: nni.BNReLU2d(bn, relu),
    (nn.BatchNorm3d, nn.ReLU): lambda is_qat, bn, relu: nni.BNReLU3d(bn, relu),
}
for _conv, _bn in ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d),
                   (nn.Conv3d, nn.BatchNorm3d)):
    _FUSER_METHODS[(_conv, _bn)] = _fuse_conv_bn
    _FUSER_METHODS[(_conv, _bn, nn.ReLU)] = _fuse_conv_bn_relu
    _FUSER_METHODS[(_conv, nn.ReLU)] = _fuse_conv_relu


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


def _fuse_modules(model, modules_to_fuse, is_qat, inplace, fuser_func,
                  fuse_custom_config_dict):
    if not inplace:
        model = copy.deepcopy(model)
    groups = [modules_to_fuse] if all(isinstance(m, str) for m in modules_to_fuse) \
        else modules_to_fuse
    additional = (fuse_custom_config_dict or {}).get("additional_fuser_method_mapping")
    for names in groups:
        modules = [_get_module(model, name) for name in names]
        if fuser_func is fuse_known_modules:
            new_mods = fuser_func(modules, is_qat, additional)
        else:
            new_mods = fuser_func(modules, is_qat)
        for name, module in zip(names, new_mods):
            _set_module(model, name, module)
    return model


def fuse_modules(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                 fuse_custom_config_dict=None):
    """Fuse each list of submodule names (``[['conv', 'bn', 'relu'], ['fc', 'relu2']]``
    or one such list). The model must be in eval mode for conv-bn folding."""
    return _fuse_modules(model, modules_to_fuse, False, inplace, fuser_func,
                         fuse_custom_config_dict)


def fuse_modules_qat(model, modules_to_fuse, inplace=False, fuser_func=fuse_known_modules,
                     fuse_custom_config_dict=None):
    """``fuse_modules`` for quantization-aware training: conv-bn(-relu) and linear-bn
    become ConvBn / ConvBnReLU / LinearBn1d, which ``prepare_qat`` turns into modules that
    fold the BatchNorm at every step (the model stays in training mode)."""
    return _fuse_modules(model, modules_to_fuse, True, inplace, fuser_func,
                         fuse_custom_config_dict)
