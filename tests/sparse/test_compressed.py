"""Compressed layouts (CSR, CSC, BSR, BSC) against torch: construction, validation,
accessors, conversions between layouts, printing and checkpoints."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from oracle import as_numpy
from sparse_oracle import same_compressed, same_sparse

import ember
from ember import overrides

pytestmark = pytest.mark.filterwarnings("ignore:Sparse (CSR|invariant)")


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """A compressed tensor installs the __torch_function__ dispatch (its function forms);
    leave ember as the other test modules expect it."""
    yield
    overrides._uninstall()


DENSE = [[0., 1, 0, 0], [2, 0, 3, 0], [0, 0, 0, 0], [4, 0, 5, 6]]
BATCHED = [[[1., 0], [0, 2]], [[0, 3], [4, 0]]]


def both_from(data, convert, **kwargs):
    e = convert(ember.tensor(data, **kwargs))
    t = convert(torch.tensor(data, **{k: getattr(torch, str(v).split(".")[-1])
                                      for k, v in kwargs.items()}))
    return e, t


CONVERSIONS = {
    "csr": lambda x: x.to_sparse_csr(),
    "csc": lambda x: x.to_sparse_csc(),
    "bsr": lambda x: x.to_sparse_bsr((2, 2)),
    "bsc": lambda x: x.to_sparse_bsc((2, 1)),
    "bsr_int": lambda x: x.to_sparse_bsr(2),
    "to_sparse_csr": lambda x: x.to_sparse(layout=x.to_sparse_csr().layout),
    "to_sparse_bsc": lambda x: x.to_sparse(layout=x.to_sparse_bsc((1, 2)).layout,
                                           blocksize=(1, 2)),
}


@pytest.mark.parametrize("name", CONVERSIONS)
def test_dense_to_compressed_and_back(name):
    e, t = both_from(DENSE, CONVERSIONS[name])
    same_compressed(e, t)
    assert e.is_sparse is False and e.is_sparse_csr == t.is_sparse_csr
    np.testing.assert_array_equal(as_numpy(e.to_dense()), as_numpy(t.to_dense()))


@pytest.mark.parametrize("convert", [
    lambda x: x.to_sparse_csr(),                       # batch of 2
    lambda x: x.to_sparse_csc(),
    lambda x: x.to_sparse_csr(dense_dim=1),            # hybrid: a dense last dimension
    lambda x: x.to_sparse_bsr((1, 1), dense_dim=1),
])
def test_batched_and_hybrid(convert):
    e, t = both_from(BATCHED, convert)
    same_compressed(e, t)
    np.testing.assert_array_equal(as_numpy(e.to_dense()), as_numpy(t.to_dense()))


@pytest.mark.parametrize("data,dtype", [
    (DENSE, "int64"), (DENSE, "float64"), ([[True, False], [False, True]], "bool"),
    ([[0., 0], [0, 0]], "float32"),
])
def test_dtypes_and_empty(data, dtype):
    e, t = both_from(data, lambda x: x.to_sparse_csr(), dtype=getattr(ember, dtype))
    same_compressed(e, t)
    same_compressed(ember.zeros(0, 3).to_sparse_csr(), torch.zeros(0, 3).to_sparse_csr())


def test_conversion_errors():
    for lib in (ember, torch):
        x = lib.ones(4, 4)
        with pytest.raises(RuntimeError, match=r"sparse size \(4,4\) must be divisible by "
                                               r"given blocksize \(3,3\)"):
            x.to_sparse_bsr((3, 3))
        with pytest.raises(RuntimeError, match="Strided to SparseBsr without blocksize"):
            x.to_sparse(layout=lib.sparse_bsr)
        with pytest.raises(TypeError):
            x.to_sparse_bsr()
        with pytest.raises(RuntimeError, match="same number of specified elements per batch"):
            lib.tensor([[[1., 0], [0, 2]], [[0, 3], [0, 0]]]).to_sparse_csr()
        bsr = lib.tensor(DENSE).to_sparse_bsr((2, 1))
        with pytest.raises(RuntimeError, match="expected SparseCsr or SparseCsc layout but got "
                                               "SparseBsr"):
            bsr.to_sparse_csc()
        with pytest.raises(RuntimeError, match="SparseCsr to SparseBsr without blocksize"):
            lib.tensor(DENSE).to_sparse_csr().to_sparse(layout=lib.sparse_bsr)


LAYOUT_CHANGES = {
    "csr_csc": lambda x: x.to_sparse_csr().to_sparse_csc(),
    "csc_csr": lambda x: x.to_sparse_csc().to_sparse_csr(),
    "bsr_bsc": lambda x: x.to_sparse_bsr((2, 1)).to_sparse_bsc((2, 1)),
    "csr_bsr": lambda x: x.to_sparse_csr().to_sparse_bsr((2, 2)),
    "csc_bsr": lambda x: x.to_sparse_csc().to_sparse_bsr((2, 1)),
    "coo_csr": lambda x: x.to_sparse().to_sparse_csr(),
    "coo_csc": lambda x: x.to_sparse().to_sparse_csc(),
    "coo_bsr": lambda x: x.to_sparse().to_sparse_bsr((2, 1)),
    "coo_layout": lambda x: x.to_sparse().to_sparse(layout=x.to_sparse_csc().layout),
    "same": lambda x: x.to_sparse_csr().to_sparse_csr(),
}


@pytest.mark.parametrize("name", LAYOUT_CHANGES)
def test_layout_changes(name):
    e, t = both_from(DENSE, LAYOUT_CHANGES[name])
    same_compressed(e, t)


@pytest.mark.parametrize("convert", [
    lambda x: x.to_sparse_csr().to_sparse_coo(),
    lambda x: x.to_sparse_csc().to_sparse(),
    lambda x: x.to_sparse_bsr((2, 1)).to_sparse_coo(),    # explicit zeros inside blocks kept
    lambda x: x.to_sparse_bsc((1, 2)).to_sparse(layout=x.to_sparse().layout),
])
def test_compressed_to_coo(convert):
    e, t = both_from(DENSE, convert)
    same_sparse(e, t)


def test_batched_to_coo():
    e, t = both_from(BATCHED, lambda x: x.to_sparse_csr().to_sparse_coo())
    same_sparse(e, t)


def test_to_same_layout_is_self():
    s = ember.tensor(DENSE).to_sparse_csr()
    assert s.to_sparse_csr() is s and s.to_sparse(layout=ember.sparse_csr) is s


# -- constructors --------------------------------------------------------------------------

CONSTRUCTED = {
    "csr": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 1, 1], [1., 2, 3], (2, 2)),
    "csr_inferred": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 1, 1], [1., 2, 3]),
    "csr_int32": lambda lib: lib.sparse_csr_tensor(
        lib.tensor([0, 2, 3], dtype=lib.int32), lib.tensor([0, 1, 1], dtype=lib.int32),
        lib.tensor([1., 2, 3]), dtype=lib.float64),
    "csr_f16": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 1, 1], [1, 2, 3],
                                                  dtype=lib.float16),
    "csr_int": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 1, 1], [1, 2, 3]),
    "csr_grad": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 1, 1], [1., 2, 3],
                                                   requires_grad=True),
    "csc": lambda lib: lib.sparse_csc_tensor([0, 1, 3], [0, 0, 1], [1., 2, 3], (2, 2)),
    "bsr": lambda lib: lib.sparse_bsr_tensor([0, 1, 2], [0, 1],
                                             lib.arange(8.).reshape(2, 2, 2), (4, 4)),
    "bsr_inferred": lambda lib: lib.sparse_bsr_tensor([0, 1, 2], [0, 1],
                                                      lib.arange(8.).reshape(2, 2, 2)),
    "bsc": lambda lib: lib.sparse_bsc_tensor([0, 1, 2], [0, 1],
                                             lib.arange(12.).reshape(2, 2, 3), (4, 6)),
    "compressed": lambda lib: lib.sparse_compressed_tensor(
        [0, 1, 2], [0, 1], lib.arange(8.).reshape(2, 2, 2), (4, 4), layout=lib.sparse_bsc),
    "batched": lambda lib: lib.sparse_csr_tensor(
        [[0, 2, 3], [0, 1, 3]], [[0, 1, 1], [0, 0, 1]], [[1., 2, 3], [4, 5, 6]]),
    "hybrid": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 1, 1], [[1.], [2], [3]],
                                                (2, 2, 1)),
    "empty": lambda lib: lib.sparse_csr_tensor([0, 0, 0], lib.zeros(0, dtype=lib.int64),
                                               lib.zeros(0), (2, 3)),
}


@pytest.mark.parametrize("name", CONSTRUCTED)
def test_constructors(name):
    e, t = CONSTRUCTED[name](ember), CONSTRUCTED[name](torch)
    same_compressed(e, t)
    np.testing.assert_array_equal(as_numpy(e.to_dense()), as_numpy(t.to_dense()))


def _parts(lib, crow, col, values, dtype=None):
    return (lib.tensor(crow, dtype=dtype), lib.tensor(col, dtype=dtype), lib.tensor(values))


INVALID = [  # (constructor, compressed, plain, values, size, message)
    ("csr", [1, 2, 3], [0, 1, 1], [1., 2, 3], (2, 2), r"`crow_indices\[..., 0\] == 0`"),
    ("csr", [0, 2, 4], [0, 1, 1], [1., 2, 3], (2, 2), r"`crow_indices\[..., -1\] == nnz`"),
    ("csr", [0, 2, 3], [0, 1, 1], [1., 2, 3], (2, 1), r"`0 <= col_indices < ncols`"),
    ("csr", [0, 2, 3], [0, -1, 1], [1., 2, 3], (2, 2), r"`0 <= col_indices < ncols`"),
    ("csr", [0, 2, 3], [0, 1, 1], [1., 2, 3], (3, 2),
     r"number of rows \+ 1 \(=4\), but got 3"),
    ("csr", [0, 2, 3], [1, 0, 1], [1., 2, 3], (2, 2), "are sorted and distinct"),
    ("csr", [0, 2, 3], [1, 1, 1], [1., 2, 3], (2, 2), "are sorted and distinct"),
    ("csr", [0, 2, 1, 3], [0, 1, 1], [1., 2, 3], (3, 2),
     r"`0 <= crow_indices\[..., 1:\] - crow_indices\[..., :-1\] <= ncols`"),
    ("csr", [0, 2, 3], [0, 1], [1., 2, 3], (2, 2),
     r"col_indices.shape\[-1\] must be equal to nnz \(=3\) as defined by values.shape\[0\], "
     "but got 2"),
    ("csr", [0, 2, 3], [0, 1, 1], [1., 2, 3], (2,),
     r"must be sum of batch, base, and dense dimensionalities \(=0 \+ 2 \+ 0\) but got 1"),
    ("csc", [1, 2, 3], [0, 1, 1], [1., 2, 3], (2, 2), r"`ccol_indices\[..., 0\] == 0`"),
    ("csc", [0, 2, 3], [0, 5, 1], [1., 2, 3], (2, 2), r"`0 <= row_indices < nrows`"),
    ("csc", [0, 2, 3], [0, 1, 1], [1., 2, 3], (2, 3), r"number of columns \+ 1 \(=4\)"),
]


@pytest.mark.parametrize("case", INVALID, ids=[f"{c[0]}-{i}" for i, c in enumerate(INVALID)])
def test_check_invariants(case):
    kind, compressed, plain, values, size, message = case
    for lib in (ember, torch):
        build = getattr(lib, f"sparse_{kind}_tensor")
        with pytest.raises(RuntimeError, match=message):
            build(*_parts(lib, compressed, plain, values), size, check_invariants=True)
        with lib.sparse.check_sparse_tensor_invariants():
            with pytest.raises(RuntimeError, match=message):
                build(*_parts(lib, compressed, plain, values), size)


def test_check_invariants_blocks_and_dtypes():
    for lib in (ember, torch):
        blocks = lib.ones(2, 2, 2)
        with pytest.raises(RuntimeError, match=r"number of row blocks \+ 1 \(=4\)"):
            lib.sparse_bsr_tensor(lib.tensor([0, 1, 2]), lib.tensor([0, 1]), blocks, (6, 4),
                                  check_invariants=True)
        with pytest.raises(RuntimeError, match=r"tensor shape\[0\] \(=5\) must be divisible "
                                               r"with blocksize\[0\] \(=2\)"):
            lib.sparse_bsc_tensor(lib.tensor([0, 1, 2]), lib.tensor([0, 1]), blocks, (5, 4),
                                  check_invariants=True)
        with pytest.raises(RuntimeError, match="must have the same dtype, bot got Long and Int"):
            lib.sparse_csr_tensor(lib.tensor([0, 2, 3]), lib.tensor([0, 1, 1], dtype=lib.int32),
                                  lib.tensor([1., 2, 3]), (2, 2), check_invariants=True)
        with pytest.raises(RuntimeError, match="dtype must be Int or Long, but got Short"):
            lib.sparse_csr_tensor(*_parts(lib, [0, 2, 3], [0, 1, 1], [1., 2, 3], lib.int16),
                                  (2, 2), check_invariants=True)
        with pytest.raises(RuntimeError, match="expected sparse compressed tensor layout but "
                                               "got Strided"):
            lib.sparse_compressed_tensor(lib.tensor([0, 1]), lib.tensor([0]),
                                         lib.tensor([1.]), (1, 1), layout=lib.strided)
        valid = lib.sparse_csr_tensor(lib.tensor([0, 2, 2]), lib.tensor([0, 1]),
                                      lib.tensor([1., 2]), (2, 2), check_invariants=True)
        assert valid._nnz() == 2
    assert not ember.sparse.check_sparse_tensor_invariants.is_enabled()


def test_accessor_errors():
    for lib in (ember, torch):
        csr = lib.tensor(DENSE).to_sparse_csr()
        csc = lib.tensor(DENSE).to_sparse_csc()
        with pytest.raises(RuntimeError, match="indices expected sparse coordinate tensor "
                                               "layout but got SparseCsr"):
            csr.indices()
        with pytest.raises(RuntimeError, match="ccol_indices expected sparse column compressed "
                                               "tensor layout but got SparseCsr"):
            csr.ccol_indices()
        with pytest.raises(RuntimeError, match="crow_indices expected sparse row compressed "
                                               "tensor layout but got SparseCsc"):
            csc.crow_indices()
        with pytest.raises(RuntimeError, match="Sparse CSR tensors do not have strides"):
            csr.stride()
        with pytest.raises(RuntimeError, match="do not have is_contiguous"):
            csr.is_contiguous()
        with pytest.raises(TypeError, match="can't convert SparseCsr layout tensor to numpy"):
            csr.numpy()
        assert csr.size(0) == 4 and csr.dense_dim() == 0 and csr.sparse_dim() == 2
        assert str(csr.layout) == "torch.sparse_csr" and csr.layout == lib.sparse_csr


def test_moves_and_copies():
    e, t = both_from(DENSE, lambda x: x.to_sparse_csr().double())
    same_compressed(e, t)
    e, t = both_from(DENSE, lambda x: x.to_sparse_csc().clone().to(x.dtype))
    same_compressed(e, t)
    s = ember.tensor(DENSE).to_sparse_csr()
    copy = s.clone()
    assert copy.values() is not s.values()
    copy.values().mul_(2)
    assert float(s.values()[0]) == 1.0


# -- printing, pickling, checkpoints --------------------------------------------------------

REPRS = {
    "grad": lambda lib: lib.tensor(DENSE, requires_grad=True).to_sparse_csr(),
    "leaf": lambda lib: lib.tensor(DENSE).to_sparse_csc().requires_grad_(),
    "double": lambda lib: lib.tensor(DENSE, dtype=lib.float64).to_sparse_bsr((2, 2)),
    "long_values": lambda lib: lib.arange(40.).reshape(4, 10).to_sparse_csr(),
}


@pytest.mark.parametrize("name", REPRS)
def test_repr(name):
    assert repr(REPRS[name](ember)) == repr(REPRS[name](torch))


@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
def test_checkpoints_both_ways(layout):
    convert = (lambda x: getattr(x, f"to_sparse_{layout}")((2, 1))) if layout[0] == "b" else (
        lambda x: getattr(x, f"to_sparse_{layout}")())
    e, t = both_from(DENSE, convert)
    buffer = io.BytesIO()
    ember.save({"w": e}, buffer)
    buffer.seek(0)
    same_compressed(e, torch.load(buffer, weights_only=True)["w"])
    buffer = io.BytesIO()
    torch.save({"w": t}, buffer)
    buffer.seek(0)
    same_compressed(ember.load(buffer, weights_only=True)["w"], t)
    same_compressed(pickle.loads(pickle.dumps(e)), t)


# -- random shapes: every layout, empty rows/columns, batches -------------------------------

RANDOM_SHAPES = [(5, 7), (1, 1), (0, 3), (3, 0), (6, 4), (2, 3, 4)]


@pytest.mark.parametrize("shape", RANDOM_SHAPES, ids=str)
@pytest.mark.parametrize("layout", ["csr", "csc", "bsr", "bsc"])
def test_random_round_trips(shape, layout):
    rng = np.random.default_rng(sum(shape) + len(layout))
    array = rng.standard_normal(shape) * (rng.random(shape) < 0.35)
    if len(shape) == 3:  # batches need equal counts: the same pattern in each
        array = array[:1].repeat(shape[0], 0) * rng.standard_normal(shape)
        array[array == 0] = 0.0
    blocksize = (2, 2) if shape[-2:] == (6, 4) else (1, 1)

    def convert(x):
        if layout[0] == "b":
            return getattr(x, f"to_sparse_{layout}")(blocksize)
        return getattr(x, f"to_sparse_{layout}")()

    e, t = convert(ember.tensor(array)), convert(torch.tensor(array))
    same_compressed(e, t)
    np.testing.assert_array_equal(as_numpy(e.to_dense()), array)
    if len(shape) == 2 and layout != "bsc":
        other = rng.standard_normal((shape[1], 3))
        np.testing.assert_allclose(as_numpy(e @ ember.tensor(other)), array @ other,
                                   rtol=1e-7, atol=1e-12)
    if layout in ("csr", "csc"):
        same_sparse(e.to_sparse_coo(), t.to_sparse_coo())
        flipped = "csc" if layout == "csr" else "csr"
        same_compressed(getattr(e, f"to_sparse_{flipped}")(),
                        getattr(t, f"to_sparse_{flipped}")())
