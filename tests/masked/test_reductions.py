"""ember.masked reductions against torch.masked: values (identities where a slice is fully
masked out), dtypes, shapes and gradients."""

import numpy as np
import pytest

import ember
from oracle import RNG, check, check_raises, randn


def _mask(*shape, p=0.6):
    """A random mask whose first row is fully masked out (identity / nan results)."""
    mask = RNG.uniform(size=shape) < p
    if len(shape) > 1:
        mask[0] = False
    return mask


X = randn(3, 5)
M = _mask(3, 5)
X3 = randn(2, 3, 4)
M3 = _mask(2, 3, 4)
ROW_MASK = np.array([True, False, True, True, False])  # broadcast over rows

REDUCTIONS = [
    ("sum all", lambda lib, x, m: lib.masked.sum(x, mask=m), X, M),
    ("sum dim", lambda lib, x, m: lib.masked.sum(x, 1, mask=m), X, M),
    ("sum dims keepdim", lambda lib, x, m: lib.masked.sum(x, (0, 2), keepdim=True, mask=m), X3, M3),
    ("sum broadcast mask", lambda lib, x, m: lib.masked.sum(x, 0, mask=m), X, ROW_MASK),
    ("sum dtype", lambda lib, x, m: lib.masked.sum(x, 1, dtype=lib.float64, mask=m), X, M),
    ("sum no mask", lambda lib, x, m: lib.masked.sum(x, -1), X, M),
    ("prod", lambda lib, x, m: lib.masked.prod(x, 1, mask=m), X, M),
    ("prod dims", lambda lib, x, m: lib.masked.prod(x, (0, 2), mask=m), X3, M3),
    ("amax", lambda lib, x, m: lib.masked.amax(x, 1, mask=m), X, M),
    ("amax all", lambda lib, x, m: lib.masked.amax(x, mask=m), X3, M3),
    ("amin keepdim", lambda lib, x, m: lib.masked.amin(x, (1, 2), keepdim=True, mask=m), X3, M3),
    ("mean", lambda lib, x, m: lib.masked.mean(x, 1, mask=m), X, M),
    ("mean all", lambda lib, x, m: lib.masked.mean(x, mask=m), X3, M3),
    ("mean no mask", lambda lib, x, m: lib.masked.mean(x, 0, keepdim=True), X, M),
    ("median", lambda lib, x, m: lib.masked.median(x, 1, mask=m), X, M),
    ("median keepdim", lambda lib, x, m: lib.masked.median(x, 0, keepdim=True, mask=m), X, M),
    ("logsumexp", lambda lib, x, m: lib.masked.logsumexp(x, 1, mask=m), X, M),
    ("logsumexp dims", lambda lib, x, m: lib.masked.logsumexp(x, (0, 2), mask=m), X3, M3),
    ("norm 2", lambda lib, x, m: lib.masked.norm(x, 2.0, 1, mask=m), X, ROW_MASK),
    ("norm 1 all", lambda lib, x, m: lib.masked.norm(x, 1, mask=m), X3, M3),
    ("norm inf", lambda lib, x, m: lib.masked.norm(x, float("inf"), 1, mask=m), X, ROW_MASK),
    ("norm -inf", lambda lib, x, m: lib.masked.norm(x, float("-inf"), 0, mask=m), X, ROW_MASK),
    ("norm 3 keepdim", lambda lib, x, m: lib.masked.norm(x, 3, 0, keepdim=True, mask=m), X,
     ROW_MASK),
]


@pytest.mark.parametrize("fn, x, m", [r[1:] for r in REDUCTIONS], ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_torch(fn, x, m):
    check(fn, x, m)


X_MANY = randn(4, 6)
M_MANY = RNG.uniform(size=(4, 6)) < 0.7
M_MANY[:, :2] = True  # at least two unmasked per row and column: finite var/std gradients
STATS = [
    ("var", lambda lib, x, m: lib.masked.var(x, 1, mask=m)),
    ("var unbiased=False", lambda lib, x, m: lib.masked.var(x, 0, False, mask=m)),
    ("var correction keepdim", lambda lib, x, m: lib.masked.var(x, 1, correction=0, keepdim=True,
                                                               mask=m)),
    ("var all", lambda lib, x, m: lib.masked.var(x, mask=m)),
    ("std", lambda lib, x, m: lib.masked.std(x, 1, mask=m)),
    ("std dtype", lambda lib, x, m: lib.masked.std(x, 1, dtype=lib.float64, mask=m)),
    ("std no mask", lambda lib, x, m: lib.masked.std(x, 0)),
]


@pytest.mark.parametrize("fn", [r[1] for r in STATS], ids=[r[0] for r in STATS])
def test_var_std_match_torch(fn):
    check(fn, X_MANY, M_MANY)


def test_var_std_with_too_few_elements_match_torch():
    mask = np.array([[False] * 4, [True, False, False, False], [True, True, False, True]])
    x = randn(3, 4)
    check(lambda lib, x, m: lib.masked.var(x, 1, mask=m), x, mask, grad=False)
    check(lambda lib, x, m: lib.masked.std(x, 1, correction=2, mask=m), x, mask, grad=False)


def test_float64_gradcheck():
    x = ember.tensor(randn(3, 4, dtype=np.float64), requires_grad=True)
    mask = ember.tensor(M_MANY[:3, :4])
    for fn in (lambda x: ember.masked.sum(x, 1, mask=mask),
               lambda x: ember.masked.mean(x, 0, mask=mask),
               lambda x: ember.masked.var(x, 1, mask=mask),
               lambda x: ember.masked.norm(x, 2, 1, mask=mask),
               lambda x: ember.masked.logsumexp(x, 1, mask=mask),
               lambda x: ember.masked.prod(x, 1, mask=mask)):
        assert ember.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(name):
    # the index comes back in the input's dtype, as torch.masked returns it
    check(lambda lib, x, m: getattr(lib.masked, name)(x, 1, mask=m), X, M, grad=False)
    check(lambda lib, x, m: getattr(lib.masked, name)(x, mask=m), X, M, grad=False)
    check(lambda lib, x, m: getattr(lib.masked, name)(x, 0, keepdim=True, dtype=lib.int64, mask=m),
          X, M, grad=False)


INTS = RNG.integers(-5, 6, size=(3, 5)).astype(np.int32)
INT_MASK = RNG.uniform(size=(3, 5)) < 0.6
INT_MASK[:, 0] = True
FIRST_OUT = INT_MASK & np.array([[False], [True], [True]])
INT_ROWS = [  # the first row fully masked out: the integer identities show
    ("sum int64", lambda lib, x, m: lib.masked.sum(x, 1, mask=m), FIRST_OUT),
    ("prod int64", lambda lib, x, m: lib.masked.prod(x, 1, mask=m), FIRST_OUT),
    ("amax int min", lambda lib, x, m: lib.masked.amax(x, 1, mask=m), FIRST_OUT),
    ("amin int max", lambda lib, x, m: lib.masked.amin(x, 1, mask=m), FIRST_OUT),
    ("argmax int", lambda lib, x, m: lib.masked.argmax(x, 1, mask=m), INT_MASK),
    ("var int", lambda lib, x, m: lib.masked.var(x, 1, mask=m), FIRST_OUT),
    ("median int", lambda lib, x, m: lib.masked.median(x, 1, mask=m), INT_MASK),
    ("logsumexp int", lambda lib, x, m: lib.masked.logsumexp(x, 1, dtype=lib.float32, mask=m),
     INT_MASK),
]


@pytest.mark.parametrize("fn, mask", [r[1:] for r in INT_ROWS], ids=[r[0] for r in INT_ROWS])
def test_integer_inputs_match_torch(fn, mask):
    check(fn, INTS, mask, grad=False)


def test_bool_sum_and_0d_input_match_torch():
    flags = RNG.uniform(size=(3, 4)) < 0.5
    check(lambda lib, x, m: lib.masked.sum(x, 1, mask=m), flags, M_MANY[:3, :4], grad=False)
    check(lambda lib, x, m: lib.masked.sum(x, mask=m), np.array(2.5, np.float32), np.array(False))
    check(lambda lib, x, m: lib.masked.amax(x, mask=m), np.array(2.5, np.float32), np.array(True))


ERRORS = [
    ("mask rank", lambda lib, x, m: lib.masked.sum(x, mask=m[None]), "higher than of the input"),
    ("repeated dim", lambda lib, x, m: lib.masked.sum(x, (1, 1), mask=m), "appears multiple"),
    ("dim range", lambda lib, x, m: lib.masked.amax(x, 2, mask=m), "Dimension out of range"),
    ("mean int", lambda lib, x, m: lib.masked.mean(x.long(), mask=m), "Could not infer output"),
    ("int median masked row", lambda lib, x, m: lib.masked.median(x.long(), 1, mask=m),
     "no fully masked out rows"),
    ("not broadcastable", lambda lib, x, m: lib.masked.sum(x, mask=m[:, :2]), None),
]


@pytest.mark.parametrize("fn, match", [r[1:] for r in ERRORS], ids=[r[0] for r in ERRORS])
def test_errors_match_torch(fn, match):
    check_raises(fn, X, M, match=match)


def test_sparse_input_is_refused():
    sparse = ember.tensor([[0.0, 1.0]]).to_sparse()
    with pytest.raises(ValueError, match="expects strided tensor"):
        ember.masked.amax(sparse, mask=ember.tensor([[True, True]]))
