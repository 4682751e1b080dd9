import numpy as np
import pytest

import ember
from oracle import check, randn


def test_chain_and_broadcast_grads_match_torch():
    check(lambda lib, a, b: (a * b + a / (b * b + 1)).sum(), randn(3, 4), randn(4))


def test_matmul_grads_match_torch():
    check(lambda lib, a, b: a @ b, randn(5, 3), randn(3, 2))
    check(lambda lib, a, b: a @ b, randn(2, 5, 3), randn(3))
    check(lambda lib, a, b: a @ b, randn(3), randn(4, 3, 2))


def test_shared_grad_is_not_aliased_between_leaves():
    a = ember.ones(3, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_grad_accumulates_and_retain_graph():
    x = ember.tensor([2.0], requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0


def test_second_backward_without_retain_raises():
    x = ember.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_modified_saved_tensor_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_deep_chain_does_not_recurse():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_create_graph_gives_second_derivative():
    x = ember.tensor([3.0], requires_grad=True)
    y = x * x * x
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)
    assert gg.item() == pytest.approx(18.0)


def test_leaf_inplace_raises():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.add_(1)


def test_views_share_memory_and_version():
    base = ember.zeros(4)
    v = base[1:3]
    v.add_(1)
    assert base.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert base._version == v._version == 1


@pytest.mark.parametrize("a,b", [((3,), (4,)), ((2, 3), (4,)), ((2, 3, 4), (5, 1, 4))])
def test_broadcast_failure_is_torch_runtime_error(a, b):
    from oracle import check_raises

    e, t = check_raises(lambda lib, x, y: x * y, np.ones(a, np.float32), np.ones(b, np.float32))
    assert str(e) == str(t)


# PyTorch's AccumulateGrad layout contract: a leaf's first .grad takes the leaf's strides
# when the leaf is dense and non-overlapping, else it is contiguous.
_LAYOUT_CASES = {
    "channels_last leaf, conv": lambda lib: (
        lib.rand(2, 2, 5, 5).to(memory_format=lib.channels_last),
        lambda x: lib.nn.functional.conv2d(x, lib.ones(2, 2, 3, 3), padding=1).sum()),
    "channels_last leaf, mul": lambda lib: (
        lib.rand(2, 3, 4, 4).to(memory_format=lib.channels_last), lambda x: (x * 2).sum()),
    "transposed leaf": lambda lib: (lib.rand(4, 3).t(), lambda x: (x @ lib.ones(4, 2)).sum()),
    "strided (not dense) leaf": lambda lib: (lib.rand(4, 6)[:, ::2], lambda x: (x * 3).sum()),
    "contiguous leaf, transposed grad": lambda lib: (lib.rand(3, 4), lambda x: (x.t() * 2).sum()),
    "size-1 dim leaf, expanded grad": lambda lib: (lib.rand(1, 4),
                                                   lambda x: x.expand(3, 4).sum()),
}


@pytest.mark.parametrize("name", list(_LAYOUT_CASES))
def test_leaf_grad_follows_the_layout_contract_like_torch(name):
    import torch

    strides = []
    for lib in (ember, torch):
        leaf, loss = _LAYOUT_CASES[name](lib)
        leaf = leaf.detach().requires_grad_()
        loss(leaf).backward()
        loss(leaf).backward()  # the second accumulation keeps the layout
        strides.append((leaf.stride(), leaf.grad.stride()))
    assert strides[0] == strides[1]
