"""ember.distributions.transforms and biject_to/transform_to against PyTorch: forward,
inverse, log|det J| (values and gradients), shapes, domains/codomains, reprs, caching,
and the constraint registry's choice of transform."""

import numpy as np
import oracle
import pytest
import torch
from oracle import check, rand, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


def _t(lib):
    return lib.distributions.transforms


# (id, build(lib) -> Transform, input x as numpy). Maps whose inverse is ill-conditioned
# (tanh near +-1, stick-breaking, correlation Cholesky) run in float64: in float32 a
# one-ulp difference in the forward value grows past the tolerance on the way back.
TRANSFORMS = [
    ("exp", lambda lib: _t(lib).ExpTransform(), randn(3, 4)),
    ("power", lambda lib: _t(lib).PowerTransform(lib.tensor([0.5, 2.0, 3.0])),
     rand(2, 3, low=0.5, high=2.0)),
    ("sigmoid", lambda lib: _t(lib).SigmoidTransform(), randn(5)),
    ("tanh", lambda lib: _t(lib).TanhTransform(), randn(2, 3, dtype=np.float64)),
    ("softplus", lambda lib: _t(lib).SoftplusTransform(), randn(4)),
    ("affine", lambda lib: _t(lib).AffineTransform(lib.tensor([1.0, -2.0]),
                                                 lib.tensor([0.5, -3.0])), randn(3, 2)),
    ("affine_number_event", lambda lib: _t(lib).AffineTransform(1.0, -2.0, event_dim=1),
     randn(3, 2)),
    ("compose", lambda lib: _t(lib).ComposeTransform([
        _t(lib).AffineTransform(0.5, 2.0), _t(lib).ExpTransform(),
        _t(lib).PowerTransform(lib.tensor(0.7))]), randn(2, 3)),
    ("independent", lambda lib: _t(lib).IndependentTransform(_t(lib).ExpTransform(), 1),
     randn(2, 3)),
    ("reshape", lambda lib: _t(lib).ReshapeTransform((2, 3), (6,)), randn(4, 2, 3)),
    ("stick_breaking", lambda lib: _t(lib).StickBreakingTransform(),
     randn(2, 3, dtype=np.float64)),
    ("lower_cholesky", lambda lib: _t(lib).LowerCholeskyTransform(), randn(2, 3, 3)),
    # float64: inverting tanh near +-1 magnifies float32 rounding past the tolerance
    ("corr_cholesky", lambda lib: _t(lib).CorrCholeskyTransform(),
     randn(2, 6, dtype=np.float64)),
    ("cat", lambda lib: _t(lib).CatTransform(
        [_t(lib).ExpTransform(), _t(lib).SigmoidTransform()], dim=1, lengths=[2, 1]),
     randn(4, 3)),
    ("stack", lambda lib: _t(lib).StackTransform(
        [_t(lib).ExpTransform(), _t(lib).TanhTransform()], dim=-1), randn(4, 2)),
    ("inverse_sigmoid", lambda lib: _t(lib).SigmoidTransform().inv,
     rand(5, low=0.05, high=0.95)),
    ("cdf", lambda lib: _t(lib).CumulativeDistributionTransform(
        lib.distributions.Normal(0.5, 2.0)), randn(4)),
]
IDS = [r[0] for r in TRANSFORMS]


@pytest.mark.parametrize("name, build, x", TRANSFORMS, ids=IDS)
def test_forward_inverse_and_log_det(name, build, x):
    check(lambda lib, v: build(lib)(v), x)
    check(lambda lib, v: build(lib).inv(build(lib)(v)), x)
    if name not in {"lower_cholesky"}:  # not bijective: torch has no log-Jacobian
        check(lambda lib, v: build(lib).log_abs_det_jacobian(v, build(lib)(v)), x)


@pytest.mark.parametrize("name, build, x", TRANSFORMS, ids=IDS)
def test_metadata(name, build, x):
    e, t = build(ember), build(torch)
    assert repr(e) == repr(t)
    assert e.bijective == t.bijective
    assert repr(e.domain) == repr(t.domain) and repr(e.codomain) == repr(t.codomain)
    assert e.domain.event_dim == t.domain.event_dim
    assert e.codomain.event_dim == t.codomain.event_dim
    shape = torch.Size(x.shape)
    assert e.forward_shape(shape) == t.forward_shape(shape)
    out = tuple(t(torch.tensor(x)).shape)
    assert e.inverse_shape(torch.Size(out)) == t.inverse_shape(torch.Size(out))
    assert e.inv.inv is e
    assert bool(e.codomain.check(e(ember.tensor(x))).all())


def test_softmax_and_positive_definite_transforms():
    check(lambda lib, v: lib.distributions.transforms.SoftmaxTransform()(v), randn(2, 4))
    check(lambda lib, v: lib.distributions.transforms.PositiveDefiniteTransform()(v),
          randn(3, 3))
    spd = randn(3, 3, dtype=np.float64)
    spd = spd @ spd.T + 3 * np.eye(3)
    check(lambda lib, v: lib.distributions.transforms.PositiveDefiniteTransform().inv(v),
          spd)


def test_cache_returns_the_same_input():
    for lib in (ember, torch):
        t = lib.distributions.transforms.SigmoidTransform(cache_size=1)
        x = lib.tensor([40.0, -3.0])  # sigmoid(40) rounds to 1: only the cache inverts it
        y = t(x)
        assert t.inv(y) is x
        with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
            lib.distributions.transforms.ExpTransform(cache_size=2)


def test_equality_and_identity():
    t = ember.distributions.transforms
    assert t.ExpTransform() == t.ExpTransform()
    assert t.AffineTransform(1.0, 2.0) == t.AffineTransform(1.0, 2.0)
    assert t.AffineTransform(1.0, 2.0) != t.AffineTransform(1.0, 3.0)
    assert t.ExpTransform().inv == t.ExpTransform().inv
    x = ember.tensor([1.0, 2.0])
    assert t.identity_transform(x) is x
    assert repr(t.identity_transform) == repr(torch.distributions.transforms.identity_transform)


def test_reshape_errors_match_torch():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="different numbers of elements"):
            lib.distributions.transforms.ReshapeTransform((2, 3), (5,))
        with pytest.raises(ValueError, match="Shape mismatch"):
            lib.distributions.transforms.ReshapeTransform((2, 3), (6,)).forward_shape(
                lib.Size([4, 3]))


CONSTRAINTS = [
    lambda lib: lib.distributions.constraints.real,
    lambda lib: lib.distributions.constraints.positive,
    lambda lib: lib.distributions.constraints.nonnegative,
    lambda lib: lib.distributions.constraints.greater_than(2.0),
    lambda lib: lib.distributions.constraints.less_than(-1.0),
    lambda lib: lib.distributions.constraints.greater_than_eq(-1.5),
    lambda lib: lib.distributions.constraints.unit_interval,
    lambda lib: lib.distributions.constraints.interval(-2.0, 3.0),
    lambda lib: lib.distributions.constraints.half_open_interval(0.0, 1.0),
    lambda lib: lib.distributions.constraints.simplex,
    lambda lib: lib.distributions.constraints.independent(
        lib.distributions.constraints.positive, 1),
    lambda lib: lib.distributions.constraints.corr_cholesky,
    lambda lib: lib.distributions.constraints.cat(
        [lib.distributions.constraints.real, lib.distributions.constraints.positive],
        dim=-1, lengths=[2, 1]),
    lambda lib: lib.distributions.constraints.stack(
        [lib.distributions.constraints.positive, lib.distributions.constraints.unit_interval],
        dim=-1),
]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("index", range(len(CONSTRAINTS)))
def test_constraint_registry(registry, index):
    build = CONSTRAINTS[index]
    e = getattr(ember.distributions, registry)(build(ember))
    t = getattr(torch.distributions, registry)(build(torch))
    assert repr(e) == repr(t)
    x = randn(4, 3) if repr(t.domain).startswith(("Cat", "Independent")) else randn(4)
    if "CorrCholesky" in repr(t):
        x = randn(2, 3)
    if "Stack" in repr(t):
        x = randn(4, 2)
    check(lambda lib, v: getattr(lib.distributions, registry)(build(lib))(v), x)
    assert bool(build(ember).check(e(ember.tensor(x))).all())


@pytest.mark.parametrize("registry", ["transform_to"])
def test_transform_to_matrices(registry):
    for name in ("lower_cholesky", "positive_definite", "positive_semidefinite"):
        e = ember.distributions.transform_to(getattr(ember.distributions.constraints, name))
        t = torch.distributions.transform_to(getattr(torch.distributions.constraints, name))
        assert repr(e) == repr(t)
        check(lambda lib, v, n=name: lib.distributions.transform_to(
            getattr(lib.distributions.constraints, n))(v), randn(3, 3))


def test_registry_errors_match_torch():
    for lib in (ember, torch):
        with pytest.raises(NotImplementedError, match="Cannot transform _IntegerInterval"):
            lib.distributions.biject_to(lib.distributions.constraints.integer_interval(0, 3))
        with pytest.raises(TypeError, match="Expected constraint"):
            lib.distributions.biject_to.register(int, lambda c: None)


@pytest.mark.parametrize("diag", [-2, -1, 0, 1])
def test_tril_vector_helpers(diag):
    n = 4
    size = len(np.tril_indices(n, diag)[0])
    check(lambda lib, v: lib.distributions.utils.vec_to_tril_matrix(v, diag), randn(2, size))
    check(lambda lib, m: lib.distributions.utils.tril_matrix_to_vec(m, diag), randn(2, n, n))
    assert ember.distributions.utils.euler_constant == torch.distributions.utils.euler_constant


@pytest.mark.parametrize("name, build, x", TRANSFORMS, ids=IDS)
def test_with_cache_rebuilds_the_same_map(name, build, x):
    """with_cache(1) keeps the parameters (a rebuilt transform equals torch's) and the
    cached copy returns the very input on the way back."""
    e, t = build(ember).with_cache(1), build(torch).with_cache(1)
    assert repr(e) == repr(t) and e.with_cache(1) is e
    check(lambda lib, v: build(lib).with_cache(1)(v), x)
    xe = ember.tensor(x)
    assert e.inv(e(xe)) is xe


def test_with_cache_needs_the_constructor_arguments():
    for lib in (ember, torch):
        class Shift(lib.distributions.transforms.Transform):
            def __init__(self, by, cache_size=0):
                super().__init__(cache_size=cache_size)
                self.by = by

        with pytest.raises(NotImplementedError, match="with_cache is not implemented"):
            Shift(1.0).with_cache(1)
        assert Shift(1.0).with_cache(0) is not None


def test_too_few_dimensions_match_torch():
    for lib in (ember, torch):
        t = lib.distributions.transforms
        for fn in (t.StickBreakingTransform().forward_shape, t.SoftmaxTransform().forward_shape,
                   t.CorrCholeskyTransform().inverse_shape):
            with pytest.raises(ValueError, match="Too few dimensions"):
                fn(lib.Size([]))
        with pytest.raises(ValueError, match="Too few dimensions"):
            t.IndependentTransform(t.ExpTransform(), 2)(lib.ones(3))
        with pytest.raises(ValueError, match="not square"):
            t.CorrCholeskyTransform().inverse_shape(lib.Size([2, 3]))
        with pytest.raises(ValueError, match="flattened lower-diagonal"):
            t.CorrCholeskyTransform().forward_shape(lib.Size([4]))
        assert t.ExpTransform() == t.ExpTransform() and t.ExpTransform() != t.TanhTransform()
        assert t.AffineTransform(2.0, -3.0).sign == -1 and t.AffineTransform(2.0, 0.0).sign == 0


def test_registry_register_as_decorator_and_with_a_class():
    """register(c) decorates; a subclass registered by class is found by exact type,
    and the built-in registries are left as they were."""
    for lib in (ember, torch):
        d = lib.distributions

        class Shifted(d.constraints.Constraint):
            def check(self, value):
                return value > 2.0

        registry = d.constraint_registry.ConstraintRegistry()

        @registry.register(Shifted())
        def _shift(constraint):
            return d.transforms.AffineTransform(2.0, 1.0)

        assert registry(Shifted()).loc == 2.0
        registry.register(d.constraints.Constraint, lambda c: d.transforms.ExpTransform())
        with pytest.raises(NotImplementedError, match="Cannot transform Shifted constraints"):
            d.biject_to(Shifted())
        assert isinstance(registry(d.constraints.Constraint()), d.transforms.ExpTransform)
