"""Views and version counters: views share memory and the version counter with their
base, writes through a view reach the base, and in-place ops on views of tracked tensors
move the history onto the base as PyTorch does (CopySlices)."""

import numpy as np
import pytest
import torch

import ember
from oracle import check, randn

VIEWS = [
    ("getitem", lambda x: x[1]), ("slice", lambda x: x[:, 1:3]), ("view", lambda x: x.view(-1)),
    ("transpose", lambda x: x.t()), ("diagonal", lambda x: x.diagonal()),
    ("unsqueeze", lambda x: x.unsqueeze(0)), ("movedim", lambda x: x.movedim(0, 1)),
    ("select_of_view", lambda x: x.t()[2]), ("unbind", lambda x: x.unbind(1)[0]),
    ("detach", lambda x: x.detach()),
]


@pytest.mark.parametrize("name,make", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_share_version_counter(name, make):
    for L in (ember, torch):
        base = L.zeros(3, 4)
        view = make(base)
        before = base._version
        view.add_(1)
        assert base._version == view._version == before + 1, L.__name__
        base.mul_(2)
        assert view._version == before + 2


def test_writes_through_views_reach_base_and_back():
    for L in (ember, torch):
        base = L.arange(12.0).reshape(3, 4)
        base[1][2] = -1.0
        base.t()[0, 2] = -2.0
        base.diagonal().mul_(0).add_(7.0)
        base[:, ::2].mul_(10.0)
        col = base.select(1, 3)
        base[0, 3] = 99.0
        assert col[0].item() == 99.0
        if L is torch:
            expected = base.numpy()
        else:
            got = base.numpy()
    np.testing.assert_array_equal(got, expected)


def test_advanced_indexing_copies():
    base = ember.zeros(3, 4)
    picked = base[[0, 1]]
    picked.add_(5.0)
    assert float(base.sum()) == 0.0
    assert picked._base is None
    assert base[base > 1]._base is None


def test_issue_example_setitem_into_plain_tensor():
    def run(L, w):
        h = L.zeros(3, 4)
        h[0] = w * 2
        h[2, 1:3] = w[:2] ** 2
        return h

    check(run, randn(4))


IN_PLACE_ON_VIEWS = [
    ("setitem_row_of_view", lambda L, h, w: h[1].__setitem__(slice(0, 2), w[:2] * 2)),
    ("mul_on_view", lambda L, h, w: h[1:].mul_(w)),
    ("add_on_transposed", lambda L, h, w: h.t()[1].add_(w[:3])),
    ("diagonal_add_", lambda L, h, w: h.diagonal().add_(w[:3])),
    ("masked_fill_on_view", lambda L, h, w: h[:, 1].masked_fill_(w[:3] > 0, 3.0)),
    ("index_add_on_view", lambda L, h, w: h[0:2].index_add_(1, L.tensor([0, 0]),
                                                              w[:2].expand(2, 2))),
    ("two_writes", lambda L, h, w: (h[0].__setitem__(0, w[0]), h[:, 0].mul_(w[:3]))),
    ("view_of_view", lambda L, h, w: h.view(12)[3:7].view(2, 2).add_(w.view(2, 2))),
]


@pytest.mark.parametrize("name,op", IN_PLACE_ON_VIEWS, ids=[c[0] for c in IN_PLACE_ON_VIEWS])
@pytest.mark.parametrize("base_kind", ["plain", "non_leaf"])
def test_inplace_on_view_moves_history_to_base(name, op, base_kind):
    def run(L, x, w):
        h = L.ones(3, 4) if base_kind == "plain" else x * 3
        op(L, h, w)
        return h * h

    check(run, randn(3, 4), randn(4))


def test_view_reads_new_history_after_its_own_inplace():
    def run(L, w):
        h = L.zeros(3, 4)
        row = h[1]
        row.add_(w)
        return row * 3, h.sum()

    check(run, randn(4))


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    for L in (ember, torch):
        leaf = L.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            leaf[1:].add_(1.0)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf[0] = 2.0
        with L.no_grad():
            leaf[1:].add_(1.0)  # allowed without grad mode
        assert leaf.tolist() == [0.0, 1.0, 1.0]


def test_saved_view_modified_in_place_raises_at_backward():
    for L in (ember, torch):
        x = L.ones(3, requires_grad=True)
        y = x * 2
        z = y[1:] ** 2  # pow saves y[1:]
        y[2] = 0.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_strides_contiguity_offsets_of_view_chains():
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    chains = [
        lambda x: x.transpose(0, 2)[1:, ::2],
        lambda x: x[1].t().unsqueeze(1),
        lambda x: x.permute(1, 0, 2).narrow(2, 1, 3),
        lambda x: x[:, 1:3].diagonal(0, 0, 2),
        lambda x: x.view(12, 5)[2:9:3].unfold(1, 2, 2),
        lambda x: x.unflatten(2, (5, 1)).squeeze(-1)[..., 4],
    ]
    for chain in chains:
        e, t = chain(ember.tensor(data.copy())), chain(torch.tensor(data.copy()))
        assert e.stride() == t.stride()
        assert e.storage_offset() == t.storage_offset()
        assert e.is_contiguous() == t.is_contiguous()
        np.testing.assert_array_equal(e.contiguous().numpy(), t.contiguous().numpy())


def test_gradients_through_many_views_and_writes():
    def run(L, x, w):
        y = x * 1
        y.t()[1:3].mul_(w[:2, None])
        y[0, ::2] = w[1:3] + y[2, ::2]
        return y.reshape(-1)[::5], y.diagonal()

    check(run, randn(4, 3), randn(4))


def test_gradcheck_inplace_on_view():
    def fn(x):
        h = x * 1.5
        h[1:, 0].mul_(x[0, 1:])
        h.diagonal().add_(x[:, 2] ** 2)
        return h

    x = ember.tensor(np.random.default_rng(4).standard_normal((3, 3))).requires_grad_()
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


NODE_NAMES = [
    lambda x: x[1], lambda x: x[1:], lambda x: x[[0]], lambda x: x[x > 0], lambda x: x[1, 2],
    lambda x: x[None], lambda x: x[..., 1], lambda x: x.squeeze(), lambda x: x.unsqueeze(0),
    lambda x: x.t(), lambda x: x.reshape(12), lambda x: x.t().reshape(12),
    lambda x: x.diagonal(), lambda x: x.expand(2, 3, 4), lambda x: x.permute(1, 0),
    lambda x: x.transpose(0, 1), lambda x: x.flip(0), lambda x: x.split(2)[0],
    lambda x: x.chunk(2, 1)[1], lambda x: x.unbind(1)[0], lambda x: ember.stack([x, x])
    if isinstance(x, ember.Tensor) else torch.stack([x, x]), lambda x: x.narrow(0, 1, 1),
]


@pytest.mark.parametrize("index", range(len(NODE_NAMES)))
def test_grad_fn_names_match_torch(index):
    fn = NODE_NAMES[index]
    e = fn(ember.ones(3, 4, requires_grad=True) * 1)
    t = fn(torch.ones(3, 4, requires_grad=True) * 1)
    assert e.grad_fn.name() == t.grad_fn.name()


def test_copy_slices_names():
    for L in (ember, torch):
        h = L.zeros(3, 4)
        view = h[1]
        view.add_(L.ones(4, requires_grad=True))
        assert "grad_fn=<CopySlices>" in repr(h)
        assert view.grad_fn.name() == "AsStridedBackward0"
