"""ember.special against torch.special: values, dtypes and gradients."""

import numpy as np
import pytest
from oracle import check, rand, randn

CASES = [
    ("expit", lambda lib, x: lib.special.expit(x), [randn(3, 4)]),
    ("logit", lambda lib, x: lib.special.logit(x), [rand(5, low=0.05, high=0.95)]),
    ("logit_eps", lambda lib, x: lib.special.logit(x, eps=1e-3), [rand(5)]),
    ("erf", lambda lib, x: lib.special.erf(x), [randn(4)]),
    ("erfc", lambda lib, x: lib.special.erfc(x), [randn(4)]),
    ("erfinv", lambda lib, x: lib.special.erfinv(x), [rand(4, low=-0.9, high=0.9)]),
    ("exp2", lambda lib, x: lib.special.exp2(x), [randn(4)]),
    ("expm1", lambda lib, x: lib.special.expm1(x), [randn(4)]),
    ("log1p", lambda lib, x: lib.special.log1p(x), [rand(4)]),
    ("gammaln", lambda lib, x: lib.special.gammaln(x), [rand(4, low=0.5, high=5)]),
    ("digamma", lambda lib, x: lib.special.digamma(x), [rand(4, low=0.5, high=5)]),
    ("psi", lambda lib, x: lib.special.psi(x), [rand(4, low=0.5, high=5)]),
    ("polygamma", lambda lib, x: lib.special.polygamma(1, x), [rand(4, low=0.5, high=5)]),
    ("sinc", lambda lib, x: lib.special.sinc(x), [randn(4)]),
    ("round", lambda lib, x: lib.special.round(x, decimals=2), [randn(4)]),
    ("softmax", lambda lib, x: lib.special.softmax(x, 1), [randn(2, 5)]),
    ("softmax_dtype", lambda lib, x: lib.special.softmax(x, 0, dtype=lib.float64), [randn(3)]),
    ("log_softmax", lambda lib, x: lib.special.log_softmax(x, -1), [randn(2, 5)]),
    ("logsumexp", lambda lib, x: lib.special.logsumexp(x, 1, keepdim=True), [randn(2, 5)]),
    ("xlogy", lambda lib, x, y: lib.special.xlogy(x, y), [randn(4), rand(4)]),
    ("xlog1py", lambda lib, x, y: lib.special.xlog1py(x, y), [randn(4), rand(4)]),
    ("xlog1py_zeros", lambda lib, y: lib.special.xlog1py(lib.zeros(3), y),
     [np.array([-1.0, 0.5, np.nan], dtype=np.float32)]),
    ("xlog1py_scalar", lambda lib, y: lib.special.xlog1py(2.0, y), [rand(3)]),
    # input == 0 still gets log1p(other) as its gradient (0 only where other <= -1)
    ("xlog1py_zero_input_grad", lambda lib, x, y: lib.special.xlog1py(x, y),
     [np.array([0.0, 0.0, 0.0, 1.5], dtype=np.float64),
      np.array([1.0, -1.0, -2.0, 3.0], dtype=np.float64)]),
    ("entr", lambda lib, x: lib.special.entr(x),
     [np.array([-1.0, 0.0, 0.25, 1.0, 3.0], dtype=np.float32)]),
    ("ndtr", lambda lib, x: lib.special.ndtr(x), [randn(6) * 3]),
    ("ndtri", lambda lib, x: lib.special.ndtri(x), [rand(6, low=0.01, high=0.99)]),
    ("log_ndtr", lambda lib, x: lib.special.log_ndtr(x), [randn(6) * 3]),
    ("multigammaln", lambda lib, x: lib.special.multigammaln(x, 3), [rand(4, low=1.5, high=4)]),
    ("float64", lambda lib, x: lib.special.ndtr(x), [randn(4).astype(np.float64)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_special_like_torch(name, fn, inputs):
    check(fn, *inputs, grad=name not in ("round", "xlog1py_zeros"))


def test_multigammaln_at_the_poles_like_torch():
    check(lambda lib, x: lib.special.multigammaln(x, 3),
          np.array([0.5, 1.0, 2.0], dtype=np.float32), grad=False)
