"""Sparse (COO and CSR) MaskedTensors against torch.masked: construction from sparse data
and mask, layout conversions, get_data/get_mask in sparse form, elementwise ops on equal
structures, reductions over all elements. Snippets of the "MaskedTensor Sparsity" and
"Efficiently writing sparse semantics for Adagrad with MaskedTensor" tutorials."""

import pytest
import torch

import ember
from masked._mt_oracle import assert_same_masked

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta"),
              pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly")]

INDICES = [[0, 1, 1], [2, 0, 2]]


def _sparse_pair(lib, values, mask_values=(True, False, True)):
    data = lib.sparse_coo_tensor(INDICES, values, (2, 3))
    mask = lib.sparse_coo_tensor(INDICES, lib.tensor(list(mask_values)), (2, 3))
    return lib.masked.masked_tensor(data, mask)


def _same(e, t):
    """Same layout, same printout, same sparse data and mask."""
    assert str(e.layout) == str(t.layout)
    assert repr(e) == repr(t)
    if t.is_sparse:
        assert repr(e.get_data()) == repr(t.get_data())
        assert repr(e.get_mask()) == repr(t.get_mask())
    else:
        assert_same_masked(e, t)


def _both(fn):
    e, t = fn(ember), fn(torch)
    if isinstance(t, (tuple, list)):
        for ei, ti in zip(e, t):
            _same(ei, ti)
    else:
        _same(e, t)
    return e, t


def test_dense_to_sparse_and_back():
    def run(lib):
        mt = lib.masked.masked_tensor(lib.tensor([[0, 0, 3], [4, 0, 5]]),
                                      lib.tensor([[False, False, True], [False, False, True]]))
        coo, csr = mt.to_sparse_coo(), mt.to_sparse_csr()
        return coo, csr, coo.to_dense(), csr.to_dense(), mt.to_sparse(), coo.to_sparse_csr()

    e, _ = _both(run)
    assert e[0].is_sparse and e[0].is_sparse_coo() and not e[0].is_sparse_csr()
    assert e[1].is_sparse and e[1].is_sparse_csr() and not e[2].is_sparse
    # torch fails to convert a sparse MaskedTensor to COO (a view of sparse data, or a
    # compressed-only sparse_mask); ember returns a COO one as itself and converts CSR
    coo, csr = e[0], e[1]
    assert coo.to_sparse_coo() is coo
    assert repr(csr.to_sparse_coo().get_data()) == repr(coo.get_data())


def test_construction_from_sparse_tensors():
    _both(lambda lib: _sparse_pair(lib, [3, 4, 5]))

    def from_to_sparse(lib):  # only the nonzeros stored: the 4 is not in the mask's indices
        values = lib.tensor([[0, 0, 3], [4, 0, 5]]).to_sparse()
        mask = lib.tensor([[False, False, True], [False, False, True]]).to_sparse()
        return lib.masked.masked_tensor(values, mask)

    _both(from_to_sparse)

    def csr(lib):
        crow, col = lib.tensor([0, 2, 4]), lib.tensor([0, 1, 0, 1])
        data = lib.sparse_csr_tensor(crow, col, lib.tensor([1, 2, 3, 4]), dtype=lib.double)
        mask = lib.sparse_csr_tensor(crow, col, lib.tensor([True, False, False, True]),
                                     dtype=lib.bool)
        mt = lib.masked.masked_tensor(data, mask)
        return mt, mt * 2, mt.sum()

    _both(csr)


def test_as_masked_tensor_of_sparse_data():
    _both(lambda lib: lib.masked.as_masked_tensor(
        lib.sparse_coo_tensor(INDICES, [3.0, 4.0, 5.0], (2, 3)),
        lib.sparse_coo_tensor(INDICES, lib.tensor([True, False, True]), (2, 3))))


def test_construction_errors_match_torch():
    def mismatched(lib):
        data = lib.sparse_coo_tensor(INDICES, [3, 4, 5], (2, 3))
        mask = lib.sparse_coo_tensor([[0, 1, 0], [2, 0, 0]], lib.tensor([True] * 3), (2, 3))
        return lib.masked.masked_tensor(data, mask)

    def layouts(lib):
        return lib.masked.masked_tensor(lib.ones(2, 3).to_sparse(), lib.ones(2, 3).bool())

    def csr_of_3d(lib):
        return lib.masked.masked_tensor(lib.ones(2, 2, 2), lib.ones(2, 2, 2).bool()).to_sparse_csr()

    for fn, error, match in [(mismatched, ValueError, "do not have the same indices"),
                             (layouts, TypeError, "same layout"),
                             (csr_of_3d, ValueError, "Only 2D tensors")]:
        with pytest.raises(error, match=match):
            fn(torch)
        with pytest.raises(error, match=match):
            fn(ember)


def test_sparsity_tutorial_ops():
    _both(lambda lib: _sparse_pair(lib, [3, 4, 5]).sin())
    _both(lambda lib: lib.div(_sparse_pair(lib, [20, 30, 40]), _sparse_pair(lib, [3, 4, 5])))
    _both(lambda lib: lib.mul(_sparse_pair(lib, [3, 4, 5]), _sparse_pair(lib, [20, 30, 40])))
    _both(lambda lib: _sparse_pair(lib, [3, 4, 5]) * 2.5)
    for reduce in ("sum", "amin", "amax", "argmax", "prod"):
        _both(lambda lib: getattr(_sparse_pair(lib, [3.0, 4.0, 5.0]), reduce)())
    # torch.masked averages a sparse MaskedTensor over every stored element (8 / 3 here),
    # masked-out ones included; ember over the specified ones, as for dense data
    assert _sparse_pair(torch, [3.0, 4.0, 5.0]).mean().get_data().item() == pytest.approx(8 / 3)
    assert _sparse_pair(ember, [3.0, 4.0, 5.0]).mean().get_data().item() == 4.0


def test_sparse_op_errors():
    def other_positions(lib):
        data = lib.sparse_coo_tensor([[0, 1, 1], [1, 0, 2]], [1, 2, 3], (2, 3))
        mask = lib.sparse_coo_tensor([[0, 1, 1], [1, 0, 2]], lib.tensor([True] * 3), (2, 3))
        return lib.masked.masked_tensor(data, mask)

    for lib in (ember, torch):
        with pytest.raises(ValueError, match="must match"):
            _sparse_pair(lib, [3, 4, 5]) + other_positions(lib)
    with pytest.raises(TypeError, match="not implemented in reductions"):
        _sparse_pair(ember, [3, 4, 5]).sum(1)
    with pytest.raises(TypeError, match="with sparse data"):
        _sparse_pair(ember, [3, 4, 5])[0]


def test_adagrad_tutorial():
    def run(lib):
        i = lib.tensor([[0, 1, 1], [2, 0, 2]])
        v = lib.tensor([3, 4, 5], dtype=lib.float32)
        grad = lib.sparse_coo_tensor(i, v, [2, 4])
        eps, clr = 1e-10, 0.01
        param2 = lib.arange(8).reshape(2, 4).float()
        state_sum2 = lib.full_like(param2, 0.5)
        mask = (grad.to_dense() != 0).to_sparse()
        masked_grad = lib.masked.masked_tensor(grad, mask)
        state_sum2 = state_sum2 + masked_grad.pow(2).get_data()
        std2 = lib.masked.masked_tensor(state_sum2.to_sparse(), mask)
        std2 = std2.sqrt().add(eps)
        update = (masked_grad / std2).get_data()
        return masked_grad, state_sum2, std2, update, param2 - clr * update.to_dense()

    e, t = run(ember), run(torch)
    for ei, ti in zip(e, t):
        if isinstance(ti, torch.masked.MaskedTensor):
            _same(ei, ti)
        else:
            assert repr(ei) == repr(ti)
