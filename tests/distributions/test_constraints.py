"""ember.distributions.constraints against torch's: check() on values inside, on and
outside each set, repr, is_discrete and event_dim, and the dependent placeholders'
errors."""

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


VALUES = np.array([[-2.0, -1.0, 0.0, 0.5], [1.0, 2.0, 3.0, np.nan]], dtype=np.float32)
MATRICES = np.stack([np.eye(3), [[1.0, 0, 0], [2, 3, 0], [4, 5, -6]],
                     [[2.0, 1, 0], [1, 2, 0], [0, 0, 1]], [[0.0, 1, 0], [0, 0, 0], [0, 0, 0]],
                     [[1.0, 0, 0], [0.6, 0.8, 0], [0, 0.6, 0.8]]]).astype(np.float64)
VECTORS = np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [-0.5, 1.0, 0.5],
                    [2.0, 0.0, 1.0]], dtype=np.float32)

CONSTRAINTS = [
    ("real", lambda c: c.real, VALUES), ("boolean", lambda c: c.boolean, VALUES),
    ("positive", lambda c: c.positive, VALUES), ("nonnegative", lambda c: c.nonnegative, VALUES),
    ("greater_than", lambda c: c.greater_than(0.5), VALUES),
    ("greater_than_eq", lambda c: c.greater_than_eq(0.5), VALUES),
    ("less_than", lambda c: c.less_than(1.0), VALUES),
    ("unit_interval", lambda c: c.unit_interval, VALUES),
    ("interval", lambda c: c.interval(-1.0, 2.0), VALUES),
    ("half_open", lambda c: c.half_open_interval(-1.0, 2.0), VALUES),
    ("integer_interval", lambda c: c.integer_interval(-1, 2), VALUES),
    ("nonnegative_integer", lambda c: c.nonnegative_integer, VALUES),
    ("positive_integer", lambda c: c.positive_integer, VALUES),
    ("independent", lambda c: c.independent(c.positive, 1), VALUES),
    ("real_vector", lambda c: c.real_vector, VALUES),
    ("simplex", lambda c: c.simplex, VECTORS), ("one_hot", lambda c: c.one_hot, VECTORS),
    ("multinomial", lambda c: c.multinomial(2), VECTORS),
    ("cat", lambda c: c.cat([c.positive, c.unit_interval], -1, [2, 1]), VECTORS),
    ("stack", lambda c: c.stack([c.positive, c.real, c.unit_interval], -1), VECTORS),
    ("lower_triangular", lambda c: c.lower_triangular, MATRICES),
    ("lower_cholesky", lambda c: c.lower_cholesky, MATRICES),
    ("corr_cholesky", lambda c: c.corr_cholesky, MATRICES),
    ("square", lambda c: c.square, MATRICES), ("symmetric", lambda c: c.symmetric, MATRICES),
    ("positive_definite", lambda c: c.positive_definite, MATRICES),
    ("positive_semidefinite", lambda c: c.positive_semidefinite, MATRICES),
    ("mixture", lambda c: c.MixtureSameFamilyConstraint(c.positive), VALUES),
]


@pytest.mark.parametrize("name, build, value", CONSTRAINTS, ids=[r[0] for r in CONSTRAINTS])
def test_check_repr_and_metadata(name, build, value):
    e, t = build(ember.distributions.constraints), build(torch.distributions.constraints)
    assert repr(e) == repr(t)
    assert (e.is_discrete, e.event_dim) == (t.is_discrete, t.event_dim)
    got, want = e.check(ember.tensor(value)), t.check(torch.tensor(value))
    np.testing.assert_array_equal(as_numpy(got), want.numpy())


def test_tensor_bounds_as_uniform_uses_them():
    low, high = np.array([0.0, 1.0], np.float32), np.array([1.0, 3.0], np.float32)
    value = np.array([[0.5, 0.5], [1.0, 3.0]], np.float32)
    for kind in ("interval", "half_open_interval"):
        e = getattr(ember.distributions.constraints, kind)(ember.tensor(low), ember.tensor(high))
        t = getattr(torch.distributions.constraints, kind)(torch.tensor(low), torch.tensor(high))
        np.testing.assert_array_equal(as_numpy(e.check(ember.tensor(value))),
                                      t.check(torch.tensor(value)).numpy())


def test_dependent_placeholders_and_errors_match_torch():
    for lib in (ember, torch):
        c = lib.distributions.constraints
        with pytest.raises(NotImplementedError, match="is_discrete cannot be determined"):
            _ = c.dependent.is_discrete
        with pytest.raises(NotImplementedError, match="event_dim cannot be determined"):
            _ = c.dependent.event_dim
        with pytest.raises(ValueError, match="Cannot determine validity"):
            c.dependent.check(lib.zeros(2))
        narrowed = c.dependent(event_dim=1)(is_discrete=True)
        assert (narrowed.is_discrete, narrowed.event_dim) == (True, 1)
        assert c.is_dependent(narrowed) and not c.is_dependent(c.real)

        class Holder:
            @c.dependent_property(is_discrete=True, event_dim=0)
            def support(self):
                return c.integer_interval(0, 2)

            @c.dependent_property
            def other(self):
                return c.real

        assert Holder.support.is_discrete and Holder.support.event_dim == 0
        assert repr(Holder().support) == "IntegerInterval(lower_bound=0, upper_bound=2)"
        assert c.is_dependent(Holder.other) and repr(Holder().other) == "Real()"
        with pytest.raises(ValueError, match=r"Expected value.dim\(\) >= 2 but got 1"):
            c.independent(c.real, 2).check(lib.zeros(3))
