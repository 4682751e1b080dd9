"""``ember.distributions.transforms``: invertible maps with log-Jacobians, PyTorch's
``torch.distributions.transforms``.

A ``Transform`` maps ``x`` (in ``domain``) to ``y`` (in ``codomain``); its ``inv`` maps
back and ``log_abs_det_jacobian(x, y)`` gives ``log |dy/dx|`` per event, which is what a
``TransformedDistribution`` subtracts from the base density. Every map is written with
differentiable ember ops, so gradients reach the parameters through any chain.

The structured transforms (softmax, stick-breaking, Cholesky factors, cat/stack) live in
``_structured_transforms`` and are re-exported here."""

from __future__ import annotations

import functools
import math
import operator
from numbers import Number

import ember
import ember.nn.functional as F

from . import constraints
from .utils import _sum_rightmost, broadcast_all, lazy_property

__all__ = [
    "AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform",
    "CorrCholeskyTransform", "CumulativeDistributionTransform", "ExpTransform",
    "IndependentTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform",
    "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
    "SoftplusTransform", "StackTransform", "StickBreakingTransform", "TanhTransform",
    "Transform", "identity_transform",
]


class Transform:
    """Base of invertible (or pseudo-invertible) maps ``x -> y``.

    ``cache_size=1`` remembers the last ``(x, y)`` pair, so ``t.inv(t(x))`` returns the
    very ``x`` (needed where the inverse is lossy, as for a clipped sigmoid).

    ``_ctor_args`` names the attributes that rebuild a transform with another cache
    size; a subclass that defines ``__init__`` lists its arguments there, and one that
    does not say leaves ``with_cache`` unimplemented (as PyTorch requires)."""

    bijective = False
    _ctor_args: tuple = ()

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._inv = None
        if cache_size:
            self._cached_x_y = None, None
        super().__init__()

    def __getstate__(self):
        # the inverse points back at us: pickling it would recurse, and it is rebuilt lazily
        return {**self.__dict__, "_inv": None}

    @property
    def event_dim(self) -> int:
        dims = {self.domain.event_dim, self.codomain.event_dim}
        if len(dims) > 1:
            raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")
        return dims.pop()

    @property
    def inv(self) -> Transform:
        """The inverse transform, built once; ``t.inv.inv is t``."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self):
        raise NotImplementedError

    def with_cache(self, cache_size=1):
        if cache_size == self._cache_size:
            return self
        owner = next(c for c in type(self).__mro__ if "__init__" in c.__dict__)
        if "_ctor_args" not in owner.__dict__:
            raise NotImplementedError(f"{type(self)}.with_cache is not implemented")
        args = [getattr(self, name) for name in self._ctor_args]
        return type(self)(*args, cache_size=cache_size)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def _through_cache(self, value, given_y: bool, compute):
        """``compute(value)``, or the other half of the cached pair when ``value`` is
        the very object seen last (identity, not equality: a cache hit must be free)."""
        if not self._cache_size:
            return compute(value)
        pair = self._cached_x_y
        if pair[given_y] is value:
            return pair[not given_y]
        result = compute(value)
        self._cached_x_y = (result, value) if given_y else (value, result)
        return result

    def __call__(self, x):
        return self._through_cache(x, False, self._call)

    def _inv_call(self, y):
        return self._through_cache(y, True, self._inverse)

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape


class _FixedMap(Transform):
    """A transform without parameters: any two instances of a class are equal. Its
    domain, codomain, sign and bijectivity are given as class keywords, so each map
    reads as its three formulas."""

    def __init_subclass__(cls, domain=None, codomain=None, sign=None, bijective=None,
                          **kwargs):
        super().__init_subclass__(**kwargs)
        if domain is not None:
            cls._family = cls  # instances of this class and its subclasses are all equal
        settings = {"domain": domain, "codomain": codomain, "sign": sign,
                    "bijective": bijective}
        for name, value in settings.items():
            if value is not None:
                setattr(cls, name, value)

    def __eq__(self, other):
        return isinstance(other, self._family)

    __hash__ = Transform.__hash__


def _needs_rank(ndim: int, rank: int) -> None:
    if ndim < rank:
        raise ValueError("Too few dimensions on input")


def widen(constraint, event_dim: int):
    """``constraint`` over ``event_dim`` rightmost dims: wrapped in ``independent`` when
    it covers fewer on its own."""
    extra = event_dim - constraint.event_dim
    return constraints.independent(constraint, extra) if extra > 0 else constraint


def _real_events(event_dim: int):
    return constraints.real if event_dim == 0 else constraints.independent(
        constraints.real, event_dim)


class _InverseTransform(Transform):
    """``t.inv``: runs ``t`` backwards (use the ``inv`` property, not this class)."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self._inv.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def with_cache(self, cache_size=1):
        return self._inv.with_cache(cache_size).inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = Transform.__hash__

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return self._inv.log_abs_det_jacobian(y, x).neg()

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)


def _event_dims(part, backwards: bool):
    """(dims a value has entering ``part``, dims it has leaving) in walking order."""
    dims = part.domain.event_dim, part.codomain.event_dim
    return dims[::-1] if backwards else dims


class ComposeTransform(Transform):
    """``parts`` applied left to right; the event dim is the largest any part needs, and
    each part's log-Jacobian is summed up to it."""

    _ctor_args = ("parts",)

    def __init__(self, parts: list, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.parts = [p.with_cache(cache_size) for p in parts] if cache_size else parts

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = Transform.__hash__

    def _end(self, backwards: bool):
        """The constraint at one end of the chain (domain when walking ``backwards``
        from the codomain), widened to the most event dims any part needs there."""
        walk = self.parts[::-1] if backwards else self.parts
        dims = walk[0].codomain.event_dim if backwards else walk[0].domain.event_dim
        for part in walk:
            entering, leaving = _event_dims(part, backwards)
            dims = max(dims - entering + leaving, leaving)
        end = walk[-1].domain if backwards else walk[-1].codomain
        return widen(end, dims)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self._end(backwards=True) if self.parts else constraints.real

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return self._end(backwards=False) if self.parts else constraints.real

    @lazy_property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @lazy_property
    def sign(self):
        return functools.reduce(operator.mul, (p.sign for p in self.parts), 1)

    @property
    def inv(self):
        if self._inv is None:
            backwards = ComposeTransform([p.inv for p in self.parts[::-1]])
            backwards._inv = self
            self._inv = backwards
        return self._inv

    def __call__(self, x):
        return functools.reduce(lambda value, part: part(value), self.parts, x)

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return ember.zeros_like(x)
        total = 0
        dims = self.domain.event_dim
        last = len(self.parts) - 1
        for i, part in enumerate(self.parts):
            out = y if i == last else part(x)  # free when the parts cache
            entering, leaving = _event_dims(part, False)
            total = total + _sum_rightmost(part.log_abs_det_jacobian(x, out), dims - entering)
            dims = dims - entering + leaving
            x = out
        return total

    def forward_shape(self, shape):
        return functools.reduce(lambda s, part: part.forward_shape(s), self.parts, shape)

    def inverse_shape(self, shape):
        return functools.reduce(lambda s, part: part.inverse_shape(s), self.parts[::-1],
                                shape)

    def __repr__(self):
        inner = ",\n    ".join(map(repr, self.parts))
        return f"{type(self).__name__}(\n    {inner}\n)"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dims per
    event: same map, log-Jacobian summed over those dims."""

    _ctor_args = ("base_transform", "reinterpreted_batch_ndims")

    def __init__(self, base_transform, reinterpreted_batch_ndims: int,
                 cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        _needs_rank(x.dim(), self.domain.event_dim)
        return self.base_transform(x)

    def _inverse(self, y):
        _needs_rank(y.dim(), self.codomain.event_dim)
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        per_element = self.base_transform.log_abs_det_jacobian(x, y)
        return _sum_rightmost(per_element, self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


def _batch_of(value, event_shape):
    return value.shape[:value.dim() - len(event_shape)]


def _swap_tail(shape, old, new):
    """``shape`` whose rightmost dims, which must equal ``old``, become ``new``."""
    if len(shape) < len(old):
        raise ValueError("Too few dimensions on input")
    cut = len(shape) - len(old)
    if shape[cut:] != old:
        raise ValueError(f"Shape mismatch: expected {shape[cut:]} but got {old}")
    return shape[:cut] + new


class ReshapeTransform(Transform):
    """Reshapes the rightmost ``in_shape`` dims to ``out_shape`` (volume-preserving, so
    the log-Jacobian is zero)."""

    bijective = True
    _ctor_args = ("in_shape", "out_shape")

    def __init__(self, in_shape, out_shape, cache_size: int = 0) -> None:
        self.in_shape, self.out_shape = ember.Size(in_shape), ember.Size(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def _call(self, x):
        return x.reshape(_batch_of(x, self.in_shape) + self.out_shape)

    def _inverse(self, y):
        return y.reshape(_batch_of(y, self.out_shape) + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(_batch_of(x, self.in_shape))

    def forward_shape(self, shape):
        return _swap_tail(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return _swap_tail(shape, self.out_shape, self.in_shape)


class ExpTransform(_FixedMap, domain=constraints.real, codomain=constraints.positive,
                   sign=+1, bijective=True):
    """``y = exp(x)``; ``log dy/dx = x``."""

    def _call(self, x):
        return ember.exp(x)

    def _inverse(self, y):
        return ember.log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """``y = x ** exponent`` on the positive half line."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True
    _ctor_args = ("exponent",)

    def __init__(self, exponent, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.exponent = broadcast_all(exponent)[0]

    @lazy_property
    def sign(self):
        return self.exponent.sign()

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and bool(
            (self.exponent == other.exponent).all().item())

    __hash__ = Transform.__hash__

    def _call(self, x):
        return ember.pow(x, self.exponent)

    def _inverse(self, y):
        return ember.pow(y, self.exponent.reciprocal())

    def log_abs_det_jacobian(self, x, y):
        # d(x^p)/dx = p x^(p-1) = p y / x
        return ember.log(ember.abs(self.exponent * y / x))

    def forward_shape(self, shape):
        return ember.broadcast_shapes(shape, self.exponent.shape)

    inverse_shape = forward_shape


def _clip_open_unit(p):
    """Probabilities kept off 0 and 1 (tiny above 0, eps below 1): a sigmoid that rounds
    to exactly 0 or 1 would make its inverse infinite."""
    finfo = ember.finfo(p.dtype)
    return ember.clamp(p, min=finfo.tiny, max=1.0 - finfo.eps)


def _clipped_sigmoid(x):
    return _clip_open_unit(ember.sigmoid(x))


class SigmoidTransform(_FixedMap, domain=constraints.real, codomain=constraints.unit_interval,
                       sign=+1, bijective=True):
    """``y = 1 / (1 + exp(-x))``; ``log dy/dx = log y + log(1 - y)``, written with
    softplus so it stays finite for large ``|x|``."""

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        p = _clip_open_unit(y)
        return ember.log(p) - ember.log1p(-p)

    def log_abs_det_jacobian(self, x, y):
        return -(F.softplus(x) + F.softplus(-x))


class SoftplusTransform(_FixedMap, domain=constraints.real, codomain=constraints.positive,
                        sign=+1, bijective=True):
    """``y = log(1 + exp(x))``; inverse ``y + log(1 - exp(-y))``."""

    def _call(self, x):
        return F.softplus(x)

    def _inverse(self, y):
        return y + ember.log(-ember.expm1(-y))

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x)


class TanhTransform(_FixedMap, domain=constraints.real, codomain=constraints.interval(-1.0, 1.0),
                    sign=+1, bijective=True):
    """``y = tanh(x)``; the log-Jacobian ``2 (log 2 - x - softplus(-2x))`` is the stable
    form of ``log(1 - tanh(x)^2)``."""

    def _call(self, x):
        return ember.tanh(x)

    def _inverse(self, y):
        return ember.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(_FixedMap, domain=constraints.real, codomain=constraints.positive):
    """``y = |x|`` (not injective: the inverse picks the nonnegative root)."""

    def _call(self, x):
        return ember.abs(x)

    def _inverse(self, y):
        return y


def _params_equal(a, b) -> bool:
    if isinstance(a, Number) and isinstance(b, Number):
        return a == b
    return bool((a == b).all().item())


class AffineTransform(Transform):
    """``y = loc + scale * x``; ``event_dim`` rightmost dims form one event."""

    bijective = True
    _ctor_args = ("loc", "scale", "event_dim")

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.loc, self.scale = loc, scale
        self._event_dim = event_dim

    @property
    def event_dim(self):
        return self._event_dim

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return _real_events(self._event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return _real_events(self._event_dim)

    def __eq__(self, other):
        return isinstance(other, AffineTransform) and all(
            _params_equal(a, b) for a, b in ((self.loc, other.loc), (self.scale, other.scale)))

    __hash__ = Transform.__hash__

    @property
    def sign(self):
        if isinstance(self.scale, Number):
            return (self.scale > 0) - (self.scale < 0)
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        if isinstance(self.scale, Number):
            per_element = ember.full_like(x, math.log(abs(self.scale)))
        else:
            per_element = ember.log(ember.abs(self.scale))
        # one log|scale| per element, summed over the event, broadcast over the batch
        batch = x.shape[:x.dim() - self._event_dim]
        return _sum_rightmost(per_element, self._event_dim).expand(batch)

    def forward_shape(self, shape):
        extra = [p.shape for p in (self.loc, self.scale) if isinstance(p, ember.Tensor)]
        return ember.broadcast_shapes(shape, *extra)

    inverse_shape = forward_shape


# last: these subclass Transform, so they need this module loaded first
from ._structured_transforms import (  # noqa: E402
    CatTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    SoftmaxTransform,
    StackTransform,
    StickBreakingTransform,
)
