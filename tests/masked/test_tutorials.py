"""Snippets of PyTorch's MaskedTensor tutorials ("MaskedTensor Overview", "MaskedTensor
Advanced Semantics" and the dense parts of "MaskedTensor Sparsity"), run on ember and on
torch and compared."""

import numpy as np
import pytest
import torch

import ember
from masked._mt_oracle import assert_same_masked, both, masked
from oracle import as_numpy


def test_overview_indexing_and_slicing():
    def run(lib):
        data = lib.arange(24).reshape(2, 3, 4)
        mt = lib.masked.masked_tensor(data.float(), data % 2 == 0)
        return mt[0], mt[:, :, 2:4]

    e, t = run(ember), run(torch)
    assert_same_masked(e, t)
    assert [repr(x) for x in e] == [repr(x) for x in t]


def test_overview_where_gradient_is_masked_not_nan():
    def run(lib):
        x = lib.tensor([-10.0, -5, 0, 5, 10, 50, 60, 70, 80, 90, 100])
        mask = x < 0
        mx = lib.masked.masked_tensor(x, mask, requires_grad=True)
        my = lib.masked.masked_tensor(lib.ones_like(x), ~mask, requires_grad=True)
        y = lib.where(mask, lib.exp(mx), my)
        y.sum().backward()
        return y, mx.grad, my.grad

    (ey, emx, emy), (ty, tmx, tmy) = run(ember), run(torch)
    assert_same_masked(ey, ty)
    assert_same_masked(emx, tmx, "mx.grad")
    assert_same_masked(emy, tmy, "my.grad")
    assert repr(emx) == repr(tmx)
    assert not np.isnan(as_numpy(emx.to_tensor(0))).any()


def test_overview_where_of_a_division_by_zero():
    def run(lib):
        a = lib.masked.masked_tensor(lib.tensor(0.5), lib.tensor(True), requires_grad=True)
        b, c = lib.tensor(False), lib.ones(())
        out = lib.where(b, a / 0, c)
        (grad,) = lib.autograd.grad(lib.where(b, a / 0, c), a)
        return out, grad

    (e_out, e_grad), (t_out, t_grad) = run(ember), run(torch)
    assert_same_masked(e_out, t_out)
    assert_same_masked(e_grad, t_grad, "grad")  # where did not take a/0: masked out
    assert repr(e_grad) == repr(t_grad) == "MaskedTensor(--, False)"


def test_overview_as_masked_tensor_division():
    def run(lib):
        x = lib.tensor([1.0, 1.0], requires_grad=True)
        div = lib.tensor([0.0, 1.0])
        loss = lib.masked.as_masked_tensor(x / div, div != 0)
        loss.sum().backward()
        return loss.sum(), x.grad

    (e_sum, e_grad), (t_sum, t_grad) = run(ember), run(torch)
    assert_same_masked(e_sum, t_sum)
    # the specified element's gradient agrees; torch shows the other one masked out, ember
    # (whose gradients of plain tensors stay plain) computes 0 / 0 there
    assert as_numpy(e_grad)[1] == as_numpy(t_grad.get_data())[1] == 1.0
    assert not bool(t_grad.get_mask()[0]) and np.isnan(as_numpy(e_grad)[0])


def test_overview_nansum_gradient():
    def run(lib):
        a = lib.tensor([1.0, 2.0, float("nan")])
        b = lib.tensor(1.0, requires_grad=True)
        mt = lib.masked.masked_tensor(a, ~lib.isnan(a))
        c1 = lib.sum(mt * b)
        (bgrad,) = lib.autograd.grad(c1, b, retain_graph=True)
        return c1, bgrad

    (e_sum, e_grad), (t_sum, t_grad) = run(ember), run(torch)
    assert_same_masked(e_sum, t_sum)
    # torch hands the plain b a MaskedTensor gradient (its backward runs on MaskedTensors);
    # ember's is a plain tensor with the same value: the nan element is skipped, not 0 * nan
    assert e_grad.item() == t_grad.get_data().item() == 3.0


def test_overview_safe_softmax():
    data = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    mask = np.array([[True, False, False], [True, False, True], [False, False, False]])
    e, t = both(lambda lib, d, m: masked(lib, d, m).softmax(0), data, mask)
    assert repr(e) == repr(t)
    plain = ember.tensor(data).masked_fill(~ember.tensor(mask), float("-inf")).softmax(0)
    assert np.isnan(as_numpy(plain)[:, 1]).all()  # what the masked version avoids


def test_overview_missing_nan_operators():
    def run(lib):
        x = lib.arange(16).float()
        y = x * x.fmod(4)
        z = y.masked_fill(y == 0, float("nan"))
        nan_x = lib.empty(16).fill_(float("nan"))
        return (lib.mean(lib.masked.masked_tensor(y, y != 0)), lib.nanmean(z),
                lib.argmin(lib.masked.masked_tensor(y, y != 0)),
                lib.mean(lib.masked.masked_tensor(nan_x, ~lib.isnan(nan_x))))

    e, t = run(ember), run(torch)
    assert_same_masked(e, t)
    assert e[0].get_data().item() == pytest.approx(e[1].item())
    assert e[2].get_data().item() == 1.0
    assert repr(e[3]) == repr(t[3]) == "MaskedTensor(--, False)"


def test_advanced_semantics_binary_ops_need_equal_masks():
    def run(lib):
        data = lib.arange(5.0)
        mask = lib.tensor([True, True, False, True, False])
        mt0 = lib.masked.masked_tensor(data, mask)
        mt1 = lib.masked.masked_tensor(data, ~mask)
        with pytest.raises(ValueError, match="Input masks must match"):
            mt0 + mt1
        t0, t1 = mt0.to_tensor(0), mt1.to_tensor(0)
        return lib.masked.masked_tensor(t0 + t1, mt0.get_mask() & mt1.get_mask())

    e, t = run(ember), run(torch)
    assert_same_masked(e, t)
    assert repr(e) == repr(t)


def test_advanced_semantics_reductions():
    mask = np.random.default_rng(3).integers(0, 2, (3, 4)).astype(bool)
    mask[1] = False
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    for name in ("sum", "mean", "prod", "amin", "amax"):
        e, t = both(lambda lib, d, m: getattr(lib, name)(masked(lib, d, m), 1), data, mask)
        assert repr(e) == repr(t)

    def associativity(lib):
        data0 = lib.arange(10.0).reshape(2, 5)
        mask0 = lib.tensor([[True, True, False, False, False], [False, False, False, True, True]])
        mask1 = lib.tensor([[False, False, False, True, True], [True, True, False, False, False]])
        mt0 = lib.masked.masked_tensor(data0, ~mask0)
        mt1 = lib.masked.masked_tensor(data0 + 10, ~mask1)
        return (mt0.to_tensor(0) + mt1.to_tensor(0)).sum(0)

    assert as_numpy(associativity(ember)).tolist() == as_numpy(associativity(torch)).tolist()


def test_sparsity_tutorial_dense_parts():
    values = np.array([[0, 0, 3], [4, 0, 5]])
    mask = np.array([[False, False, True], [False, False, True]])
    for fn in (lambda mt: mt.sin(), lambda mt: mt.sum(), lambda mt: mt.sum(dim=1),
               lambda mt: mt.amin(), lambda mt: mt.to_dense()):
        e, t = both(lambda lib, v, m: fn(masked(lib, v, m)), values, mask)
        assert repr(e) == repr(t)
    dense = masked(ember, values, mask)
    assert not dense.is_sparse and not dense.is_sparse_coo() and not dense.is_sparse_csr()
    # the sparse parts: tests/masked/test_sparse.py
