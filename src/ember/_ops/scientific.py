"""ops family: scientific. Numerical-analysis functions PyTorch users reach for:
finite differences and quadrature (gradient, trapezoid, cumulative_trapezoid), statistics
(cov, corrcoef, histogram), number theory and float bits (gcd, lcm, frexp, ldexp,
nextafter), special functions (i0, igamma, igammac, mvlgamma, logcumsumexp) and a few
tensor utilities (vander, dist, renorm, isin, index_reduce, map_, apply_).

Differentiable ones are compositions of existing differentiable ops, except
logcumsumexp and the special functions, which are Functions here with backward formulas
written in Tensor ops (so create_graph works). The special-function kernels themselves
(NumPy, float64) live in ``_special_kernels``.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .._backend import get_default_dtype
from ..autograd.function import Function
from . import _special_kernels as _kernels
from . import creation as _creation
from . import shape_copy as _shape_copy
from ._histogram import histogram, histogramdd
from ._select import RETURN_TYPES, _return_type
from ._util import Tensor, _make, float_np, type_name, wrap_dim, xp_of

__all__ = [
    "corrcoef", "cov", "cumulative_trapezoid", "dist", "frexp", "gcd", "gcd_", "gradient",
    "histogram", "histogramdd", "i0", "i0_", "igamma", "igammac", "index_reduce", "isin",
    "lcm", "lcm_", "ldexp", "ldexp_", "logcumsumexp", "mvlgamma", "nextafter", "renorm",
    "trapezoid", "trapz", "vander",
]

for _name, _fields in [("frexp", ("mantissa", "exponent")), ("histogram", ("hist", "bin_edges")),
                       ("histogramdd", ("hist", "bin_edges"))]:
    RETURN_TYPES.setdefault(_name, _return_type(_name, _fields))


def _as_tensor(value, like):
    if isinstance(value, Tensor):
        return value
    return _creation.tensor(value, device=like.device)


# -- finite differences and quadrature ---------------------------------------------------------


def _slice(tensor, dim, start, stop):
    key = [slice(None)] * tensor.dim()
    key[dim] = slice(start, stop)
    return tensor[tuple(key)]


def _along(values, dim, ndim):
    """A 1-D tensor shaped to broadcast along ``dim`` of an ``ndim``-d tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return values.reshape(shape)


def _gradient_one(f, dim, spacing, edge_order):
    """np.gradient's second-order interior differences and first- or second-order edges,
    for a uniform step (a number) or coordinates (a 1-D tensor)."""
    n = f.shape[dim]
    if n < edge_order + 1:
        raise RuntimeError(
            "torch.gradient expected each dimension size to be at least edge_order+1")
    ndim = f.dim()
    if not isinstance(spacing, Tensor):
        h = spacing
        interior = (_slice(f, dim, 2, None) - _slice(f, dim, 0, -2)) / (2 * h)
        if edge_order == 1:
            first = (_slice(f, dim, 1, 2) - _slice(f, dim, 0, 1)) / h
            last = (_slice(f, dim, n - 1, n) - _slice(f, dim, n - 2, n - 1)) / h
        else:
            first = (-1.5 * _slice(f, dim, 0, 1) + 2 * _slice(f, dim, 1, 2)
                     - 0.5 * _slice(f, dim, 2, 3)) / h
            last = (0.5 * _slice(f, dim, n - 3, n - 2) - 2 * _slice(f, dim, n - 2, n - 1)
                    + 1.5 * _slice(f, dim, n - 1, n)) / h
        return _shape_copy.cat([first, interior, last], dim)
    dx = spacing[1:] - spacing[:-1]
    h1, h2 = dx[:-1], dx[1:]
    a = _along(-h2 / (h1 * (h1 + h2)), dim, ndim)
    b = _along((h2 - h1) / (h1 * h2), dim, ndim)
    c = _along(h1 / (h2 * (h1 + h2)), dim, ndim)
    interior = a * _slice(f, dim, 0, -2) + b * _slice(f, dim, 1, -1) + c * _slice(f, dim, 2, None)
    if edge_order == 1:
        first = (_slice(f, dim, 1, 2) - _slice(f, dim, 0, 1)) / dx[0]
        last = (_slice(f, dim, n - 1, n) - _slice(f, dim, n - 2, n - 1)) / dx[-1]
    else:
        d1, d2 = dx[0], dx[1]
        first = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * _slice(f, dim, 0, 1)
                 + (d1 + d2) / (d1 * d2) * _slice(f, dim, 1, 2)
                 - d1 / (d2 * (d1 + d2)) * _slice(f, dim, 2, 3))
        d1, d2 = dx[-2], dx[-1]
        last = (d2 / (d1 * (d1 + d2)) * _slice(f, dim, n - 3, n - 2)
                - (d2 + d1) / (d1 * d2) * _slice(f, dim, n - 2, n - 1)
                + (2 * d2 + d1) / (d2 * (d1 + d2)) * _slice(f, dim, n - 1, n))
    return _shape_copy.cat([first, interior, last], dim)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Estimated derivatives of ``input`` along each of ``dim`` (all dims by default) by
    central differences; ``spacing`` is one step, a step per dim, or coordinates per dim.
    Returns a tuple, one tensor per dim."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(range(input.dim()))
    elif isinstance(dim, int):
        dims = [dim]
    else:
        dims = list(dim)
    dims = [wrap_dim(d, input.dim()) for d in dims]
    if isinstance(spacing, (int, float)):
        spacings = [spacing] * len(dims)
    else:
        spacings = list(spacing)
        if len(spacings) == 1 and len(dims) > 1:
            spacings = spacings * len(dims)
        if len(spacings) != len(dims):
            if dim is None:
                raise RuntimeError(
                    f"torch.gradient expected spacing to be unspecified, a scalar, or a list of "
                    f"length equal to 'self.dim() = {input.dim()}', since dim argument was not "
                    f"given, but got a list of length {len(spacings)}")
            raise RuntimeError(
                f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing "
                f"and dim arguments to have the same length, but got a spacing argument of "
                f"length {len(spacings)} and a dim argument of length {len(dims)}.")
    f = input if input.is_floating_point() or input.is_complex() else \
        input.to(get_default_dtype())
    out = []
    for d, h in zip(dims, spacings):
        if isinstance(h, Tensor) and h.dim() != 1:
            raise RuntimeError(
                f"torch.gradient expected each element of spacing to have one dimension, but "
                f"got an element with {h.dim()} dimensions!")
        out.append(_gradient_one(f, d, h, edge_order))
    return tuple(out)


def _trapezoid_terms(y, x, dx, dim):
    dim = wrap_dim(dim, y.dim())
    n = y.shape[dim]
    pairs = _slice(y, dim, 1, None) + _slice(y, dim, 0, n - 1 if n else 0)
    if x is not None:
        if x.dim() == 1 and x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        if x.dim() == 1:
            steps = _along(x[1:] - x[:-1], dim, y.dim())
        else:
            steps = _slice(x, dim, 1, None) - _slice(x, dim, 0, -1)
        return pairs * steps / 2, dim
    return pairs * (dx / 2), dim


def _as_float(y):
    return y if y.is_floating_point() or y.is_complex() else y.to(get_default_dtype())


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along ``dim``, with sample points ``x`` or a uniform ``dx``."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments")
    if isinstance(x, (int, float)):
        x, dx = None, x
    terms, dim = _trapezoid_terms(_as_float(y) if x is None else y, x,
                                  1 if dx is None else dx, dim)
    return _as_float(terms.sum(dim))


def trapz(y, x=None, *, dx=None, dim=-1):
    """The older spelling of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral along ``dim`` (one element shorter)."""
    if isinstance(x, (int, float)):
        x, dx = None, x
    terms, dim = _trapezoid_terms(_as_float(y) if x is None else y, x,
                                  1 if dx is None else dx, dim)
    return _as_float(terms.cumsum(dim))


# -- statistics --------------------------------------------------------------------------------


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) of a 2-D input over its columns (observations),
    with optional integer frequency and float observation weights."""
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                         f"input with {input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    x = _as_float(x)
    observations = x.shape[1]
    weights = None
    if fweights is not None:
        weights = fweights
    if aweights is not None:
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        total = observations
        mean = x.mean(1, keepdim=True)
        norm = total - correction
    else:
        weights = weights.to(x.dtype)
        total = weights.sum()
        mean = (x * weights).sum(1, keepdim=True) / total
        if correction == 0:
            norm = total
        elif aweights is None:
            norm = total - correction
        else:
            norm = total - correction * (weights * aweights).sum() / total
    if (norm if isinstance(norm, (int, float)) else norm.item()) <= 0:
        import warnings

        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = 0.0  # PyTorch clamps the divisor to 0: inf, or NaN for 0/0
    centered = x - mean
    weighted = centered if weights is None else centered * weights
    out = weighted.matmul(centered.transpose(0, 1).conj()) / norm
    return out.squeeze() if input.dim() < 2 or x.shape[0] == 1 else out


def corrcoef(input):
    """Pearson correlation coefficients of the rows, clipped to [-1, 1]."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal()
    stddev = d.sqrt()
    c = c / stddev.unsqueeze(1)
    c = c / stddev.unsqueeze(0)
    return c.clamp(-1, 1)


# -- float bits and integers -------------------------------------------------------------------


def frexp(input):
    """``input = mantissa * 2 ** exponent`` with |mantissa| in [0.5, 1): ``(mantissa,
    exponent)``, the exponent as int32. The mantissa's gradient is ``grad / 2**exponent``."""
    if not input.is_floating_point():
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    xp = xp_of(input._data)
    _, exponent = xp.frexp(input._data)
    exponent = _make(exponent.astype(np.int32))
    scale = _make(xp.ldexp(xp.ones_like(input._data), -exponent._data))
    mantissa = input * scale
    return RETURN_TYPES["frexp"](mantissa, exponent)


def ldexp(input, other):
    """``input * 2 ** other``, in a float dtype."""
    if not isinstance(other, Tensor):
        raise TypeError(f"ldexp(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    return input * (2.0 ** other.to(_float_dtype_for(input, other)))


def _float_dtype_for(input, other):
    from .._backend import from_numpy_dtype

    if input.is_floating_point() or input.is_complex():
        return input.dtype
    if other.is_floating_point():
        return other.dtype
    return from_numpy_dtype(float_np(input._data.dtype))


def ldexp_(input, other):
    other = _as_tensor(other, input)
    return input.mul_(2.0 ** other.to(_float_dtype_for(input, other)))


def nextafter(input, other):
    """The next representable float after ``input`` towards ``other`` (no gradient)."""
    from .. import result_type

    other = _as_tensor(other, input)
    dtype = result_type(input, other).np
    return _make(xp_of(input._data).nextafter(input._data.astype(dtype),
                                              other._data.astype(dtype)))


def _integer_binary(name, ufunc):
    kernel = f"{name}_cpu"

    def op(input, other):
        other = _as_tensor(other, input)
        for operand in (input, other):
            if operand._data.dtype.kind not in "iub":
                raise NotImplementedError(
                    f"\"{kernel}\" not implemented for '{type_name(operand._data.dtype)}'")
        from .. import result_type

        dtype = result_type(input, other)
        return _make(ufunc(input._data, other._data).astype(dtype.np))

    op.__name__ = name
    return op


gcd = _integer_binary("gcd", lambda a, b: xp_of(a).gcd(a, b))
lcm = _integer_binary("lcm", lambda a, b: xp_of(a).lcm(a, b))
gcd.__doc__ = "Elementwise greatest common divisor of integer tensors (non-negative)."
lcm.__doc__ = "Elementwise least common multiple of integer tensors (non-negative)."


def gcd_(input, other):
    return input.copy_(gcd(input, other))


def lcm_(input, other):
    return input.copy_(lcm(input, other))


# -- special functions -------------------------------------------------------------------------


def _float_input(x):
    return x if x.dtype.kind in "fc" else x.astype(float_np(x.dtype))


class I0(Function):
    """Modified Bessel function of the first kind, order 0; d/dx i0 = i1."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        return _kernels.i0(xp_of(x), x).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        from .. import special

        return grad * special.i1(x)


def i0(input, *, out=None):
    from ._select import write_out
    from ._util import type_name

    if input._data.dtype.kind == "c":  # PyTorch's kernel has no complex case
        raise NotImplementedError(
            f'"i0_vml_cpu" not implemented for \'{type_name(input._data.dtype)}\'')
    return write_out(I0.apply(input), out, "i0")


def i0_(input):
    return input.copy_(i0(input))


class _IncompleteGamma(Function):
    """The regularized incomplete gammas: derivative only in ``x`` (PyTorch has none in
    ``a``): ``+-exp(-x) x^(a-1) / Gamma(a)``."""

    _array_io = True
    upper = False

    @classmethod
    def forward(cls, ctx, a, x):
        dtype = np.result_type(_float_input(a).dtype, _float_input(x).dtype)
        xp = xp_of(a, x)
        a, x = xp.broadcast_arrays(a, x)
        ctx.save_for_backward(a.astype(dtype), x.astype(dtype))
        kernel = _kernels.igammac if cls.upper else _kernels.igamma
        return kernel(xp, a, x).astype(dtype)

    @classmethod
    def backward(cls, ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        density = (-x + (a - 1) * x.log() - a.lgamma()).exp()
        return None, grad * (-density if cls.upper else density)


class IGamma(_IncompleteGamma):
    _node_name = "IgammaBackward0"


class IGammac(_IncompleteGamma):
    _node_name = "IgammacBackward0"
    upper = True


def _gamma_operands(name, input, other):
    from .. import result_type

    other = _as_tensor(other, input)
    dtype = result_type(input, other)
    if not dtype.is_floating_point:
        raise NotImplementedError(
            f"\"{name}_cpu\" not implemented for '{type_name(dtype.np)}'")
    return input, other


def igamma(input, other):
    """The regularized lower incomplete gamma ``P(input, other)``."""
    return IGamma.apply(*_gamma_operands("igamma", input, other))


def igammac(input, other):
    """The regularized upper incomplete gamma ``Q(input, other) = 1 - P``."""
    return IGammac.apply(*_gamma_operands("igammac", input, other))


def mvlgamma(input, p):
    """The multivariate log-gamma of dimension ``p``."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _as_float(input)
    offsets = _creation.arange(p, dtype=x.dtype, device=x.device) * -0.5
    terms = (x.unsqueeze(-1) + offsets).lgamma()
    return terms.sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


class LogCumSumExp(Function):
    """``log(cumsum(exp(x)))`` without overflow (``logaddexp.accumulate``). Backward, in
    log space so it neither overflows: ``grad_i = sum_{j>=i} g_j exp(x_i - out_j)``, split
    into the positive and negative parts of ``g``, each a reversed logcumsumexp (with
    create_graph, the pairwise form, which is twice differentiable)."""

    _array_io = True
    _node_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        if x.dtype.kind not in "fc":
            raise NotImplementedError(
                f"\"logcumsumexp_out_cpu\" not implemented for '{type_name(x.dtype)}'")
        xp = xp_of(x)
        if not x.ndim:
            out = x.copy()
        elif xp is np:
            out = np.logaddexp.accumulate(x, axis=dim)
        else:  # CuPy's ufuncs have no accumulate: one host round trip
            out = xp.asarray(np.logaddexp.accumulate(xp.asnumpy(x), axis=dim))
        ctx.dim = dim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        if x.dim() == 0:
            return grad, None
        from .. import is_grad_enabled, where

        if is_grad_enabled():  # create_graph: the pairwise form, smooth to differentiate
            return _logcumsumexp_grad_pairwise(x, out, grad, dim), None

        def reversed_lcse(values):
            return logcumsumexp(values.flip(dim), dim).flip(dim)

        neg_inf = float("-inf")
        log_pos = where(grad > 0, grad.abs().log(), neg_inf) - out
        log_neg = where(grad < 0, grad.abs().log(), neg_inf) - out
        return (reversed_lcse(log_pos) + x).exp() - (reversed_lcse(log_neg) + x).exp(), None


def _logcumsumexp_grad_pairwise(x, out, grad, dim):
    """``grad_i = sum_{j>=i} g_j exp(x_i - out_j)`` as an (n, n) product: every kept
    exponent is <= 0 (out_j >= x_i for j >= i), so nothing overflows, and every op is
    differentiable (no -inf arithmetic), which the log-space form is not twice."""
    from .. import where

    n = x.shape[dim]
    xm, om, gm = x.movedim(dim, -1), out.movedim(dim, -1), grad.movedim(dim, -1)
    keep = _creation.ones(n, n, dtype=None, device=x.device).triu().bool()
    exponent = where(keep, xm.unsqueeze(-1) - om.unsqueeze(-2), float("-inf"))
    return (exponent.exp() * gm.unsqueeze(-2)).sum(-1).movedim(-1, dim)


def logcumsumexp(input, dim):
    return LogCumSumExp.apply(input, wrap_dim(dim, input.dim()))


# -- tensor utilities --------------------------------------------------------------------------


def vander(x, N=None, increasing=False):
    """Columns of powers of the 1-D ``x``: ``x**(N-1), ..., x, 1`` (or increasing)."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    columns = x.shape[0] if N is None else N
    if columns < 0:
        raise RuntimeError("N must be non-negative.")
    source = x if x._data.dtype.kind in "fc" else x.long()
    if columns == 0:
        return _creation.empty(x.shape[0], 0, dtype=source.dtype, device=x.device)
    ones = _creation.ones(x.shape[0], 1, dtype=source.dtype, device=x.device)
    powers = _shape_copy.cat([ones, source.unsqueeze(1).expand(-1, columns - 1)], 1)
    out = powers.cumprod(1)
    return out if increasing else out.flip(1)


def dist(input, other, p=2):
    """The p-norm of ``input - other`` (broadcast)."""
    from ..linalg import vector_norm

    return vector_norm(input - other, p)


def renorm(input, p, dim, maxnorm):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` rescaled to that norm."""
    from .. import where
    from ..linalg import vector_norm

    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dim() < 2:
        raise RuntimeError(
            f"renorm: input needs at least 2 dimensions, got {input.dim()} dimensions")
    dim = wrap_dim(dim, input.dim())
    others = tuple(d for d in builtins.range(input.dim()) if d != dim)
    norms = vector_norm(input, p, others, keepdim=True)
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of ``elements`` occurs in ``test_elements``."""
    if not isinstance(elements, Tensor):
        test = test_elements._data
        found = xp_of(test).isin(xp_of(test).asarray(elements), test, invert=invert)
        return _make(xp_of(test).asarray(found))
    xp = xp_of(elements._data)
    # a number as the test: CuPy's isin wants an array there
    test = test_elements._data if isinstance(test_elements, Tensor) else xp.asarray(
        test_elements)
    return _make(xp.isin(elements._data, test, invert=invert))


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """Reduce (prod, mean, amax, amin) the slices of ``source`` into the slices of
    ``input`` that ``index`` names along ``dim``: scatter_reduce with the index expanded."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}.")
    dim = wrap_dim(dim, input.dim())
    if index.dim() > 1:
        raise IndexError(
            f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.dim()} "
            f"with type: {type_name(index._data.dtype)} and size: {list(index.shape)}")
    if source.dim() and source.shape[dim] != index.numel():
        raise RuntimeError(
            f"index_reduce_(): Number of indices ({index.numel()}) should be equal to "
            f"source.size(dim): ({source.shape[dim]}), for dim: {dim}")
    shape = [1] * source.dim()
    if source.dim():
        shape[dim] = -1
    expanded = index.reshape(shape).expand(source.shape)
    return input.scatter_reduce(dim, expanded, source, reduce, include_self=include_self)


def index_reduce_(input, dim, index, source, reduce, *, include_self=True):
    return input.copy_(index_reduce(input, dim, index, source, reduce,
                                    include_self=include_self))


def _map_(self, tensor, callable):
    """``self[i] = callable(self[i], tensor[i])`` for every element (``tensor``
    broadcast to ``self``); CPU tensors only, as PyTorch's."""
    if self.device.type != "cpu":
        raise TypeError("map_ is only implemented on CPU tensors")
    other = np.broadcast_to(tensor._data, self._data.shape)
    flat = self._data.reshape(-1) if self._data.flags.c_contiguous else None
    values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(),
                                             other.reshape(-1).tolist())]
    result = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    if flat is not None:
        flat[...] = result.reshape(-1)
    else:
        self._data[...] = result
    self._vc[0] += 1
    return self


def _apply_(self, callable):
    """``self[i] = callable(self[i])`` for every element; CPU tensors only, as PyTorch's."""
    if self.device.type != "cpu":
        raise TypeError("apply_ is only implemented on CPU tensors")
    values = [callable(v) for v in self._data.reshape(-1).tolist()]
    self._data[...] = np.asarray(values, dtype=self._data.dtype).reshape(self._data.shape)
    self._vc[0] += 1
    return self


def _igamma_(self, other):
    return self.copy_(igamma(self, other))


def _igammac_(self, other):
    return self.copy_(igammac(self, other))


def _mvlgamma_(self, p):
    return self.copy_(mvlgamma(self, p))


def _renorm_(self, p, dim, maxnorm):
    return self.copy_(renorm(self, p, dim, maxnorm))


def _nextafter_(self, other):
    return self.copy_(nextafter(self, other))


TENSOR_METHODS: dict = {
    "cov": cov, "corrcoef": corrcoef, "frexp": frexp, "ldexp": ldexp, "ldexp_": ldexp_,
    "nextafter": nextafter, "nextafter_": _nextafter_, "gcd": gcd, "gcd_": gcd_, "lcm": lcm,
    "lcm_": lcm_, "i0": i0, "i0_": i0_, "igamma": igamma, "igamma_": _igamma_,
    "igammac": igammac, "igammac_": _igammac_, "mvlgamma": mvlgamma, "mvlgamma_": _mvlgamma_,
    "logcumsumexp": logcumsumexp, "histogram": histogram, "dist": dist, "renorm": renorm,
    "renorm_": _renorm_, "index_reduce": index_reduce, "index_reduce_": index_reduce_,
    "map_": _map_, "apply_": _apply_,
}
