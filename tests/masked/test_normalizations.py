"""ember.masked softmax/log_softmax/softmin/normalize/cumsum/cumprod/logaddexp against
torch.masked: values (nan or identities in fully masked slices), dtypes and gradients."""

import numpy as np
import pytest

import ember
from oracle import RNG, check, check_raises, randn

X = randn(3, 5)
M = RNG.uniform(size=(3, 5)) < 0.6
M[:, 1] = True
M_EMPTY_ROW = M.copy()
M_EMPTY_ROW[0] = False
X3 = randn(2, 3, 4)
M3 = RNG.uniform(size=(2, 3, 4)) < 0.6

ROWS = [
    ("softmax", lambda lib, x, m: lib.masked.softmax(x, 1, mask=m), X, M),
    ("softmax dim 0 broadcast", lambda lib, x, m: lib.masked.softmax(x, 0, mask=m), X, M[1]),
    ("softmax 3d", lambda lib, x, m: lib.masked.softmax(x, -1, mask=m), X3, M3 | True),
    ("softmax dtype", lambda lib, x, m: lib.masked.softmax(x, 1, dtype=lib.float64, mask=m), X, M),
    ("log_softmax", lambda lib, x, m: lib.masked.log_softmax(x, 1, mask=m), X, M),
    ("softmin", lambda lib, x, m: lib.masked.softmin(x, 1, mask=m), X, M),
    ("normalize 2", lambda lib, x, m: lib.masked.normalize(x, 2.0, 1, mask=m), X, M),
    ("normalize 1 dim 0", lambda lib, x, m: lib.masked.normalize(x, 1, 0, mask=m), X, M),
    ("normalize eps", lambda lib, x, m: lib.masked.normalize(x, 2, 1, eps=10.0, mask=m), X, M),
    ("cumsum", lambda lib, x, m: lib.masked.cumsum(x, 1, mask=m), X, M_EMPTY_ROW),
    ("cumsum dtype", lambda lib, x, m: lib.masked.cumsum(x, 0, dtype=lib.float64, mask=m), X, M),
    ("cumprod", lambda lib, x, m: lib.masked.cumprod(x, 1, mask=m), X, M_EMPTY_ROW),
    ("cumprod 3d", lambda lib, x, m: lib.masked.cumprod(x, 2, mask=m), X3, M3),
]


@pytest.mark.parametrize("fn, x, m", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_normalizations_match_torch(fn, x, m):
    check(fn, x, m)


def test_fully_masked_slices_match_torch():
    # softmax over nothing is nan; softmin too; log_softmax nan
    for name in ("softmax", "log_softmax", "softmin"):
        check(lambda lib, x, m: getattr(lib.masked, name)(x, 1, mask=m), X, M_EMPTY_ROW,
              grad=False)
    check(lambda lib, x, m: lib.masked.normalize(x, 2, 1, mask=m), X, M_EMPTY_ROW)


def test_logaddexp_matches_torch():
    y = randn(3, 5)
    other_mask = RNG.uniform(size=(3, 5)) < 0.5
    check(lambda lib, x, y, m, n: lib.masked.logaddexp(x, y, input_mask=m, other_mask=n),
          X, y, M, other_mask)
    check(lambda lib, x, y, m: lib.masked.logaddexp(x, y, input_mask=m, dtype=lib.float64),
          X, y, M[0])
    # both masked out: -inf, the docstring's example
    x = ember.tensor([-100.0, -200, -300])
    other = ember.tensor([-1.0, -2, -3])
    mask = ember.tensor([True, False, True])
    out = ember.masked.logaddexp(x, other, input_mask=mask, other_mask=mask)
    assert out.tolist() == [-1.0, float("-inf"), -3.0]


def test_integer_cumsum_matches_torch():
    ints = RNG.integers(-4, 5, size=(3, 4)).astype(np.int32)
    check(lambda lib, x, m: lib.masked.cumsum(x, 1, mask=m), ints, M[:, :4], grad=False)
    check(lambda lib, x, m: lib.masked.cumprod(x, 0, dtype=lib.int64, mask=m), ints, M[:, :4],
          grad=False)


def test_float64_gradcheck():
    # its own generator: the values must not depend on which tests ran before
    x = ember.tensor(np.random.default_rng(0).standard_normal((3, 5)), requires_grad=True)
    mask = ember.tensor(M)
    for fn in (lambda x: ember.masked.softmax(x, 1, mask=mask),
               lambda x: ember.masked.softmin(x, 0, mask=mask),
               lambda x: ember.masked.normalize(x, 2, 1, mask=mask),
               lambda x: ember.masked.cumprod(x, 1, mask=mask)):
        assert ember.autograd.gradcheck(fn, (x,))


def test_errors_match_torch():
    check_raises(lambda lib, x, m: lib.masked.softmax(x, 2, mask=m), X, M,
                 match="Dimension out of range")
    check_raises(lambda lib, x, m: lib.masked.cumsum(x, 0, mask=m[None]), X, M,
                 match="mask dimensionality higher")
