"""Dynamic quantized Linear: int8 weights stored, activations quantized per call.

The activations' range is measured on each batch (``quantize_per_tensor_dynamic`` with
``reduce_range=True``, as PyTorch's fbgemm path: 7-bit activations leave headroom in the
int16 pair-sums of the x86 kernels, and matching it keeps ember's numbers PyTorch's),
the products are summed exactly in integers and rescaled to float32 with the bias added.
Inputs and outputs are float tensors, so it drops into a float model unchanged.
"""

from __future__ import annotations

import ember

from ...._ops import _quantized_kernels as _k
from .. import modules as _nnq

__all__ = ["Linear"]


class Linear(_nnq.Linear):
    """``nn.Linear`` with int8 weights (qint8) or float16 weights, float in and out."""

    _version = 4

    def __init__(self, in_features, out_features, bias_=True, dtype=None):
        super().__init__(in_features, out_features, bias_, dtype=dtype)
        self.version = 4

    def _get_name(self):
        return "DynamicQuantizedLinear"

    def extra_repr(self):
        text = (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype={self._packed_params.dtype}")
        if self._packed_params.dtype is ember.qint8:
            text += f", qscheme={self.weight().qscheme()}"
        return text

    def forward(self, x):
        params = self._packed_params
        weight, bias = params._weight_bias()
        if params.dtype is ember.float16:
            return _k.linear_dynamic_fp16(x, weight, bias)
        return _k.linear_dynamic(x, params._kernel, reduce_range=True)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """Quantize a float Linear's weight with its qconfig's weight observer
        (``default_dynamic_qconfig`` when it has none)."""
        from ....ao.quantization.qconfig import default_dynamic_qconfig

        qconfig = getattr(mod, "qconfig", None) or default_dynamic_qconfig
        weight_observer = qconfig.weight()
        dtype = weight_observer.dtype
        if dtype not in (ember.qint8, ember.float16):
            raise RuntimeError(
                f"The only supported dtypes for dynamic quantized linear are qint8 and "
                f"float16 got: {dtype}"
            )
        weight_observer(mod.weight)
        if dtype is ember.qint8:
            qweight = _nnq._quantize_weight(mod.weight.detach().float(), weight_observer)
        else:
            qweight = mod.weight.detach().float().to(ember.float16)
        qlinear = cls(mod.in_features, mod.out_features, dtype=dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        return qlinear
