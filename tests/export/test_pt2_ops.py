"""Op coverage of the .pt2 bridge, one row per family: the same function exported by
torch and saved, then loaded and run by ember; and exported by ember and saved, then
loaded and run by torch. Values, dtypes and output structure must agree both ways
(ATen names, overloads and argument conventions crossing in each direction)."""

import numpy as np
import pytest
import torch

import ember


def F(lib):
    return lib.nn.functional


# name -> fn(lib, x) on a float32 (2, 4) input
OPS = {
    "softmax": lambda lib, x: (lib.softmax(x, -1), F(lib).log_softmax(x, 1)),
    "activations": lambda lib, x: (F(lib).gelu(x), F(lib).gelu(x, approximate="tanh"),
                                   F(lib).silu(x), lib.sigmoid(x) * lib.tanh(x),
                                   F(lib).leaky_relu(x, 0.2), F(lib).elu(x),
                                   F(lib).hardtanh(x), F(lib).softplus(x)),
    "reductions": lambda lib, x: (x.mean(), x.sum(0), x.var(1), x.std(), x.amax(-1),
                                  x.max(1)[0], x.min(), x.argmax(1), x.prod(1),
                                  x.logsumexp(1)),
    "joins": lambda lib, x: (lib.cat([x, x * 2], 0), lib.stack([x, x], 1), *x.chunk(2, 1),
                             *x.unbind(0), x.split([1, 3], 1)[1]),
    "indexing": lambda lib, x: (x[0], x[:, 1:3], x[..., None], x[lib.tensor([0, 1])],
                                x[x > 0].sum(), x.index_select(1, lib.tensor([2, 0])),
                                lib.gather(x, 1, lib.tensor([[0], [1]]))),
    "views": lambda lib, x: (x.t(), x.transpose(0, 1).contiguous(), x.reshape(-1),
                             x.unsqueeze(0).expand(3, 2, 4), x.permute(1, 0), x.flatten(),
                             x.repeat(2, 1)),
    "where_clamp": lambda lib, x: (lib.where(x > 0, x, lib.zeros_like(x)), x.clamp(-0.5, 0.5),
                                   x.clamp(min=0), lib.maximum(x, x * 2), x.abs().sqrt(),
                                   x ** 2, 2 ** x, x.masked_fill(x > 0, 0.0)),
    "matmul": lambda lib, x: (x @ x.t(), lib.mm(x, x.t()), lib.bmm(x[None], x.t()[None]),
                              lib.addmm(x[:, :2].sum(1, keepdim=True), x, x.t()),
                              lib.outer(x[0], x[1])),
    "sort_scan": lambda lib, x: (x.cumsum(1), x.sort(1)[0], x.topk(2)[1], x.argsort(0),
                                 lib.flip(x, [0]), lib.roll(x, 1, 1), x.tril(), x.triu(1)),
    "logic_casts": lambda lib, x: ((x > 0) & (x < 1), (x == x).all(), lib.isnan(x).any(),
                                   ~(x > 0), x.ne(0).float(), x.to(lib.float64),
                                   x.long().float()),
    "arithmetic": lambda lib, x: (x + 1, x - 2, 3 * x, x / 4, 1 - x, x // 1, x % 2, -x,
                                  x.floor(), x.round(), x.sign(), lib.lerp(x, x * 2, 0.3)),
    "factories": lambda lib, x: (lib.zeros(2, 3) + 1, lib.ones_like(x), lib.full((2,), 3.0),
                                 lib.arange(4) * 2, lib.eye(3), x.new_zeros(2),
                                 lib.full_like(x, 7)),
    "norms": lambda lib, x: (F(lib).layer_norm(x, [4]),
                             F(lib).group_norm(x[None, :, :, None], 2),
                             lib.linalg.vector_norm(x, dim=1)),
    "losses": lambda lib, x: (F(lib).mse_loss(x, x * 0.5),
                              F(lib).cross_entropy(x, lib.tensor([1, 3])),
                              F(lib).l1_loss(x, x.flip(0), reduction="sum"),
                              F(lib).binary_cross_entropy_with_logits(x, (x > 0).float()),
                              F(lib).nll_loss(x.log_softmax(1), lib.tensor([0, 2]))),
    "legacy_reduction": lambda lib, x: (F(lib).mse_loss(x, x * 0.5, size_average=True,
                                                        reduction="sum"),
                                        F(lib).l1_loss(x, x.flip(0), reduce=False)),
    "pad_resample": lambda lib, x: (F(lib).pad(x, (1, 2)),
                                    F(lib).pad(x[None], (1, 1), mode="reflect"),
                                    F(lib).interpolate(x[None], scale_factor=2),
                                    F(lib).interpolate(x[None, None], size=(4, 6),
                                                       mode="bilinear"),
                                    F(lib).one_hot(lib.tensor([0, 2]), 3)),
    "pools": lambda lib, x: (F(lib).avg_pool1d(x[None], 2), F(lib).max_pool1d(x[None], 2, 1),
                             F(lib).adaptive_avg_pool1d(x[None], 1),
                             F(lib).max_pool2d(x[None, None], 2, ceil_mode=True)),
}


def _module(lib, fn):
    class Wrapped(lib.nn.Module):
        def forward(self, x):
            return fn(lib, x)

    return Wrapped()


def _check(got_leaves, want_leaves):
    assert len(got_leaves) == len(want_leaves)
    for got, want in zip(got_leaves, want_leaves):
        assert str(got.dtype) == str(want.dtype)
        torch.testing.assert_close(got, want, equal_nan=True)


def _torch_of(values):
    return [torch.from_numpy(np.asarray(v.detach().numpy()).copy())
            for v in ember.utils._pytree.tree_leaves(values)]


@pytest.mark.parametrize("name", list(OPS))
def test_ops_cross_both_ways(name, tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    fn = OPS[name]
    t_ep = torch.export.export(_module(torch, fn), (torch.tensor(x),))
    torch.export.save(t_ep, tmp_path / "torch.pt2")
    loaded = ember.export.load(tmp_path / "torch.pt2")
    want = [t.detach() for t in torch.utils._pytree.tree_leaves(t_ep.module()(torch.tensor(x)))]
    _check(_torch_of(loaded.module()(ember.tensor(x))), want)
    e_ep = ember.export.export(_module(ember, fn), (ember.tensor(x),))
    ember.export.save(e_ep, tmp_path / "ember.pt2")
    in_torch = torch.export.load(tmp_path / "ember.pt2")
    got = [t.detach() for t in torch.utils._pytree.tree_leaves(in_torch.module()(torch.tensor(x)))]
    _check(got, _torch_of(e_ep.module()(ember.tensor(x))))
