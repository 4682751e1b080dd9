"""The index-target losses' gradient kernel on cuda (src/ember/_ops/_cross_entropy_cuda.py)
against torch: cross_entropy (log_softmax, then nll_loss's kernel) and nll_loss, over
reductions, ignored targets, class weights and float64, and label smoothing's fused
node from logits. On CI the kernel's CUDA C++ runs on the CPU through the CuPy double
(g++)."""

import numpy as np
import pytest
import torch

import ember

KERNEL = "ember_index_target_loss_backward"
FORWARD = "ember_index_target_loss_forward"


def _host(tensor):
    return torch.from_numpy(np.array(tensor.detach().cpu().numpy()))


def _both(launched_kernels, dtype="float32", loss_name="cross_entropy", **kwargs):
    rng = np.random.default_rng(0)
    logits, target = rng.standard_normal((12, 7)) * 3, rng.integers(0, 7, 12)
    target[[2, 5]] = -100
    weight = kwargs.pop("weight", None)
    grads = rng.standard_normal(12) if kwargs.get("reduction") == "none" else 1.7
    results = []
    for lib, device in ((torch, "cpu"), (ember, "cuda")):
        x = lib.tensor(logits, dtype=getattr(lib, dtype), device=device, requires_grad=True)
        extra = {} if weight is None else {
            "weight": lib.tensor(weight, dtype=getattr(lib, dtype), device=device)}
        loss = getattr(lib.nn.functional, loss_name)(x, lib.tensor(target, device=device),
                                                      **extra, **kwargs)
        loss.backward(lib.tensor(grads, dtype=loss.dtype, device=device))
        results.append((loss, x.grad))
    (t_loss, t_grad), (e_loss, e_grad) = results
    torch.testing.assert_close(_host(e_loss), t_loss.detach())
    torch.testing.assert_close(_host(e_grad), t_grad)
    assert launched_kernels.count(FORWARD) == launched_kernels.count(KERNEL)
    return launched_kernels.count(KERNEL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logits_gradient_is_one_kernel_and_matches_torch(launched_kernels, reduction, dtype):
    assert _both(launched_kernels, dtype, reduction=reduction) == 1


def test_class_weights_take_the_kernel(launched_kernels):
    weight = np.linspace(0.5, 2.0, 7)
    assert _both(launched_kernels, weight=weight) == 1


def test_every_target_ignored_gives_zero_gradient(launched_kernels):
    x = ember.zeros(3, 4, device="cuda", requires_grad=True)
    loss = ember.nn.functional.cross_entropy(x, ember.full((3,), -100, device="cuda"))
    loss.backward()
    assert np.isnan(loss.item())
    assert (x.grad.cpu().numpy() == 0).all()
    assert launched_kernels.count(KERNEL) == 1


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_nll_loss_takes_the_kernel(launched_kernels, reduction):
    assert _both(launched_kernels, loss_name="nll_loss", reduction=reduction) == 1


def test_label_smoothing_keeps_the_array_path(launched_kernels):
    """Label smoothing's fused node from logits has its smoothing term: array ops."""
    assert _both(launched_kernels, label_smoothing=0.1) == 0


@pytest.mark.parametrize("bad", [7, -3, 100])
@pytest.mark.parametrize("weighted", [False, True])
def test_out_of_bounds_targets_raise_torchs_error(launched_kernels, bad, weighted):
    """The forward kernel marks the rows (reading class 0 there, never past the row);
    the error names the first bad target, as the array path and PyTorch's CPU kernel."""
    target = np.array([1, -100, bad, 2, bad + 1 if bad > 0 else bad - 1])
    messages = []
    for lib, device in ((torch, "cpu"), (ember, "cuda")):
        weight = lib.ones(7, device=device) if weighted else None
        with pytest.raises(IndexError) as info:
            lib.nn.functional.cross_entropy(lib.zeros(5, 7, device=device),
                                            lib.tensor(target, device=device), weight=weight)
        messages.append(str(info.value))
    assert messages[1] == messages[0]
    assert launched_kernels.count(FORWARD) == 1
