"""Helpers of the compressed-layout tests: run one function on ember and torch with a
compressed leaf built from the same matrix, back-propagate the same upstream gradient, and
compare results and gradients."""

from __future__ import annotations

import numpy as np
import torch
from oracle import as_numpy

import ember

RNG = np.random.default_rng(7)
MATRIX = np.array([[0., 1.5, 0, 0], [-2, 0, 3, 0], [0, 0, 0, 0], [4, 0, -5, 6]])


def _lib_tensor(lib, array, grad=False):
    if isinstance(array, np.ndarray):
        t = lib.tensor(array.copy())
        return t.requires_grad_(True) if grad else t
    return array


def build_sparse(lib, array, layout, blocksize):
    base = lib.tensor(array)
    if layout in ("bsr", "bsc"):
        return getattr(base, f"to_sparse_{layout}")(blocksize)
    return getattr(base, f"to_sparse_{layout}")()


def run(fn, sparse, *dense, layout="csr", blocksize=None, dtype="float64", grad=True,
        torch_grad=None):
    """``fn(lib, S, *dense)`` on both libraries, ``S`` a leaf in ``layout`` built from the
    array ``sparse``; returns ``(ember_result, torch_result, ember_leaves, torch_leaves)``
    after back-propagating one random upstream gradient through both.

    ``torch_grad=False`` runs torch without gradients (its backward refuses the case): the
    test then checks ember's gradients with ``ember_gradcheck``."""
    torch_grad = grad if torch_grad is None else torch_grad
    out = {}
    for lib in (ember, torch):
        lib_grad = grad if lib is ember else torch_grad
        s = build_sparse(lib, sparse.astype(dtype), layout, blocksize)
        if lib_grad:
            s.requires_grad_(True)
        others = [_lib_tensor(lib, d.astype(dtype) if isinstance(d, np.ndarray) else d,
                              lib_grad) for d in dense]
        out[lib] = (fn(lib, s, *others), s, others)
    e, t = out[ember][0], out[torch][0]
    if torch_grad and t.requires_grad:
        upstream = RNG.standard_normal(tuple(t.shape))
        for lib, result in ((ember, e), (torch, t)):
            dense_result = result.to_dense() if result.layout != lib.strided else result
            (dense_result * lib.tensor(upstream.astype(dtype))).sum().backward()
    return e, t, out[ember][1:], out[torch][1:]


def same_dense(e, t, rtol=1e-7, atol=1e-7):
    assert e.layout == ember.strided and t.layout == torch.strided
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(as_numpy(e), as_numpy(t), rtol=rtol, atol=atol)


def same_grad(e, t):
    """Gradients of dense leaves agree (None for both when unused)."""
    if t is None:
        assert e is None
    else:
        same_dense(e, t)


def pattern(leaf):
    """The stored pattern of a compressed leaf as a dense 0/1 array (explicit zeros count)."""
    ones = ember.ones_like(leaf.values().detach())
    row = leaf.layout in (ember.sparse_csr, ember.sparse_bsr)
    names = ("crow_indices", "col_indices") if row else ("ccol_indices", "row_indices")
    parts = [getattr(leaf, name)() for name in names]
    rebuilt = ember.sparse_compressed_tensor(*parts, ones, leaf.shape, layout=leaf.layout)
    return as_numpy(rebuilt.to_dense())


def same_leaf_grad(e_leaf, t_leaf):
    """A compressed leaf's gradient. Dense where torch's is (torch.mm and friends give a
    leaf every entry's gradient): equal. Sparse otherwise: ember's keeps the leaf's layout
    and pattern and equals torch's (whose pattern may be wider) on that pattern."""
    e, t = e_leaf.grad, t_leaf.grad
    assert e is not None and t is not None
    if t.layout == torch.strided:
        same_dense(e, t)
        return
    assert e.layout == e_leaf.layout
    t_dense = as_numpy(t.to_dense() if t.layout != torch.strided else t)
    np.testing.assert_allclose(as_numpy(e.to_dense()), t_dense * pattern(e_leaf), rtol=1e-7,
                               atol=1e-7)


def ember_gradcheck(fn, sparse, *dense, layout="csr", blocksize=None):
    """Ember's gradients of ``fn(ember, S, *dense)`` against finite differences in float64,
    ``S``'s stored values and every dense input perturbed (torch cannot run this backward)."""
    s = build_sparse(ember, sparse.astype("float64"), layout, blocksize).requires_grad_(True)
    others = [ember.tensor(d.astype("float64"), requires_grad=True) for d in dense]
    gradcheck = ember.sparse.as_sparse_gradcheck(ember.autograd.gradcheck)
    assert gradcheck(lambda *args: fn(ember, *args), (s, *others), masked=True)


def node_name(result):
    return result.grad_fn.name().rsplit("::", 1)[-1]

W = RNG.standard_normal((4, 3))
