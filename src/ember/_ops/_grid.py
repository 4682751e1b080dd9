"""grid_sample and affine_grid (re-exported by ``resample``).

grid_sample's arithmetic is written with Tensor ops over whole batches: the grid is
unnormalised and padded (clip / reflect) with differentiable ops, the corner taps are
found with a (non-differentiable) floor, and every tap is one ``gather`` from the
flattened input. Gradients for both input (a bincount scatter-add, PointGather's
backward) and grid (through the interpolation weights) therefore come from autograd, as
PyTorch's formulas. The caller sees one node, PyTorch's ``GridSampler2DBackward0`` (3D),
whose backward runs that inner graph (recorded on detached copies of the inputs); a
graph-building backward (create_graph=True) re-runs the arithmetic on the real inputs so
that higher derivatives reach them. affine_grid is one ``AffineGridGeneratorBackward0``
node: a product with a constant base grid, whose gradient is the transposed product.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _grad_enabled, enable_grad
from ._resample_kernels import TapSum
from ._util import Tensor, _make, shape_str, xp_of

__all__ = ["grid_sample", "affine_grid"]

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details.")


def _unnormalize(coord, size, align_corners):
    """[-1, 1] -> pixel coordinates."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    """Reflect coordinates into [twice_low / 2, twice_high / 2] (PyTorch's
    reflect_coordinates, gradient sign flips included)."""
    if twice_low == twice_high:
        return coord * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    shifted = (coord - low).abs()
    extra = shifted.fmod(span)
    flips = (shifted.detach() / span).floor()
    even = flips.fmod(2) == 0
    from .pointwise import where

    return where(even, extra + low, span - extra + low)


def _clip(coord, size):
    """Clamp into [0, size - 1]; like PyTorch's clip_coordinates_set_grad the borders
    count as outside, so the gradient is zero there (clamp would pass it)."""
    from .pointwise import where

    limit = size - 1
    data = coord.detach()
    inside = (data > 0) & (data < limit)
    return where(inside, coord, data.clamp(0, limit))


def _pad_coordinates(coord, size, padding_mode, align_corners):
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return _clip(coord, size)
    return coord


def _pad_indices(index, size, padding_mode, align_corners):
    """Apply the padding rule to integer tap positions (bicubic): array level."""
    coord = index.astype(np.float64)
    if padding_mode == "border":
        return np.clip(coord, 0, size - 1).astype(np.int64)
    if padding_mode == "reflection":
        twice_low, twice_high = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if twice_low == twice_high:
            return np.zeros_like(index)
        low, span = twice_low / 2, (twice_high - twice_low) / 2
        shifted = np.abs(coord - low)
        extra = np.fmod(shifted, span)
        flips = np.floor(shifted / span)
        coord = np.where(flips % 2 == 0, extra + low, span - extra + low)
        return np.clip(coord, 0, size - 1).astype(np.int64)
    return index


def _gather_taps(flat_input, spatial, taps):
    """sum over taps of weight * input[n, :, position] as one TapSum node; each tap is
    (indices per spatial dim as int arrays (N, *out), weight Tensor (N, *out) or None).
    Out-of-range taps (zeros padding) get weight 0 and a clipped, harmless index."""
    xp = xp_of(flat_input._data)
    np_dtype = flat_input._data.dtype
    batch, channels = flat_input.shape[0], flat_input.shape[1]
    out_shape = taps[0][0][0].shape
    flat_indices, flat_weights = [], []
    for indices, weight in taps:
        inside = np.ones(out_shape, bool)
        linear = np.zeros(out_shape, np.int64)
        for index, size in zip(indices, spatial):
            inside &= (index >= 0) & (index < size)
            linear = linear * size + np.clip(index, 0, size - 1)
        flat_indices.append(xp.asarray(linear.reshape(batch, -1)))
        mask = _make(xp.asarray(inside.reshape(batch, -1).astype(np_dtype)))
        if weight is None:
            flat_weights.append(mask)
        else:
            weight = weight.reshape(batch, -1)
            flat_weights.append(weight if inside.all() else weight * mask)
    out = TapSum.apply(flat_input, tuple(flat_indices), *flat_weights)
    return out.reshape(batch, channels, *out_shape[1:])


def _cubic(t, a=-0.75):
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the positions in ``grid``.

    Args:
        input: (N, C, H, W) or (N, C, D, H, W).
        grid: (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3) of normalised
            coordinates in [-1, 1], x (last spatial dim) first.
        mode: ``'bilinear'`` (trilinear for 5-D), ``'nearest'`` or ``'bicubic'`` (4-D).
        padding_mode: ``'zeros'``, ``'border'`` or ``'reflection'`` for points outside.
        align_corners: whether -1 and 1 are the centres (True) or the outer edges (False)
            of the corner pixels.

    Shape: output (N, C, *grid.shape[1:-1]). Differentiable in input and grid.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    spatial = tuple(input.shape[2:])
    nd = len(spatial)
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last "
                           f"dimension, but got grid with sizes {shape_str(grid.shape)}")
    if nd not in (2, 3) or grid.dim() != input.dim():
        raise RuntimeError(
            "grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got input with sizes {shape_str(input.shape)} and grid with sizes "
            f"{shape_str(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {shape_str(input.shape)} and grid with sizes {shape_str(grid.shape)}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    node = _GridSampler2D if nd == 2 else _GridSampler3D
    return node.apply(input, grid, mode, padding_mode, align_corners)


def _contiguous(out):
    """grid_sample's result is contiguous in PyTorch; the composition's is transposed."""
    return out if out.flags.c_contiguous else out.copy()


class _GridSampler(Function):
    """grid_sample as one node over (input, grid); see the module docstring."""

    _array_io = True

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        options = (mode, padding_mode, align_corners)
        needs = ctx.needs_input_grad
        if not (needs[0] or needs[1]):  # nothing requires grad: no inner graph either
            return _contiguous(_sample(_make(input), _make(grid), *options)._data)
        leaves = (_make(input, needs[0]), _make(grid, needs[1]))
        with enable_grad():
            inner = _sample(*leaves, *options)
        ctx.save_for_backward(input, grid)
        ctx.inner = (inner, leaves, options)
        return _contiguous(inner._data)

    @staticmethod
    def backward(ctx, grad):
        from ..autograd import grad as autograd_grad

        inputs = ctx.saved_tensors  # the freed-graph and modified-input checks
        inner, leaves, options = ctx.inner
        wanted = [i for i in (0, 1) if ctx.needs_input_grad[i]]
        if _grad_enabled[0]:  # create_graph: the arithmetic again, on the real inputs
            with enable_grad():
                inner = _sample(*inputs, *options)
            found = autograd_grad(inner, [inputs[i] for i in wanted], grad,
                                  create_graph=True, allow_unused=True)
        else:
            found = autograd_grad(inner, [leaves[i] for i in wanted], grad,
                                  retain_graph=True, allow_unused=True)
        grads = [None] * 5
        for i, value in zip(wanted, found):
            # nearest mode's grid has no path to the output: PyTorch gives it zeros
            grads[i] = value if value is not None else inputs[i].detach() * 0
        return tuple(grads)


class _GridSampler2D(_GridSampler):
    _node_name = "GridSampler2DBackward0"


class _GridSampler3D(_GridSampler):
    _node_name = "GridSampler3DBackward0"


def _sample(input, grid, mode, padding_mode, align_corners):
    """grid_sample's arithmetic on validated arguments, as Tensor ops."""
    spatial = tuple(input.shape[2:])
    nd = len(spatial)
    flat = input.reshape(input.shape[0], input.shape[1], -1)
    # grid[..., k] indexes spatial dim nd-1-k; list coordinates in spatial order.
    coords = [_unnormalize(grid[..., nd - 1 - d], spatial[d], align_corners) for d in range(nd)]
    if mode == "bicubic":
        floors = [c.detach().floor() for c in coords]
        weights = [_cubic(c - f) for c, f in zip(coords, floors)]
        bases = [f._data.astype(np.int64) for f in floors]
        bases = [np.asarray(b.get() if hasattr(b, "get") else b) for b in bases]
        taps = []
        for iy, ix in itertools.product(range(4), range(4)):
            rows = _pad_indices(bases[0] - 1 + iy, spatial[0], padding_mode, align_corners)
            cols = _pad_indices(bases[1] - 1 + ix, spatial[1], padding_mode, align_corners)
            taps.append(((rows, cols), weights[0][iy] * weights[1][ix]))
        return _gather_taps(flat, spatial, taps)
    coords = [_pad_coordinates(c, s, padding_mode, align_corners)
              for c, s in zip(coords, spatial)]
    if mode == "nearest":
        index = [np.asarray(_host(c.detach().round()._data)).astype(np.int64) for c in coords]
        return _gather_taps(flat, spatial, [(index, None)])
    lows = [c.detach().floor() for c in coords]
    low_index = [np.asarray(_host(f._data)).astype(np.int64) for f in lows]
    # weights as PyTorch writes them: (x1 - x) and (x - x0)
    pair_weights = [((f + 1) - c, c - f) for c, f in zip(coords, lows)]
    taps = []
    for corner in itertools.product((0, 1), repeat=nd):
        index = [low + bit for low, bit in zip(low_index, corner)]
        weight = pair_weights[0][corner[0]]
        for d in range(1, nd):
            weight = weight * pair_weights[d][corner[d]]
        taps.append((index, weight))
    return _gather_taps(flat, spatial, taps)


def _host(array):
    return array.get() if hasattr(array, "get") else array


def _linspace_from_neg_one(steps, align_corners, np_dtype):
    if steps <= 1:
        return np.zeros(max(steps, 1) if steps else 0, np_dtype)
    values = np.linspace(-1, 1, steps, dtype=np_dtype)
    if not align_corners:
        values = values * (steps - 1) / steps
    return values.astype(np_dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Sampling grid (N, *spatial, ndim) for batched affine matrices ``theta``
    (N, 2, 3) or (N, 3, 4): base grid of normalised [x, y(, z), 1] times theta^T."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    np_dtype = theta._data.dtype
    axes = [_linspace_from_neg_one(s, align_corners, np_dtype) for s in spatial]
    # base[..., k] is the coordinate of spatial dim nd-1-k (x first), then a column of ones
    mesh = np.meshgrid(*axes, indexing="ij")
    nd = len(spatial)
    base = np.stack([mesh[nd - 1 - k] for k in range(nd)] + [np.ones_like(mesh[0])], axis=-1)
    base = xp_of(theta._data).asarray(base.reshape(-1, nd + 1))
    return _AffineGridGenerator.apply(theta, base, (size[0], *spatial, nd))


class _AffineGridGenerator(Function):
    """grid[n, p] = base[p] @ theta[n]^T for a constant (P, nd + 1) base grid; the
    gradient is ``sum_p grad[n, p]^T base[p]``, linear in grad, so double backward is
    that product recorded again."""

    _array_io = True
    _node_name = "AffineGridGeneratorBackward0"

    @staticmethod
    def forward(ctx, theta, base, out_shape):
        ctx.base = base
        out = xp_of(theta).matmul(base, theta.transpose(0, 2, 1))
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, grad):
        base = ctx.base
        rows = grad.reshape(grad.shape[0], base.shape[0], -1)
        return rows.transpose(1, 2) @ _make(base.astype(grad._data.dtype, copy=False)), \
            None, None
