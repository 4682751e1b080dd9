"""``out=`` for ember.linalg: every function with an ``out`` parameter gets PyTorch's
behaviour from one wrapper instead of each body repeating it. The result is computed as
usual, then copied into ``out`` (a tensor, or a tuple for functions returning several),
which is resized; its dtype must equal the result's (integer results such as ranks may go
into any dtype they cast to safely), and out= refuses inputs that require grad."""

from __future__ import annotations

import functools
import inspect

from ._grad_assign import _CPP_TYPE_NAMES
from ._ops._select import write_out
from ._ops._util import type_name

# These check and fill out= themselves.
_HANDLES_OUT = frozenset({"ldl_factor", "ldl_factor_ex", "ldl_solve"})


def _cpp_name(tensor):
    name = str(tensor.dtype).split(".")[-1]
    return _CPP_TYPE_NAMES.get(name, name)


def _can_cast(source, wanted):
    """PyTorch's canCast: no float to integer, complex to real, or non-bool to bool."""
    order = "biufc"
    if source.kind == "V" or wanted.kind == "V":
        return source == wanted
    return order.index(source.kind) <= order.index(wanted.kind) and (
        source.kind == "b" or wanted.kind != "b")


def _check_dtypes(name, results, outs):
    """The dtype rule and message of each family, as PyTorch words them."""
    castable = _CASTABLE.get(name)
    for index, (value, target) in enumerate(zip(results, outs)):
        source, wanted = value._data.dtype, target._data.dtype
        if source == wanted:
            continue
        if castable is not None:
            if _can_cast(source, wanted):
                continue
            what = castable[min(index, len(castable) - 1)]
            raise RuntimeError(
                f"torch.linalg.{name}: Expected {what} to be safely castable from "
                f"{type_name(source)} dtype, but got {what} with dtype {type_name(wanted)}")
        if name in ("norm", "matrix_norm"):
            raise RuntimeError(f"linalg.{name} expected out tensor dtype {type_name(source)} "
                               f"but got: {type_name(wanted)}")
        raise RuntimeError(f"Expected out tensor to have dtype {_cpp_name(value)}, but got "
                           f"{_cpp_name(target)} instead")


# Functions whose out= takes any dtype the result casts to, and the name their error uses.
_CASTABLE = {"eig": ("eigenvalues", "eigenvectors"), "eigvals": ("eigenvalues",),
             "matrix_rank": ("result",)}


# The kernel PyTorch names when refusing out= with inputs that require grad (default
# linalg_<name>), and the composite functions that do not refuse.
_ATEN_NAMES = {
    "inv": "linalg_inv_ex", "det": "_linalg_det", "solve": "_linalg_solve_ex",
    "solve_ex": "_linalg_solve_ex", "cholesky": "linalg_cholesky_ex", "svd": "_linalg_svd",
    "svdvals": "_linalg_svd", "eigh": "_linalg_eigh", "eigvalsh": "_linalg_eigh",
    "slogdet": "_linalg_slogdet", "lu_factor": "linalg_lu_factor_ex", "multi_dot": "mm",
    "matrix_power": "matmul", "vecdot": "sum",
}
_COMPOSITE = frozenset({"norm", "matrix_norm", "cond", "eigvals", "matrix_rank", "tensorinv",
                        "tensorsolve"})


def _with_out(name, function):
    @functools.wraps(function)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return function(*args, **kwargs)
        tensors = [value for value in (*args, *kwargs.values()) if hasattr(value, "_data")]
        if name not in _COMPOSITE and any(tensor.requires_grad for tensor in tensors):
            raise RuntimeError(
                f"{_ATEN_NAMES.get(name, 'linalg_' + name)}(): functions with out=... "
                "arguments don't support automatic differentiation, but one of the arguments "
                "requires grad.")
        result = function(*args, **kwargs)
        if name in _COMPOSITE:  # PyTorch fills out= of these from a finished result
            result = type(result)(*(value.detach() for value in result)) if isinstance(
                result, tuple) else result.detach()
        several = isinstance(result, tuple)
        results, outs = (tuple(result), tuple(out)) if several else ((result,), (out,))
        if len(outs) != len(results):
            raise TypeError(f"linalg.{name}(): expected out to be a tuple of {len(results)} "
                            f"tensors, but got {len(outs)}")
        _check_dtypes(name, results, outs)
        return write_out(result, out, f"linalg_{name}")

    return wrapper


def wrap_out(namespace, names):
    """Replace each public function in ``namespace`` that takes ``out`` by its wrapper."""
    for name in names:
        function = namespace.get(name)
        if name in _HANDLES_OUT or not inspect.isfunction(function):
            continue
        if "out" in inspect.signature(function).parameters:
            namespace[name] = _with_out(name, function)
