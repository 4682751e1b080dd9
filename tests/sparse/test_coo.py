"""COO tensors against PyTorch: construction, conversions, accessors, reprs, errors.

Sparse results are compared by their printed form (which shows indices, values, size,
nnz, dtype and autograd state exactly as PyTorch prints them) and by their parts.
"""

from __future__ import annotations

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check_raises
from sparse_oracle import both, same_sparse

import ember

# PyTorch warns once that it skips index checks unless asked (check_invariants).
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

I = [[0, 1, 1, 0], [2, 0, 2, 2]]
V = [3.0, 4.0, 5.0, 1.0]


DENSE = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [3.0, 0.0, 4.0]],
                 dtype=np.float32)

CONSTRUCT = {
    "2d": lambda lib: lib.sparse_coo_tensor(lib.tensor(I), lib.tensor(V), (2, 3)),
    "inferred_size": lambda lib: lib.sparse_coo_tensor(lib.tensor(I), lib.tensor(V)),
    "lists": lambda lib: lib.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2], (2, 2)),
    "float64": lambda lib: lib.sparse_coo_tensor(I, V, (2, 3), dtype=lib.float64),
    "hybrid": lambda lib: lib.sparse_coo_tensor(
        lib.tensor([[0, 0, 1]]), lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), (3, 2)),
    "empty": lambda lib: lib.sparse_coo_tensor(
        lib.zeros(2, 0, dtype=lib.long), lib.zeros(0), (2, 3)),
    "is_coalesced_flag": lambda lib: lib.sparse_coo_tensor(
        [[0, 1]], [1.0, 2.0], (2,), is_coalesced=True),
    "requires_grad": lambda lib: lib.sparse_coo_tensor(I, V, (2, 3), requires_grad=True),
    "int32_values": lambda lib: lib.sparse_coo_tensor(I, lib.tensor([1, 2, 3, 4],
                                                                    dtype=lib.int32), (2, 3)),
    "3d": lambda lib: lib.sparse_coo_tensor([[0, 1], [1, 0], [2, 3]], [1.5, -2.0], (2, 2, 4)),
    "values_requiring_grad": lambda lib: lib.sparse_coo_tensor(
        I, lib.tensor(V, requires_grad=True), (2, 3)),
    "to_sparse_grad": lambda lib: lib.tensor(DENSE, dtype=lib.float64,
                                             requires_grad=True).to_sparse(),
    "to_sparse1_grad": lambda lib: lib.tensor(DENSE, requires_grad=True).to_sparse(1),
    "coalesce_grad": lambda lib: lib.sparse_coo_tensor(
        I, lib.tensor(V, requires_grad=True), (2, 3)).coalesce(),
    "float_indices": lambda lib: lib.sparse_coo_tensor(lib.tensor(I).float(), V, (2, 3)),
    "int32_indices": lambda lib: lib.sparse_coo_tensor(lib.tensor(I, dtype=lib.int32), V),
    "check_invariants": lambda lib: lib.sparse_coo_tensor(I, V, (2, 3), check_invariants=True),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCT))
def test_construct(name):
    e, t = both(CONSTRUCT[name])
    same_sparse(e, t)
    assert e.layout is ember.sparse_coo and str(e.layout) == str(t.layout)
    assert e.is_leaf == t.is_leaf and e.requires_grad == t.requires_grad
    np.testing.assert_array_equal(as_numpy(e.to_dense()), as_numpy(t.to_dense()))


CONSTRUCT_ERRORS = {
    "size_rank": (lambda lib: lib.sparse_coo_tensor(I, V, (2, 3, 4)),
                  (r"'len\(size\) == sparse_dim \+ dense_dim' is not satisfied: len\(size\) = 3, "
                  r"sparse_dim = 2, dense_dim = 0")),
    "nnz": (lambda lib: lib.sparse_coo_tensor(I, V[:3], (2, 3)),
            ("indices and values must have same nnz, but got nnz from indices: 4, nnz from "
            "values: 3")),
    "negative": (lambda lib: lib.sparse_coo_tensor(
        [[0, -1], [0, 0]], [1.0, 2.0], (2, 3), check_invariants=True),
        "found negative index -1 for dim 0"),
    "out_of_range": (lambda lib: lib.sparse_coo_tensor(I, V, (1, 3), check_invariants=True),
                     ("size is inconsistent with indices: for dim 0, size is 1 but found "
                     "index 1")),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCT_ERRORS))
def test_construct_errors(name):
    fn, message = CONSTRUCT_ERRORS[name]
    check_raises(fn, match=message)


def test_layouts():
    assert ember.zeros(2).layout is ember.strided and ember.zeros(2).layout == ember.strided
    assert repr(ember.strided) == repr(torch.strided) == "torch.strided"
    assert repr(ember.sparse_coo) == repr(torch.sparse_coo)
    assert ember.strided != ember.sparse_coo
    assert isinstance(ember.sparse_coo, ember.layout)
    assert ember.zeros(2).is_sparse is False


@pytest.mark.parametrize("sparse_dim", [None, 1, 2])
def test_to_sparse_and_back(sparse_dim):
    e, t = both(lambda lib: lib.tensor(DENSE).to_sparse(*(() if sparse_dim is None
                                                          else (sparse_dim,))))
    same_sparse(e, t)
    np.testing.assert_array_equal(as_numpy(e.to_dense()), DENSE)
    same_sparse(*both(lambda lib: lib.tensor(DENSE).to_sparse_coo()))
    same_sparse(*both(lambda lib: lib.tensor([1.0, 0.0, 2.0], dtype=lib.float64).to_sparse()))
    same_sparse(*both(lambda lib: lib.zeros(2, 3).to_sparse()))


def test_dense_to_dense_is_self():
    x = ember.ones(2)
    assert x.to_dense() is x


def test_coalesce_and_accessors():
    e, t = both(CONSTRUCT["2d"])
    same_sparse(e.coalesce(), t.coalesce())
    assert e.coalesce().coalesce() is not None and e.coalesce().is_coalesced()
    for name in ("indices", "values"):
        check_raises(lambda lib, name=name: getattr(CONSTRUCT["2d"](lib), name)(),
                     match=f"Cannot get {name} on an uncoalesced tensor, please call "
                           r"\.coalesce\(\) first")
    np.testing.assert_array_equal(as_numpy(e.coalesce().indices()),
                                  as_numpy(t.coalesce().indices()))
    np.testing.assert_array_equal(as_numpy(e.coalesce().values()),
                                  as_numpy(t.coalesce().values()))
    assert (e.dim(), e.ndim, e.numel(), tuple(e.size()), e.size(-1)) == \
        (t.dim(), t.ndim, t.numel(), tuple(t.size()), t.size(-1))
    assert e.shape == ember.Size([2, 3]) and e.device.type == oracle.DEVICE
    hybrid_e, hybrid_t = both(CONSTRUCT["hybrid"])
    same_sparse(hybrid_e.coalesce(), hybrid_t.coalesce())


def test_transpose():
    e, t = both(CONSTRUCT["2d"])
    same_sparse(e.t(), t.t())
    same_sparse(e.transpose(0, 1), t.transpose(0, 1))
    same_sparse(e.transpose(-1, -2), t.transpose(-1, -2))
    same_sparse(e.coalesce().t(), t.coalesce().t())


def test_to_dtype_and_device():
    e, t = both(CONSTRUCT["2d"])
    same_sparse(e.to(ember.float64), t.to(torch.float64))
    same_sparse(e.double(), t.double())
    assert e.to(oracle.DEVICE) is e and e.to(e.device, ember.float32) is e
    same_sparse(e.cpu(), t.cpu())
    assert e.cpu().device.type == "cpu"


def test_dense_ops_refuse_sparse_operands():
    for fn, op in ((lambda lib, s: lib.exp(s), "exp"), (lambda lib, s: s.view(6), "view"),
                   (lambda lib, s: s.sigmoid(), "sigmoid")):
        e, t = check_raises(lambda lib, fn=fn: fn(lib, CONSTRUCT["2d"](lib)))
        backend = "SparseCUDA" if oracle.DEVICE == "cuda" else "SparseCPU"
        assert f"Could not run 'aten::{op}' with arguments from the '{backend}' backend" in str(e)
        assert f"'aten::{op}'" in str(t) and "'SparseCPU'" in str(t)


def test_to_device_and_back():
    """``.to(device)``/``.cuda()`` move indices and values through the backend layer (on
    the oracle's device: cuda runs on CuPy, or on its NumPy double without a GPU)."""
    e, t = both(CONSTRUCT["2d"])
    moved = e.to(oracle.DEVICE)
    assert moved.device.type == oracle.DEVICE and moved._indices().device == moved.device
    if oracle.DEVICE == "cuda":
        assert e.cuda().device.type == "cuda"
        assert "device='cuda:0'" in repr(moved)
    dense = ember.ones(3, 2, device=oracle.DEVICE)
    out = ember.sparse.mm(moved, dense)
    assert out.device == moved.device
    # torch's own tensors are on its oracle device (cuda too where torch has a GPU)
    np.testing.assert_allclose(as_numpy(out), as_numpy(t @ torch.ones(3, 2, device=t.device)))
    same_sparse(moved.cpu(), t.cpu())


def test_check_sparse_tensor_invariants():
    for lib in (ember, torch):
        checker = lib.sparse.check_sparse_tensor_invariants
        assert not checker.is_enabled()
        with checker():
            assert checker.is_enabled()
            with pytest.raises(RuntimeError, match="size is 3 but found index 5"):
                lib.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
            assert lib.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,),
                                         check_invariants=False)._nnz() == 2
        assert not checker.is_enabled()


def test_data_and_flags():
    e, t = both(lambda lib: lib.sparse_coo_tensor(I, V, (2, 3), requires_grad=True))
    same_sparse(e.data, t.data)
    assert not e.data.requires_grad
    assert e.is_sparse_csr is t.is_sparse_csr is False
    assert ember.zeros(1).is_sparse_csr is torch.zeros(1).is_sparse_csr


INDEX_SELECT = {
    "rows_repeated": (lambda lib: lib.sparse_coo_tensor(
        [[0, 1, 1, 2], [0, 0, 2, 1]], [1.0, 2, 3, 4], (3, 3)), 0, [1, 1, 0]),
    "columns": (lambda lib: lib.sparse_coo_tensor(
        [[0, 1, 1, 2], [0, 0, 2, 1]], [1.0, 2, 3, 4], (3, 3)), 1, [2, 0]),
    "hybrid_dense_dim": (CONSTRUCT["hybrid"], 1, [1, 1, 0]),
    "absent": (CONSTRUCT["2d"], 0, [1]),
}


@pytest.mark.parametrize("name", sorted(INDEX_SELECT))
def test_index_select(name):
    make, dim, index = INDEX_SELECT[name]
    e, t = both(lambda lib: make(lib).index_select(dim, lib.tensor(index)))
    if name in ("rows_repeated", "columns", "hybrid_dense_dim") and (
            name == "hybrid_dense_dim" or oracle.DEVICE == oracle.TORCH_DEVICE):
        same_sparse(e, t)  # entry order: CUDA's kernel has its own (below)
    if name in CUDA_INDEX_SELECT_ORDER and oracle.DEVICE == "cuda":
        indices, values = CUDA_INDEX_SELECT_ORDER[name]
        assert as_numpy(e._indices()).tolist() == indices
        assert as_numpy(e._values()).tolist() == values
    # PyTorch orders the entries by a size heuristic: compare coalesced contents.
    same_sparse(e.coalesce(), t.coalesce())


# index_select_sparse_cuda: position by position of the index, the matching entries in the
# order of an unstable sort (bitonic for nnz <= 32) of the indices along dim
CUDA_INDEX_SELECT_ORDER = {
    "rows_repeated": ([[0, 0, 1, 1, 2], [2, 0, 2, 0, 0]], [3.0, 2.0, 3.0, 2.0, 1.0]),
    "columns": ([[1, 1, 0], [0, 1, 1]], [3.0, 2.0, 1.0]),
}


def test_values_is_differentiable_alias():
    grads = []
    for lib in (ember, torch):
        s = lib.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,), requires_grad=True,
                                  is_coalesced=True)
        values = s.values()
        assert values.grad_fn.name() == "ValuesBackward0" and not values.is_leaf
        (values * lib.tensor([3.0, 4.0])).sum().backward()
        grads.append(s.grad)
    same_sparse(*grads, check_coalesced=False)
