"""Fused quantization-aware-training modules (``torch.ao.nn.intrinsic.qat``).

ConvBn / LinearBn keep the BatchNorm as a child and fold it into the weight on every
forward (PyTorch's approximate folding): the weight is scaled by
``bn.weight / sqrt(running_var + eps)`` and fake-quantized, the product is divided back
by that factor and fed to the BatchNorm, so training sees the folded int8 weight the
converted model will use while the BatchNorm still learns (until ``freeze_bn_stats``).
"""

from __future__ import annotations

import math

import ember

from ..... import nn
from .....nn import functional as F
from .....nn import init
from .....nn.modules.conv import _Conv
from .....nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights
from .... import nn as _ao_nn
from ... import intrinsic as nni

nnqat = _ao_nn.qat

__all__ = [
    "ConvBn1d", "ConvBn2d", "ConvBn3d", "ConvBnReLU1d", "ConvBnReLU2d", "ConvBnReLU3d",
    "ConvReLU1d", "ConvReLU2d", "ConvReLU3d", "LinearBn1d", "LinearReLU", "freeze_bn_stats",
    "update_bn_stats",
]


class _BnFolding:
    """freeze/update of the BatchNorm statistics, and ``train`` that leaves a frozen
    BatchNorm (and its siblings) in eval mode, as PyTorch's."""

    def _init_bn(self, bn_class, channels, eps, momentum, freeze_bn, qconfig, bias):
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = bn_class(channels, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        if bias:
            self.bias = nn.Parameter(ember.empty(channels))
        else:
            self.register_parameter("bias", None)
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def reset_running_stats(self):
        self.bn.reset_running_stats()

    def update_bn_stats(self):
        self.freeze_bn = False
        self.bn.training = True
        return self

    def freeze_bn_stats(self):
        self.freeze_bn = True
        self.bn.training = False
        return self

    def train(self, mode=True):
        self.training = mode
        if not self.freeze_bn:
            for module in self.children():
                module.train(mode)
        return self

    def _folded_forward(self, input, apply):
        """bn(apply(x, fake_quant(W * gamma / std)) / (gamma / std) + b)."""
        running_std = ember.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        weight_shape = [1] * self.weight.dim()
        weight_shape[0] = -1
        bias_shape = [1] * self.weight.dim()
        bias_shape[1] = -1
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape))
        zero_bias = ember.zeros(self.weight.shape[0], device=scaled_weight.device,
                                dtype=input.dtype)
        out = apply(input, scaled_weight, zero_bias) / scale_factor.reshape(bias_shape)
        if self.bias is not None:
            out = out + self.bias.reshape(bias_shape)
        return self.bn(out)


class _ConvBnNd(_BnFolding, nn.modules.conv._ConvNd, nni._FusedModule):
    """Conv + BatchNorm (+ ReLU) trained with the BatchNorm folded into the weight."""

    _version = 2
    _FLOAT_RELU_MODULE = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=None, padding_mode="zeros", eps=1e-05,
                 momentum=0.1, freeze_bn=False, qconfig=None):
        _Conv.__init__(self, in_channels, out_channels, kernel_size, stride, padding,
                       dilation, groups, False, padding_mode)
        self._init_bn(self._FLOAT_BN_MODULE, out_channels, eps, momentum, freeze_bn,
                      qconfig, bias)
        self._enable_slow_path_for_better_numerical_stability = False

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if self._enable_slow_path_for_better_numerical_stability:
            out = self._forward_slow(input)
        else:
            out = self._folded_forward(input, self._conv_forward)
        return F.relu(out) if self._FLOAT_RELU_MODULE is not None else out

    def _forward_slow(self, input):
        """PyTorch's exact folding (two convolutions): the batch statistics come from the
        unscaled conv, so a zero bn.weight does not divide by zero. In training the
        folded conv is rescaled by running_std / batch_std and shifted by the batch
        mean; in eval the running statistics fold in as at inference."""
        zero_bias = ember.zeros(self.out_channels, device=self.weight.device,
                                dtype=input.dtype)
        weight_shape = [1] * self.weight.dim()
        weight_shape[0] = -1
        bias_shape = [1] * self.weight.dim()
        bias_shape[1] = -1
        if self.bn.training:
            conv_out = self._conv_forward(input, self.weight, zero_bias)
            with ember.no_grad():  # the BatchNorm only updates its running statistics
                self.bn(conv_out if self.bias is None
                        else conv_out + self.bias.reshape(bias_shape))
        running_std = ember.sqrt(self.bn.running_var + self.bn.eps)
        scale_factor = self.bn.weight / running_std
        scaled_weight = self.weight_fake_quant(self.weight * scale_factor.reshape(weight_shape))
        conv_bn = self._conv_forward(input, scaled_weight, zero_bias)
        if self.bn.training:
            avg_dims = [0, *range(2, self.weight.dim())]
            batch_mean = conv_out.mean(avg_dims)
            batch_var = ember.square(conv_out - batch_mean.reshape(bias_shape)).mean(avg_dims)
            batch_std = ember.sqrt(batch_var + self.bn.eps)
            conv_bn = conv_bn * (running_std / batch_std).reshape(bias_shape)
            fused_mean, fused_std = batch_mean, batch_std
        else:
            fused_mean = self.bn.running_mean - (self.bias if self.bias is not None else 0)
            fused_std = running_std
        fused_bias = self.bn.bias - self.bn.weight * fused_mean / fused_std
        conv_bn = conv_bn + fused_bias.reshape(bias_shape)
        if self.bias is not None:  # keeps the bias in the graph (a zero contribution)
            conv_bn = conv_bn + (self.bias - self.bias).reshape(bias_shape)
        return conv_bn

    def extra_repr(self):
        return nn.modules.conv._ConvNd.extra_repr(self)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The QAT module sharing the fused float module's conv and BatchNorm tensors."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                                 f"{cls._FLOAT_MODULE.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid qconfig")
        conv, bn = mod[0], mod[1]
        qat = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  conv.padding_mode, bn.eps, bn.momentum, False, mod.qconfig)
        qat.weight = conv.weight
        qat.bias = conv.bias
        qat.bn.weight = bn.weight
        qat.bn.bias = bn.bias
        qat.bn.running_mean = bn.running_mean
        qat.bn.running_var = bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self):
        """The float conv with the BatchNorm folded in by its running statistics."""
        cls = type(self)
        conv = cls._FLOAT_CONV_MODULE(self.in_channels, self.out_channels, self.kernel_size,
                                      self.stride, self.padding, self.dilation, self.groups,
                                      self.bias is not None, self.padding_mode)
        conv.weight = nn.Parameter(self.weight.detach())
        if self.bias is not None:
            conv.bias = nn.Parameter(self.bias.detach())
        conv.weight, conv.bias = fuse_conv_bn_weights(
            conv.weight, conv.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        if cls._FLOAT_RELU_MODULE is not None:
            fused = cls._FUSED_FLOAT_MODULE(conv, cls._FLOAT_RELU_MODULE())
            fused.train(self.training)
            return fused
        conv.train(self.training)
        return conv


def _conv_bn(name, dims, relu):
    conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1]
    suffix = f"{dims}d"
    attrs = {
        "__module__": __name__,
        "__doc__": f"Conv{suffix} + BatchNorm{suffix}{' + ReLU' if relu else ''} for QAT.",
        "_FLOAT_CONV_MODULE": conv,
        "_FLOAT_BN_MODULE": (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[dims - 1],
        "_FLOAT_MODULE": getattr(nni, f"ConvBn{'ReLU' if relu else ''}{suffix}"),
        "_FLOAT_RELU_MODULE": nn.ReLU if relu else None,
        "_FUSED_FLOAT_MODULE": getattr(nni, f"ConvReLU{suffix}"),
    }
    return type(name, (_ConvBnNd, conv), attrs)


ConvBn1d = _conv_bn("ConvBn1d", 1, False)
ConvBn2d = _conv_bn("ConvBn2d", 2, False)
ConvBn3d = _conv_bn("ConvBn3d", 3, False)
ConvBnReLU1d = _conv_bn("ConvBnReLU1d", 1, True)
ConvBnReLU2d = _conv_bn("ConvBnReLU2d", 2, True)
ConvBnReLU3d = _conv_bn("ConvBnReLU3d", 3, True)


class _ConvReLU:
    """A QAT conv followed by ReLU."""

    _FLOAT_RELU_MODULE = nn.ReLU

    def forward(self, input):
        return F.relu(self._conv_forward(input, self.weight_fake_quant(self.weight),
                                         self.bias))


class ConvReLU1d(_ConvReLU, nnqat.Conv1d, nni._FusedModule):
    """Conv1d + ReLU for QAT."""

    _FLOAT_MODULE = nni.ConvReLU1d


class ConvReLU2d(_ConvReLU, nnqat.Conv2d, nni._FusedModule):
    """Conv2d + ReLU for QAT."""

    _FLOAT_MODULE = nni.ConvReLU2d


class ConvReLU3d(_ConvReLU, nnqat.Conv3d, nni._FusedModule):
    """Conv3d + ReLU for QAT."""

    _FLOAT_MODULE = nni.ConvReLU3d


class LinearReLU(nnqat.Linear, nni._FusedModule):
    """Linear + ReLU for QAT."""

    _FLOAT_MODULE = nni.LinearReLU

    def forward(self, input):
        return F.relu(F.linear(input, self.weight_fake_quant(self.weight), self.bias))

    def to_float(self):
        linear = nnqat.Linear.to_float(self)
        return nni.LinearReLU(linear, nn.ReLU())


class LinearBn1d(_BnFolding, nn.Linear, nni._FusedModule):
    """Linear + BatchNorm1d for QAT, the BatchNorm folded into the weight."""

    def __init__(self, in_features, out_features, bias=True, eps=1e-05, momentum=0.1,
                 freeze_bn=False, qconfig=None):
        nn.Linear.__init__(self, in_features, out_features, bias)
        self._init_bn(nn.BatchNorm1d, out_features, eps, momentum, freeze_bn, qconfig, bias)

    def reset_bn_parameters(self):
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)

    def forward(self, input):
        return self._folded_forward(input, F.linear)

    def extra_repr(self):
        return nn.Linear.extra_repr(self)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not nni.LinearBn1d:
            raise AssertionError(f"qat.{cls.__name__}.from_float only works for "
                                 f"{nni.LinearBn1d.__name__}")
        if not hasattr(mod, "qconfig"):
            raise AssertionError("Input float module must have qconfig defined")
        if not mod.qconfig:
            raise AssertionError("Input float module must have a valid config")
        linear, bn = mod[0], mod[1]
        qat = cls(linear.in_features, linear.out_features, linear.bias is not None, bn.eps,
                  bn.momentum, False, mod.qconfig)
        qat.weight = linear.weight
        qat.bias = linear.bias
        qat.bn.weight = bn.weight
        qat.bn.bias = bn.bias
        qat.bn.running_mean = bn.running_mean
        qat.bn.running_var = bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self):
        linear = nn.Linear(self.in_features, self.out_features)
        linear.weight, linear.bias = fuse_linear_bn_weights(
            self.weight, self.bias, self.bn.running_mean, self.bn.running_var, self.bn.eps,
            self.bn.weight, self.bn.bias)
        return linear


_CONV_BN_TYPES = (ConvBn1d, ConvBn2d, ConvBn3d, ConvBnReLU1d, ConvBnReLU2d, ConvBnReLU3d)


def update_bn_stats(mod):
    """``model.apply(update_bn_stats)``: BatchNorms of fused conv-bn modules learn again."""
    if type(mod) in _CONV_BN_TYPES:
        mod.update_bn_stats()


def freeze_bn_stats(mod):
    """``model.apply(freeze_bn_stats)``: fold by frozen running statistics (late QAT)."""
    if type(mod) in _CONV_BN_TYPES:
        mod.freeze_bn_stats()
