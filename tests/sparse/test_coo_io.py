"""Sparse tensors in files: PyTorch's checkpoints read by ember and the reverse, pickling,
deepcopy. PyTorch stores a COO tensor as
``torch._utils._rebuild_sparse_tensor(layout, (indices, values, size, is_coalesced))``."""

from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import oracle
import pytest
import torch
from sparse_oracle import same_sparse

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

IDX = [[0, 1, 1, 0], [2, 0, 2, 2]]


def cases(lib):
    return {
        "uncoalesced": lib.sparse_coo_tensor(IDX, [3.0, 4.0, 5.0, 1.0], (2, 3)),
        "coalesced": lib.sparse_coo_tensor(IDX, [3.0, 4.0, 5.0, 1.0], (2, 3)).coalesce(),
        "hybrid_f64": lib.tensor(np.array([[0.0, 1.0], [0.0, 0.0], [2.0, 3.0]])).to_sparse(1),
        "int": lib.sparse_coo_tensor([[1, 3]], [7, 9], (5,)),
    }


@pytest.mark.parametrize("name", ["uncoalesced", "coalesced", "hybrid_f64", "int"])
def test_checkpoints_both_ways(name):
    t = cases(torch)[name]
    buffer = io.BytesIO()
    torch.save({"s": t, "dense": torch.ones(2)}, buffer)
    buffer.seek(0)
    loaded = ember.load(buffer, map_location=oracle.DEVICE)
    same_sparse(loaded["s"], t)
    assert loaded["s"].layout is ember.sparse_coo and loaded["s"].device.type == oracle.DEVICE

    buffer = io.BytesIO()
    with oracle.on_device(ember):  # a checkpoint of device tensors names their device
        saved = cases(ember)[name]
        ember.save({"s": saved, "dense": ember.ones(2)}, buffer)
    buffer.seek(0)
    same_sparse(saved.cpu(), torch.load(buffer, weights_only=True, map_location="cpu")["s"])
    buffer.seek(0)
    assert ember.load(buffer)["s"].device == saved.device


def test_pickle_and_deepcopy():
    with oracle.on_device(ember):
        ember_cases = cases(ember)
    for name, s in ember_cases.items():
        for made in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
            same_sparse(made, cases(torch)[name])
            assert made.device == s.device and made.device.type == oracle.DEVICE
    assert pickle.loads(pickle.dumps(ember.sparse_coo)) is ember.sparse_coo
    assert pickle.loads(pickle.dumps(ember.strided)) is ember.strided


def test_leaf_deepcopy_keeps_requires_grad():
    s = ember.sparse_coo_tensor(IDX, [3.0, 4.0, 5.0, 1.0], (2, 3), requires_grad=True)
    copied = copy.deepcopy(s)
    assert copied.requires_grad and copied.is_leaf
    assert copied._values() is not s._values()
