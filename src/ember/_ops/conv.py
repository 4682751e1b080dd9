"""Convolution and transposed convolution, fold/unfold: the Functions and the API.

One N-d implementation serves conv1d/2d/3d (array kernels in _conv_kernels.py: im2col
or row GEMMs, col2im, all loops over kernel offsets only). The backward recomputes
columns from the saved input instead of keeping them alive, so a ResNet-18 step stays
small. Three Functions close over each other for double backward: ``_Conv``
(x, w -> y), ``_ConvInputGrad`` (gy, w -> x-shaped: also conv_transpose, the adjoint)
and ``_ConvWeightGrad`` (x, gy -> w-shaped); each one's backward is built from the
others. Unfold/Fold are the im2col/col2im pair, each the other's backward.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._backend import autocast_state
from .._backend.device import check_same_device
from .._memory_format import as_format, suggest_format
from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled
from ._conv_kernels import (_bias_grad, _conv_forward, _conv_input_grad, _conv_weight_grad,
                            _expand, _fold_array, _Geometry, _grad_by_group, _unfold_array)
from ._linear_pair import _LinearMap, linear_map_pair
from ._util import _make, type_name, xp_of


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


def _like_inputs(out, x, weight):
    """The memory format PyTorch's convolutions give their result: channels-last when the
    input or the weight is channels-last (suggest_memory_format), else contiguous."""
    fmt = suggest_format(x) or suggest_format(weight)
    return out if fmt is None else as_format(out, fmt, xp_of(out))


class _Conv(Function):
    """y = conv(x, w) + b."""

    _array_io = True
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, geo):
        ctx.geo = geo
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:
            ctx.save_for_backward(x if needs[1] else None, weight if needs[0] else None)
        kept = [] if needs[1] else None
        out = _conv_forward(x, weight, bias, geo, kept)
        ctx.rows = kept[0] if kept else None  # the weight gradient's buffer, if built
        # ml_dtypes returns float32 from a bfloat16 GEMM; PyTorch keeps the input dtype.
        return _like_inputs(out if out.dtype == x.dtype else out.astype(x.dtype), x, weight)

    @staticmethod
    def backward(ctx, grad):
        geo = ctx.geo
        needs = ctx.needs_input_grad
        x, weight = ctx.saved_tensors if (needs[0] or needs[1]) else (None, None)
        if grad._data.dtype.kind == "c":  # bilinear: the adjoints take conjugated factors
            x, weight = _conj(x), _conj(weight)
        grad_x = grad_w = grad_b = None
        if _grad_enabled[0]:  # create_graph: recorded ops, so double backward sees them
            if needs[0]:
                grad_x = _ConvInputGrad.apply(grad, weight, None, geo,
                                              weight.shape[1] * geo.groups)
            if needs[1]:
                grad_w = _ConvWeightGrad.apply(x, grad, geo, _weight_shape_of(ctx, x, grad))
            if needs[2]:
                grad_b = _bias_grad(grad)
            return grad_x, grad_w, grad_b, None
        g = grad._data
        grouped = _grad_by_group(g, geo.groups) if (needs[0] or needs[1]) else None
        if needs[0]:
            grad_x = _make(_conv_input_grad(grouped, weight._data, geo, g.shape[0]))
        if needs[1]:
            grad_w = _make(_conv_weight_grad(x._data, grouped, geo,
                                             _weight_shape_of(ctx, x, grad), ctx.rows))
        ctx.rows = None
        if needs[2]:
            grad_b = _make(_bias_grad(g))
        return grad_x, grad_w, grad_b, None


def _weight_shape_of(ctx, x, grad):
    """(O, C/g, *K) from the saved geometry and the arrays at hand."""
    geo = ctx.geo
    return (grad.shape[1], x.shape[1] // geo.groups) + tuple(geo.kernel)


class _ConvInputGrad(Function):
    """x-shaped result of the conv adjoint: grad_input of conv, and conv_transpose."""

    _array_io = True
    _node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, gy, weight, bias, geo, in_channels):
        ctx.geo = geo
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:
            ctx.save_for_backward(gy if needs[1] else None, weight)
        grouped = _grad_by_group(gy, geo.groups)
        out = _conv_input_grad(grouped, weight, geo, gy.shape[0])
        if bias is not None:
            out += bias.reshape((1, -1) + (1,) * len(geo.kernel))
        # as _Conv: a bfloat16 GEMM comes back float32 from ml_dtypes (conv_transpose)
        return _like_inputs(out if out.dtype == gy.dtype else out.astype(gy.dtype), gy, weight)

    @staticmethod
    def backward(ctx, grad):
        geo = ctx.geo
        needs = ctx.needs_input_grad
        gy, weight = ctx.saved_tensors if (needs[0] or needs[1]) else (None, None)
        if grad._data.dtype.kind == "c":
            gy, weight = _conj(gy), _conj(weight)
        grad_gy = grad_w = grad_b = None
        if needs[0]:
            grad_gy = _Conv.apply(grad, weight, None, geo)
        if needs[1]:
            grad_w = _ConvWeightGrad.apply(grad, gy, geo, tuple(weight.shape))
        if needs[2]:
            grad_b = _bias_grad(grad)
        return grad_gy, grad_w, grad_b, None, None


class _ConvWeightGrad(Function):
    """w-shaped grad of conv: sum over batch and positions of gy * columns(x)."""

    _array_io = True
    _node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, gy, geo, weight_shape):
        ctx.geo = geo
        ctx.save_for_backward(x, gy)
        return _conv_weight_grad(x, _grad_by_group(gy, geo.groups), geo, weight_shape)

    @staticmethod
    def backward(ctx, grad):
        geo = ctx.geo
        x, gy = ctx.saved_tensors
        if grad._data.dtype.kind == "c":
            x, gy = _conj(x), _conj(gy)
        needs = ctx.needs_input_grad
        grad_x = _ConvInputGrad.apply(gy, grad, None, geo, x.shape[1]) if needs[0] else None
        grad_gy = _Conv.apply(x, grad, None, geo) if needs[1] else None
        return grad_x, grad_gy, None, None


def _conj(tensor):
    return tensor.conj_physical() if tensor is not None else None


# ---------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------


def _dims_str(values):
    return " x ".join(str(v) for v in values)


def _check_input_dims(x, nd, op):
    if x.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got "
            f"input of size: {list(x.shape)}")
    return x.dim() == nd + 1


def _legacy_name(tensor):
    from .._backend import from_numpy_dtype
    from ..autograd.function import _legacy_type

    dtype = from_numpy_dtype(tensor._data.dtype)
    cuda = tensor.device.type == "cuda"
    if dtype.name == "bfloat16":  # PyTorch names its legacy bfloat16 type this way here
        return "CUDABFloat16Type" if cuda else "CPUBFloat16Type"
    return f"torch.{'cuda.' if cuda else ''}{_legacy_type(dtype)}"


_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
                 "bfloat16": "BFloat16"}
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16"}


def _dtype_name(tensor, names):
    from .._backend import from_numpy_dtype

    name = from_numpy_dtype(tensor._data.dtype).name
    return names.get(name, name)


@functools.cache
def _onednn_fp16():
    """Whether PyTorch's CPU convolutions take float16 through oneDNN on this host: its
    ``mkldnn_fp16_device_check`` is oneDNN's f16 support, and without it float16 goes
    through the slow kernel, whose dtype checks differ. Asked once (a host's ISA is
    fixed; /proc/cpuinfo is read where NumPy's table falls short)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return _f16_isa(__cpu_features__, _cpu_flags())


_AVX2_VNNI_2 = frozenset(("avx2", "avx_vnni", "avx_vnni_int8", "avx_ne_convert"))


def _f16_isa(numpy_features, cpu_flags):
    """oneDNN's x86 f16 support: AVX512-FP16 (Sapphire Rapids and later) or its avx2_vnni_2
    set (AVX-VNNI-INT8 and AVX-NE-CONVERT: Sierra Forest, Arrow Lake), which NumPy's
    feature table does not list, so it comes from the kernel's ``cpu_flags``."""
    return bool(numpy_features.get("AVX512FP16")) or _AVX2_VNNI_2 <= cpu_flags


def _cpu_flags():
    """The CPU flags Linux reports (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def _slow_kernel(x):
    """Whether PyTorch's CPU convolution of ``x`` runs its slow kernel (float64; float16
    unless oneDNN takes it) rather than oneDNN (float32, bfloat16)."""
    name = _dtype_name(x, _CPP_NAMES)
    return name == "double" or (name == "c10::Half" and not _onednn_fp16())


def _cudnn_mismatch(x, other, what):
    """PyTorch's CUDA text (cuDNN's ``check_input_same_type_as_parameters``)."""
    return RuntimeError(f"Input type ({_legacy_name(x)}) and {what} type "
                        f"({_legacy_name(other)}) should be the same")


def _same_type(x, other):
    """PyTorch's ``type_equal`` of an input and a parameter: the same dtype on the same
    kind of device (cpu/cuda; the meta device mixes by its own rules). Arrays of one
    class are on one kind of device, so every conv call (the same class) skips building
    the devices (~0.7 us of host time a call)."""
    a, b = x._data, other._data
    if b.dtype != a.dtype:
        return False
    if type(a) is type(b):
        return True
    kinds = {x.device.type, other.device.type}
    return len(kinds) == 1 or not kinds <= {"cpu", "cuda"}


def _parameter_mismatch(x, other, what):
    """PyTorch's text for a ``what`` ("weight", "bias") of another dtype or device than the
    input: on cuda cuDNN's check; on the CPU oneDNN's for the dtypes it takes (a cuda
    weight under a cpu input is the classic "Input type (torch.FloatTensor) and weight type
    (torch.cuda.FloatTensor)"), the slow kernel's for the others (its dtype text; a
    parameter on the GPU: the generic two-devices text)."""
    if x.device.type == "cuda":
        return _cudnn_mismatch(x, other, what)
    if _slow_kernel(x):
        if other.device.type != x.device.type:
            check_same_device([x._data, other._data])
        return RuntimeError(f"expected scalar type {_dtype_name(x, _SCALAR_NAMES)} but found "
                            f"{_dtype_name(other, _SCALAR_NAMES)}")
    return RuntimeError(
        f"Input type ({_legacy_name(x)}) and {what} type ({_legacy_name(other)}) should "
        f"be the same or input should be a MKLDNN tensor and {what} is a dense tensor")


def _check_dtypes(x, weight, bias):
    """Dtype checks of conv1d/2d/3d in PyTorch's order: bias dtype against input first
    (device-independent), then the backend's check of the weight and the bias."""
    if bias is not None and bias._data.dtype != x._data.dtype:
        raise RuntimeError(
            f"Input type ({_dtype_name(x, _CPP_NAMES)}) and bias type "
            f"({_dtype_name(bias, _CPP_NAMES)}) should be the same")
    if not _same_type(x, weight):
        raise _parameter_mismatch(x, weight, "weight")
    if bias is not None and not _same_type(x, bias):
        raise _parameter_mismatch(x, bias, "bias")


def _check_cuda_integers(x):
    """PyTorch's CUDA build runs integer convolutions through cuDNN, which has none."""
    if x._data.dtype.kind in "iu" and x.device.type == "cuda":
        raise RuntimeError("getCudnnDataTypeFromScalarType() not supported for "
                           f"{type_name(x._data.dtype)}")


def _check_transposed_dtypes(x, weight, bias, nd):
    """Dtype checks of conv_transpose*: weight against input first. Returns the bias to
    use: PyTorch's slow CPU kernels (float64; float16 without oneDNN's) for 1-d and 2-d
    take a bias of another float dtype and add it in the input's dtype (its gradient
    comes back in the bias's own); cuDNN and oneDNN refuse it."""
    if not _same_type(x, weight):
        raise _parameter_mismatch(x, weight, "weight")
    if bias is None or _same_type(x, bias):
        return bias
    if (bias.device.type != x.device.type or x.device.type == "cuda" or nd == 3
            or not _slow_kernel(x)):
        raise _parameter_mismatch(x, bias, "bias")
    return bias.to(x.dtype)


def _conv_nd(x, weight, bias, stride, padding, dilation, groups, nd):
    op = f"conv{nd}d"
    unbatched = _check_input_dims(x, nd, op)
    if unbatched:
        x = x.unsqueeze(0)
    stride = _expand(stride, nd, "stride")
    dilation = _expand(dilation, nd, "dilation")
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 2}-dimensional input for {nd + 2}-dimensional weight "
            f"{list(weight.shape)}, but got {x.dim()}-dimensional input of size "
            f"{list(x.shape)} instead")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pad_lo = pad_hi = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
            pad_lo = tuple(t // 2 for t in total)
            pad_hi = tuple(t - lo for t, lo in zip(total, pad_lo))
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pad_lo = pad_hi = _expand(padding, nd, "padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in pad_lo):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    out_channels, cg = weight.shape[:2]
    if out_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {cg * groups} channels, but got {x.shape[1]} "
            f"channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
            f"with {out_channels} elements, but got bias of size {list(bias.shape)} instead")
    if autocast_state.ACTIVE[0] is not None:  # cast first, as PyTorch's autocast does
        x, weight, bias = autocast_state.cast(_Conv, (x, weight, bias))
    _check_dtypes(x, weight, bias)
    _check_cuda_integers(x)
    in_spatial = tuple(x.shape[2:])
    padded = tuple(s + lo + hi for s, lo, hi in zip(in_spatial, pad_lo, pad_hi))
    effective = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if any(p < e for p, e in zip(padded, effective)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_dims_str(padded)}). Kernel size: "
            f"({_dims_str(effective)}). Kernel size can't be greater than actual input size")
    out_spatial = tuple((p - e) // s + 1 for p, e, s in zip(padded, effective, stride))
    geo = _Geometry(stride, pad_lo, pad_hi, dilation, groups, in_spatial, kernel, out_spatial)
    out = _Conv.apply(x, weight, bias, geo)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C_in, L) with weight (C_out, C_in/groups, K)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW).

    padding may be an int, a pair, 'valid' or 'same' (stride 1 only; an even kernel pads
    one more on the high side, as PyTorch).

    Example::

        >>> F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3), padding=1).shape
        torch.Size([1, 4, 8, 8])
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C_in, D, H, W) with weight (C_out, C_in/groups, kD, kH, kW)."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 3)


def _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, groups, dilation,
                       nd, output_size=None):
    op = f"conv_transpose{nd}d"
    unbatched = _check_input_dims(x, nd, op)
    if unbatched:
        x = x.unsqueeze(0)
    stride = _expand(stride, nd, "stride")
    padding = _expand(padding, nd, "padding")
    dilation = _expand(dilation, nd, "dilation")
    output_padding = _expand(output_padding, nd, "output_padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"Expected {nd + 2}-dimensional input for {nd + 2}-dimensional weight "
            f"{list(weight.shape)}, but got {x.dim()}-dimensional input of size "
            f"{list(x.shape)} instead")
    in_channels, cg = weight.shape[:2]
    if in_channels % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != in_channels:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {in_channels} channels, but got {x.shape[1]} "
            f"channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != cg * groups):
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {cg * groups} elements, but got bias of size "
            f"{list(bias.shape)} instead")
    if any(op_ >= s and op_ >= d for op_, s, d in zip(output_padding, stride, dilation)):
        names = ["depth", "height", "width"][3 - nd:] if nd > 1 else ["width"]
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + " ".join(parts))
    if autocast_state.ACTIVE[0] is not None:  # cast first, as PyTorch's autocast does
        x, weight, bias = autocast_state.cast(_ConvInputGrad, (x, weight, bias))
    bias = _check_transposed_dtypes(x, weight, bias, nd)
    _check_cuda_integers(x)
    kernel = tuple(weight.shape[2:])
    grad_spatial = tuple(x.shape[2:])
    in_spatial = tuple((i - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for i, s, p, d, k, op_ in
                       zip(grad_spatial, stride, padding, dilation, kernel, output_padding))
    if any(s <= 0 for s in in_spatial):
        raise RuntimeError(
            f"Given input size per channel: ({_dims_str(grad_spatial)}). Calculated output "
            f"size per channel: ({_dims_str(in_spatial)}). Output size is too small")
    geo = _Geometry(stride, padding, padding, dilation, groups, in_spatial, kernel,
                    grad_spatial)
    out = _ConvInputGrad.apply(x, weight, bias, geo, cg * groups)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 1-D convolution (the adjoint of conv1d); weight (C_in, C_out/groups, K)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 2-D convolution; output size (I - 1) * s - 2p + d * (k - 1) + op + 1.

    Example::

        >>> F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3), stride=2).shape
        torch.Size([1, 2, 11, 11])
    """
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 3-D convolution; weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 3)


# ---------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------


class _Unfold(_LinearMap):
    _node_name = "Im2ColBackward0"


class _Fold(_LinearMap):
    _node_name = "Col2ImBackward0"


linear_map_pair(_unfold_array, _fold_array, _Unfold, _Fold)


def _pair(value):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * 2
    return tuple(int(v) for v in value)


def _sliding_blocks(spatial, kernel_size, dilation, padding, stride):
    """unfold's and fold's parsed arguments and the block count per dimension over an
    image of size ``spatial``: (kernel, dilation, padding, stride, blocks)."""
    kernel, dilation, padding, stride = (_pair(kernel_size), _pair(dilation), _pair(padding),
                                         _pair(stride))
    blocks = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                   zip(spatial, padding, dilation, kernel, stride))
    return kernel, dilation, padding, stride, blocks


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks: (N, C, H, W) -> (N, C * kH * kW, L), L the block count."""
    if input.dim() not in (3, 4):
        raise NotImplementedError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    spatial = tuple(x.shape[2:])
    kernel, dilation, padding, stride, blocks = _sliding_blocks(spatial, kernel_size, dilation,
                                                                padding, stride)
    if any(b < 1 for b in blocks):
        raise RuntimeError(
            f"Given input with spatial size {spatial}, kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, calculated shape of the array of "
            f"sliding blocks as {blocks}, but its components must be at least one.")
    geo = _Geometry(stride, padding, padding, dilation, 1, spatial, kernel, blocks)
    out = _Unfold.apply(x, geo)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back: (N, C * kH * kW, L) -> (N, C, *output_size); the adjoint of
    unfold (overlaps add up)."""
    if input.dim() not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
            f"(got {input.dim()}D)")
    unbatched = input.dim() == 2
    cols = input.unsqueeze(0) if unbatched else input
    output_size = _pair(output_size)
    kernel, dilation, padding, stride, blocks = _sliding_blocks(output_size, kernel_size,
                                                                dilation, padding, stride)
    kprod = math.prod(kernel)
    if cols.shape[1] % kprod:
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={cols.shape[1]} and "
            f"kernel_size={kernel}.")
    if cols.shape[2] != math.prod(blocks):
        raise RuntimeError(
            f"Given output_size={output_size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{math.prod(blocks)}, but got input.size(2)={cols.shape[2]}.")
    geo = _Geometry(stride, padding, padding, dilation, 1, output_size, kernel, blocks)
    out = _Fold.apply(cols, geo)
    return out.squeeze(0) if unbatched else out


__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]

TENSOR_METHODS: dict = {}
