"""In-place samplers (``uniform_``, ``normal_``, ``bernoulli_``, ...): Tensor methods that
fill ``self`` from a generator under the usual in-place rules (leaf check, version bump;
under autograd the overwritten history gets a zero gradient, as PyTorch defines it)."""

from __future__ import annotations

import numpy as np

from .._backend.float8 import FLOAT8_NP
from ..autograd.function import Function
from ._inplace import apply_inplace, needs_graph
from ._util import Tensor, inplace_check, type_name, xp_of
from .creation import _on_device
from .random import (
    _INT64, _check_probability, _device_bernoulli, _host, _int_bounds_check, _integers, _normal,
    _rng, _uniform,
)


class _SampleInto(Function):
    """An in-place sampler under autograd: the overwritten history gets a zero gradient
    (PyTorch's UniformBackward0, NormalBackward0, ...)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, values, node_name):
        ctx.node_name = node_name
        out = values.astype(x.dtype, copy=True)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, None, None

    def name(self):
        return self.node_name


def _write(self, values, node_name):
    values = _on_device(values, self.device)
    if needs_graph(self):
        return apply_inplace(self, _SampleInto.apply(self, values, node_name))
    inplace_check(self)
    self._data[...] = values
    self._vc[0] += 1
    return self


def _float_self(self, op_name):
    np_dtype = self._data.dtype
    if np_dtype.kind not in "fcV" or np_dtype in FLOAT8_NP:
        raise NotImplementedError(f'"{op_name}" not implemented for \'{type_name(np_dtype)}\'')
    return np_dtype


_CPP_NAMES = {
    "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
    "uint8": "unsigned char", "bool": "bool", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>",
}


def _continuous_self(self, distribution, shown_name):
    """Exponential/Cauchy reject non-float dtypes with PyTorch's own wording."""
    np_dtype = self._data.dtype
    if np_dtype.kind not in "fV":
        raise RuntimeError(
            f"{distribution} distribution is a continuous probability distribution. dtype "
            f"must be a floating point but you specified {shown_name}"
        )
    return np_dtype


def _real_float_self(self, op_name):
    np_dtype = self._data.dtype
    if np_dtype.kind not in "fV" or np_dtype in FLOAT8_NP:
        raise NotImplementedError(f'"{op_name}" not implemented for \'{type_name(np_dtype)}\'')
    return np_dtype


def _check_in_range(from_, to, np_dtype):
    """uniform_'s bounds must be finite values of the tensor's dtype (PyTorch's check)."""
    from .._grad_assign import _CPP_TYPE_NAMES

    info = np.finfo(np_dtype) if np_dtype.kind == "f" else np.finfo(np.float32)
    for name, value in (("from", from_), ("to", to)):
        if not float(info.min) <= value <= float(info.max):
            c_name = _CPP_TYPE_NAMES.get(np_dtype.name, "c10::BFloat16")
            raise RuntimeError(f"{name} is out of bounds for {c_name}")


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs) -> Tensor:
    from_ = kwargs.pop("from", from_)
    np_dtype = _float_self(self, "check_uniform_bounds")
    _check_in_range(from_, to, np_dtype)
    if from_ > to:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={from_:g} > to={to:g}"
        )
    values = _uniform(_rng(generator), self._data.shape, np_dtype, from_, to)
    return _write(self, values, "UniformBackward0")


def normal_(self, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    np_dtype = _float_self(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    values = _normal(_rng(generator), self._data.shape, np_dtype, mean, std)
    return _write(self, values, "NormalBackward0")


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    rng = _rng(generator)
    if isinstance(p, Tensor):
        probs = _host(p._data).astype(np.float64)
        _check_probability(probs)
        probs = np.broadcast_to(probs, self._data.shape)
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        probs = p
        if self.device.type == "cuda":  # drawn on the device (see ember._ops.random)
            sample = _device_bernoulli(xp_of(self._data), self._data.shape,
                                       self._data.dtype, probs, rng)
            return _write(self, sample, "BernoulliBackward2")
    sample = rng.random(self._data.shape) < probs
    return _write(self, sample.astype(self._data.dtype), "BernoulliBackward2")


def random_(self, *bounds, generator=None, **kwargs) -> Tensor:
    """Integers in [from, to); ``random_(to)`` is [0, to); ``random_()`` spans the dtype
    (for floats, the integers its mantissa represents exactly)."""
    if len(bounds) == 1:
        from_, to = 0, bounds[0]
    else:
        from_, to = bounds if bounds else (kwargs.get("from", 0), kwargs.get("to"))
    np_dtype = self._data.dtype
    if np_dtype.kind == "c":
        raise NotImplementedError(
            f'"random_kernel_cpu" not implemented for \'{type_name(np_dtype)}\''
        )
    if to is None:
        if np_dtype.kind == "b":
            to = 2
        elif np_dtype.kind in "iu":
            to = int(np.iinfo(np_dtype).max) + 1
        else:
            digits = {2: 11, 4: 24, 8: 53}[np_dtype.itemsize] if np_dtype.kind == "f" else 8
            to = 2 ** digits + 1
    _int_bounds_check(from_, to, np_dtype)
    values = _integers(_rng(generator), from_, to, self._data.shape, _INT64)
    return _write(self, values.astype(np_dtype), "RandomBackward2")


def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
    np_dtype = _continuous_self(self, "Exponential", type_name(self._data.dtype))
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    values = _rng(generator).standard_exponential(self._data.shape) / lambd
    return _write(self, values.astype(np_dtype), "ExponentialBackward0")


def geometric_(self, p, *, generator=None) -> Tensor:
    if self._data.dtype.kind in "bc":
        raise NotImplementedError(
            f'"geometric_cpu" not implemented for \'{type_name(self._data.dtype)}\''
        )
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    values = _rng(generator).geometric(p, size=self._data.shape)
    return _write(self, values.astype(self._data.dtype), "GeometricBackward0")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None) -> Tensor:
    np_dtype = _real_float_self(self, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    values = _rng(generator).lognormal(mean, std, size=self._data.shape)
    return _write(self, values.astype(np_dtype), "LogNormalBackward0")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
    np_dtype = _continuous_self(self, "Cauchy", _CPP_NAMES.get(str(self._data.dtype)))
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    values = median + sigma * _rng(generator).standard_cauchy(self._data.shape)
    return _write(self, values.astype(np_dtype), "CauchyBackward0")


