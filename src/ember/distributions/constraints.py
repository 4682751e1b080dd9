"""``ember.distributions.constraints``: what values a parameter or a sample may take.

Each constraint's ``check(value)`` returns a bool tensor (one entry per event) and its
``repr`` is PyTorch's, because validation errors quote it."""

from __future__ import annotations

import functools
import operator
from typing import ClassVar

import ember

__all__ = [
    "Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky",
    "dependent", "dependent_property", "greater_than", "greater_than_eq", "half_open_interval",
    "independent", "integer_interval", "interval", "is_dependent", "less_than",
    "lower_cholesky", "lower_triangular", "multinomial", "nonnegative", "nonnegative_integer",
    "one_hot", "positive", "positive_definite", "positive_integer", "positive_semidefinite",
    "real", "real_vector", "simplex", "square", "stack", "symmetric", "unit_interval",
]


class Constraint:
    """A region of values; ``event_dim`` is how many rightmost dims make one event."""

    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__[1:] + "()"


def _known(value, what: str):
    """A dependent constraint's ``is_discrete``/``event_dim`` when it was given."""
    if value is NotImplemented:
        raise NotImplementedError(f".{what} cannot be determined statically")
    return value


class _Dependent(Constraint):
    """Placeholder for a constraint that depends on other parameters (not checked).
    ``is_discrete`` and ``event_dim`` may be given up front; calling it makes a copy
    with some of them replaced."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete, self._event_dim = is_discrete, event_dim
        super().__init__()

    @property
    def is_discrete(self):
        return _known(self._is_discrete, "is_discrete")

    @property
    def event_dim(self):
        return _known(self._event_dim, "event_dim")

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        def pick(given, own):
            return own if given is NotImplemented else given
        return _Dependent(is_discrete=pick(is_discrete, self._is_discrete),
                          event_dim=pick(event_dim, self._event_dim))

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property that is also a dependent constraint: ``support`` of a distribution
    whose support depends on its parameters (Uniform, Categorical). Used bare
    (``@dependent_property``) or with keywords (``@dependent_property(event_dim=1)``)."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return type(self)(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


dependent_property = _DependentProperty


def _all_after(result, keep):
    """``result`` reduced with ``all`` over every dim after its first ``keep`` (the event
    dims a wrapping constraint adds to its base's check)."""
    return result.reshape(result.shape[:keep] + (-1,)).all(-1)


class _Wrapping(Constraint):
    """A constraint built on one ``base_constraint`` (independent, the mixture's
    support): discrete exactly when its base is."""

    def __init__(self, base_constraint):
        self.base_constraint = base_constraint
        super().__init__()

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete


class _IndependentConstraint(_Wrapping):
    """Reinterpret ``reinterpreted_batch_ndims`` batch dims of ``base`` as event dims."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(base_constraint)

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        per_base_event = self.base_constraint.check(value)
        keep = per_base_event.dim() - self.reinterpreted_batch_ndims
        if keep < 0:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        return _all_after(per_base_event, keep)

    def __repr__(self):
        return (f"{type(self).__name__[1:]}({self.base_constraint!r}, "
                f"{self.reinterpreted_batch_ndims})")


def _zero_or_one(value):
    return (value == 1) | (value == 0)


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return _zero_or_one(value)


class _Real(Constraint):
    def check(self, value):
        return value == value  # noqa: PLR0124 - False only for NaN


class _Bounded(Constraint):
    """``value`` compared with each bound named in ``_compare`` (bound name ->
    ``compare(value, bound)``, strict or not); ``_whole`` ones also require integers.
    The repr lists the bounds, as PyTorch's does."""

    _compare: ClassVar[dict] = {}
    _whole = False

    def __init__(self, *bounds):
        for name, bound in zip(self._compare, bounds, strict=True):
            setattr(self, name, bound)
        super().__init__()

    def check(self, value):
        tests = [compare(value, getattr(self, name)) for name, compare in self._compare.items()]
        if self._whole:
            tests.insert(0, value % 1 == 0)
        return functools.reduce(operator.and_, tests)

    def __repr__(self):
        bounds = ", ".join(f"{name}={getattr(self, name)}" for name in self._compare)
        return f"{type(self).__name__[1:]}({bounds})"


class _LowerBounded(_Bounded):
    def __init__(self, lower_bound):
        super().__init__(lower_bound)


class _TwoBounded(_Bounded):
    def __init__(self, lower_bound, upper_bound):
        super().__init__(lower_bound, upper_bound)


class _GreaterThan(_LowerBounded):
    _compare: ClassVar[dict] = {"lower_bound": operator.gt}


class _GreaterThanEq(_LowerBounded):
    _compare: ClassVar[dict] = {"lower_bound": operator.ge}


class _IntegerGreaterThan(_GreaterThanEq):
    is_discrete = True
    _whole = True


class _LessThan(_Bounded):
    _compare: ClassVar[dict] = {"upper_bound": operator.lt}

    def __init__(self, upper_bound):
        super().__init__(upper_bound)


class _Interval(_TwoBounded):
    _compare: ClassVar[dict] = {"lower_bound": operator.ge, "upper_bound": operator.le}


class _HalfOpenInterval(_TwoBounded):
    _compare: ClassVar[dict] = {"lower_bound": operator.ge, "upper_bound": operator.lt}


class _IntegerInterval(_Interval):
    is_discrete = True
    _whole = True


class _Simplex(Constraint):
    """Nonnegative entries summing to one along the last dim."""

    event_dim = 1

    def check(self, value):
        return ember.all(value >= 0, dim=-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _OneHot(Constraint):
    """One-hot vectors: zeros and ones with a single one along the last dim."""

    is_discrete = True
    event_dim = 1

    def check(self, value):
        return _zero_or_one(value).all(-1) & (value.sum(-1) == 1)


class _Multinomial(Constraint):
    """Nonnegative counts along the last dim summing to at most ``upper_bound`` (the
    weaker check PyTorch makes)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        counts_ok = ember.all(value >= 0, dim=-1)
        return counts_ok & (value.sum(-1) <= self.upper_bound)


def _all_last_two(mask):
    return mask.reshape(mask.shape[:-2] + (-1,)).all(-1)


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        return _all_last_two(value.tril() == value)


class _LowerCholesky(Constraint):
    """Lower-triangular with a positive diagonal: a Cholesky factor."""

    event_dim = 2

    def check(self, value):
        positive_diagonal = (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)
        return _all_last_two(value.tril() == value) & positive_diagonal


class _CorrCholesky(Constraint):
    """Cholesky factor of a correlation matrix: rows of unit length."""

    event_dim = 2

    def check(self, value):
        tol = ember.finfo(value.dtype).eps * value.size(-1) * 10
        row_norm = ember.linalg.norm(value.detach(), dim=-1)
        unit_rows = (row_norm - 1.0).abs().le(tol).all(dim=-1)
        return _LowerCholesky().check(value) & unit_rows


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        return ember.full(value.shape[:-2], value.shape[-2] == value.shape[-1],
                          dtype=ember.bool, device=value.device)


class _Symmetric(_Square):
    def check(self, value):
        square = super().check(value)
        if not bool(square.all()):
            return square
        return ember.isclose(value, value.mT, atol=1e-6).all(-2).all(-1)


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        symmetric = super().check(value)
        if not bool(symmetric.all()):
            return symmetric
        return ember.linalg.eigvalsh(value).ge(0).all(-1)


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        symmetric = super().check(value)
        if not bool(symmetric.all()):
            return symmetric
        return ember.linalg.cholesky_ex(value).info.eq(0)


class _Joined(Constraint):
    """Constraints ``cseq`` applied piece by piece along ``dim`` (the part cat and stack
    share): discrete when any piece is, events as wide as the widest piece's."""

    def __init__(self, cseq, dim=0):
        self.cseq = list(cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)


class _Cat(_Joined):
    """Constraints ``cseq`` on consecutive slices of ``lengths`` along ``dim`` (as
    ``cat`` would join them)."""

    def __init__(self, cseq, dim=0, lengths=None):
        super().__init__(cseq, dim)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)

    def check(self, value):
        checks, start = [], 0
        for constraint, length in zip(self.cseq, self.lengths):
            checks.append(constraint.check(value.narrow(self.dim, start, length)))
            start = start + length
        return ember.cat(checks, self.dim)


class _Stack(_Joined):
    """Constraints ``cseq`` on the slices along ``dim`` (as ``stack`` would join them)."""

    @property
    def event_dim(self):
        dim = super().event_dim
        if self.dim + dim < 0:
            dim += 1
        return dim

    def check(self, value):
        slices = [value.select(self.dim, i) for i in range(value.size(self.dim))]
        return ember.stack([c.check(v) for v, c in zip(slices, self.cseq)], self.dim)


dependent = _Dependent()
boolean = _Boolean()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = _IndependentConstraint(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
independent = _IndependentConstraint
one_hot = _OneHot()
multinomial = _Multinomial
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack


class MixtureSameFamilyConstraint(_Wrapping):
    """A mixture's support: the component support checked with the component dim
    added back (every component shares it)."""

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        # the component dim sits just left of the event: every component is checked
        per_component = self.base_constraint.check(value.unsqueeze(-1 - self.event_dim))
        keep = value.dim() - self.event_dim
        if keep < 0:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        return _all_after(per_component, keep)

    def __repr__(self):
        return f"{self.__class__.__name__}({self.base_constraint!r})"
