"""matmul's forms against PyTorch: every broadcastable shape pair (hypothesis), the
products' ``out=``, and the autograd node names of each form."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from oracle import check, randn

F64 = np.float64


@st.composite
def matmul_shapes(draw):
    """Two shapes matmul accepts: 1-D or matrices with batch dims that broadcast."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), max_size=3))
    batch_a = [draw(st.sampled_from([size, 1])) for size in batch]
    batch_b = [draw(st.sampled_from([size, 1])) for size in batch]
    batch_a = batch_a[draw(st.integers(0, len(batch_a))):]
    batch_b = batch_b[draw(st.integers(0, len(batch_b))):]
    shape_a = (k,) if draw(st.booleans()) and not batch_a else tuple(batch_a) + (m, k)
    shape_b = (k,) if draw(st.booleans()) and not batch_b else tuple(batch_b) + (k, n)
    return shape_a, shape_b


@settings(max_examples=40, deadline=None)
@given(matmul_shapes())
def test_matmul_hypothesis(shapes):
    shape_a, shape_b = shapes
    check(lambda lib, a, b: a @ b, randn(*shape_a, dtype=F64), randn(*shape_b, dtype=F64))



@pytest.mark.parametrize("name,make", [
    ("mm", lambda lib: (lib.ones(2, 3), lib.ones(3, 4))),
    ("bmm", lambda lib: (lib.ones(2, 2, 3), lib.ones(2, 3, 4))),
    ("mv", lambda lib: (lib.ones(2, 3), lib.ones(3))),
    ("dot", lambda lib: (lib.ones(3), lib.ones(3))),
    ("outer", lambda lib: (lib.ones(3), lib.arange(2.0))),
    ("addmm", lambda lib: (lib.ones(2, 4), lib.ones(2, 3), lib.ones(3, 4))),
    ("inverse", lambda lib: (lib.eye(3) * 2,)),
])
def test_products_honour_out(name, make):
    results = []
    for lib in (ember, torch):
        out = lib.zeros(1)
        returned = getattr(lib, name)(*make(lib), out=out)
        assert returned is out
        results.append(out.tolist())
    assert results[0] == results[1]


@pytest.mark.parametrize("shapes", [((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                    ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4))])
def test_matmul_node_names_as_torch(shapes):
    names = [(lib.randn(*shapes[0], requires_grad=True) @ lib.randn(*shapes[1])).grad_fn.name()
             for lib in (ember, torch)]
    assert names[0] == names[1]
