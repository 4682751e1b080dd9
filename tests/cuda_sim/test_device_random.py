"""Bernoulli draws with a float p on cuda (every dropout mask) are computed on the device
from one key of the host stream (ember/_ops/random.py ``_device_bernoulli``): by one
compiled kernel on cuda (the CuPy double builds it with g++), by array ops on NumPy; the
same values either way."""

import numpy as np
import pytest

import ember
from ember._ops.random import _device_bernoulli, _splitmix_uniform


def test_splitmix_uniform_is_uniform_and_uncorrelated():
    draws = _splitmix_uniform(np, (400_000,), np.uint64(0x1234_5678_9ABC_DEF0))
    assert draws.dtype == np.float64 and 0.0 <= draws.min() and draws.max() < 1.0
    counts, _ = np.histogram(draws, bins=20, range=(0.0, 1.0))
    # each bin holds 20,000 on average; 5 standard deviations is about 690
    assert np.abs(counts - 20_000).max() < 700
    assert abs(np.corrcoef(draws[:-1], draws[1:])[0, 1]) < 0.01


def test_device_bernoulli_advances_the_host_stream_by_one_draw():
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    first = _device_bernoulli(np, (50, 40), np.float32, 0.5, rng)
    key = twin.integers(0, 2 ** 64, dtype=np.uint64)
    assert rng.random() == twin.random()
    assert first.dtype == np.float32 and first.shape == (50, 40)
    np.testing.assert_array_equal(first, _splitmix_uniform(np, (50, 40), key) < 0.5)
    assert not np.array_equal(first, _device_bernoulli(np, (50, 40), np.float32, 0.5, rng))


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64, ember.float16, ember.bool])
def test_cuda_bernoulli_mask_is_the_host_formula(dtype):
    """The compiled kernel (g++ on the CuPy double, NVRTC on a GPU) against the array
    formula on the host."""
    ember.manual_seed(21)
    mask = ember.empty(7, 300, device="cuda", dtype=dtype).bernoulli_(0.3)
    ember.manual_seed(21)
    key = ember.default_generator._rng.integers(0, 2 ** 64, dtype=np.uint64)
    expected = _splitmix_uniform(np, (7, 300), key) < 0.3
    assert mask.dtype == dtype and mask.device.type == "cuda"
    np.testing.assert_array_equal(mask.cpu().numpy().astype(bool), expected)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_on_cuda_keeps_one_minus_p_and_scales(p):
    ember.manual_seed(0)
    x = ember.ones(200, 500, device="cuda")
    out = ember.nn.functional.dropout(x, p)
    assert out.device.type == "cuda" and out.dtype == x.dtype
    kept = (out != 0).float().mean().item()
    assert abs(kept - (1 - p)) < 0.01  # 100,000 draws: the standard deviation is < 0.0016
    values = out[out != 0]
    assert ember.allclose(values, ember.full_like(values, 1 / (1 - p)))


def test_seeded_cuda_dropout_repeats_and_backward_uses_the_mask():
    x = ember.randn(64, 32).cuda().requires_grad_()
    ember.manual_seed(11)
    first = ember.nn.functional.dropout(x, 0.25)
    ember.manual_seed(11)
    again = ember.nn.functional.dropout(x, 0.25)
    assert ember.equal(first, again)
    first.sum().backward()
    expected = (first != 0).float() / 0.75
    assert ember.allclose(x.grad, expected)


def test_bernoulli_with_a_float_p_on_cuda_fills_zeros_and_ones_in_place():
    ember.manual_seed(5)
    t = ember.empty(1000, dtype=ember.float16, device="cuda")
    version = t._version
    assert t.bernoulli_(0.5) is t and t._version == version + 1
    assert set(np.unique(t.cpu().numpy()).tolist()) <= {0.0, 1.0}
    with pytest.raises(RuntimeError, match="bernoulli_ expects p to be in"):
        t.bernoulli_(1.5)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_cuda_dropout_is_the_fused_native_dropout_from_one_draw(dtype):
    """F.dropout on cuda is PyTorch's CUDA path, native_dropout (one kernel; half
    precision by the array formula): output x * mask / (1 - p) with the mask drawn from
    one key of the generator, NativeDropoutBackward0, gradient grad * mask / (1 - p)."""
    x = ember.randn(6, 50, dtype=getattr(ember, dtype)).to("cuda").requires_grad_()
    ember.manual_seed(3)
    out = ember.nn.functional.dropout(x, 0.3)
    after = ember.rand(2)
    ember.manual_seed(3)
    key = ember.default_generator._rng.integers(0, 2 ** 64, dtype=np.uint64)
    assert np.array_equal(ember.rand(2).numpy(), after.numpy())  # one draw advanced
    mask = _splitmix_uniform(np, (6, 50), key) < 0.7
    host_x = x.detach().cpu().numpy()
    expected = host_x * mask.astype(host_x.dtype) * (1.0 / 0.7)
    assert out.dtype == x.dtype and type(out.grad_fn).__name__ == "NativeDropoutBackward0"
    np.testing.assert_array_equal(out.detach().cpu().numpy(), expected)
    grad = np.random.default_rng(0).standard_normal((6, 50)).astype(host_x.dtype)
    out.backward(ember.tensor(grad, device="cuda"))
    np.testing.assert_array_equal(x.grad.cpu().numpy(), grad * mask * (1.0 / 0.7))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_native_dropout_returns_the_output_and_its_mask(device):
    x = ember.randn(40, 30).to(device).requires_grad_()
    out, mask = ember.native_dropout(x, 0.25, True)
    assert mask.dtype == ember.bool and not mask.requires_grad and mask.device == x.device
    assert type(out.grad_fn).__name__ == "NativeDropoutBackward0"
    expected = x.detach() * mask * (1 / 0.75)
    assert ember.equal(out.detach(), expected)
    out.sum().backward()
    assert ember.allclose(x.grad, mask.float() / 0.75)
    assert 0.6 < mask.float().mean().item() < 0.9
