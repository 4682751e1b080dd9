"""ember.ops.quantized.add / add_relu / mul / mul_relu (ao/quantization/fx/_quantized_ops.py)
against PyTorch's CPU kernels, integer for integer: the output integers, scale and zero
point must be equal, not close, since a quantized model's next layer sees the integers."""

import numpy as np
import pytest
import torch

import ember
import ember.ao.quantization.fx._quantized_ops  # noqa: F401 - registers ember.ops.quantized

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:An output with one or more elements")]

NAMES = ["add", "add_relu", "mul", "mul_relu"]
QRANGE = {"qint8": (-128, 127), "quint8": (0, 255)}


def _run(lib, name, dtype, x, y, x_params, y_params, other, out_params):
    """``ops.quantized.<name>`` of ``x`` quantized with ``x_params`` and either a number
    (``other``) or ``y`` quantized with ``y_params``, re-quantized to ``out_params``."""
    op = getattr(lib.ops.quantized, name)
    qx = lib.quantize_per_tensor(lib.tensor(x), *x_params, getattr(lib, dtype))
    if other is not None:
        return op(qx, other)
    qy = lib.quantize_per_tensor(lib.tensor(y), *y_params, getattr(lib, dtype))
    return op(qx, qy, *out_params)


def _assert_same(e_out, t_out):
    np.testing.assert_array_equal(e_out.int_repr().numpy(), t_out.int_repr().numpy())
    assert (e_out.q_scale(), e_out.q_zero_point()) == (t_out.q_scale(), t_out.q_zero_point())


def _others(name):
    """A tensor (None), then numbers: zero, zero point shifts that stay in range and ones
    that grow the range on either side (add), positive and mirroring factors (mul)."""
    if name.startswith("add"):
        return (None, 0.0, 0.5, 1.5, -1.0, -4.0, 3.0)
    return (None, 0.0, 0.5, 2.5, -1.0, -4.0, 3.0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
def test_quantized_binary_ops_match_torch(name, dtype):
    """A few values through every form: tensor pairs re-quantized to given parameters,
    and numbers with the output parameters derived as torch's kernels derive them."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal(12).astype(np.float32)
    y = rng.standard_normal(12).astype(np.float32)
    zero_point = 10 if dtype == "quint8" else -3
    for other in _others(name):
        args = (name, dtype, x, y, (0.02, zero_point), (0.03, zero_point), other,
                (0.05, zero_point))
        _assert_same(_run(ember, *args), _run(torch, *args))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
def test_quantized_binary_ops_sweep(name, dtype):
    """Thousands of values per call, with the parameters above and with random ones: a
    one-integer difference in rounding order (float vs integer requantization, the
    scale a number's shift derives, where the zero point is added) shows up here."""
    rng = np.random.default_rng(2024)
    qmin, qmax = QRANGE[dtype]
    zero_point = 10 if dtype == "quint8" else -3
    settings = [((0.02, zero_point), (0.03, zero_point), (0.05, zero_point), 1.0)]
    for _ in range(4):
        scales = 10 ** rng.uniform(-3, -0.5, 3)
        zero_points = rng.integers(qmin, qmax + 1, 3)
        settings.append(tuple((float(s), int(z)) for s, z in zip(scales, zero_points))
                        + (float(rng.uniform(0.2, 3)),))
    for x_params, y_params, out_params, spread in settings:
        x = (rng.standard_normal(2000) * spread).astype(np.float32)
        y = (rng.standard_normal(2000) * spread).astype(np.float32)
        others = _others(name) + (float(rng.uniform(-5, 5)),)
        for other in others:
            args = (name, dtype, x, y, x_params, y_params, other, out_params)
            _assert_same(_run(ember, *args), _run(torch, *args))


# Integer inputs on which the two ways torch's add rounds disagree: the first dequantizes
# differently (fused multiply-add vs double product), the second adds the zero point
# before or after rounding. Every element of a tensor filled with them tells which way it
# went: SIMD blocks of each contiguous run and each thread's piece, or the scalar tail.
_SPLIT_CASES = [((98, 0.05135110563276208, 65), (-58, 0.04277542687903157, -35),
                 (0.020021175969206734, 68)),
                ((-107, 0.001343531962252852, 0), (0, 0.1, 0), (0.02613781135611314, -114))]
_SPLIT_SHAPES = [((n,), (n,)) for n in (1, 63, 64, 65, 129, 200, 32769, 50001, 100003)] + [
    ((7, 300), (300,)), ((7, 300), (7, 1)), ((3, 5, 130), (5, 130)), ((300,), (7, 300)),
    ((400, 200), (400, 1)), ((70000,), (1,)), ((2, 40000), (2, 1))]


@pytest.mark.parametrize("threads", [2, 1])
def test_quantized_add_splits_simd_and_scalar_as_torch(threads, monkeypatch):
    """Which elements take torch's SIMD body and which its scalar tail, across sizes,
    broadcasting and the split among threads (tensors past 32768 elements)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    monkeypatch.setattr(ember, "get_num_threads", lambda: threads)
    try:
        for (a, a_scale, a_zp), (b, b_scale, b_zp), out_params in _SPLIT_CASES:
            for a_shape, b_shape in _SPLIT_SHAPES:
                x = np.full(a_shape, (a - a_zp) * np.float32(a_scale), np.float32)
                y = np.full(b_shape, (b - b_zp) * np.float32(b_scale), np.float32)
                args = ("add", "qint8", x, y, (a_scale, a_zp), (b_scale, b_zp), None,
                        out_params)
                t_out = _run(torch, *args)
                if a_shape == (65,):  # the case still tells the two paths apart
                    assert len(np.unique(t_out.int_repr().numpy())) == 2
                _assert_same(_run(ember, *args), t_out)
    finally:
        torch.set_num_threads(saved)


@pytest.mark.parametrize("name", NAMES)
def test_quantized_binary_ops_refuse_mixed_dtypes(name):
    messages = []
    for lib in (torch, ember):
        qa = lib.quantize_per_tensor(lib.ones(3), 0.1, 0, lib.qint8)
        qb = lib.quantize_per_tensor(lib.ones(3), 0.1, 0, lib.quint8)
        with pytest.raises(RuntimeError) as info:
            getattr(lib.ops.quantized, name)(qa, qb, 0.1, 0)
        messages.append(str(info.value).splitlines()[0])
    assert messages[1] == messages[0]
