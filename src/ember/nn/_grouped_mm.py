"""``F.grouped_mm``, ``F.scaled_mm``, ``F.scaled_grouped_mm``: the Mixture-of-Experts GEMMs.

``grouped_mm`` multiplies groups of matrices whose sizes differ along one dimension (the
tokens routed to each expert), the groups delimited by cumulative int32 ``offs``:

- 2-D ``a`` (M, K) x 3-D ``b`` (G, K, N): rows ``offs[g-1]:offs[g]`` of ``a`` times ``b[g]``;
- 3-D ``a`` (G, M, K) x 2-D ``b`` (K, N): ``a[g]`` times columns ``offs[g-1]:offs[g]``;
- 2-D x 2-D: ``a[:, ks] @ b[ks, :]`` per group ``ks`` of the shared K, stacked to (G, M, N);
- 3-D x 3-D: a batched product, no ``offs``.

Each group is one matmul on slices, so autograd comes from the matmul and slicing ops.
Rows (columns, groups) beyond ``offs[-1]`` are zero here; PyTorch leaves them
uninitialised. PyTorch's CPU checks are kept, the 16-byte stride rule included.

``scaled_mm`` (float8 operands with scales) lives in ``_scaled_mm.py``; PyTorch has no CPU
kernel for ``scaled_grouped_mm``, so it raises PyTorch's missing-kernel error here too.
"""

from __future__ import annotations

from enum import Enum

import ember
from ._scaled_mm import scaled_mm

__all__ = ["ScalingType", "SwizzleType", "grouped_mm", "scaled_grouped_mm", "scaled_mm"]

_CPP_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
              "bfloat16": "BFloat16", "int32": "Int", "int64": "Long", "int16": "Short",
              "int8": "Char", "uint8": "Byte", "bool": "Bool"}
# PyTorch's C++ type names in its "same dtype" message
_SCALAR_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                 "bfloat16": "c10::BFloat16"}


class ScalingType(Enum):
    """How ``scaled_mm`` scales its float8 operands."""

    TensorWise = 0
    RowWise = 1
    BlockWise1x16 = 2
    BlockWise1x32 = 3
    BlockWise1x128 = 4
    BlockWise128x128 = 5


class SwizzleType(Enum):
    """Layout of blocked scales."""

    NO_SWIZZLE = 0
    SWIZZLE_32_4_4 = 1


def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _check_operand(t, name: str) -> None:
    if t.dim() not in (2, 3):
        raise RuntimeError(f"{name} has to be 2 or 3d")
    if t.dtype not in (ember.float32, ember.bfloat16, ember.float16):
        raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                           f"{_CPP_NAMES.get(_dtype_name(t.dtype), _dtype_name(t.dtype))}")


def _check_strides(t) -> None:
    """PyTorch's grouped-GEMM layout rule: one of the last two dims is unit-stride and the
    other's stride (and the group stride) spans whole 16-byte units."""
    strides, sizes = list(t.stride()), list(t.shape)
    last, second = strides[-1], strides[-2]
    if not (last == 1 or second == 1):
        raise RuntimeError(f"Invalid strides/sizes, got {strides} for strides and {sizes} "
                           "for sizes")
    unit = 16 // t.element_size()
    leading = second if last == 1 else last
    if leading % unit or (t.dim() == 3 and strides[0] % unit):
        raise RuntimeError("strides should be multiple of 16 bytes")


def _bounds(offs) -> list:
    ends = [int(v) for v in offs.tolist()]
    return list(zip([0] + ends[:-1], ends))


def grouped_mm(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    """Grouped matrix product of ``mat_a`` and ``mat_b`` split by ``offs`` (see the module
    docstring for the four layouts); float32, bfloat16 or float16 operands of one dtype.

    Example:
        >>> x = ember.randn(16, 32)                 # tokens of 4 experts, sorted
        >>> w = ember.randn(4, 32, 8)               # one weight per expert
        >>> offs = ember.tensor([4, 8, 12, 16], dtype=ember.int32)
        >>> F.grouped_mm(x, w, offs=offs).shape
        torch.Size([16, 8])
    """
    _check_operand(mat_a, "mat_a")
    _check_operand(mat_b, "mat_b")
    if mat_a.dtype != mat_b.dtype:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_SCALAR_NAMES[_dtype_name(mat_a.dtype)]} != "
                           f"{_SCALAR_NAMES[_dtype_name(mat_b.dtype)]}")
    a_is_2d, b_is_2d = mat_a.dim() == 2, mat_b.dim() == 2
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if (offs is not None) != (a_is_2d or b_is_2d):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if "
                           "both matrices are 3d")
    if not a_is_2d and not b_is_2d and mat_a.shape[0] != mat_b.shape[0]:
        raise RuntimeError("batched dimension has to match")
    if offs is not None:
        if offs.dim() != 1:
            raise RuntimeError("offs has to be 1D")
        if offs.dtype != ember.int32:
            raise RuntimeError("Offsets have to be int32")
        groups = mat_b.shape[0] if not b_is_2d else mat_a.shape[0] if not a_is_2d else None
        if groups is not None and offs.shape[0] != groups:
            raise RuntimeError("matrix batch sizes have to match")
    _check_strides(mat_a)
    _check_strides(mat_b)
    if out_dtype is not None and out_dtype != mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if not a_is_2d and not b_is_2d:
        return ember.matmul(mat_a, mat_b)
    if a_is_2d and b_is_2d:
        return ember.stack([mat_a[:, lo:hi] @ mat_b[lo:hi] for lo, hi in _bounds(offs)])
    if a_is_2d:
        total, pieces = mat_a.shape[0], [mat_a[lo:hi] @ mat_b[g]
                                         for g, (lo, hi) in enumerate(_bounds(offs))]
        covered, axis, width = int(offs[-1]), 0, mat_b.shape[-1]
    else:
        total, pieces = mat_b.shape[1], [mat_a[g] @ mat_b[:, lo:hi]
                                         for g, (lo, hi) in enumerate(_bounds(offs))]
        covered, axis, width = int(offs[-1]), 1, mat_a.shape[1]
    if covered < total:  # the rows (columns) past the last group
        shape = (total - covered, width) if axis == 0 else (width, total - covered)
        pieces.append(ember.zeros(shape, dtype=mat_a.dtype, device=mat_a.device))
    return ember.cat(pieces, dim=axis)


def scaled_grouped_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b,
                      swizzle_a=None, swizzle_b=None, bias=None, offs=None,
                      output_dtype=ember.bfloat16, contraction_dim=(), use_fast_accum=False):
    """The float8 grouped GEMM: PyTorch has only CUDA kernels for it, so a CPU call raises
    PyTorch's missing-kernel error."""
    raise NotImplementedError(
        "Could not run 'aten::_scaled_grouped_mm_v2' with arguments from the "
        f"'{mat_a.device.type.upper()}' backend. This could be because the operator doesn't "
        "exist for this backend, or was omitted during the selective/custom build process "
        "(if using custom build).")
