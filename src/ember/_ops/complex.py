"""Complex numbers: real/imag views, conjugation, view_as_real/view_as_complex, angle,
polar, complex, isreal and the complex casts.

Gradients follow PyTorch's convention: for a real loss L of a complex z, ``z.grad`` is
dL/dRe(z) + i dL/dIm(z) (twice the conjugate Wirtinger derivative), so |z|^2 gives 2z and
a holomorphic f passes ``grad * conj(f'(z))`` back. A complex gradient reaching a real
input keeps its real part (the engine does that, as PyTorch's does).

NumPy has no lazy conjugate bit: ``conj()`` copies (it does not alias its input), but the
result reports ``is_conj()`` as PyTorch's does, so code that checks it or calls
``resolve_conj`` behaves the same.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.dtypes import COMPLEX32_NP
from .._backend.float8 import refuse_complex32 as refuse_special
from .._backend.strided import adopt_storage, strided_view
from .._complex32 import as_real_view, conjugate
from .._backend import dtypes as _dt
from ..autograd.function import Function
from ._autocast import float32_in_autocast
from ._util import Tensor, _make, type_name, xp_of
from .shape import view_of


def _is_complex(tensor) -> bool:
    np_dtype = tensor._data.dtype
    return np_dtype.kind == "c" or np_dtype is COMPLEX32_NP


def _real_np(np_dtype):
    return np.dtype(np.float32) if np_dtype == np.complex64 else np.dtype(np.float64)


def _complex_np(np_dtype):
    return np.dtype(np.complex128) if np_dtype == np.float64 else np.dtype(np.complex64)


def _require_tensor(name, value):
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name}(): argument 'input' (position 1) must be Tensor, not {type(value).__name__}"
        )


def _flag(tensor, name):
    tensor.__dict__[name] = True
    return tensor


# ---------------------------------------------------------------------------
# real / imag: views of the complex array's two float planes
# ---------------------------------------------------------------------------


class _ToComplex(Function):
    """A real tensor as complex with zero imaginary part (the gradient of ``real``);
    its own gradient is the real part."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, np_dtype):
        return x.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return real(grad), None


class Real(Function):
    """Re(z) as a view. A real gradient g of Re(z) is g + 0i for z."""

    _array_io = True
    _node_name = "SelectBackward0"  # PyTorch selects from view_as_real

    @staticmethod
    def forward(ctx, z):
        ctx.np_dtype = z.dtype
        return z["real"] if z.dtype is COMPLEX32_NP else z.real  # complex32: a field view

    @staticmethod
    def backward(ctx, grad):
        return _ToComplex.apply(grad, ctx.np_dtype)


class Imag(Function):
    """Im(z) as a view. A real gradient g of Im(z) is 0 + gi for z."""

    _array_io = True
    _node_name = "SelectBackward0"  # PyTorch selects from view_as_real

    @staticmethod
    def forward(ctx, z):
        ctx.np_dtype = z.dtype
        return z["imag"] if z.dtype is COMPLEX32_NP else z.imag

    @staticmethod
    def backward(ctx, grad):
        return _ToComplex.apply(grad, ctx.np_dtype) * 1j


def real(input: Tensor) -> Tensor:
    """The real part of a complex tensor, as a view sharing its memory; a real tensor is
    returned as is (PyTorch's ``torch.real``)."""
    _require_tensor("real", input)
    if not _is_complex(input):
        return input
    return view_of(Real.apply(input), input)


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view sharing its memory. A view of a
    conjugated tensor's imaginary part reports ``is_neg()``, as PyTorch's does."""
    _require_tensor("imag", input)
    if not _is_complex(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    out = view_of(Imag.apply(input), input)
    return _flag(out, "_is_neg") if input.__dict__.get("_is_conj") else out


def _set_part(getter):
    def setter(self, value):
        getter(self).copy_(value)

    return setter


def is_float_view_of_complex(view) -> bool:
    """Whether ``view`` is real/imag/view_as_real (or a view of those) of a complex base."""
    base = view._base
    return base._data.dtype.kind == "c" and view._data.dtype == base._data.real.dtype


def rebase_part(view, result):
    """In-place ``result`` into a float view of a complex base (``z.real.mul_(2)``): the
    base, seen as (real, imag) pairs, takes the write as PyTorch's CopySlices does, and the
    view then reads its new value from the base."""
    from .index import CopySlices, _view_positions

    base = view._base
    pairs = ViewAsReal.apply(base)
    positions = _view_positions(view._data, pairs._data)
    value = result if result._data.shape == view._data.shape else result.expand(
        view._data.shape)
    new_base = ViewAsComplex.apply(CopySlices.apply(pairs, value, positions))
    base._data[...] = new_base._data
    base._vc[0] += 1
    base._requires_grad = True
    base.grad_fn = new_base.grad_fn
    base._output_nr = new_base._output_nr
    return reread_part(view, positions)


def reread_part(view, positions=None):
    """Give a float view of a complex base the history of reading its elements from the
    base's current value (after an in-place write through the view or the base)."""
    from .index import TakeFlat, _view_positions

    pairs = ViewAsReal.apply(view._base)
    if positions is None:
        positions = _view_positions(view._data, pairs._data)
    reread = TakeFlat.apply(pairs, positions)
    view._requires_grad = True
    view.grad_fn = reread.grad_fn
    view._output_nr = 0
    view._view_vc = view._vc[0]
    return view


# ---------------------------------------------------------------------------
# view_as_real / view_as_complex
# ---------------------------------------------------------------------------


class ViewAsReal(Function):
    """complex (...) -> float (..., 2), sharing memory."""

    _array_io = True

    @staticmethod
    def forward(ctx, z):
        if z.dtype is COMPLEX32_NP:
            return as_real_view(z)
        if type(z) is np.ndarray:
            return z[..., None].view(_real_np(z.dtype))
        # CuPy changes itemsize only on C-contiguous arrays: stride the real part instead
        real_part = z.real
        return strided_view(real_part, z.shape + (2,), real_part.strides + (real_part.itemsize,))

    @staticmethod
    def backward(ctx, grad):
        return view_as_complex(grad.contiguous())


class ViewAsComplex(Function):
    """float (..., 2) -> complex (...), sharing memory."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        np_dtype = COMPLEX32_NP if x.dtype == np.float16 else _complex_np(x.dtype)
        try:
            return x.view(np_dtype)[..., 0]
        except ValueError:  # CuPy changes itemsize only on C-contiguous arrays
            view = xp_of(x).ndarray(x.shape[:-1], np_dtype, memptr=x.data,
                                    strides=x.strides[:-1])
            return adopt_storage(view, x)

    @staticmethod
    def backward(ctx, grad):
        return view_as_real(grad)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor of shape (...) as a float tensor of shape (..., 2) holding
    (real, imag) pairs; it shares memory with ``input``."""
    _require_tensor("view_as_real", input)
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if input.__dict__.get("_is_conj"):
        raise RuntimeError(
            "view_as_real doesn't work on unresolved conjugated tensors.  To resolve the "
            "conjugate tensor so you can view it as real, use self.resolve_conj(); however, "
            "be warned that the resulting tensor will NOT alias the original."
        )
    return view_of(ViewAsReal.apply(input), input)


@float32_in_autocast  # on torch's cpu autocast float32 list
def view_as_complex(input: Tensor) -> Tensor:
    """A float tensor of shape (..., 2) as a complex tensor of shape (...), sharing memory.
    The pairs must be adjacent in memory (last stride 1, other strides and the storage
    offset even), as PyTorch requires."""
    _require_tensor("view_as_complex", input)
    np_dtype = input._data.dtype
    if np_dtype not in (np.float32, np.float64, np.float16):
        raise RuntimeError(
            "view_as_complex is only supported for half, float and double tensors, but got a "
            f"tensor of scalar type: {type_name(np_dtype)}"
        )
    shape = input._data.shape
    if not shape:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage offset divisible by 2")
    return view_of(ViewAsComplex.apply(input), input)


# ---------------------------------------------------------------------------
# conjugation
# ---------------------------------------------------------------------------


class Conj(Function):
    """conj(z); its gradient is the conjugate of the incoming one."""

    _array_io = True

    @staticmethod
    def forward(ctx, z):
        if z.dtype is COMPLEX32_NP:
            return conjugate(z)
        return xp_of(z).conj(z)

    @staticmethod
    def backward(ctx, grad):
        return conj_physical(grad)


class ConjPhysical(Conj):
    pass


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (``input`` itself for real tensors). PyTorch returns a lazy
    view; ember computes it, and the result reports ``is_conj()``."""
    _require_tensor("conj", input)
    if not _is_complex(input):
        return input
    out = Conj.apply(input)
    if input.__dict__.get("_is_conj"):  # conj(conj(z)) has no bit, as PyTorch's bit flip
        return out
    return _flag(out, "_is_conj")


def conj_physical(input: Tensor, *, out=None) -> Tensor:
    """The complex conjugate, materialised (``input`` itself for real tensors)."""
    _require_tensor("conj_physical", input)
    if out is not None:
        from ._elementwise import _out

        return _out(ConjPhysical.apply(input) if _is_complex(input) else input * 1, out)
    if not _is_complex(input):
        return input
    return ConjPhysical.apply(input)


def conj_physical_(input: Tensor) -> Tensor:
    """Conjugate ``input`` in place."""
    if not _is_complex(input):
        return input
    from ._inplace import apply_inplace, needs_graph
    from ._util import inplace_check

    if needs_graph(input):
        return apply_inplace(input, ConjPhysical.apply(input))
    inplace_check(input)
    xp_of(input._data).conj(input._data, out=input._data)
    input._vc[0] += 1
    return input


def is_conj(input: Tensor) -> bool:
    return bool(input.__dict__.get("_is_conj", False))


def is_neg(input: Tensor) -> bool:
    return bool(input.__dict__.get("_is_neg", False))


def resolve_conj(input: Tensor) -> Tensor:
    """A tensor without the conjugate bit: ``input`` itself when it has none."""
    if not input.__dict__.get("_is_conj"):
        return input
    from .copies import clone

    return clone(input)


def resolve_neg(input: Tensor) -> Tensor:
    """A tensor without the negative bit: ``input`` itself when it has none."""
    if not input.__dict__.get("_is_neg"):
        return input
    from .copies import clone

    return clone(input)


# ---------------------------------------------------------------------------
# angle, polar, complex, isreal
# ---------------------------------------------------------------------------


class Angle(Function):
    """arg(z) for complex; pi for negative reals, 0 otherwise (nan stays nan)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        kind = x.dtype.kind
        refuse_special("angle_cpu", x)
        if kind == "c":
            ctx.save_for_backward(x)
            return xp.angle(x)
        if kind in "iub":
            x = x.astype(_dt.get_default_dtype().numpy_dtype)
        pi = x.dtype.type(math.pi)
        out = xp.where(x < 0, pi, x.dtype.type(0))
        return xp.where(xp.isnan(x), x, out)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.saved_tensors:  # a real input: piecewise constant
            from .creation import zeros_like

            return zeros_like(grad)
        (z,) = ctx.saved_tensors
        # d arg(z): a real g gives g * i z / |z|^2; 0 where z == 0, as PyTorch.
        from .pointwise import where

        squared = z.abs() ** 2
        zero = squared == 0
        return where(zero, 0.0, grad * z * 1j / where(zero, 1.0, squared))


def angle(input: Tensor, *, out=None) -> Tensor:
    """The argument of each element, in radians (float result for complex input)."""
    from ._elementwise import _out

    _require_tensor("angle", input)
    return _out(Angle.apply(input), out)


def _check_parts(real_part, imag_part):
    a, b = real_part._data.dtype, imag_part._data.dtype
    floats = (np.float16, np.float32, np.float64)
    if a not in floats or b not in floats:
        raise RuntimeError(
            "Expected both inputs to be Half, Float or Double tensors but got "
            f"{type_name(a)} and {type_name(b)}"
        )
    if a != b:
        raise RuntimeError(
            f"Expected object of scalar type {type_name(a)} but got scalar type {type_name(b)} "
            "for second argument"
        )
    if a == np.float16:
        raise RuntimeError("ember has no complex32 (ComplexHalf) dtype")


class Complex(Function):
    """real + i imag, broadcasting. The gradient's real part goes to ``real``, its
    imaginary part to ``imag``."""

    _array_io = True

    @staticmethod
    def forward(ctx, re, im):
        xp = xp_of(re, im)
        shape = np.broadcast_shapes(re.shape, im.shape)
        out = xp.empty(shape, _complex_np(re.dtype))
        out.real = re
        out.imag = im
        return out

    @staticmethod
    def backward(ctx, grad):
        needs_re, needs_im = ctx.needs_input_grad
        return (real(grad) if needs_re else None), (imag(grad) if needs_im else None)


def complex(real: Tensor, imag: Tensor, *, out=None) -> Tensor:
    """A complex tensor from real and imaginary parts of one float dtype."""
    from ._elementwise import _out

    _check_parts(real, imag)
    try:
        return _out(Complex.apply(real, imag), out)
    except ValueError:
        _broadcast_error(real, imag)


def _broadcast_error(a, b):
    sa, sb = a._data.shape, b._data.shape
    n = max(len(sa), len(sb))
    pa = (1,) * (n - len(sa)) + tuple(sa)
    pb = (1,) * (n - len(sb)) + tuple(sb)
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                f"non-singleton dimension {i}"
            )
    raise RuntimeError("shapes cannot be broadcast")


class Polar(Function):
    """abs * (cos(angle) + i sin(angle)). The gradient is PyTorch's, which reads ``abs``'s
    share through sgn(result): for abs < 0 (outside polar's domain) or abs == 0 it is not
    the plain derivative, and ember gives the same numbers."""

    _array_io = True

    @staticmethod
    def forward(ctx, magnitude, theta):
        xp = xp_of(magnitude, theta)
        out = Complex.forward(ctx, magnitude * xp.cos(theta), magnitude * xp.sin(theta))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        grad_conj = grad.conj_physical()
        needs_abs, needs_angle = ctx.needs_input_grad
        grad_abs = real(grad_conj * result.sgn()) if needs_abs else None
        grad_angle = real(grad_conj * result * 1j) if needs_angle else None
        return grad_abs, grad_angle


@float32_in_autocast  # on torch's cpu autocast float32 list
def polar(abs: Tensor, angle: Tensor, *, out=None) -> Tensor:
    """abs * (cos(angle) + i sin(angle)), with PyTorch's gradient (see Polar)."""
    from ._elementwise import _out

    _check_parts(abs, angle)
    try:
        np.broadcast_shapes(abs._data.shape, angle._data.shape)
    except ValueError:
        _broadcast_error(abs, angle)
    return _out(Polar.apply(abs, angle), out)


def isreal(input: Tensor) -> Tensor:
    """True where the imaginary part is 0 (everywhere for real tensors)."""
    _require_tensor("isreal", input)
    data = input._data
    xp = xp_of(data)
    if data.dtype.kind != "c":
        return _make(xp.ones(data.shape, dtype=np.bool_))
    return _make(data.imag == 0)


def _cast(target):
    def method(self, memory_format=None):
        return self.to(target)

    return method


__all__ = [
    "angle",
    "complex",
    "conj",
    "conj_physical",
    "conj_physical_",
    "imag",
    "is_conj",
    "is_neg",
    "isreal",
    "polar",
    "real",
    "resolve_conj",
    "resolve_neg",
    "view_as_complex",
    "view_as_real",
]

TENSOR_METHODS = {
    "real": property(real, _set_part(real)),
    "imag": property(imag, _set_part(imag)),
    "conj": conj, "conj_physical": conj_physical, "conj_physical_": conj_physical_,
    "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "is_conj": is_conj,
    "is_neg": is_neg, "angle": angle, "isreal": isreal,
    "cfloat": _cast(_dt.complex64), "cdouble": _cast(_dt.complex128),
}
