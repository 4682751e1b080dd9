"""Helpers every tensor factory shares: ``out=``, size parsing, placing arrays on a
device and wrapping them as leaf tensors."""

from __future__ import annotations

import functools

import numpy as np

from .._backend import get_default_device, get_default_dtype, module_for, to_device, to_dtype
from .._backend.meta import to_meta
from ._util import Tensor, _make, type_name


# use_deterministic_algorithms's settings. ember._misc writes them; they live in the ops
# layer so the empty factories can read them without importing upward.
DETERMINISTIC = {"enabled": False, "warn_only": False, "fill_uninitialized_memory": True}


def fill_uninitialized(array):
    """``torch.utils.deterministic.fill_uninitialized_memory``: while deterministic
    algorithms are on, the memory empty/empty_like/new_empty/empty_strided/resize_ hand
    out is written as PyTorch writes it, NaN for floating and complex dtypes, the largest
    value for integers, True for bool, so a read of it shows. Otherwise it keeps the
    zeros ember always allocates. Returns ``array``, filled in place."""
    if not (DETERMINISTIC["enabled"] and DETERMINISTIC["fill_uninitialized_memory"]):
        return array
    from .._backend.float8 import convert

    kind = array.dtype.kind
    if kind == "b":
        array[...] = True
    elif kind in "iu":
        array[...] = np.iinfo(array.dtype).max
    else:  # f, c, and the V-coded float8 / bfloat16 / complex32
        array[...] = convert(np.array(np.nan, np.float32), array.dtype)
    return array

def supports_out(fn):
    """``out=``: the result's dtype defaults to ``out``'s, and is written into ``out``
    (resized when the shape differs, as PyTorch resizes out tensors)."""

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if out.is_meta and kwargs.get("device") is None and "device" in _params(fn):
            kwargs["device"] = "meta"  # into a meta out: a meta result, no sample drawn
        if kwargs.get("dtype") is None and "dtype" in _params(fn):
            kwargs["dtype"] = out.dtype
        elif kwargs.get("dtype") is not None and to_dtype(kwargs["dtype"]) != out.dtype:
            raise RuntimeError(
                f"dtype {type_name(to_dtype(kwargs['dtype']).np)} does not match dtype of out "
                f"parameter ({type_name(out._data.dtype)})"
            )
        result = fn(*args, **kwargs)
        source = result._data.astype(out._data.dtype, copy=False)
        if out._data.shape == source.shape:
            out._data[...] = source
        else:
            out._data = source.copy() if source is result._data else source
        out._vc[0] += 1
        return out

    return wrapper


def _params(fn):
    import inspect

    return inspect.signature(fn).parameters


class _OnDevice:
    """CuPy with each call made while device ``index`` is current: CuPy allocates on the
    current device, and ``zeros(..., device='cuda:1')`` must not land on cuda:0."""

    __slots__ = ("_xp", "_index")

    def __init__(self, xp, index):
        self._xp, self._index = xp, index

    def __getattr__(self, name):
        attr = getattr(self._xp, name)
        if not callable(attr) or isinstance(attr, type):
            return attr

        def on_device(*args, **kwargs):
            with self._xp.cuda.Device(self._index):
                return attr(*args, **kwargs)

        return on_device


def _module_for_device(dev):
    xp = module_for(dev)
    if xp is np or dev.index is None:
        return xp
    return _OnDevice(xp, dev.index)


def _module_and_device(device):
    dev = to_device(device) if device is not None else get_default_device()
    return _module_for_device(dev), dev


def _on_device(array, dev):
    """Move a NumPy array to ``dev`` (a no-op for cpu). Onto meta only the shape, dtype
    and layout travel; off meta, ``get`` raises PyTorch's 'no data' error."""
    if dev is None or dev.type == "cpu":
        if type(array) is not np.ndarray and hasattr(array, "get"):
            return array.get()
        return array
    if dev.type == "meta":
        return to_meta(array)
    xp = module_for(dev)
    with xp.cuda.Device(dev.index):  # None: the current device
        return xp.asarray(array)


def _finish(array, requires_grad):
    t = _make(array)
    if requires_grad:
        if array.dtype.kind not in "fcV":  # factories word it differently from requires_grad_
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        t._requires_grad = True
    return t


def _np_dtype(dtype):
    """The NumPy dtype for a factory's ``dtype=`` argument (None: the default dtype)."""
    return to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np


def sizes_given(sizes, size, name):
    """``f(*sizes, size=None)``'s size, refusing a call with neither, as PyTorch's parser:
    ``zeros()`` lacks its required ``size``; ``rand()`` matches none of its overloads."""
    if size is not None:
        return (size,)
    if not sizes:
        if name in ("rand", "randn"):
            raise TypeError(f"{name}() received an invalid combination of arguments - got (), "
                            "but expected one of:\n * (tuple of ints size, *, ...)")
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    return sizes


def _size(size, name="empty"):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(torch.Size(...))``;
    ``name`` is the factory PyTorch's argument-parsing errors name."""
    one = len(size) == 1
    if one and isinstance(size[0], (tuple, list)):
        size, one = tuple(size[0]), False
    out = []
    for position, s in enumerate(size, 1):
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, (int, np.integer)):
            kind = type(s).__name__
            if one:
                raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, "
                                f"not {kind}")
            raise TypeError(f"{name}(): argument 'size' failed to unpack the object at pos "
                            f'{position} with error "type must be tuple of ints,but got {kind}"')
        if s < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {s}: {list(size)}"
            )
        out.append(int(s))
    return tuple(out)

