"""``ember.segment_reduce`` against ``torch.segment_reduce``: values, gradients (ties,
zeros in products, gradcheck) and errors."""

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember

# -- segment_reduce -------------------------------------------------------------------------

SEG_DATA = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
SEG_CASES = [  # (reduce, keyword arguments built by lib)
    (red, kw) for red in ("sum", "mean", "max", "min", "prod", "amax", "amin") for kw in (
        lambda lib: {"lengths": lib.tensor([2, 0, 2])},
        lambda lib: {"lengths": lib.tensor([1, 3]), "initial": 0.5},
        lambda lib: {"lengths": lib.tensor([[1, 2], [3, 0], [0, 3], [2, 1]]), "axis": 1},
        lambda lib: {"offsets": lib.tensor([0, 1, 1, 4]), "initial": 2.0},
    )
]


@pytest.mark.parametrize("case", range(len(SEG_CASES)))
def test_segment_reduce_values_and_gradients_match_torch(case):
    reduce, kwargs = SEG_CASES[case]
    upstream = None
    results = []
    for lib in (ember, torch):
        data = lib.tensor(SEG_DATA, requires_grad=True)
        out = lib.segment_reduce(data, reduce, **kwargs(lib))
        if upstream is None:
            upstream = np.random.default_rng(case).standard_normal(tuple(out.shape))
        (out * lib.tensor(upstream.astype(np.float32))).sum().backward()
        results.append((out.detach().numpy(), data.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1.3e-6, atol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1.3e-6, atol=1e-5)


def test_segment_reduce_gradcheck_ties_and_special_inputs():
    data = ember.tensor(SEG_DATA.astype(np.float64), requires_grad=True)
    for reduce in ("sum", "mean", "max", "min", "prod"):
        assert ember.autograd.gradcheck(lambda d, r=reduce: ember.segment_reduce(
            d, r, lengths=ember.tensor([1, 2, 1]), initial=None if r != "mean" else 1.0),
            (data,))
    for lib in (ember, torch):  # ties share the gradient; a zero in a product
        tied = lib.tensor([3.0, 3.0, 1.0, 0.0, 4.0, 2.0], requires_grad=True)
        lib.segment_reduce(tied, "max", lengths=lib.tensor([3, 3])).sum().backward()
        zeros = lib.tensor([0.0, 4.0, 2.0, 0.0, 0.0, 1.0], requires_grad=True)
        lib.segment_reduce(zeros, "prod", lengths=lib.tensor([3, 3])).sum().backward()
        assert tied.grad.tolist() == [0.5, 0.5, 0.0, 0.0, 1.0, 0.0]
        assert zeros.grad.tolist() == [8.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    special = [lambda lib: lib.segment_reduce(lib.tensor([1.0, float("nan"), 3.0]), "max",
                                              lengths=lib.tensor([3])),
               lambda lib: lib.segment_reduce(lib.ones(0, 3), "sum", lengths=lib.tensor([0, 0])),
               lambda lib: lib.segment_reduce(lib.tensor(SEG_DATA), "sum",
                                              lengths=lib.tensor([1, 1]), unsafe=True),
               lambda lib: lib.segment_reduce(lib.tensor(SEG_DATA).double(), "sum",
                                              lengths=lib.tensor([4]).int(), axis=-2),
               lambda lib: lib.segment_reduce(lib.tensor(SEG_DATA).half(), "sum",
                                              lengths=lib.tensor([4])).float()]
    for case in special:
        e, t = case(ember), case(torch)
        assert str(e.dtype) == str(t.dtype)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-3, equal_nan=True)


SEG_ERRORS = [
    lambda lib, d: lib.segment_reduce(d, "sum"),
    lambda lib, d: lib.segment_reduce(d, "foo", lengths=lib.tensor([4])),
    lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([1, 1])),
    lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([-1, 5])),
    lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([2.0, 2.0])),
    lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([2, 2]), axis=1),
    lambda lib, d: lib.segment_reduce(d.int(), "sum", lengths=lib.tensor([2, 2])),
    lambda lib, d: lib.segment_reduce(d, "sum", offsets=lib.tensor([0, 3, 2, 4])),
    lambda lib, d: lib.segment_reduce(d[:, 0], "sum", lengths=lib.tensor([[2, 2]])),
]


@pytest.mark.parametrize("case", range(len(SEG_ERRORS)))
def test_segment_reduce_errors_match_torch(case):
    e_error, t_error = check_raises(SEG_ERRORS[case], SEG_DATA)
    assert str(e_error) == str(t_error)
