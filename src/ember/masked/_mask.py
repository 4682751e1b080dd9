"""What every masked op shares: the canonical mask, the dims, the identity that fills
masked-out elements before the plain op runs.

A masked op is the plain op on ``where(mask, input, identity)``, where the identity is
the value that leaves the reduction unchanged (0 for sum, 1 for prod, -inf for amax...).
Autograd comes for free: ``where`` routes no gradient to masked-out elements.
"""

from __future__ import annotations

import ember

from ._core import is_masked_tensor


def _canonical_dim(dim, ndim: int) -> tuple:
    """``dim`` as a sorted tuple of non-negative dims; None or () means every dim."""
    if dim == () or dim is None:
        return tuple(range(ndim))
    ndim = max(ndim, 1)
    dims: list = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if d in dims:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if d >= ndim or d < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {d})")
        dims.append(d % ndim)
    return tuple(sorted(dims))


def _reduction_identity(op_name: str, input, *args):
    """The value that leaves reduction ``op_name`` unchanged, as a 0-d tensor of
    ``input``'s dtype, or None where there is none (mean, var, std)."""
    dtype, device = input.dtype, input.device

    def const(value, of=dtype):
        return ember.tensor(value, dtype=of, device=device)

    floating = dtype.is_floating_point
    integral = dtype.is_signed or dtype == ember.uint8
    if op_name in ("sum", "cumsum"):
        return const(0)
    if op_name in ("prod", "cumprod"):
        return const(1)
    if op_name in ("amax", "argmax", "logaddexp", "logsumexp"):
        if floating:
            return const(float("-inf"))
        if op_name == "logsumexp" and dtype.is_complex:
            return const(complex(float("-inf"), 0))
        if integral:
            return const(ember.iinfo(dtype).min)
        return None
    if op_name in ("amin", "argmin"):
        if floating:
            return const(float("inf"))
        if integral:
            return const(ember.iinfo(dtype).max)
        return None
    if op_name == "norm":
        ord = args[0] if args else 2
        return const(float("inf") if ord == float("-inf") else 0)
    if op_name == "median":
        return const(float("nan"), dtype if floating else ember.float32)
    if op_name in ("mean", "var", "std"):
        return None
    raise NotImplementedError(f"identity of {op_name} on {dtype} input")


def _input_mask(input, mask):
    """``mask`` broadcast to ``input``'s shape as a bool tensor."""
    if mask is None:
        raise ValueError("_input_mask requires explicit mask")
    if mask.shape != input.shape:
        if mask.ndim > input.ndim:
            raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality "
                             "higher than of the input)")
        mask = ember.broadcast_to(mask, input.shape)
    if mask.dtype != ember.bool:
        mask = mask.to(dtype=ember.bool)
    return mask


def _data_of(input):
    """The plain data of a MaskedTensor (differentiable), or ``input`` itself."""
    return input._dense_data() if is_masked_tensor(input) else input


def _combine_input_and_mask(op_name: str, input, mask, *args):
    """``where(mask, input, identity)``. A MaskedTensor brings its own mask (as in
    PyTorch, which then ignores ``mask`` here)."""
    if is_masked_tensor(input):
        data, mask = input._dense_data(), input._dense_mask()
    else:
        data = input
        if mask is None:
            return input
    canonical = _input_mask(data, mask)
    fill = _reduction_identity(op_name, data, *args)
    return ember.where(canonical, data, fill)


def _check_strided(op: str, input) -> None:
    layout = input.layout
    if layout is not ember.strided:
        raise ValueError(f"masked {op} expects strided tensor (got {layout} tensor)")
