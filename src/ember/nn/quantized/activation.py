"""Quantized activation modules (``torch.ao.nn.quantized``): ``Hardswish``, ``ELU``,
``LeakyReLU``, ``Sigmoid`` and ``Softmax`` re-quantize to the output parameters observed
at calibration (buffers or attributes, as PyTorch keeps them); the Hardsigmoid that
``convert`` swaps in prints as ``Hardsigmoid()`` (PyTorch keeps the float module, whose
kernel reads quantized tensors: ember's does too now, the subclass stays for old
pickles and reprs).
"""

from __future__ import annotations

import warnings

import ember

from ..._ops import quantized_activations as _qa
from ...nn.modules.module import Module
from . import functional as qF

__all__ = ["ELU", "Hardswish", "LeakyReLU", "Sigmoid", "Softmax"]


class Hardswish(Module):
    """x * relu6(x + 3) / 6 on a quantized tensor, re-quantized to ``scale`` and
    ``zero_point`` (observed at calibration: the output range differs from the input's)."""

    def __init__(self, scale, zero_point, device=None, dtype=None):
        super().__init__()
        self.register_buffer("scale", ember.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", ember.tensor(zero_point, device=device,
                                                        dtype=dtype))

    def _get_name(self):
        return "QuantizedHardswish"

    def forward(self, input):
        return qF.hardswish(input, self.scale, self.zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zero_point))

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point))


class _QuantizedHardsigmoid(ember.nn.Hardsigmoid):
    """Hardsigmoid that also takes quantized tensors (fixed 1/256 output grid); a float
    input (outside the quantized region) goes through the float op."""

    def _get_name(self):
        return "Hardsigmoid"

    def forward(self, input):
        if not input.is_quantized:
            return super().forward(input)
        return qF.hardsigmoid(input)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(getattr(mod, "inplace", False))


class ELU(ember.nn.ELU):
    """ELU of a quantized tensor, re-quantized to ``scale``/``zero_point``."""

    def __init__(self, scale, zero_point, alpha=1.0):
        super().__init__(alpha)
        self.scale = scale
        self.zero_point = zero_point

    def forward(self, input):
        return qF.elu(input, self.scale, self.zero_point, self.alpha)

    def _get_name(self):
        return "QuantizedELU"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return ELU(float(scale), int(zero_point), mod.alpha)

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point), mod.alpha)


class LeakyReLU(ember.nn.LeakyReLU):
    """leaky_relu of a quantized tensor, re-quantized to ``scale``/``zero_point``
    (buffers, saved in the state dict)."""

    def __init__(self, scale, zero_point, negative_slope=1e-2, inplace=False, device=None,
                 dtype=None):
        super().__init__(negative_slope, inplace)
        self.register_buffer("scale", ember.tensor(scale, device=device, dtype=dtype))
        self.register_buffer("zero_point", ember.tensor(zero_point, device=device,
                                                        dtype=dtype))

    def forward(self, input):
        return _qa.leaky_relu(input, self.negative_slope, float(self.scale),
                              int(self.zero_point))

    def _get_name(self):
        return "QuantizedLeakyReLU"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zero_point), mod.negative_slope, mod.inplace)

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(float(scale), int(zero_point), mod.negative_slope, mod.inplace)


class Sigmoid(ember.nn.Sigmoid):
    """Sigmoid of a quantized tensor, re-quantized to the given output parameters."""

    def __init__(self, output_scale: float, output_zero_point: int):
        super().__init__()
        self.output_scale = output_scale
        self.output_zero_point = output_zero_point

    def forward(self, input):
        return _qa.sigmoid(input, self.output_scale, self.output_zero_point)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        output_scale, output_zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(output_scale), int(output_zero_point))


class Softmax(ember.nn.Softmax):
    """Softmax of a quantized tensor along ``dim``: dequantized, softmax in float32,
    quantized to ``scale``/``zero_point``."""

    def __init__(self, dim=None, scale=1.0, zero_point=0):
        super().__init__()
        self.dim = dim
        self.scale = scale
        self.zero_point = zero_point

    def forward(self, input):
        dim = self.dim
        if dim is None:  # PyTorch's implicit choice, with its warning
            dim = 0 if input.dim() in (0, 1, 3) else 1
            warnings.warn("Implicit dimension choice for softmax has been deprecated. Change "
                          "the call to include dim=X as an argument.", stacklevel=2)
        return ember.quantize_per_tensor(ember.softmax(input.dequantize(), dim),
                                         self.scale, self.zero_point, input.dtype)

    def _get_name(self):
        return "QuantizedSoftmax"

    @staticmethod
    def from_float(mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return Softmax(mod.dim, float(scale), int(zero_point))

    @classmethod
    def from_reference(cls, mod, scale, zero_point):
        return cls(mod.dim, float(scale), int(zero_point))
