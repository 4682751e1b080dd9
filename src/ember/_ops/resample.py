"""Resampling: pad, interpolate (and the legacy upsample functions), pixel/channel shuffles.

Everything here is separable or a pure gather, so it is built from precomputed index and
weight arrays (NumPy, computed once per call from the sizes) applied one spatial dim at a
time: taps along a dim (their adjoint is the matching scatter-add) or a matrix (area,
antialias), see ``_resample_kernels.py``; shuffles are ``reshape``/``permute``. One call
is one graph node named as PyTorch's kernel for the mode and rank
(``UpsampleBilinear2DBackward0``, ``ReflectionPad1DBackward0``, ...) running its stages
back to back; its gradient is the paired adjoint node, whose gradient is the op again, so
double backward is free.
Index and weight arithmetic follows PyTorch's CPU kernels (float32 coordinate math for
float32 inputs), so results agree to rounding. ``grid_sample``/``affine_grid`` live in
``_grid.py`` and are re-exported here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Function
from ._grid import affine_grid, grid_sample
from ._resample_kernels import laid_like, separable
from ._util import Tensor, shape_str, xp_of

__all__ = ["pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
           "grid_sample", "affine_grid"]


# ---------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------


class ConstantPad(Function):
    """Constant padding; negative pads crop. Its adjoint is itself with negated pads."""

    _array_io = True
    _node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        xp = xp_of(x)
        ndim = x.ndim
        out_shape = list(x.shape)
        src, dst = [slice(None)] * ndim, [slice(None)] * ndim
        for i in range(len(pads) // 2):
            d = ndim - 1 - i
            left, right = pads[2 * i], pads[2 * i + 1]
            size = x.shape[d] + left + right
            if size < 0:
                raise RuntimeError(
                    f"The input size {x.shape[d]}, plus negative padding {left} and {right} "
                    f"resulted in a negative output size, which is invalid. Check dimension "
                    f"{d} of your input.")
            out_shape[d] = size
            src[d] = slice(max(-left, 0), x.shape[d] - max(-right, 0))
            dst[d] = slice(max(left, 0), max(left, 0) + max(src[d].stop - src[d].start, 0))
        out = xp.full(out_shape, value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        ctx.pads = pads
        return laid_like(out, x)

    @staticmethod
    def backward(ctx, grad):
        return ConstantPad.apply(grad, tuple(-p for p in ctx.pads), 0), None, None


_NON_CONSTANT = {2: (2, 3), 4: (3, 4), 6: (4, 5)}


def _pad_index(size, left, right, mode):
    """Source indices along one dim for reflect/replicate/circular padding."""
    positions = np.arange(-left, size + right)
    if mode == "reflect":
        positions = np.abs(positions)
        return np.where(positions >= size, 2 * (size - 1) - positions, positions)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    # circular: negative pads crop first and the positive ones wrap around what remains
    if size + left + right <= 0:
        return np.zeros(0, np.int64)
    kept = max(size + min(left, 0) + min(right, 0), 1)
    start = max(-left, 0)
    return start + np.arange(-max(left, 0), kept + max(right, 0)) % kept


def _check_non_constant(input, pad, mode):
    ndim, n = input.dim(), len(pad)
    if n not in _NON_CONSTANT or ndim not in _NON_CONSTANT[n]:
        raise NotImplementedError(
            f"Padding size {n} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = input.shape
    if mode in ("reflect", "replicate"):
        batch_dims = ndim - n // 2 - 1
        if any(s == 0 for s in shape[batch_dims:]):
            low = n // 2 + 1
            raise RuntimeError(
                f"Expected {low}D or {low + 1}D (batch mode) tensor with possibly 0 batch size "
                f"and other non-zero dimensions for input, but got: {shape_str(shape)}")
    if n == 2 and mode in ("reflect", "replicate") and shape[-1] + pad[0] + pad[1] < 1:
        raise RuntimeError(f"input (W: {shape[-1]}) is too small. Calculated output W: "
                           f"{shape[-1] + pad[0] + pad[1]}")
    for i in range(n // 2):
        d = ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        size = shape[d]
        if mode == "reflect" and (left >= size or right >= size):
            raise RuntimeError(
                f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding "
                f"input dimension, but got: padding ({left}, {right}) at dimension {d} of "
                f"input {shape_str(shape)}")
        if mode == "circular":
            if left > size or right > size:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if size + left + right < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
        if size + left + right < 0:
            out = list(shape)
            out[d] = size + left + right
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {out[d]}: {shape_str(out)}")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims of ``input``.

    Args:
        pad: (left, right) pairs starting from the last dim: ``(1, 1)`` pads the last dim,
            ``(1, 1, 2, 0)`` the last two. Negative values crop.
        mode: ``'constant'`` (any number of dims), or ``'reflect'`` (mirror without the
            edge), ``'replicate'`` (edge value), ``'circular'`` (wrap around) for 1-3
            trailing dims of 2-D to 5-D inputs.
        value: fill value for ``'constant'`` (default 0).

    Example::

        >>> F.pad(torch.ones(1, 2, 2), (1, 1), mode="reflect").shape
        torch.Size([1, 2, 4])
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if mode == "constant":
        if len(pad) // 2 > input.dim():
            raise RuntimeError(
                "Padding length should be less than or equal to two times the input dimension "
                f"but got padding length {len(pad)} and input of dimension {input.dim()}")
        return ConstantPad.apply(input, pad, 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_non_constant(input, pad, mode)
    stages = []
    for i in range(len(pad) // 2):
        d = input.dim() - 1 - i
        index = _pad_index(input.shape[d], pad[2 * i], pad[2 * i + 1], mode)
        stages.append((d, ((index, None),), None, input.shape[d]))
    kind = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}.get(mode, "CircularPad")
    return separable(f"{kind}{len(pad) // 2}D").apply(input, tuple(stages))


# ---------------------------------------------------------------------------
# interpolate
# ---------------------------------------------------------------------------

_LINEAR_MODES = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_ALL_MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
              "nearest-exact")


def _is_integer(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return True
    return isinstance(value, Tensor) and not value.is_floating_point()


def _output_sizes(input, size, scale_factor, recompute_scale_factor, mode):
    """(output sizes, per-dim scale factors or None) as torch's Python front end computes
    them; scale factors survive only when given and not recomputed."""
    dim = input.dim() - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(s) for s in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(s) for s in size]}")
            output = [int(s) for s in size]
        else:
            output = [int(size)] * dim
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return output, None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and scale_factor in (s1, s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * dim
    output = [int(math.floor(float(n) * s)) for n, s in zip(spatial, scales)]
    if mode == "area" or recompute_scale_factor:
        return output, None
    return output, scales


def _check_sizes(input, output):
    spatial = list(input.shape[2:])
    if all(n > 0 for n in spatial) and all(o > 0 for o in output):
        return
    names = ("D", "H", "W")[3 - len(spatial):]
    ins = ", ".join(f"{k}: {n}" for k, n in zip(names, spatial))
    outs = ", ".join(f"{k}: {o}" for k, o in zip(names, output))
    raise RuntimeError(
        f"Input and output sizes should be greater than 0, but got input ({ins}) output ({outs})")


def _scale_value(in_size, out_size, scale, opmath):
    """PyTorch's compute_scales_value: 1/scale when a scale was given, else in/out."""
    if scale is not None and scale > 0:
        return opmath(1.0 / scale)
    return opmath(in_size) / opmath(out_size)


def _nearest_index(in_size, out_size, scale, exact, shortcuts):
    """Source index per output index. PyTorch's 2-D nearest kernel copies when the size
    is unchanged and halves indices when it doubles, whatever the scale factor; its 1-D
    and 3-D kernels always use floor(i * scale)."""
    if shortcuts and not exact and out_size == in_size:
        return np.arange(out_size)
    if shortcuts and not exact and out_size == 2 * in_size:
        return np.arange(out_size) >> 1
    step = _scale_value(in_size, out_size, scale, np.float32)
    positions = np.arange(out_size, dtype=np.float32)
    if exact:
        positions = positions + np.float32(0.5)
    return np.minimum(np.floor(positions * step).astype(np.int64), in_size - 1)


def _source_positions(in_size, out_size, scale, align_corners, cubic, opmath):
    """area_pixel_compute_source_index for every output index, in the op's math dtype."""
    if align_corners:
        step = opmath(in_size - 1) / opmath(out_size - 1) if out_size > 1 else opmath(0)
    else:
        step = _scale_value(in_size, out_size, scale, opmath)
    index = np.arange(out_size, dtype=opmath)
    if align_corners:
        return step * index
    if opmath is np.float32:
        # PyTorch's kernels compile ``scale * (i + 0.5) - 0.5`` to one fused multiply-add:
        # round once, from float64 where the float32 product is exact.
        source = (np.float64(step) * (index.astype(np.float64) + 0.5) - 0.5).astype(opmath)
    else:
        source = step * (index + opmath(0.5)) - opmath(0.5)
    return source if cubic else np.maximum(source, opmath(0))


def _linear_taps(in_size, out_size, scale, align_corners, opmath):
    source = _source_positions(in_size, out_size, scale, align_corners, False, opmath)
    index0 = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    lam = np.clip(source - index0.astype(opmath), 0, 1).astype(opmath)
    index1 = index0 + (index0 < in_size - 1)
    return [(index0, opmath(1) - lam), (index1, lam)]


def _cubic_coefficients(t, a):
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = t.dtype.type(1)
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def _cubic_taps(in_size, out_size, scale, align_corners, opmath):
    source = _source_positions(in_size, out_size, scale, align_corners, True, opmath)
    floor = np.floor(source)
    weights = _cubic_coefficients((source - floor).astype(opmath), opmath(-0.75))
    base = floor.astype(np.int64)
    return [(np.clip(base - 1 + j, 0, in_size - 1), weights[j].astype(opmath))
            for j in range(4)]


def _area_matrix(in_size, out_size):
    """Adaptive average pooling as an (out, in) averaging matrix."""
    index = np.arange(out_size)
    start = (index * in_size) // out_size
    end = ((index + 1) * in_size + out_size - 1) // out_size
    cols = np.arange(in_size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return inside / (end - start)[:, None]


def _antialias_matrix(in_size, out_size, scale, align_corners, cubic, opmath):
    """PyTorch's antialiased (PIL-style) resampling weights as an (out, in) matrix: the
    filter is stretched by the downscale factor and each row is normalised to sum 1."""
    if align_corners:
        step = opmath(in_size - 1) / opmath(out_size - 1) if out_size > 1 else opmath(0)
    else:
        step = _scale_value(in_size, out_size, scale, opmath)
    interp = 4 if cubic else 2
    support = interp * 0.5 * step if step >= 1.0 else interp * 0.5
    invscale = 1.0 / step if step >= 1.0 else 1.0
    center = step * (np.arange(out_size) + 0.5)
    low = np.maximum((center - support + 0.5).astype(np.int64), 0)
    high = np.minimum((center + support + 0.5).astype(np.int64), in_size)
    cols = np.arange(in_size)
    x = np.abs((cols[None, :] - center[:, None] + 0.5) * invscale)
    if cubic:
        a = -0.5
        weights = np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                           np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    else:
        weights = np.where(x < 1, 1 - x, 0.0)
    weights = np.where((cols >= low[:, None]) & (cols < high[:, None]), weights, 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total != 0)


_MODE_NODES = {"nearest": "UpsampleNearest", "nearest-exact": "UpsampleNearestExact",
               "linear": "UpsampleLinear", "bilinear": "UpsampleBilinear",
               "bicubic": "UpsampleBicubic", "trilinear": "UpsampleTrilinear",
               "area": "AdaptiveAvgPool"}
# Every node class made up front, so a pickled node class resolves in a fresh process.
for _name in ("UpsampleNearest1D", "UpsampleNearest2D", "UpsampleNearest3D",
              "UpsampleNearestExact1D", "UpsampleNearestExact2D", "UpsampleNearestExact3D",
              "UpsampleLinear1D", "UpsampleBilinear2D", "UpsampleBicubic2D",
              "UpsampleTrilinear3D", "UpsampleBilinear2DAa", "UpsampleBicubic2DAa",
              "AdaptiveAvgPool2D", "AdaptiveAvgPool3D", "ReflectionPad1D", "ReflectionPad2D",
              "ReflectionPad3D", "ReplicationPad1D", "ReplicationPad2D", "ReplicationPad3D",
              "CircularPad1D", "CircularPad2D", "CircularPad3D"):
    separable(_name)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of an (N, C, *spatial) input.

    Args:
        size: output spatial size (int or one per spatial dim).
        scale_factor: multiplier per spatial dim (output = floor(input * scale)); unless
            ``recompute_scale_factor`` is True the sampling uses this scale, not the
            ratio of sizes, exactly as PyTorch.
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input),
            ``'bilinear'``/``'bicubic'`` (4-D), ``'trilinear'`` (5-D) or ``'area'``
            (adaptive average pooling).
        align_corners: for the linear family and bicubic, map the corner pixel centres of
            input and output onto each other (default False).
        antialias: bilinear/bicubic only: low-pass filter when downsampling (PIL-style).

    Example::

        >>> F.interpolate(torch.randn(1, 3, 8, 8), scale_factor=2, mode="bilinear").shape
        torch.Size([1, 3, 16, 16])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    output, scales = _output_sizes(input, size, scale_factor, recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    ndim = input.dim()
    valid = mode in ("nearest", "nearest-exact", "area") and ndim in (3, 4, 5)
    if mode in _LINEAR_MODES and ndim in (3, 4, 5):
        needed = _LINEAR_MODES[mode]
        if ndim != needed:
            kind = {3: "linear", 4: "bilinear", 5: "trilinear"}[needed]
            if mode == "bicubic":
                raise NotImplementedError(
                    f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) "
                    f"for the modes: {_ALL_MODES} (got {mode})")
            raise NotImplementedError(f"Got {ndim}D input, but {kind} mode needs {needed}D input")
        valid = True
    if not valid:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the "
            f"modes: {_ALL_MODES} (got {mode})")
    _check_sizes(input, output)
    opmath = np.float64 if input._data.dtype == np.float64 else np.float32
    if scales is None:
        scales = [None] * len(output)
    stages = []
    # PyTorch's CUDA kernels resample every dim by its scale, copying only when no size
    # changes (not 1-d/3-d nearest nor antialias); its CPU kernels skip each unchanged
    # dim and halve the indices of a doubled one (2-d nearest). ember follows the device's.
    on_cuda = input.device.type == "cuda"
    copy_all = (on_cuda and not antialias and tuple(input.shape[2:]) == tuple(output)
                and not (mode in ("nearest", "nearest-exact") and ndim != 4))
    # Last spatial dim first: the same nesting of products as PyTorch's kernels.
    for axis in reversed(range(len(output))):
        dim = axis + 2
        in_size, out_size, scale = input.shape[dim], output[axis], scales[axis]
        taps = matrix = None
        if mode in ("nearest", "nearest-exact"):
            if copy_all:
                continue
            index = _nearest_index(in_size, out_size, scale, mode == "nearest-exact",
                                   shortcuts=ndim == 4 and not on_cuda)
            taps = ((index, None),)
        elif mode == "area":
            if in_size == out_size:
                continue
            matrix = _area_matrix(in_size, out_size)
        elif copy_all:
            continue
        elif not on_cuda and in_size == out_size and (antialias or mode != "bicubic"):
            # PyTorch's separable CPU kernels (linear family, antialias) skip a dim whose
            # size does not change, whatever the scale factor says; bicubic's does not
            continue
        elif antialias:
            matrix = _antialias_matrix(in_size, out_size, scale, align_corners,
                                       mode == "bicubic", opmath)
        elif mode == "bicubic":
            taps = tuple(_cubic_taps(in_size, out_size, scale, align_corners, opmath))
        else:
            taps = tuple(_linear_taps(in_size, out_size, scale, align_corners, opmath))
        stages.append((dim, taps, matrix, in_size))
    # One node, named as PyTorch's kernel for the mode and rank (UpsampleBilinear2D, ...;
    # area is adaptive average pooling, whose 1-d form PyTorch runs as 2-d on an
    # unsqueezed view)
    rank = ndim - 2
    if mode == "area" and rank == 1:
        stages = [(3, None, matrix, in_size) for _, _, matrix, in_size in stages]
        op = separable("AdaptiveAvgPool2D")
        return op.apply(input.unsqueeze(-2), tuple(stages)).squeeze(-2)
    name = f"{_MODE_NODES[mode]}{rank}D" + ("Aa" if antialias else "")
    return separable(name).apply(input, tuple(stages))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate``."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------
# pixel and channel shuffles: reshape, permute, reshape
# ---------------------------------------------------------------------------


# -- shuffles: one node each, as PyTorch's (PixelShuffleBackward0, ...); each one's
# backward is its inverse shuffle, so double backward works ---------------------------------


def _pixel_shuffled(x, r):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r), a C-contiguous copy."""
    *batch, channels, height, width = x.shape
    nb = len(batch)
    out = x.reshape(*batch, channels // (r * r), r, r, height, width)
    out = out.transpose(*range(nb + 1), nb + 3, nb + 1, nb + 4, nb + 2)
    return out.reshape(*batch, channels // (r * r), height * r, width * r)


def _pixel_unshuffled(x, r):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), a C-contiguous copy."""
    *batch, channels, height, width = x.shape
    nb = len(batch)
    out = x.reshape(*batch, channels, height // r, r, width // r, r)
    out = out.transpose(*range(nb + 1), nb + 2, nb + 4, nb + 1, nb + 3)
    return out.reshape(*batch, channels * r * r, height // r, width // r)


class _Shuffle(Function):
    """A shuffle of elements: ``kernel(x, param)`` forward; backward is the inverse shuffle
    (``inverse(ctx) -> (op, param)``), itself a recorded op, so double backward works."""

    _array_io = True

    @classmethod
    def forward(cls, ctx, x, param):
        ctx.param = param
        ctx.in_shape = x.shape
        return cls.kernel(x, param)

    @classmethod
    def backward(cls, ctx, grad):
        op, param = cls.inverse(ctx)
        return op.apply(grad, param), None


class PixelShuffle(_Shuffle):
    # PyTorch lays the result out in the input's suggested format (channels-last stays)
    kernel = staticmethod(lambda x, r: laid_like(_pixel_shuffled(x, r), x))

    @staticmethod
    def inverse(ctx):
        return PixelUnshuffle, ctx.param


class PixelUnshuffle(_Shuffle):
    kernel = staticmethod(lambda x, r: laid_like(_pixel_unshuffled(x, r), x))

    @staticmethod
    def inverse(ctx):
        return PixelShuffle, ctx.param


def _channel_shuffled(x, groups):
    """(N, g*k, *) -> (N, k*g, *): channel j*g + i of the output is channel i*k + j."""
    batch, channels, *rest = x.shape
    out = x.reshape(batch, groups, channels // groups, *rest).swapaxes(1, 2)
    return out.reshape(x.shape)


class ChannelShuffle(_Shuffle):
    kernel = staticmethod(lambda x, groups: laid_like(_channel_shuffled(x, groups), x))

    @staticmethod
    def inverse(ctx):
        return ChannelShuffle, ctx.in_shape[1] // ctx.param


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, channels, height, width = input.shape
    if channels % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={channels} is not divisible by "
            f"{r * r}")
    return PixelShuffle.apply(input, r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, channels, height, width = input.shape
    if height % r:
        raise RuntimeError("pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={height} is not divisible by {r}")
    if width % r:
        raise RuntimeError("pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={width} is not divisible by {r}")
    return PixelUnshuffle.apply(input, r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups: (N, g*k, *) -> view (N, g, k, *) ->
    transpose groups and k -> (N, k*g, *)."""
    groups = int(groups)
    if input.dim() <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {shape_str(input.shape)}")
    if groups <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    batch, channels, *rest = input.shape
    if channels % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {channels} "
                           f"channels and {groups} groups.")
    return ChannelShuffle.apply(input, groups)


native_channel_shuffle = channel_shuffle

TENSOR_METHODS: dict = {}
