"""``torch._scaled_mm`` and ``F.scaled_mm``: matrix products of float8 operands with scales.

PyTorch's CPU build emulates the float8 GEMM: each operand is widened to float32 and
multiplied by its scale (one number for tensor-wise scaling; a column ``(M, 1)`` for
``mat_a`` and a row ``(1, N)`` for ``mat_b`` for row-wise scaling), the float32 product gets
the bias, and the result is cast to the output dtype (``mat_a``'s dtype by default for
``_scaled_mm``, bfloat16 for ``F.scaled_mm``), rounding and saturating as a cast to float8
does. ``use_fast_accum``, ``scale_result``, swizzles and ``contraction_dim`` change nothing
on CPU. The result has no autograd history: PyTorch gives it a node whose backward is not
implemented (so it cannot be differentiated there either); ember records none.
Other scale layouts (the block-wise recipes) raise PyTorch's invalid-configuration error.
"""

from __future__ import annotations

import ember
from .._backend.dtypes import FLOAT8_DTYPES
from .._ops._util import type_name

__all__ = ["_scaled_mm", "scaled_mm"]


def _describe(t) -> tuple:
    """(C++ type name, size, stride) as PyTorch's message prints them."""
    return type_name(t._data.dtype), list(t.shape), list(t.stride())


def _invalid_configuration(mat_a, mat_b, scale_a, scale_b):
    a_dtype, b_dtype = _describe(mat_a)[0], _describe(mat_b)[0]
    sa_dtype, sa_size, sa_stride = _describe(scale_a)
    sb_dtype, sb_size, sb_stride = _describe(scale_b)
    return ValueError(
        "Invalid scaling configuration.\n"
        "- For TensorWise scaling, a and b should be float8, scales should be float and "
        "singletons.\n"
        "- For RowWise scaling, a and b should be float8, scales should be float, scale_a "
        f"should be ({mat_a.shape[0]}, 1) and scale_b should be (1, {mat_b.shape[1]}), and "
        "both should be contiguous.\n"
        f"Got mat_a.dtype()={a_dtype}, scale_a.dtype()={sa_dtype}, scale_a.size()={sa_size}, "
        f"scale_a.stride()={sa_stride}, mat_b.dtype()={b_dtype}, scale_b.dtype()={sb_dtype}, "
        f"scale_b.size()={sb_size} and scale_b.stride()={sb_stride}")


def _check_contiguous_scale(name, scale):
    stride = scale.stride(1)
    if stride != 1:  # PyTorch checks the last dim's stride even where its size is 1
        raise ValueError(f"expected {name}.stride(1) to be 1, but got {stride}")


def _scaling(mat_a, mat_b, scale_a, scale_b) -> str:
    """'tensorwise' or 'rowwise' for a configuration PyTorch's CPU kernel accepts."""
    float8 = mat_a.dtype in FLOAT8_DTYPES and mat_b.dtype in FLOAT8_DTYPES
    floats = scale_a.dtype is ember.float32 and scale_b.dtype is ember.float32
    if float8 and floats and scale_a.numel() == 1 and scale_b.numel() == 1:
        return "tensorwise"
    if (float8 and floats and tuple(scale_a.shape) == (mat_a.shape[0], 1)
            and tuple(scale_b.shape) == (1, mat_b.shape[1])):
        _check_contiguous_scale("scale_a", scale_a)
        _check_contiguous_scale("scale_b", scale_b)
        return "rowwise"
    raise _invalid_configuration(mat_a, mat_b, scale_a, scale_b)


def _emulate(mat_a, mat_b, scale_a, scale_b, bias, out_dtype, scale_result=None):
    """The float32 emulation PyTorch's CPU build runs (see the module docstring);
    ``scale_result`` divides the result only when it is asked for in e4m3fn or e5m2."""
    n = mat_b.shape[1]
    if bias is not None and bias.numel() != n:
        raise RuntimeError(f"Bias must be size {n} but got {bias.numel()}")
    with ember.no_grad():
        a = mat_a.to(ember.float32) * scale_a.reshape(-1, 1).to(ember.float32)
        b = mat_b.to(ember.float32) * scale_b.reshape(1, -1).to(ember.float32)
        out = a @ b
        if bias is not None:
            out = out + bias.to(ember.float32)
        if scale_result is not None and out_dtype in (ember.float8_e4m3fn, ember.float8_e5m2):
            out = out * (1 / scale_result.to(ember.float32))
        return out.to(out_dtype)


def _scaled_mm(self, mat2, scale_a, scale_b, bias=None, scale_result=None, out_dtype=None,
               use_fast_accum=False):
    """``torch._scaled_mm``: ``(self * scale_a) @ (mat2 * scale_b) + bias`` of float8
    matrices, as ``out_dtype`` (default: ``self``'s dtype).

    Example:
        >>> a = ember.randn(16, 32).to(ember.float8_e4m3fn)
        >>> b = ember.randn(16, 32).to(ember.float8_e4m3fn).t()
        >>> one = ember.tensor(1.0)
        >>> ember._scaled_mm(a, b, one, one, out_dtype=ember.bfloat16).shape
        torch.Size([16, 16])
    """
    if self.dim() != 2:
        raise RuntimeError("mat1 must be a matrix")
    if mat2.dim() > 2:  # PyTorch transposes mat2 before its checks
        raise RuntimeError("t() expects a tensor with <= 2 dimensions, but self is "
                           f"{mat2.dim()}D")
    if mat2.dim() != 2:
        raise RuntimeError("mat2 must be a matrix")
    if self.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mat_a and mat_b shapes cannot be multiplied ({self.shape[0]}x{self.shape[1]} "
            f"and {mat2.shape[0]}x{mat2.shape[1]})")
    _scaling(self, mat2, scale_a, scale_b)
    if out_dtype is None:
        return _emulate(self, mat2, scale_a, scale_b, bias, self.dtype)
    return _emulate(self, mat2, scale_a, scale_b, bias, out_dtype, scale_result)


def _first(scale):
    return scale[0] if isinstance(scale, (list, tuple)) else scale


def scaled_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b,
              swizzle_a=None, swizzle_b=None, bias=None, output_dtype=ember.bfloat16,
              contraction_dim=(), use_fast_accum=False):
    """``F.scaled_mm``: ``(mat_a * scale_a) @ (mat_b * scale_b) + bias`` for float8
    matrices with tensor-wise or row-wise ``ScalingType`` recipes (scales and recipes may
    be given as one-element lists), as ``output_dtype``.

    Example:
        >>> a = ember.randn(16, 32).to(ember.float8_e4m3fn)
        >>> b = ember.randn(16, 32).to(ember.float8_e4m3fn).t()
        >>> S = F.ScalingType
        >>> F.scaled_mm(a, b, ember.tensor(1.0), S.TensorWise, ember.tensor(1.0),
        ...             S.TensorWise).dtype
        torch.bfloat16
    """
    if mat_a.dim() != 2:
        raise ValueError("mat_a must be a matrix")
    if mat_b.dim() != 2:
        raise ValueError("mat_b must be a matrix")
    scale_a, scale_b = _first(scale_a), _first(scale_b)
    recipe_a, recipe_b = _first(scale_recipe_a), _first(scale_recipe_b)
    if mat_a.shape[1] != mat_b.shape[0]:
        raise ValueError(
            f"mat_a and mat_b shapes cannot be multiplied ({mat_a.shape[0]}x{mat_a.shape[1]} "
            f"and {mat_b.shape[0]}x{mat_b.shape[1]})")
    names = {getattr(recipe_a, "name", None), getattr(recipe_b, "name", None)}
    if names == {"RowWise"} and 0 in (scale_a.dim(), scale_b.dim()):
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if not names <= {"TensorWise", "RowWise"}:
        raise _invalid_configuration(mat_a, mat_b, scale_a, scale_b)
    _scaling(mat_a, mat_b, scale_a, scale_b)
    return _emulate(mat_a, mat_b, scale_a, scale_b, bias, output_dtype)
