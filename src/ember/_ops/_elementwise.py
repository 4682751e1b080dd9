"""Helpers shared by the elementwise families (pointwise, unary, compare): ``out=``,
in-place variants, operator slots, operand checks, and silencing NumPy's float warnings.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._backend import autocast_state
from ..autograd.function import apply_binary
from ..autograd.function import trace_hook as _trace_hook
from ..autograd.grad_mode import _grad_enabled
from ._inplace import apply_inplace, check_cast, needs_graph
from ._util import Tensor, _make, inplace_check, promote_arrays

_SCALARS = (bool, int, float, complex)
_autocast = autocast_state.ACTIVE
_OPERANDS = (Tensor,) + _SCALARS

# NumPy warns on overflow/invalid/divide-by-zero (inf/nan results) where PyTorch is
# silent. A warnings filter scoped to these modules costs nothing on the common path,
# unlike np.errstate/np.seterr (several microseconds per call).
warnings.filterwarnings(
    "ignore", category=RuntimeWarning,
    module=r"ember\._ops\.(pointwise|unary|binary|compare|_special|_elementwise)",
)
def _arr(x):
    return x._data if isinstance(x, Tensor) else x



def _check_operand(name, other):
    """Tensor or Python number for ``name``'s second operand; TypeError otherwise."""
    if isinstance(other, _OPERANDS):
        return other
    if isinstance(other, np.generic):
        return other.item()
    raise TypeError(
        f"{name}() received an invalid combination of arguments - got "
        f"({type(other).__name__}), but expected one of: (Tensor other), (Number other)"
    )


def _out(result, out):
    """Honour ``out=``: write the result into ``out`` (resized as PyTorch does)."""
    if out is None:
        return result
    if result._requires_grad:
        node = result.grad_fn.name() if result.grad_fn is not None else "op"
        name = node[:node.index("Backward")].lower() if "Backward" in node else node
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    if out._data.shape != result._data.shape:
        check_cast(result._data.dtype, out._data.dtype)
        out._data = result._data.astype(out._data.dtype, copy=True)
        out._vc[0] += 1
        return out
    with _no_grad():
        apply_inplace(out, result.detach())
    return out


def _no_grad():
    from ..autograd.grad_mode import no_grad

    return no_grad()


def inplace_of(fn, saves_self=True):
    """``self.op_(...)``: compute out of place, write back, adopt the history.

    When autograd records, an op that saves its input gets a clone of ``self`` (so the
    write does not clobber what backward reads, as PyTorch's saved original self).
    """

    def method(self, *args, **kwargs):
        if saves_self and needs_graph(self, *args, *kwargs.values()):
            from .creation import clone

            inplace_check(self)
            return apply_inplace(self, fn(clone(self), *args, **kwargs))
        return apply_inplace(self, fn(self, *args, **kwargs))

    method.__name__ = fn.__name__ + "_"
    return method


def _slot(fn, reflected=False):
    """A plain function for an operator slot: NotImplemented for foreign operand types
    (so ``t == None`` is False and ``t + None`` raises Python's TypeError). ``fn`` may be
    a Function's ``apply`` (the hot arithmetic operators skip the public wrapper)."""

    def method(self, other):
        kind = type(other)
        if kind is Tensor or kind is float or kind is int:  # the common operands first
            return fn(other, self) if reflected else fn(self, other)
        if not isinstance(other, _OPERANDS):
            if isinstance(other, np.generic):
                other = other.item()
            else:
                return NotImplemented
        return fn(other, self) if reflected else fn(self, other)

    method.__name__ = "__" + getattr(fn, "__name__", "op") + "__"
    return method


def _binary_slot(cls, reflected=False):
    """``_slot`` for an arithmetic Function: calls ``apply_binary`` directly. A Function
    with ``_same_float_op`` (``operator.sub`` for Sub) is that NumPy operator on float
    arrays of one dtype with each other or with Python floats: when nothing records, the
    slot calls it on the arrays and skips the Function (ctx, forward, dtype checks)."""
    array_op = getattr(cls, "_same_float_op", None)

    def method(self, other):
        kind = type(other)
        if kind is Tensor:
            if array_op is not None and not (
                    (self._requires_grad or other._requires_grad) and _grad_enabled[0]):
                x = self._data
                y = other._data
                if (type(x) is _ndarray and x.dtype.char in _IEEE and type(y) is _ndarray
                        and y.dtype is x.dtype and _autocast[0] is None
                        and _trace_hook[0] is None):  # forward AD/ONNX see every op
                    try:
                        return _make(array_op(y, x) if reflected else array_op(x, y))
                    except ValueError:
                        pass  # a broadcast failure: apply_binary raises PyTorch's error
        elif kind is float:
            if array_op is not None and not (self._requires_grad and _grad_enabled[0]):
                x = self._data
                if (type(x) is _ndarray and x.dtype.char in _IEEE_NUMBER and _autocast[0] is None
                        and _trace_hook[0] is None):
                    return _make(array_op(other, x) if reflected else array_op(x, other))
        elif kind is not int and not isinstance(other, _OPERANDS):
            if isinstance(other, np.generic):
                other = other.item()
            else:
                return NotImplemented
        if reflected:
            return apply_binary(cls, other, self)
        return apply_binary(cls, self, other)

    method.__name__ = "__" + cls._op_name.lower() + "__"
    return method


_ndarray = np.ndarray
# NumPy's own float types (float16/32/64/longdouble): ml_dtypes' float8_e5m2 has kind "f"
# too, but PyTorch refuses most arithmetic on it, so the fast paths leave it to the ops
_IEEE = "efdg"
# with a Python number: half goes through the Function, where * and / compute in float32
# with the number unrounded as PyTorch does (see pointwise._reduced_number_op)
_IEEE_NUMBER = "fdg"


def _promote(x, y):
    """promote_arrays with a fast path for the common cases (same-dtype NumPy arrays, a
    float array with a Python number), which need no dtype computation; Python ints out
    of an integer dtype's range wrap around as in PyTorch (NumPy would raise), and
    numbers meeting bfloat16 become bfloat16 scalars."""
    tx, ty = type(x), type(y)
    if tx is _ndarray:
        if ty is _ndarray:
            if x.dtype == y.dtype:
                return x, y, x.dtype
        elif (ty is float or ty is int) and x.dtype.kind == "f":
            return x, y, x.dtype
    elif ty is _ndarray and (tx is float or tx is int) and y.dtype.kind == "f":
        return x, y, y.dtype
    x, y, dt = promote_arrays(x, y)
    if dt.kind in "iu":
        if type(y) is int:
            y = _wrap_int(y, dt)
        elif type(x) is int:
            x = _wrap_int(x, dt)
    elif dt.kind == "V" and dt.fields is None:  # (fields: complex32's pairs, not ml_dtypes)
        # bfloat16 (ml_dtypes) does not treat Python numbers as weak: NumPy would compute
        # bf16 * 0.5 in float32. A bfloat16 scalar keeps the result bfloat16.
        if not hasattr(y, "dtype"):
            y = dt.type(y)
        elif not hasattr(x, "dtype"):
            x = dt.type(x)
    return x, y, dt


_INT_RANGES = {}


def _wrap_int(value, dt):
    """A Python int as a scalar of integer dtype ``dt``, wrapped modulo 2**bits."""
    bounds = _INT_RANGES.get(dt)
    if bounds is None:
        info = np.iinfo(dt)
        bounds = _INT_RANGES[dt] = (int(info.min), int(info.max))
    if bounds[0] <= value <= bounds[1]:
        return value
    bits = dt.itemsize * 8
    return np.array(value % (1 << bits), dtype=np.uint64).astype(dt)[()]
