"""A graph convolutional network as tutorials write it (normalised sparse adjacency, degree
from ``torch.sparse.sum``, ``torch.sparse.mm``), trained a few SGD steps on ember and on
PyTorch from the same weights: losses and parameters must follow the same trajectory."""

from __future__ import annotations

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

NODES, FEATURES, HIDDEN, CLASSES = 30, 8, 16, 3


def graph():
    rng = np.random.default_rng(7)
    edges = rng.integers(0, NODES, (2, 80))
    edges = np.concatenate([edges, edges[::-1], np.tile(np.arange(NODES), (2, 1))], axis=1)
    x = rng.standard_normal((NODES, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, NODES)
    return edges, x, y


def normalised_adjacency(lib, edges):
    """D^-1/2 A D^-1/2 with duplicate edges summed (coalesce)."""
    adj = lib.sparse_coo_tensor(lib.tensor(edges), lib.ones(edges.shape[1]),
                                (NODES, NODES)).coalesce()
    degree = lib.sparse.sum(adj, 1).to_dense()
    inv_sqrt = degree.pow(-0.5)
    row, col = adj.indices()
    values = adj.values() * inv_sqrt[row] * inv_sqrt[col]
    return lib.sparse_coo_tensor(adj.indices(), values, adj.shape)


def train(lib, steps=4):
    edges, x_np, y_np = graph()
    lib.manual_seed(0)
    layer1 = lib.nn.Linear(FEATURES, HIDDEN)
    layer2 = lib.nn.Linear(HIDDEN, CLASSES)
    rng = np.random.default_rng(3)
    with lib.no_grad():
        for p in (*layer1.parameters(), *layer2.parameters()):
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    params = [*layer1.parameters(), *layer2.parameters()]
    optimizer = lib.optim.SGD(params, lr=0.5)
    adj = normalised_adjacency(lib, edges)
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        hidden = lib.relu(lib.sparse.mm(adj, layer1(x)))
        logits = adj @ layer2(hidden)
        loss = lib.nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [as_numpy(p) for p in params]


def test_gcn_training_matches_torch():
    with oracle.on_device(ember):
        e_losses, e_params = train(ember)
    with oracle.on_device(torch):
        t_losses, t_params = train(torch)
    np.testing.assert_allclose(e_losses, t_losses, rtol=1e-5, atol=1e-6)
    assert e_losses[-1] < e_losses[0]
    for e, t in zip(e_params, t_params):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-5)  # float32 over 4 steps


def test_attention_softmax_over_edges():
    """GAT-style: edge scores normalised per node with torch.sparse.softmax, gradients to
    the scores and the features."""
    edges, x_np, _ = graph()
    scores_np = np.random.default_rng(5).standard_normal(edges.shape[1]).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        with oracle.on_device(lib):
            scores = lib.tensor(scores_np, requires_grad=True)
            x = lib.tensor(x_np, requires_grad=True)
            attention = lib.sparse.softmax(
                lib.sparse_coo_tensor(lib.tensor(edges), scores, (NODES, NODES)), 1)
            out = lib.sparse.mm(attention, x)
            (out * lib.arange(float(FEATURES))).sum().backward()
        if lib is ember:
            assert out.device == scores.grad.device == x.grad.device == attention.device
            assert out.device.type == oracle.DEVICE
        grads.append((as_numpy(out), as_numpy(scores.grad), as_numpy(x.grad)))
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)
