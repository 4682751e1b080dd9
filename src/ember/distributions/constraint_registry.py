"""``biject_to`` and ``transform_to``: from unconstrained reals to a constraint's set.

``biject_to(c)`` is a bijection (for HMC-style samplers that need exact Jacobians);
``transform_to(c)`` only has to land in ``c`` (for optimising constrained parameters:
``param = transform_to(c)(unconstrained)``). Both look a factory up by the constraint's
exact type; ``register`` adds one for a new constraint type.

The built-in rules are one table: most are the same for both registries, and the
structured ones (independent, cat, stack) recurse into whichever registry asked."""

from __future__ import annotations

import functools
from numbers import Number

from . import constraints, transforms

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """Constraint type -> factory building a Transform for a constraint instance."""

    def __init__(self):
        self._registry = {}
        super().__init__()

    def register(self, constraint, factory=None):
        """Register ``factory(constraint) -> Transform`` for ``constraint``'s type (or
        the Constraint subclass itself); without a factory, a decorator."""
        if factory is None:
            return functools.partial(self.register, constraint)
        key = type(constraint) if isinstance(constraint, constraints.Constraint) else constraint
        if not (isinstance(key, type) and issubclass(key, constraints.Constraint)):
            raise TypeError("Expected constraint to be either a Constraint subclass or "
                            f"instance, but got {constraint}")
        self._registry[key] = factory
        return factory

    def __call__(self, constraint):
        factory = self._registry.get(type(constraint))
        if factory is None:
            raise NotImplementedError(
                f"Cannot transform {type(constraint).__name__} constraints")
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _is_number(value, target) -> bool:
    return isinstance(value, Number) and value == target


def _exp_then_shift(bound: str, direction: int):
    """``bound + direction * exp(x)``: the open half line beyond a bound."""
    def factory(c, registry):
        return transforms.ComposeTransform([transforms.ExpTransform(),
                                            transforms.AffineTransform(getattr(c, bound),
                                                                       direction)])
    return factory


def _squashed(c, registry):
    """A sigmoid, stretched onto the interval unless it is already (0, 1)."""
    low, high = c.lower_bound, c.upper_bound
    if _is_number(low, 0) and _is_number(high, 1):
        return transforms.SigmoidTransform()
    return transforms.ComposeTransform([transforms.SigmoidTransform(),
                                        transforms.AffineTransform(low, high - low)])


def _plain(transform_cls):
    return lambda c, registry: transform_cls()


def _per_event(c, registry):
    return transforms.IndependentTransform(registry(c.base_constraint),
                                           c.reinterpreted_batch_ndims)


def _per_slice(c, registry):
    return transforms.CatTransform([registry(part) for part in c.cseq], c.dim, c.lengths)


def _per_stacked(c, registry):
    return transforms.StackTransform([registry(part) for part in c.cseq], c.dim)


# (constraint or factory of constraints, biject_to's rule, transform_to's rule); a
# rule left as None is not registered. positive/nonnegative/unit_interval need no row:
# their types are greater_than's, greater_than_eq's and interval's, whose rules give
# the same maps PyTorch's registries end up with.
_RULES = [
    (constraints.real, lambda c, registry: transforms.identity_transform, ...),
    (constraints.independent, _per_event, ...),
    (constraints.greater_than, _exp_then_shift("lower_bound", 1), ...),
    (constraints.greater_than_eq, _exp_then_shift("lower_bound", 1), ...),
    (constraints.less_than, _exp_then_shift("upper_bound", -1), ...),
    (constraints.interval, _squashed, ...),
    (constraints.half_open_interval, _squashed, ...),
    (constraints.simplex, _plain(transforms.StickBreakingTransform),
     _plain(transforms.SoftmaxTransform)),
    (constraints.lower_cholesky, None, _plain(transforms.LowerCholeskyTransform)),
    (constraints.positive_definite, None, _plain(transforms.PositiveDefiniteTransform)),
    (constraints.positive_semidefinite, None, _plain(transforms.PositiveDefiniteTransform)),
    (constraints.corr_cholesky, _plain(transforms.CorrCholeskyTransform), ...),
    (constraints.cat, _per_slice, ...),
    (constraints.stack, _per_stacked, ...),
]

for _constraint, _bijective, _landing in _RULES:
    for _registry, _rule in ((biject_to, _bijective),
                             (transform_to, _bijective if _landing is ... else _landing)):
        if _rule is not None:
            _registry.register(_constraint, functools.partial(_rule, registry=_registry))
del _constraint, _bijective, _landing, _registry, _rule
