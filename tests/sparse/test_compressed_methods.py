"""Compressed tensors' function forms (torch.sum(csr), torch.add(dense, csr)...), in-place
methods, select/indexing and F.linear with a compressed weight, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from compressed_oracle import (
    MATRIX,
    RNG,
    ember_gradcheck,
    node_name,
    run,
    same_dense,
    same_grad,
    same_leaf_grad,
)
from sparse_oracle import same_compressed, same_sparse

import ember
from ember import overrides

pytestmark = pytest.mark.filterwarnings("ignore:Sparse (CSR|CSC|BSR|BSC|invariant)")


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """A compressed tensor installs the __torch_function__ dispatch (its function forms);
    leave ember as the other test modules expect it."""
    yield
    overrides._uninstall()


# -- function forms and in-place methods --------------------------------------------------------

FUNCTION_FORMS = {
    "sum": lambda lib, s: lib.sum(s),
    "abs": lambda lib, s: lib.abs(s),
    "sin": lambda lib, s: lib.sin(s),
    "neg": lambda lib, s: lib.neg(s),
    "relu": lambda lib, s: lib.relu(s),
    "mul": lambda lib, s: lib.mul(s, 2),
    "add_sparse": lambda lib, s: lib.add(s, s, alpha=2),
    "add_dense": lambda lib, s: lib.add(lib.ones(4, 4, dtype=s.dtype), s, alpha=2),
    "t": lambda lib, s: lib.t(s),
    "transpose": lambda lib, s: lib.transpose(s, 0, 1),
    "spmm": lambda lib, s: lib.spmm(s, lib.ones(4, 2, dtype=s.dtype)),
}


@pytest.mark.parametrize("name", FUNCTION_FORMS)
def test_function_forms(name):
    e, t, _, _ = run(FUNCTION_FORMS[name], MATRIX, grad=False)
    if t.layout == torch.strided:
        same_dense(e, t)
    else:
        same_compressed(e, t)


def test_function_forms_refuse_what_torch_refuses():
    s = ember.tensor(MATRIX).to_sparse_csr()
    with pytest.raises(NotImplementedError, match="aten::exp' with arguments from the "
                                                  "'SparseCsrCPU' backend"):
        ember.exp(s)
    with pytest.raises(NotImplementedError, match="aten::_values"):
        s._values()


IN_PLACE = {
    "mul_scalar": lambda lib, s: s.mul_(2),
    "mul_dense": lambda lib, s: s.mul_(lib.full((4, 4), 3.0, dtype=s.dtype)),
    "sin_": lambda lib, s: s.sin_(),
    "abs_": lambda lib, s: s.abs_(),
    "neg_": lambda lib, s: s.neg_(),
    "relu_": lambda lib, s: s.relu_(),
    "zero_": lambda lib, s: s.zero_(),
    "fill_": lambda lib, s: s.fill_(1),
    "add_": lambda lib, s: s.add_(lib.eye(4, dtype=s.dtype).to_sparse_csr(), alpha=2),
    "copy_": lambda lib, s: s.copy_(lib.tensor(MATRIX.T * 2).to_sparse_csr()),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place(name):
    results = []
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        out = IN_PLACE[name](lib, s)
        assert out is s
        results.append(s)
    same_compressed(*results)


def test_in_place_errors():
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="copy_: only sparse compressed tensors with the "
                                               "same number of specified elements"):
            lib.tensor(MATRIX).to_sparse_csr().copy_(lib.eye(4).double().to_sparse_csr())
        s = lib.tensor(MATRIX).to_sparse_csr().requires_grad_()
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation"):
            s.mul_(2)


SELECTS = {
    "row": lambda lib, s: s[1],
    "empty_row": lambda lib, s: s.select(0, 2),
    "column": lambda lib, s: s.select(1, 2),
    "negative": lambda lib, s: s[-1],
    "csc_row": lambda lib, s: s.to_sparse_csc()[0],
    "vec_at_csr": lambda lib, s: lib.ones(4, dtype=s.dtype) @ s,
}


@pytest.mark.parametrize("name", SELECTS)
def test_select(name):
    dense_out = name == "vec_at_csr"  # torch's select backward refuses a sparse result
    e, t, (es, _), (ts, _) = run(SELECTS[name], MATRIX, torch_grad=dense_out)
    if dense_out:
        same_dense(e, t)
        same_leaf_grad(es, ts)
    else:
        same_sparse(e, t, check_repr=False)  # torch ran without gradients: no grad_fn
        assert node_name(e) == "SelectBackward0"
        ember_gradcheck(SELECTS[name], MATRIX)


def test_select_batch_and_errors():
    batched = np.stack([MATRIX, -MATRIX])
    e, t = (lib.tensor(batched).to_sparse_csr()[1] for lib in (ember, torch))
    same_compressed(e, t)
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with "
                                             "size 4"):
            s[4]
        with pytest.raises(IndexError, match=r"select\(\): index -5 out of range for tensor of "
                                             r"size \[4, 4\] at dimension 1"):
            s.select(1, -5)
        with pytest.raises(RuntimeError, match="Sparse CSR tensors do not have strides"):
            s[1:3]
        with pytest.raises(RuntimeError, match="select\\(\\): no view exists"):
            lib.tensor(MATRIX).to_sparse_bsr((2, 2))[0]



@pytest.mark.parametrize("case", ["bias", "no_bias", "batch", "vector"])
def test_linear_with_a_compressed_weight(case):
    weight = MATRIX[:2]
    shapes = {"bias": (3, 4), "no_bias": (3, 4), "batch": (2, 3, 4), "vector": (4,)}
    x = RNG.standard_normal(shapes[case])
    bias = RNG.standard_normal(2)

    def fn(lib, w, x, b):
        return lib.nn.functional.linear(x, w, None if case == "no_bias" else b)

    e, t, (ew, (ex, eb)), (tw, (tx, tb)) = run(fn, weight, x, bias)
    same_dense(e, t)
    same_leaf_grad(ew, tw)
    same_dense(ex.grad, tx.grad)
    same_grad(eb.grad, tb.grad)


PARAMETER_LEFT = {  # a dense subclass on the left is asked first; its operators dispatch
    "add": lambda lib, p, s: p + s,
    "mul": lambda lib, p, s: p * s,
    "matmul": lambda lib, p, s: p @ s,
    "add_alpha": lambda lib, p, s: p.add(s, alpha=2),
    "mul_method": lambda lib, p, s: p.mul(s),
}


@pytest.mark.parametrize("name", PARAMETER_LEFT)
def test_operators_with_a_parameter_on_the_left(name):
    results = []
    for lib in (ember, torch):
        s = lib.tensor(MATRIX).to_sparse_csr()
        p = lib.nn.Parameter(lib.full((4, 4), 2.0, dtype=s.dtype))
        results.append(PARAMETER_LEFT[name](lib, p, s))
    e, t = results
    if t.layout == torch.strided:
        same_dense(e, t)
    else:
        same_compressed(e, t, check_repr=False)


def test_pruned_linear_layer():
    """nn.Linear with its weight replaced by a CSR Parameter: registered, printed, used by
    forward, and given torch's dense gradient."""
    results = []
    inputs = RNG.standard_normal((3, 4))
    for lib in (ember, torch):
        layer = lib.nn.Linear(4, 2).double()
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(MATRIX[:2]))
            layer.bias.fill_(0.5)
        layer.weight = lib.nn.Parameter(layer.weight.detach().to_sparse_csr())
        out = layer(lib.tensor(inputs))
        out.sum().backward()
        assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
        results.append((repr(layer.weight), out, layer.weight.grad, layer.bias.grad))
    (e_repr, *e), (t_repr, *t) = results
    assert e_repr == t_repr
    for mine, theirs in zip(e, t):
        same_dense(mine, theirs)
