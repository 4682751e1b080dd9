"""Lookups over the default float -> quantized mappings, as
``torch.ao.quantization.quantization_mappings``: the quantized module class of a float
module class, and the quantized operator of a float function.

The float -> quantized operator table holds the functions ember has quantized kernels
for (elu, hardswish, leaky_relu, dropout, as ``ember.ops.quantized.*``); PyTorch's
table also lists instance_norm and layer_norm, which ember does not quantize.
"""

from __future__ import annotations

import copy

from ... import nn, ops
from ...nn.quantized import functional as _qF
from .quantize import (
    get_default_dynamic_quant_module_mappings,
    get_default_qat_module_mappings,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
)
from .utils import get_combined_dict

__all__ = [
    "get_default_compare_output_module_list", "get_default_dynamic_quant_module_mappings",
    "get_default_float_to_quantized_operator_mappings", "get_default_qat_module_mappings",
    "get_default_qconfig_propagation_list", "get_default_static_quant_module_mappings",
    "get_dynamic_quant_module_class", "get_quantized_operator",
    "get_static_quant_module_class",
]

# PyTorch's quantized operator schemas (argument names included: FX lowering passes
# them by keyword), on ember's quantized kernels


def _quantized_elu(self, output_scale, output_zero_point, alpha=1.0, scale=1.0,
                   input_scale=1.0):
    return _qF.elu(self, output_scale, output_zero_point, alpha)


def _quantized_hardswish(input, output_scale, output_zero_point):
    return _qF.hardswish(input, output_scale, output_zero_point)


def _quantized_leaky_relu(qx, negative_slope, inplace, output_scale, output_zero_point):
    return _qF.leaky_relu(qx, negative_slope, inplace, output_scale, output_zero_point)


def _quantized_dropout(self, p, training, output_scale=None, output_zero_point=None):
    """The input itself, as PyTorch's quantized dropout kernel returns it."""
    return self


for _name, _call in (("elu", _quantized_elu), ("hardswish", _quantized_hardswish),
                     ("leaky_relu", _quantized_leaky_relu), ("dropout", _quantized_dropout)):
    ops._register("quantized", _name, "default", _call)


def get_default_float_to_quantized_operator_mappings():
    F = nn.functional
    return {F.elu: ops.quantized.elu, F.hardswish: ops.quantized.hardswish,
            F.leaky_relu: ops.quantized.leaky_relu, F.dropout: ops.quantized.dropout}


def get_quantized_operator(float_op):
    """The quantized operator standing for the float function ``float_op``."""
    quantized_op = get_default_float_to_quantized_operator_mappings().get(float_op)
    if quantized_op is None:
        raise AssertionError(
            f"Operator {float_op} does not have corresponding quantized op")
    return quantized_op


def get_static_quant_module_class(float_module_class, additional_static_quant_mapping=None,
                                  is_reference=False):
    """The statically quantized module class of ``float_module_class``."""
    if is_reference:
        raise NotImplementedError("reference quantized modules are not provided")
    mapping = get_combined_dict(get_default_static_quant_module_mappings(),
                                additional_static_quant_mapping or {})
    quantized_class = mapping.get(float_module_class)
    if quantized_class is None:
        raise AssertionError(
            f"Floating point module class {float_module_class} does not have a corresponding "
            "quantized module class")
    return copy.deepcopy(quantized_class)


def get_dynamic_quant_module_class(float_module_class, additional_dynamic_quant_mapping=None):
    """The dynamically quantized module class of ``float_module_class``."""
    mapping = get_combined_dict(get_default_dynamic_quant_module_mappings(),
                                additional_dynamic_quant_mapping or {})
    quantized_class = mapping.get(float_module_class)
    if quantized_class is None:
        raise AssertionError(
            f"Floating point module class {float_module_class} does not have a corresponding "
            "quantized module class")
    return copy.deepcopy(quantized_class)


def get_default_compare_output_module_list():
    """Module types whose outputs the numeric suite compares: every float and quantized
    type of the default mappings, and ``nn.Sequential``, as PyTorch's list.

    Swaps private to ember (a float module to a ``_Quantized...`` class: ReLU, pools,
    Hardsigmoid, which PyTorch runs unswapped on quantized tensors) are left out, so the
    suite logs the modules PyTorch's does."""
    static = {float_cls: q_cls for float_cls, q_cls
              in get_default_static_quant_module_mappings().items()
              if not q_cls.__name__.startswith("_")}
    qat = get_default_qat_module_mappings()
    dynamic = get_default_dynamic_quant_module_mappings()
    return (set(static.values()) | set(qat.values()) | set(dynamic.values())
            | set(static) | set(qat) | set(dynamic) | {nn.Sequential})
