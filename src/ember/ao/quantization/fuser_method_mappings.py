"""The functions that build fused modules, as ``torch.ao.quantization.fuser_method_
mappings``: ``fuse_conv_bn(is_qat, conv, bn)`` and friends, and the pattern lookups
``get_fuser_method`` / ``get_fuser_method_new`` used by eager and FX fusion."""

from __future__ import annotations

import itertools

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval
from .fuse_modules import (
    _FUSER_METHODS,
    _fuse_conv_bn,
    _fuse_conv_bn_relu,
    _fuse_linear_bn,
    get_fuser_method,
)
from .utils import MatchAllNode

__all__ = ["fuse_conv_bn", "fuse_conv_bn_relu", "fuse_convtranspose_bn", "fuse_linear_bn",
           "get_fuser_method", "get_fuser_method_new"]


def fuse_conv_bn(is_qat, conv, bn):
    """Conv + BatchNorm: a ConvBn module to train (``is_qat``), else the conv with the
    batch norm folded into its weight and bias.

    >>> m1 = nn.Conv2d(10, 20, 3)
    >>> b1 = nn.BatchNorm2d(20)
    >>> m2 = fuse_conv_bn(False, m1.eval(), b1.eval())
    """
    if type(conv) not in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        raise NotImplementedError(f"Cannot fuse train modules: {(conv, bn)}")
    return _fuse_conv_bn(is_qat, conv, bn)


def fuse_conv_bn_relu(is_qat, conv, bn, relu):
    """Conv + BatchNorm + ReLU: ConvBnReLU to train, else ConvReLU of the folded conv."""
    if type(conv) not in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        raise NotImplementedError(f"Cannot fuse train modules: {(conv, bn, relu)}")
    return _fuse_conv_bn_relu(is_qat, conv, bn, relu)


def fuse_linear_bn(is_qat, linear, bn):
    """Linear + BatchNorm1d: LinearBn1d to train, else the folded Linear."""
    return _fuse_linear_bn(is_qat, linear, bn)


def fuse_convtranspose_bn(is_qat, convt, bn):
    """ConvTranspose + BatchNorm folded for inference (not supported for training)."""
    if convt.training != bn.training:
        raise AssertionError(
            "ConvTranspose and BN both must be in the same mode (train or eval).")
    if is_qat:
        raise Exception(  # noqa: TRY002 - PyTorch raises plain Exception
            "Fusing ConvTranspose+BatchNorm not yet supported in QAT.")
    return fuse_conv_bn_eval(convt, bn, transpose=True)


for _convt, _bn in ((nn.ConvTranspose1d, nn.BatchNorm1d), (nn.ConvTranspose2d, nn.BatchNorm2d),
                    (nn.ConvTranspose3d, nn.BatchNorm3d)):
    _FUSER_METHODS.setdefault((_convt, _bn), fuse_convtranspose_bn)


def _get_valid_patterns(op_pattern):
    """``op_pattern`` and its generalisations: each leaf may also be ``MatchAllNode``
    (the exact pattern first)."""
    if isinstance(op_pattern, (tuple, list)):
        return list(itertools.product(*(_get_valid_patterns(p) for p in op_pattern)))
    return [op_pattern, MatchAllNode]


def get_fuser_method_new(op_pattern, fuser_method_mapping):
    """The fuser for ``op_pattern`` in ``fuser_method_mapping``, trying the pattern
    itself, then with parts replaced by ``MatchAllNode``."""
    for pattern in _get_valid_patterns(op_pattern):
        fuser_method = fuser_method_mapping.get(pattern)
        if fuser_method is not None:
            return fuser_method
    raise AssertionError(f"did not find fuser method for: {op_pattern} ")
