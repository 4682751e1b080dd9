"""Small parity fixes against PyTorch: SAC's ATen names for ember's nodes, matmul of empty
batched operands with mixed dtypes, bad beta/alpha types of the add-products, and
``lerp_``'s cast check for a 0-d weight."""

from __future__ import annotations

import pytest
import torch

import ember
from tests.oracle import check_raises

# -- matmul: empty batched operands of different dtypes --------------------------------

# (shape of a (float32), shape of b (float64)): each reaches bmm, which returns before its
# kernel's dtype check, or is folded into mm / mv (whose check raises)
_EMPTY_MIXED = [
    ((0, 2, 3), (0, 3, 4)),  # empty batch
    ((2, 3, 0), (2, 0, 2)),  # empty contraction: zeros
    ((2, 0, 3), (2, 3, 2)),  # empty rows
    ((2, 1, 2, 0), (3, 0, 2)),  # broadcast batch
    ((3, 0), (2, 0, 2)),  # a matrix against a batch
    ((1, 3, 0), (1, 0, 2)),  # one batch each
    ((0, 2, 3), (1, 3, 4)),  # a batch of one is folded into mm: mm's error
    ((1, 3, 0), (2, 0, 2)),  # ... transposed
    ((0, 2, 3), (3, 2)),  # folded into mm
    ((3,), (0, 3, 2)),  # folded into mv
    ((0, 2, 3), (0, 4, 2)),  # sizes are still checked
    ((0, 2, 3), (2, 3, 2)),  # and batch broadcasting
]


@pytest.mark.parametrize("a_shape,b_shape", _EMPTY_MIXED)
def test_matmul_empty_mixed_dtypes(a_shape, b_shape):
    def run(lib):
        a = lib.zeros(a_shape, requires_grad=len(a_shape) > 2)
        b = lib.zeros(b_shape, dtype=lib.float64, requires_grad=True)
        out = lib.matmul(a, b)
        out.sum().backward()
        return out, a.grad, b.grad

    try:
        expected = run(torch)
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match=f"^{_escaped(error)}$"):
            run(ember)
        return
    got = run(ember)
    assert got[0].grad_fn.name() == expected[0].grad_fn.name()
    for e, t in zip(got, expected):
        if t is None:
            assert e is None
            continue
        assert e.dtype == getattr(ember, str(t.dtype).split(".")[1])
        torch.testing.assert_close(torch.from_numpy(e.detach().numpy()), t)


def _escaped(error):
    import re

    return re.escape(str(error))


def test_matmul_empty_mixed_no_grad_matrix_operand():
    # a 2-D operand that does not require grad keeps the batched path
    out = ember.matmul(ember.zeros(3, 0), ember.zeros(2, 0, 2, dtype=ember.float64))
    expected = torch.matmul(torch.zeros(3, 0), torch.zeros(2, 0, 2, dtype=torch.float64))
    assert out.dtype == ember.float64 and tuple(out.shape) == tuple(expected.shape)


# -- beta / alpha that are not numbers -----------------------------------------------------

_PRODUCTS = {
    "addmm": lambda lib, s: (lib.zeros(2, 2), lib.zeros(2, 2), lib.zeros(2, 2)),
    "addmv": lambda lib, s: (lib.zeros(2), lib.zeros(2, 2), lib.zeros(2)),
    "baddbmm": lambda lib, s: (lib.zeros(1, 2, 2), lib.zeros(1, 2, 2), lib.zeros(1, 2, 2)),
    "addbmm": lambda lib, s: (lib.zeros(2, 2), lib.zeros(1, 2, 2), lib.zeros(1, 2, 2)),
    "addr": lambda lib, s: (lib.zeros(2, 2), lib.zeros(2), lib.zeros(2)),
}


@pytest.mark.parametrize("op", sorted(_PRODUCTS))
@pytest.mark.parametrize("name", ["beta", "alpha"])
@pytest.mark.parametrize("value", ["a", None, [1]])
def test_product_scalar_type_error(op, name, value):
    def run(lib):
        return getattr(lib, op)(*_PRODUCTS[op](lib, None), **{name: value})

    error, torch_error = check_raises(lambda lib: run(lib))
    assert str(error) == str(torch_error).splitlines()[0]


def test_product_scalar_numbers_still_accepted():
    for value in (2, 0.5, True, ember.tensor(2.0)):
        out = ember.addmm(ember.ones(2, 2), ember.ones(2, 2), ember.ones(2, 2), beta=value)
        t_value = torch.tensor(2.0) if isinstance(value, ember.Tensor) else value
        expected = torch.addmm(torch.ones(2, 2), torch.ones(2, 2), torch.ones(2, 2),
                               beta=t_value)
        torch.testing.assert_close(torch.from_numpy(out.numpy()), expected)


# -- lerp_ with a 0-d weight ----------------------------------------------------------------

@pytest.mark.parametrize("weight", [1, 1.0, True, 0.5, [1, 0]], ids=str)
@pytest.mark.parametrize("end_dtype", ["bool", "int64"])
def test_lerp_inplace_bool_errors(weight, end_dtype):
    def run(lib):
        w = lib.tensor(weight) if not isinstance(weight, float) or weight == 1.0 else weight
        end = lib.tensor([True, False]).to(getattr(lib, end_dtype))
        return lib.tensor([True, False]).lerp_(end, w)

    error, torch_error = check_raises(run)
    assert str(error) == str(torch_error)


@pytest.mark.parametrize("weight_dtype", ["int64", "float64", "bool"])
def test_lerp_inplace_float_with_0d_weight(weight_dtype):
    def run(lib):
        x = lib.tensor([1.0, 2.0])
        return x.lerp_(lib.tensor([3.0, 5.0]), lib.tensor(1).to(getattr(lib, weight_dtype)))

    out, expected = run(ember), run(torch)
    assert out.dtype == ember.float32
    torch.testing.assert_close(torch.from_numpy(out.numpy()), expected)
