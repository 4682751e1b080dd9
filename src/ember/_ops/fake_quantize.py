"""Fake quantization (quantization-aware training), as ``torch.fake_quantize_per_tensor_affine``
and ``fake_quantize_per_channel_affine``: quantize and dequantize in one op, rounding as
the quantized tensors do (``quantized.py``). Its gradient is the straight-through
estimator: the upstream gradient passes where the rounded value lies inside
``[quant_min, quant_max]`` and is zero where it was clamped.
"""

from __future__ import annotations

import numpy as np

from .._backend import dtypes as _dt
from ..autograd.function import Function
from ._util import Tensor, xp_of
from .quantized import _torch_type_name

def _fake_quant_arrays(xp, x, scale, zero_point, quant_min, quant_max, float32_out=False):
    """(output, mask) of PyTorch's cachemask kernels: the mask marks where the rounded
    value fell inside the range, which is where the straight-through gradient flows.
    The per-tensor kernel (and the per-channel one on CUDA: ``float32_out``) forms its
    output in float32 whatever the input's dtype."""
    inv_scale = (xp.float32(1.0) / xp.asarray(scale, dtype=xp.float32)).astype(x.dtype)
    zero = xp.asarray(zero_point, dtype=x.dtype)
    if getattr(zero_point, "dtype", None) is not None and zero_point.dtype.kind == "f":
        # float zero points: one fused multiply-add in float32 (exact in float64 here)
        fused = x.astype(xp.float64) * inv_scale.astype(xp.float64) + zero
        qval = xp.rint(fused.astype(xp.float32)).astype(x.dtype)
    else:
        qval = xp.rint(x * inv_scale) + zero
    mask = (qval >= quant_min) & (qval <= quant_max)
    scale_f32 = xp.asarray(scale, dtype=xp.float32)
    if getattr(zero_point, "dtype", None) is not None and zero_point.dtype.kind == "f":
        if float32_out:  # (q - zero_point) * scale in float32 (the CUDA kernel's fminf)
            out = (xp.clip(qval, quant_min, quant_max).astype(xp.float32)
                   - zero.astype(xp.float32)) * scale_f32
            return out.astype(x.dtype, copy=False), mask
        # float zero points: (q - zero_point) * scale in double, rounded once (torch's)
        wide = xp.clip(qval, quant_min, quant_max).astype(xp.float64) - zero.astype(xp.float64)
        return (wide * scale_f32.astype(xp.float64)).astype(x.dtype), mask
    centred = xp.clip(qval, quant_min, quant_max) - zero
    if float32_out:
        out = centred.astype(xp.float32) * scale_f32
    else:
        out = centred * scale_f32.astype(x.dtype)
    return out.astype(x.dtype, copy=False), mask


class _FakeQuantizeBase(Function):
    """Straight-through estimator: grad * mask, the mask saved from the forward pass."""

    _array_io = True

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return (grad * mask,) + (None,) * (ctx.n_args - 1)


class FakeQuantizePerTensorAffineCachemask(_FakeQuantizeBase):
    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max):
        out, mask = _fake_quant_arrays(xp_of(x), x, scale, zero_point, quant_min, quant_max,
                                       float32_out=True)
        ctx.n_args = 5
        ctx.save_for_backward(mask)
        return out


class FakeQuantizePerChannelAffineCachemask(_FakeQuantizeBase):
    @staticmethod
    def forward(ctx, x, scale, zero_point, axis, quant_min, quant_max):
        shape = [1] * x.ndim
        shape[axis] = -1
        xp = xp_of(x)  # the CUDA kernel's output is formed in float32, the CPU one's not
        out, mask = _fake_quant_arrays(xp, x, scale.reshape(shape), zero_point.reshape(shape),
                                       quant_min, quant_max, float32_out=xp is not np)
        ctx.n_args = 6
        ctx.save_for_backward(mask)
        return out


class FakeQuantizePerTensorAffineCachemaskTensorQparams(FakeQuantizePerTensorAffineCachemask):
    """The same op with scale/zero point given as tensors (PyTorch names it apart)."""


def _check_fake_range(quant_min, quant_max):
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")


def _check_fake_input(x, name):
    if x._data.dtype.kind != "f" and x._data.dtype != _dt.bfloat16.np:
        raise NotImplementedError(
            f'"{name}" not implemented for \'{_torch_type_name(x._data.dtype)}\''
        )


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):
    """quantize then dequantize, differentiable by the straight-through estimator."""
    _check_fake_range(quant_min, quant_max)
    op = FakeQuantizePerTensorAffineCachemask
    if isinstance(scale, Tensor) or isinstance(zero_point, Tensor):
        op = FakeQuantizePerTensorAffineCachemaskTensorQparams
        for name, value in (("scale", scale), ("zero_point", zero_point)):
            if isinstance(value, Tensor) and value.requires_grad:
                raise RuntimeError(
                    "The function '_fake_quantize_per_tensor_affine_cachemask_tensor_qparams' "
                    f"is not differentiable with respect to argument '{name}'. This input "
                    "cannot have requires_grad True.")
    scale = float(scale.item() if isinstance(scale, Tensor) else scale)
    zero_point = int(zero_point.item() if isinstance(zero_point, Tensor) else zero_point)
    if not quant_min <= zero_point <= quant_max:
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    _check_fake_input(input, "fake_quantize_tensor_cachemask_kernel_type_handling")
    return op.apply(input, scale, zero_point, quant_min, quant_max)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):
    """Per-channel fake quantization along ``axis``; ``zero_point`` is int32 or float."""
    _check_fake_range(quant_min, quant_max)
    zp_dtype = zero_point._data.dtype
    if zp_dtype not in (np.int32, np.float32, np.float16):
        raise RuntimeError(
            f"Zero-point must be Int32, Float or Half, found {_torch_type_name(zp_dtype)}"
        )
    if not 0 <= axis < input._data.ndim:
        raise RuntimeError("`axis` must be between 0 and number of dimensions of input")
    channels = input._data.shape[axis]
    if scale.dim() != 1 or zero_point.dim() != 1 or scale.numel() != channels \
            or zero_point.numel() != channels:
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input "
                           "tensor")
    zp_values = zero_point._data
    if zp_values.dtype.kind != "f" and (  # float zero points (embeddings) are unchecked
            (zp_values < quant_min).any() or (zp_values > quant_max).any()):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    _check_fake_input(input, "fake_quantize_per_channel_cachemask_kernel_type_handling")
    return FakeQuantizePerChannelAffineCachemask.apply(
        input, scale._data, zp_values, axis, quant_min, quant_max)
