"""Binary math beyond + - * /: atan2, hypot, fmod, remainder, floor_divide,
true_divide, float_power, xlogy, logaddexp(2), copysign, heaviside; each with its
backward written in Tensor ops (re-exported through unary.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ._blas_dtypes import kernel_scalar, python_number
from ._elementwise import _out, _promote, _slot, inplace_of
from .pointwise import _RoundedDiv, _int_zero_check, div, pow
from .._backend import result_np
from ._util import Tensor, float_np, type_name, xp_of

_LN2 = math.log(2.0)


def _zeros(grad):
    from .creation import zeros_like

    return zeros_like(grad)




def _float_operands(x, y):
    """Promote, then move integer results to the default float dtype."""
    a, b, dt = _promote(x, y)
    target = float_np(dt)
    if target != dt:
        a = a.astype(target) if hasattr(a, "dtype") else a
        b = b.astype(target) if hasattr(b, "dtype") else b
    return a, b


def _refuse_complex(kernel, dt):
    """PyTorch defines these ops for real dtypes only (called once the promoted dtype
    ``dt`` is known to be complex)."""
    raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(dt)}\'')


def _any_complex(a, b):
    return (getattr(a, "dtype", None) is not None and a.dtype.kind == "c") or (
        getattr(b, "dtype", None) is not None and b.dtype.kind == "c") or (
        type(a) is complex or type(b) is complex)


def _require_tensor(name, other):
    if not isinstance(other, Tensor):
        raise TypeError(
            f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}"
        )


class Atan2(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        a, b = _float_operands(y, x)
        if _any_complex(a, b):
            _refuse_complex("atan2_cpu", result_np(a, b))
        return xp_of(a, b).arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        y, x = ctx.saved_tensors
        scaled = grad / (x * x + y * y)
        return scaled * x, scaled * -y


def atan2(input, other, *, out=None):
    _require_tensor("atan2", other)
    return _out(Atan2.apply(input, other), out)


arctan2 = atan2


class Hypot(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        a, b, dt = _promote(x, y)
        if dt.kind not in "fV":
            raise NotImplementedError(f'"hypot_cpu" not implemented for \'{type_name(dt)}\'')
        out = xp_of(a, b).hypot(a, b)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        return grad * x / out, grad * y / out


def hypot(input, other, *, out=None):
    _require_tensor("hypot", other)
    return _out(Hypot.apply(input, other), out)


class _Modulo(Function):
    """fmod (C's sign of the dividend) and remainder (Python's sign of the divisor)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y, floored):
        ctx.floored = floored
        ctx.save_for_backward(x, y)
        a, b, dt = _promote(x, y)
        if dt.kind == "c":
            _refuse_complex("remainder_cpu" if floored else "fmod_cpu", dt)
        xp = xp_of(a, b)
        if dt.kind in "iub":
            _int_zero_check(b)
            if dt.kind == "b":
                a, b = xp.asarray(a, dtype=np.int64), xp.asarray(b, dtype=np.int64)
                return (xp.remainder(a, b) if floored else xp.fmod(a, b)).astype(dt)
        if floored:
            if dt.kind in "fV":
                # PyTorch's rule: fmod, then shift by b when the signs disagree
                # (NumPy's remainder differs for infinite b).
                mod = xp.fmod(a, b)
                shift = (mod != 0) & ((b < 0) != (mod < 0))
                return xp.asarray(xp.where(shift, mod + b, mod), dtype=dt)
            return xp.remainder(a, b)
        return xp.fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_y = None
        if ctx.needs_input_grad[1]:
            mode = "floor" if ctx.floored else "trunc"
            grad_y = -grad * _RoundedDiv.apply(x, y, mode)
        return (grad if ctx.needs_input_grad[0] else None), grad_y, None


# PyTorch's node names: Backward0 for a number divisor, Backward1 for a tensor one
_MODULO = {
    (floored, tensor_divisor): type(
        "Remainder" if floored else "Fmod", (_Modulo,),
        {"_node_name": f"{'Remainder' if floored else 'Fmod'}Backward{int(tensor_divisor)}",
         "__module__": __name__},
    )
    for floored in (False, True) for tensor_divisor in (False, True)
}


def fmod(input, other, *, out=None):
    return _out(_MODULO[False, isinstance(other, Tensor)].apply(input, other, False), out)


def remainder(input, other, *, out=None):
    return _out(_MODULO[True, isinstance(other, Tensor)].apply(input, other, True), out)


class FloorDivide(_RoundedDiv):
    """floor_divide: same values as div(rounding_mode='floor'), but PyTorch defines no
    derivative for it, so backward raises as PyTorch does."""

    _node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


def floor_divide(input, other, *, out=None):
    return _out(FloorDivide.apply(input, other, "floor"), out)


def true_divide(input, other, *, out=None):
    return div(input, other, out=out)


def _to_double(value):
    from .._backend.dtypes import complex128, float64

    if isinstance(value, Tensor):
        wanted = complex128 if value._data.dtype.kind == "c" else float64
        return value if value.dtype is wanted else value.to(wanted)
    return complex(value) if isinstance(value, complex) else float(value)


def float_power(input, exponent, *, out=None):
    """pow computed in double precision (float64, or complex128 for complex operands)."""
    return _out(pow(_to_double(input), _to_double(exponent)), out)


def _float_power_(self, exponent):
    if self._data.dtype != np.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {type_name(self._data.dtype)} but the "
            "operation's result requires dtype Double"
        )
    return inplace_of(float_power)(self, exponent)


class Xlogy(Function):
    """x * log(y), defined as 0 where x == 0 (unless y is NaN)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        a, b = _float_operands(x, y)
        if _any_complex(a, b):
            _refuse_complex("xlogy_cpu", result_np(a, b))
        xp = xp_of(a, b)
        dt = xp.result_type(a, b)
        if xp is not np:  # CuPy's where wants array conditions (a Python bool has no astype)
            a, b = (v if hasattr(v, "dtype") else xp.asarray(v) for v in (a, b))
        out = xp.where(a == 0, 0.0, a * xp.log(b))
        return xp.asarray(xp.where(b != b, b, out), dtype=dt)

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            # PyTorch's rule: log(y) also where x == 0 (Gamma/Poisson log_prob at
            # concentration 1 need it); zero only where x == 0 and y <= 0.
            grad_x = xlogy(grad, y)
            if not isinstance(y, Tensor):
                grad_x = where(x == 0, 0.0, grad_x) if y <= 0 else grad_x
            else:
                grad_x = where((x == 0) & (y <= 0), 0.0, grad_x)
        if ctx.needs_input_grad[1]:
            grad_y = grad * x / y
        return grad_x, grad_y


def xlogy(input, other, *, out=None):
    return _out(Xlogy.apply(input, other), out)


class _LogAddExp(Function):
    """log(exp(a) + exp(b)) (or base 2), computed from the larger operand: no overflow."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b, base2):
        ctx.base2 = base2
        ctx.save_for_backward(a, b)
        x, y, dt = _promote(a, b)
        if dt.kind not in "fV" and (base2 or dt.kind != "c"):
            name = "logaddexp2" if base2 else "logaddexp"
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{type_name(dt)}\'')
        xp = xp_of(x, y)
        if dt.kind == "c":  # from the operand with the larger real part: no overflow
            larger = xp.where(x.real >= y.real, x, y)
            return xp.asarray(larger + xp.log1p(xp.exp(x + y - 2 * larger)), dtype=dt)
        larger = xp.maximum(x, y)
        gap = -xp.abs(x - y)
        if base2:
            out = larger + xp.log1p(xp.exp2(gap)) / _LN2
        else:
            out = larger + xp.log1p(xp.exp(gap))
        # equal infinities: the gap is NaN, the answer is the infinity itself
        return xp.asarray(xp.where(xp.isinf(x) & (x == y), x, out), dtype=dt)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = _LN2 if ctx.base2 else 1.0
        if grad._data.dtype.kind == "c":  # holomorphic: conjugated derivatives
            a = a.conj_physical() if isinstance(a, Tensor) else a
            b = b.conj_physical() if isinstance(b, Tensor) else b
        grad_a = grad * ((a - b) * scale).sigmoid() if ctx.needs_input_grad[0] else None
        grad_b = grad * ((b - a) * scale).sigmoid() if ctx.needs_input_grad[1] else None
        return grad_a, grad_b, None


_LOGADDEXP = {
    base2: type("Logaddexp2" if base2 else "Logaddexp", (_LogAddExp,), {"__module__": __name__})
    for base2 in (False, True)
}


def logaddexp(input, other, *, out=None):
    _require_tensor("logaddexp", other)
    return _out(_LOGADDEXP[False].apply(input, other, False), out)


def logaddexp2(input, other, *, out=None):
    _require_tensor("logaddexp2", other)
    return _out(_LOGADDEXP[True].apply(input, other, True), out)


class Copysign(Function):
    """|a| with the sign of b; d/da is +-1 (0 at a == 0, as PyTorch), d/db is 0."""

    _array_io = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = _float_operands(a, b)
        if _any_complex(x, y):
            _refuse_complex("copysign_cpu", result_np(x, y))
        out = xp_of(x, y).copysign(x, y)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        from .pointwise import where

        a, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            safe_a = where(a == 0, 1.0, a)
            grad_a = grad * where(a == 0, 0.0, out / safe_a)
        if ctx.needs_input_grad[1]:
            grad_b = _zeros(grad)
        return grad_a, grad_b


def copysign(input, other, *, out=None):
    return _out(Copysign.apply(input, other), out)


class Heaviside(Function):
    """0 for x < 0, ``values`` at x == 0, 1 for x > 0; PyTorch defines no derivative."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, values):
        a, b, dt = _promote(x, values)
        if dt.kind == "c":
            raise RuntimeError("heaviside is not yet implemented for complex tensors.")
        xp = xp_of(a, b)
        return xp.asarray(xp.where(a == 0, b, a > 0), dtype=dt)

    _node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def heaviside(input, values, *, out=None):
    if not isinstance(values, Tensor):
        raise TypeError(
            "heaviside(): argument 'values' (position 2) must be Tensor, not "
            f"{type(values).__name__}"
        )
    return _out(Heaviside.apply(input, values), out)


_FLOAT32 = np.dtype(np.float32)


class _AddC(Function):
    """input + value * tensor1 * tensor2 (or / tensor2), with value cast to the result
    dtype first, as PyTorch does (so value=0.5 on integer tensors adds 0)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, t1, t2, value, divide):
        ctx.value = value
        ctx.save_for_backward(t1, t2)
        dt = result_np(x, t1, t2)
        if divide and t1.dtype.kind in "iub" and t2.dtype.kind in "iub":
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future  "
                "release addcdiv will perform a true division of tensor1 and tensor2. The "
                "historic addcdiv behavior can be implemented as (input + value * "
                "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
                "behavior is just the latter implementation: (input + value * tensor1 / "
                "tensor2), for all dtypes."
            )
        if dt.kind == "b":
            raise NotImplementedError('"addcmul_cpu_out" not implemented for \'Bool\'')
        value = ctx.value = kernel_scalar(value, dt, opmath=True)  # truncated for integers
        # 16-bit floats compute in float32 (torch's opmath), rounded once at the end
        work = _FLOAT32 if dt.itemsize == 2 and dt.kind in "fV" else dt
        base = x.astype(work, copy=False)
        a, b = t1.astype(work, copy=False), t2.astype(work, copy=False)
        scale = work.type(value)
        result = base + scale * a / b if divide else base + scale * a * b
        return result if work is dt else result.astype(dt)

    @staticmethod
    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        value = ctx.value
        needs = ctx.needs_input_grad
        if grad._data.dtype.kind == "c":  # holomorphic in t1, t2: conjugated factors
            t1, t2 = t1.conj_physical(), t2.conj_physical()
            value = value.conjugate() if type(value) is complex else value
        grad_x = grad if needs[0] else None
        if ctx.divide:
            grad_t1 = grad * value / t2 if needs[1] else None
            grad_t2 = -grad * value * t1 / (t2 * t2) if needs[2] else None
        else:
            grad_t1 = grad * t2 * value if needs[1] else None
            grad_t2 = grad * t1 * value if needs[2] else None
        return grad_x, grad_t1, grad_t2, None, None


class Addcmul(_AddC):
    divide = False


class Addcdiv(_AddC):
    divide = True


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2."""
    python_number(value)  # an int past 64 bits fails first, as PyTorch's argument parser
    return _out(Addcmul.apply(input, tensor1, tensor2, value, False), out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused)."""
    python_number(value)
    return _out(Addcdiv.apply(input, tensor1, tensor2, value, True), out)


__all__ = [
    "atan2", "arctan2", "hypot", "fmod", "remainder", "floor_divide", "true_divide",
    "float_power", "xlogy", "logaddexp", "logaddexp2", "copysign", "heaviside", "addcmul",
    "addcdiv",
]

_OUT_OF_PLACE = {name: globals()[name] for name in __all__}

# In-place variants; ops whose backward reads no input skip the clone of self.
_NO_SAVE = {"floor_divide", "heaviside", "float_power", "addcmul", "addcdiv"}

TENSOR_METHODS = {
    **_OUT_OF_PLACE,
    **{name + "_": inplace_of(fn, saves_self=name not in _NO_SAVE)
       for name, fn in _OUT_OF_PLACE.items() if name != "float_power"},
    "float_power_": _float_power_,
    "__mod__": _slot(remainder), "__rmod__": _slot(remainder, reflected=True),
    "__imod__": inplace_of(remainder),
    "__floordiv__": _slot(floor_divide), "__rfloordiv__": _slot(floor_divide, reflected=True),
    "__ifloordiv__": inplace_of(floor_divide, saves_self=False),
}
