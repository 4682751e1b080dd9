"""ember.func.rearrange against torch.func.rearrange (PyTorch 2.13): shapes, values,
whether the result is a view, gradients, sequence inputs, and every argument error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

pytestmark = pytest.mark.oracle_torch("2.13", "torch 2.11 has no torch.func.rearrange")
RNG = np.random.default_rng(0)

CASES = [
    ((32, 6, 8, 3), "b h w c -> b h w c", {}),
    ((4, 6, 8, 3), "b h w c -> (b h) w c", {}),
    ((4, 6, 8, 3), "b h w c -> h (b w) c", {}),
    ((4, 6, 8, 3), "b h w c -> b c h w", {}),
    ((4, 6, 8, 3), "b h w c -> b (c h w)", {}),
    ((4, 6, 8, 3), "b (h1 h) (w1 w) c -> (b h1 w1) h w c", {"h1": 2, "w1": 2}),
    ((4, 6, 8, 3), "b (h h1) (w w1) c -> b h w (c h1 w1)", {"h1": 2, "w1": 2}),
    ((2, 6, 4), "b (h w) c -> c b w h", {"h": 2}),
    ((2, 6, 4), "b (h w) c -> b h w c", {"h": 2, "w": 3}),
    ((2, 6, 4), "b h c -> b h c 1", {}),
    ((2, 6, 4), "b h c -> b h () c", {}),
    ((2, 1, 4), "b 1 c -> b c", {}),
    ((2, 1, 4), "b () c -> b c", {}),
    ((2, 6, 4), "b 1 c -> b c", {}),  # torch sums a left unit axis, whatever its length
    ((2, 6, 4), "... c -> c ...", {}),
    ((2, 6, 4), "b ... -> (b ...)", {}),
    ((2, 3, 4, 5), "b ... c -> b c ...", {}),
    ((2, 3, 4, 5), "b ... c -> b (c ...)", {}),
    ((2, 3), "b ... c -> b c ...", {}),
    ((2, 3, 4, 5), "... -> ...", {}),
    ((2, 6, 4), "b h ... c -> b h c ...", {}),
    ((), " -> ", {}),
    ((0, 4), "a b -> b a", {}),
]


@pytest.mark.parametrize("shape,pattern,lengths", CASES)
def test_rearrange_matches_torch(shape, pattern, lengths):
    data = RNG.standard_normal(shape)
    t_in = torch.tensor(data, requires_grad=True)
    e_in = ember.tensor(data, requires_grad=True)
    t_out = torch.func.rearrange(t_in, pattern, **lengths)
    e_out = ember.func.rearrange(e_in, pattern, **lengths)
    torch.testing.assert_close(torch.from_numpy(e_out.detach().numpy().copy()), t_out.detach())
    assert e_out.is_contiguous() == t_out.is_contiguous(), pattern
    if t_out.numel() and t_out.requires_grad:
        upstream = RNG.standard_normal(tuple(t_out.shape))
        (t_grad,) = torch.autograd.grad(t_out, t_in, torch.tensor(upstream))
        (e_grad,) = ember.autograd.grad(e_out, e_in, ember.tensor(upstream))
        torch.testing.assert_close(torch.from_numpy(e_grad.numpy().copy()), t_grad)


def test_views_share_memory_and_sequences_stack():
    data = RNG.standard_normal((2, 6, 4))
    e_in = ember.tensor(data)
    out = ember.func.rearrange(e_in, "b (h w) c -> b h w c", h=2)
    out[0, 0, 0, 0] = 100.0
    assert e_in[0, 0, 0].item() == 100.0  # a split is a view, as torch's
    parts = [RNG.standard_normal((3, 4)) for _ in range(5)]
    e_out = ember.func.rearrange([ember.tensor(p) for p in parts], "n a b -> a (n b)")
    t_out = torch.func.rearrange(tuple(torch.tensor(p) for p in parts), "n a b -> a (n b)")
    torch.testing.assert_close(torch.from_numpy(e_out.numpy().copy()), t_out)


ERRORS = [
    ("b h c -> b h", {}), ("b h c d -> b h c d", {}), ("b h c -> b h c", {"q": 3}),
    ("b 2 c -> b c", {}), ("b h c - b h c", {}), ("b (h (w)) c -> b h w c", {}),
    ("b h h -> b h", {}), ("b h c -> b h ... c", {}), ("b h c -> b h c", {"h": 6.0}),
    ("b h c -> b h-c", {}), ("b h. c -> b h c", {}), ("b .... -> b", {}),
    ("b (h c -> b h c", {}), ("b h) c -> b h c", {}), ("(b ...) h -> b h", {}),
    ("b h _c -> b h _c", {}), ("b h 0 -> b h", {}), ("a b c d e -> ...", {}),
    ("b (h w) c -> b h w c", {}), ("b (h w) c -> b h w c", {"h": 4}),
    ("b (h w) c -> b h w c", {"h": 2, "w": 4}), ("b h c -> b h c", {"h": 3}),
]


@pytest.mark.parametrize("pattern,lengths", ERRORS)
def test_errors_match_torch(pattern, lengths):
    outcomes = []
    for lib in (torch, ember):
        try:
            lib.func.rearrange(lib.ones(2, 6, 4), pattern, **lengths)
        except Exception as err:  # noqa: BLE001 - type name and message are compared
            outcomes.append((type(err).__name__, str(err)))
        else:
            outcomes.append(None)
    assert outcomes[0] is not None
    assert outcomes[1] == outcomes[0]
