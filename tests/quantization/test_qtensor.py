"""Quantized tensors and fake quantization against PyTorch: integer representations must
be identical (they are what a quantized model stores), dequantized values exact."""

import pickle

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check, check_raises

import ember

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated")]
RNG = np.random.default_rng(7)
QDTYPES = ["qint8", "quint8", "qint32"]


def _tensor(data, **kwargs):
    """An ember tensor on the oracle's device (``pytest --device cuda``): quantized tensors
    live there as PyTorch's QuantizedCUDA ones do (the integer kernels stay host-only)."""
    return ember.tensor(data, device=oracle.DEVICE, **kwargs)


def _same_repr(e, t):
    """ember's printed form is torch's (on cpu here); on another device it names the
    device, except where that device is the default one, as PyTorch prints."""
    if oracle.DEVICE != "cpu":
        assert f"device='{e.device}'" in repr(e)
    with oracle.on_device(ember):
        assert repr(e) == repr(t)


def _with_ties(shape, scale, rng=RNG):
    """Random values where half of them sit on rounding ties (k + 0.5) * scale, the
    places where a kernel's order of rounding shows."""
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    flat = x.reshape(-1)
    half = flat.size // 2
    flat[:half] = ((rng.integers(-40, 40, half) + 0.5) * np.float32(scale)).astype(np.float32)
    return x


def _same_q(e, t):
    assert repr(e.dtype) == repr(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    assert repr(e.qscheme()) == repr(t.qscheme())
    np.testing.assert_array_equal(as_numpy(e.int_repr()), t.int_repr().numpy())
    np.testing.assert_array_equal(as_numpy(e.dequantize()), t.dequantize().numpy())
    assert e.int_repr().dtype == getattr(ember, str(t.int_repr().dtype)[6:])
    for part in (e, e.int_repr(), e.dequantize()):
        assert part.device.type == oracle.DEVICE


def test_dtypes_print_and_flags():
    for name in QDTYPES:
        e, t = getattr(ember, name), getattr(torch, name)
        assert repr(e) == repr(t)
        assert e.is_floating_point == t.is_floating_point
        assert e.is_complex == t.is_complex
        assert e.itemsize == t.itemsize
        assert pickle.loads(pickle.dumps(e)) is e
    # an int8 array is still torch.int8, not qint8
    assert ember.tensor([1], dtype=ember.int8).dtype is ember.int8
    # factories refuse quantized dtypes (no scale to give them), as PyTorch's do
    for make in (lambda m: m.tensor([1, 2], dtype=m.qint8),
                 lambda m: m.ones(2).to(m.quint8)):
        with pytest.raises(RuntimeError):
            make(torch)
        with pytest.raises(RuntimeError, match="not supported on quantized tensors"):
            make(ember)
    for name in ("per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
                 "per_channel_symmetric", "per_channel_affine_float_qparams"):
        assert repr(getattr(ember, name)) == repr(getattr(torch, name))
        assert pickle.loads(pickle.dumps(getattr(ember, name))) is getattr(ember, name)


# torch 2.11 rounds x / scale and then adds the zero point, 2.13 rounds the sum: every tie
# lands one apart where the zero point is odd (qint8's -5, qint32's 17); with quint8's even
# 100 the near-ties that the float32 sum rounds onto a tie do. 0-d and empty inputs hold none.
ZERO_POINT_ROUNDING = pytest.mark.oracle_torch("2.13", "torch 2.11 rounds x / scale before "
                                               "adding the zero point")


@pytest.mark.parametrize("name", QDTYPES)
@pytest.mark.parametrize("shape", [pytest.param((5, 7), marks=ZERO_POINT_ROUNDING),
                                   pytest.param((3, 4, 6), marks=ZERO_POINT_ROUNDING), (), (0,)])
def test_quantize_per_tensor(name, shape):
    scale = 0.0731
    # the case's own draw: which cases an older oracle skips must not change the data
    x = _with_ties(shape, scale, np.random.default_rng(7))
    zero_point = {"qint8": -5, "quint8": 100, "qint32": 17}[name]
    e = ember.quantize_per_tensor(_tensor(x), scale, zero_point, getattr(ember, name))
    t = torch.quantize_per_tensor(torch.tensor(x), scale, zero_point, getattr(torch, name))
    _same_q(e, t)
    assert e.q_scale() == t.q_scale() and e.q_zero_point() == t.q_zero_point()
    assert e.is_quantized and not _tensor(x).is_quantized
    _same_repr(e, t)


@ZERO_POINT_ROUNDING
def test_quantize_saturates_and_tensor_qparams():
    x = np.array([-1e6, -3.0, 0.0, 2.5, 1e6], dtype=np.float32)
    e = ember.quantize_per_tensor(_tensor(x), _tensor(0.1), _tensor(2),
                                  ember.quint8)
    t = torch.quantize_per_tensor(torch.tensor(x), torch.tensor(0.1), torch.tensor(2),
                                  torch.quint8)
    _same_q(e, t)
    el = ember.quantize_per_tensor([_tensor(x), _tensor(x)], _tensor([0.1, 0.2]),
                                   _tensor([2, 1]), ember.quint8)
    tl = torch.quantize_per_tensor([torch.tensor(x), torch.tensor(x)], torch.tensor([0.1, 0.2]),
                                   torch.tensor([2, 1]), torch.quint8)
    for a, b in zip(el, tl):
        _same_q(a, b)


@ZERO_POINT_ROUNDING
@pytest.mark.parametrize("name", QDTYPES)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_quantize_per_channel(name, axis):
    shape = (4, 5, 6)
    x = _with_ties(shape, 0.05)
    channels = shape[axis]
    scales = RNG.uniform(0.01, 0.3, channels)
    low = {"qint8": -20, "quint8": 0, "qint32": -1000}[name]
    zero_points = RNG.integers(low, 30, channels)
    e = ember.quantize_per_channel(_tensor(x), _tensor(scales),
                                   _tensor(zero_points), axis, getattr(ember, name))
    t = torch.quantize_per_channel(torch.tensor(x), torch.tensor(scales),
                                   torch.tensor(zero_points), axis, getattr(torch, name))
    _same_q(e, t)
    np.testing.assert_array_equal(as_numpy(e.q_per_channel_scales()),
                                  t.q_per_channel_scales().numpy())
    assert e.q_per_channel_scales().dtype is ember.float64
    assert e.q_per_channel_zero_points().dtype is ember.int64
    assert e.q_per_channel_axis() == t.q_per_channel_axis()
    small = np.array([[-1.0, 0.3, 2.5], [0.7, 100.0, -3.0]], dtype=np.float32)
    e = ember.quantize_per_channel(_tensor(small), _tensor([0.1, 0.2]),
                                   _tensor([0, 1]), 0, ember.qint8)
    t = torch.quantize_per_channel(torch.tensor(small), torch.tensor([0.1, 0.2]),
                                   torch.tensor([0, 1]), 0, torch.qint8)
    _same_repr(e, t)


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")  # torch.load's own
@pytest.mark.parametrize("name", ["qint8", "quint8"])
@pytest.mark.parametrize("axis", [0, 1])
def test_quantize_per_channel_float_qparams(name, axis):
    """Float zero points make PyTorch's float-qparams scheme (the quantized embeddings'
    rows): float32 scales and unrounded zero points, a zero scale quantizing as 1 / scale
    = 1; saved and loaded both ways. Host tensors: PyTorch's CUDA kernel may fuse
    x * (1 / scale) + zero_point, which this does not claim to match."""
    import io

    x = _with_ties((6, 5), 0.05)
    channels = x.shape[axis]
    scales = RNG.uniform(0.01, 0.3, channels).astype(np.float32)
    scales[1] = 0.0
    zero_points = RNG.uniform(-20.0, 200.0, channels).astype(np.float32)
    e = ember.quantize_per_channel(ember.tensor(x), ember.tensor(scales),
                                   ember.tensor(zero_points), axis, getattr(ember, name))
    t = torch.quantize_per_channel(torch.tensor(x), torch.tensor(scales),
                                   torch.tensor(zero_points), axis, getattr(torch, name))
    assert repr(e) == repr(t) and repr(e.qscheme()) == "torch.per_channel_affine_float_qparams"
    np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    np.testing.assert_array_equal(e.dequantize().numpy(), t.dequantize().numpy())
    np.testing.assert_array_equal(e.q_per_channel_zero_points().numpy(), zero_points)
    assert e.q_per_channel_scales().dtype is ember.float32 and e.q_per_channel_axis() == axis
    saved = io.BytesIO()
    ember.save(e, saved)
    saved.seek(0)
    assert repr(torch.load(saved)) == repr(t)
    saved = io.BytesIO()
    torch.save(t, saved)
    saved.seek(0)
    loaded = ember.load(saved)
    assert repr(loaded) == repr(t) and loaded.qscheme() is e.qscheme()


@pytest.mark.parametrize("name", ["qint8", "quint8"])
@pytest.mark.parametrize("reduce_range", [False, True])
@pytest.mark.parametrize("kind", ["mixed", "positive", "negative", "zeros", "tiny"])
def test_quantize_per_tensor_dynamic(name, reduce_range, kind):
    x = RNG.standard_normal((6, 9)).astype(np.float32) * 4
    x = {"mixed": x, "positive": np.abs(x), "negative": -np.abs(x), "zeros": x * 0,
         "tiny": x * 1e-7}[kind]
    e = ember.quantize_per_tensor_dynamic(_tensor(x), getattr(ember, name), reduce_range)
    t = torch.quantize_per_tensor_dynamic(torch.tensor(x), getattr(torch, name), reduce_range)
    assert e.q_scale() == t.q_scale() and e.q_zero_point() == t.q_zero_point()
    _same_q(e, t)


def test_views_of_quantized_tensors():
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    e = ember.quantize_per_tensor(_tensor(x), 0.05, 3, ember.qint8)
    t = torch.quantize_per_tensor(torch.tensor(x), 0.05, 3, torch.qint8)
    _same_q(e[1], t[1])
    _same_q(e[:, 1:3], t[:, 1:3])
    _same_q(e.t(), t.t())
    _same_q(e.reshape(3, 8), t.reshape(3, 8))
    _same_q(e.view(-1), t.view(-1))
    _same_q(e.permute(1, 0), t.permute(1, 0))
    _same_q(e.clone(), t.clone())
    np.testing.assert_array_equal(as_numpy(ember.dequantize(e)), torch.dequantize(t).numpy())
    assert e.element_size() == t.element_size() == 1
    assert e.to(oracle.DEVICE) is e and t.to("cpu") is t  # nothing to move: the same tensor
    plain = _tensor(x)
    assert plain.dequantize() is plain
    import copy

    for made in (copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        _same_q(made, t)
        assert made.q_scale() == t.q_scale()
    per_channel = ember.quantize_per_channel(_tensor(x), _tensor([0.1, 0.2, 0.3, 0.4]),
                                             _tensor([0, 1, 2, 3]), 0, ember.quint8)
    again = pickle.loads(pickle.dumps(per_channel))
    assert repr(again) == repr(per_channel)
    assert again.device == per_channel.device


def test_quantized_errors():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 0, m.float32), x,
                 match="ScalarType Float is not supported in new_qtensor")
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 300, m.qint8), x,
                 match="zero_point 300 is above upper bound")
    check_raises(lambda m, a: m.quantize_per_tensor(a.double(), 0.1, 0, m.qint8), x,
                 match="Quantize only works on Float Tensor, got Double")
    check_raises(lambda m, a: m.quantize_per_channel(a, m.tensor([0.1, 0.2]),
                                                     m.tensor([0, 0]), 0, m.qint8), x,
                 match="length of scales must equal to channel, expected 3 got, 2")
    check_raises(lambda m, a: m.quantize_per_channel(a, m.tensor([0.1, 0.2, 0.3]),
                                                     m.tensor([0, 0, 0]), 2, m.qint8), x,
                 match="Channel axis out of range")
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 0, m.qint8).q_per_channel_scales(),
                 x, match="kPerChannelAffine")
    check_raises(lambda m, a: m.quantize_per_channel(
        a, m.tensor([0.1, 0.2, 0.3]), m.tensor([0, 0, 0]), 0, m.qint8).q_scale(), x,
        match="kPerTensorAffine")
    error, _ = check_raises(lambda m, a: a.int_repr(), x, match="aten::int_repr")
    assert f"from the '{oracle.DEVICE.upper()}' backend" in str(error)
    check_raises(lambda m, a: a.q_scale(), x, match="aten::q_scale")
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 0, m.qint8) + 1, x)
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 0, m.qint8).sum(), x)
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 0, m.qint8).to(m.float32), x,
                 match="Creation of quantized tensor requires quantized dtype")
    check_raises(lambda m, a: m.quantize_per_tensor(a, 0.1, 0, m.qint8).requires_grad_(), x,
                 match="only Tensors of floating point dtype can require gradients")


# --- fake quantization -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("qrange", [(-128, 127), (0, 255), (0, 15)])
def test_fake_quantize_per_tensor(dtype, qrange):
    scale, zero_point = 0.0613, (qrange[0] + qrange[1]) // 3
    x = _with_ties((7, 11), scale).astype(dtype)
    x[0, :3] = [1e3, -1e3, 0.0]  # clamped on both sides: no gradient there

    def fn(m, a):
        return m.fake_quantize_per_tensor_affine(a, scale, zero_point, *qrange)

    e, t = check(fn, x, rtol=0, atol=0)
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("zp_dtype", [np.int32, np.float32])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_fake_quantize_per_channel(dtype, zp_dtype, axis):
    shape = (4, 6, 5)
    x = _with_ties(shape, 0.07).astype(dtype)
    channels = shape[axis]
    scales = RNG.uniform(0.02, 0.2, channels).astype(np.float32)
    zero_points = RNG.integers(-10, 10, channels).astype(zp_dtype)

    def fn(m, a):
        return m.fake_quantize_per_channel_affine(
            a, m.tensor(scales), m.tensor(zero_points), axis, -64, 63)

    # PyTorch's CUDA kernel forms (q - zero_point) * scale in float32, its CPU kernel in
    # the input's dtype: ember on cuda against torch on the cpu differs by that rounding
    widened = dtype == np.float64 and oracle.DEVICE != oracle.TORCH_DEVICE
    e, t = check(fn, x, rtol=2**-24 if widened else 0, atol=0)
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    if oracle.DEVICE == "cuda":
        out = as_numpy(e)
        np.testing.assert_array_equal(out, out.astype(np.float32))


def test_fake_quantize_tensor_qparams():
    x = _with_ties((4, 9), 0.1)

    def fn(m, a):
        return m.fake_quantize_per_tensor_affine(a, m.tensor(0.1), m.tensor(3, dtype=m.int32),
                                                 -20, 20)

    e, t = check(fn, x, rtol=0, atol=0)
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__
    check_raises(lambda m, a: m.fake_quantize_per_tensor_affine(
        a, m.tensor(0.1, requires_grad=True), m.tensor(0, dtype=m.int32), -10, 10), x,
        match="not differentiable with respect to argument 'scale'")


def test_fake_quantize_double_backward_is_masked():
    x = _tensor([0.31, 9.0, -0.2], dtype=ember.float64, requires_grad=True)
    y = ember.fake_quantize_per_tensor_affine(x, 0.1, 0, -10, 10)
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    assert g.tolist() == [1.0, 0.0, 1.0]


def test_fake_quantize_errors():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    check_raises(lambda m, a: m.fake_quantize_per_tensor_affine(a, 0.1, 0, 10, 5), x,
                 match="`quant_min` should be less than or")
    check_raises(lambda m, a: m.fake_quantize_per_tensor_affine(a, 0.1, 50, 0, 10), x,
                 match="`zero_point` must be between `quant_min` and `quant_max`.")
    check_raises(lambda m, a: m.fake_quantize_per_tensor_affine(a.long(), 0.1, 0, 0, 10), x,
                 match="not implemented for 'Long'")
    check_raises(lambda m, a: m.fake_quantize_per_channel_affine(
        a, m.tensor([0.1, 0.2]), m.tensor([0, 0], dtype=m.int32), 0, 0, 10), x,
        match="dimensions of scale and zero-point are not consistent")
    check_raises(lambda m, a: m.fake_quantize_per_channel_affine(
        a, m.tensor([0.1, 0.2, 0.3]), m.tensor([0, 0, 0]), 0, 0, 10), x,
        match="Zero-point must be Int32, Float or Half, found Long")
    check_raises(lambda m, a: m.fake_quantize_per_channel_affine(
        a, m.tensor([0.1, 0.2, 0.3, 0.4]), m.tensor([0, 0, 0, 0], dtype=m.int32), -1, 0, 10), x,
        match="`axis` must be between 0 and number of dimensions of input")
