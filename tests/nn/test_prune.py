"""nn.utils.prune against PyTorch: the masks each method computes, iterative pruning
through a PruningContainer, global pruning, remove, and the errors."""

import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401 - not loaded by torch.nn.utils itself

import ember

WEIGHT = np.sin(np.arange(4 * 3 * 2 * 2) * 1.3).reshape(4, 3, 2, 2).astype(np.float32)
BIAS = np.array([0.3, -0.1, 0.05, -0.7], dtype=np.float32)


def _conv(lib):
    conv = lib.nn.Conv2d(3, 4, 2)
    with lib.no_grad():
        conv.weight.copy_(lib.from_numpy(WEIGHT))
        conv.bias.copy_(lib.from_numpy(BIAS))
    return conv


PRUNINGS = {
    "l1_fraction": lambda p, m: p.l1_unstructured(m, "weight", amount=0.3),
    "l1_count_bias": lambda p, m: p.l1_unstructured(m, "bias", amount=2),
    "l1_zero": lambda p, m: p.l1_unstructured(m, "weight", amount=0),
    "l1_importance": lambda p, m: p.l1_unstructured(
        m, "weight", amount=5, importance_scores=m.weight.flip(0)),
    "ln_dim0": lambda p, m: p.ln_structured(m, "weight", amount=0.5, n=2, dim=0),
    "ln_dim1_l1": lambda p, m: p.ln_structured(m, "weight", amount=1, n=1, dim=1),
    "ln_last_inf": lambda p, m: p.ln_structured(m, "weight", amount=1, n=float("inf"), dim=-1),
    "identity": lambda p, m: p.identity(m, "weight"),
    "custom": lambda p, m: p.custom_from_mask(m, "bias", mask=m.bias > 0),
    "iterative": lambda p, m: p.l1_unstructured(
        p.ln_structured(m, "weight", amount=1, n=2, dim=0), "weight", amount=10),
    "iterative_three": lambda p, m: p.ln_structured(p.l1_unstructured(p.l1_unstructured(
        m, "weight", amount=3), "weight", amount=0.25), "weight", amount=1, n=1, dim=1),
}


def _run(lib, name):
    conv = _conv(lib)
    PRUNINGS[name](lib.nn.utils.prune, conv)
    x = lib.from_numpy(np.linspace(-1, 1, 2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3))
    out = conv(x)
    out.sum().backward()
    hooks = [type(h).__name__ for h in conv._forward_pre_hooks.values()]
    state = {k: v.detach().numpy().copy() for k, v in conv.state_dict().items()}
    grads = {k: p.grad.numpy().copy() for k, p in conv.named_parameters()}
    return out.detach().numpy(), hooks, state, grads


@pytest.mark.parametrize("name", list(PRUNINGS))
def test_pruning_matches_torch(name):
    ours, theirs = _run(ember, name), _run(torch, name)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    assert ours[1] == theirs[1]
    assert list(ours[2]) == list(theirs[2])
    for key in theirs[2]:
        np.testing.assert_allclose(ours[2][key], theirs[2][key], rtol=1e-6, atol=1e-7)
        assert ours[2][key].dtype == theirs[2][key].dtype, key
    for key in theirs[3]:
        np.testing.assert_allclose(ours[3][key], theirs[3][key], rtol=1e-5, atol=1e-6)


def _global_and_remove(lib):
    first, second = _conv(lib), lib.nn.Linear(3, 2)
    with lib.no_grad():
        second.weight.copy_(lib.tensor([[0.01, -2.0, 0.3], [0.5, -0.02, 1.0]]))
    prune = lib.nn.utils.prune
    prune.global_unstructured([(first, "weight"), (second, "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.4)
    masks = [first.weight_mask.numpy().copy(), second.weight_mask.numpy().copy()]
    pruned_before = prune.is_pruned(first)
    prune.remove(second, "weight")
    return (masks, pruned_before, prune.is_pruned(second),
            sorted(n for n, _ in second.named_parameters()), second.weight.detach().numpy().copy(),
            sorted(second.state_dict()))


def test_global_unstructured_and_remove():
    ours, theirs = _global_and_remove(ember), _global_and_remove(torch)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_array_equal(a, b)
    assert ours[1:4] == theirs[1:4] and ours[5] == theirs[5]
    np.testing.assert_array_equal(ours[4], theirs[4])


def test_random_pruning_counts():
    conv = _conv(ember)
    ember.nn.utils.prune.random_unstructured(conv, "weight", amount=0.25)
    assert int((conv.weight_mask == 0).sum()) == round(0.25 * WEIGHT.size)
    ember.nn.utils.prune.random_structured(conv, "weight", amount=2, dim=0)
    alive = (conv.weight.abs().sum(dim=(1, 2, 3)) != 0).sum()
    assert int(alive) <= 2
    assert len(next(iter(conv._forward_pre_hooks.values()))) == 2


ERRORS = {
    "negative_amount": lambda p, m: p.l1_unstructured(m, "weight", amount=-1),
    "fraction_above_one": lambda p, m: p.l1_unstructured(m, "weight", amount=1.5),
    "amount_type": lambda p, m: p.l1_unstructured(m, "weight", amount="a"),
    "too_many": lambda p, m: p.l1_unstructured(m, "bias", amount=5),
    "structured_1d": lambda p, m: p.ln_structured(m, "bias", amount=1, n=2, dim=0),
    "remove_unpruned": lambda p, m: p.remove(m, "weight"),
    "global_not_iterable": lambda p, m: p.global_unstructured(3, p.L1Unstructured, amount=1),
    "global_structured": lambda p, m: p.global_unstructured(
        [(m, "weight")], p.LnStructured, amount=1, n=2, dim=0),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as theirs:
        ERRORS[name](torch.nn.utils.prune, _conv(torch))
    conv = _conv(ember)
    with pytest.raises(type(theirs.value)) as ours:
        ERRORS[name](ember.nn.utils.prune, conv)
    if name not in ("remove_unpruned", "global_structured"):  # these name the module/class
        assert str(ours.value) == str(theirs.value)
    assert sorted(n for n, _ in conv.named_parameters()) == ["bias", "weight"]


def test_prune_method_on_a_bare_tensor():
    """``method.prune(t)`` applies the mask without a module; a wrong-shaped
    importance_scores is refused as PyTorch refuses it."""
    for lib in (ember, torch):
        t = lib.from_numpy(WEIGHT.copy())
        method = lib.nn.utils.prune.LnStructured(amount=2, n=1, dim=1)
        got = method.prune(t, importance_scores=t.flip(1)).numpy()
        if lib is ember:
            ours = got
        else:
            np.testing.assert_array_equal(ours, got)
        with pytest.raises(AssertionError):
            lib.nn.utils.prune.L1Unstructured(amount=1).prune(t, importance_scores=t[0])


def test_mismatched_importance_scores_leave_module_unpruned():
    for lib in (ember, torch):
        conv = _conv(lib)
        with pytest.raises(AssertionError):
            lib.nn.utils.prune.l1_unstructured(conv, "weight", amount=1,
                                               importance_scores=conv.bias)
        assert sorted(n for n, _ in conv.named_parameters()) == ["bias", "weight"]
        assert not lib.nn.utils.prune.is_pruned(conv)
