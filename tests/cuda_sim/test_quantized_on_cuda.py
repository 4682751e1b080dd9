"""Quantization on cuda, as PyTorch draws the line: quantized tensors, fake quantization and
observers live on the device; the integer kernels (fbgemm/qnnpack: packed int8 weights,
quantized::linear, linear_dynamic, conv2d) are host-only and refuse CUDA tensors with
PyTorch's "Could not run 'quantized::...'" error. Run on the CuPy double in CI and on
real CuPy by scripts/gpu_check.sh (tests/quantization covers values against torch)."""

import numpy as np
import pytest

import ember
import ember.ao.quantization as eq
import ember.nn.quantized as enq
import ember.nn.quantized.dynamic as enqd

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max"),
              pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")]
X = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)


def _refuses(op, backend):
    return pytest.raises(NotImplementedError,
                         match=f"Could not run '{op}' with arguments from the '{backend}' backend")


def test_quantized_tensors_live_on_the_device():
    x = ember.tensor(X, device="cuda")
    q = ember.quantize_per_tensor(x, 0.05, 3, ember.qint8)
    host = ember.quantize_per_tensor(ember.tensor(X), 0.05, 3, ember.qint8)
    assert q.device.type == "cuda" and q.is_cuda
    for part in (q.int_repr(), q.dequantize(), q[1], q.t(), q.reshape(-1), q.clone()):
        assert part.device.type == "cuda"
    np.testing.assert_array_equal(q.int_repr().cpu().numpy(), host.int_repr().numpy())
    assert "device='cuda:0'" in repr(q) and "quantization_scheme" in repr(q)
    with _refuses("aten::int_repr", "CUDA"):
        x.int_repr()
    with pytest.raises(NotImplementedError, match="from the 'QuantizedCUDA' backend"):
        q + 1
    scales = ember.tensor([0.1, 0.2, 0.3, 0.4], device="cuda")
    zero_points = ember.tensor([0, 1, 2, 3], device="cuda")
    per_channel = ember.quantize_per_channel(x, scales, zero_points, 0, ember.quint8)
    assert per_channel.q_per_channel_scales().device.type == "cuda"
    dynamic = ember.quantize_per_tensor_dynamic(x, ember.quint8, False)
    assert dynamic.device.type == "cuda"


def test_fake_quantization_trains_on_the_device():
    x = ember.tensor(X, device="cuda", requires_grad=True)
    y = ember.fake_quantize_per_tensor_affine(x, 0.1, 0, -10, 10)
    y.sum().backward()
    assert y.device.type == x.grad.device.type == "cuda"
    expected = ember.fake_quantize_per_tensor_affine(ember.tensor(X), 0.1, 0, -10, 10)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), expected.numpy())


def test_calibrate_on_the_device_then_convert_on_the_host():
    model = eq.QuantWrapper(ember.nn.Sequential(ember.nn.Linear(6, 3), ember.nn.ReLU()))
    model.eval().to("cuda").qconfig = eq.get_default_qconfig("x86")
    prepared = eq.prepare(model)
    prepared(ember.tensor(X, device="cuda"))
    assert {b.device.type for b in prepared.buffers()} == {"cuda"}
    with _refuses("quantized::linear_prepack", "QuantizedCUDA"):
        eq.convert(prepared)
    converted = eq.convert(prepared.to("cpu"))
    assert converted(ember.tensor(X)).device.type == "cpu"
    with _refuses("quantized::linear", "QuantizedCUDA"):
        converted.module(converted.quant(ember.tensor(X, device="cuda")))


def test_dynamic_quantization_is_host_only():
    float_model = ember.nn.Sequential(ember.nn.Linear(6, 3))
    quantized = eq.quantize_dynamic(float_model, dtype=ember.qint8)
    with _refuses("quantized::linear_dynamic", "CUDA"):
        quantized(ember.tensor(X, device="cuda"))
    half = eq.quantize_dynamic(float_model, dtype=ember.float16)
    with _refuses("quantized::linear_dynamic_fp16", "CUDA"):
        half(ember.tensor(X, device="cuda"))
    with _refuses("quantized::linear_prepack", "QuantizedCUDA"):
        eq.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(6, 3).to("cuda")))
    with _refuses("quantized::linear_prepack_fp16", "CUDA"):
        enqd.Linear(6, 3, dtype=ember.float16).set_weight_bias(
            ember.zeros(3, 6, device="cuda"), None)
    lstm = eq.quantize_dynamic(ember.nn.Sequential(ember.nn.LSTM(6, 4)), {ember.nn.LSTM})
    assert lstm[0]._get_name() == "DynamicQuantizedLSTM"
    with _refuses("quantized::linear_dynamic", "CUDA"):
        lstm(ember.tensor(X[:, None, :], device="cuda"))
    with _refuses("quantized::conv2d_prepack", "QuantizedCUDA"):
        enq.Conv2d(1, 1, 1).set_weight_bias(
            ember.quantize_per_tensor(ember.ones(1, 1, 1, 1, device="cuda"), 0.1, 0,
                                      ember.qint8), None)


def test_per_channel_parameters_follow_the_input():
    """Scales and zero points given on the host are kept beside the device integers."""
    x = ember.tensor(X, device="cuda")
    q = ember.quantize_per_channel(x, ember.tensor([0.1, 0.2, 0.3, 0.4]),
                                   ember.tensor([0, 1, 2, 3]), 0, ember.qint8)
    host = ember.quantize_per_channel(ember.tensor(X), ember.tensor([0.1, 0.2, 0.3, 0.4]),
                                      ember.tensor([0, 1, 2, 3]), 0, ember.qint8)
    assert q.q_per_channel_scales().device.type == "cuda"
    assert q.q_per_channel_scales().dtype is ember.float64
    assert q.q_per_channel_zero_points().dtype is ember.int64
    np.testing.assert_array_equal(q.int_repr().cpu().numpy(), host.int_repr().numpy())
    np.testing.assert_array_equal(q.dequantize().cpu().numpy(), host.dequantize().numpy())


@pytest.mark.parametrize("per_channel", [False, True])
def test_quantized_tensors_move_between_devices_with_their_quantizer(per_channel):
    host = ember.tensor(X)
    if per_channel:
        q = ember.quantize_per_channel(host, ember.tensor([0.1, 0.2, 0.3, 0.4]),
                                       ember.tensor([0, 1, 2, 3]), 0, ember.quint8)
    else:
        q = ember.quantize_per_tensor(host, 0.05, 3, ember.qint8)
    for moved in (q.cuda(), q.to("cuda"), q.to(ember.device("cuda", 0)),
                  q.to(device="cuda", dtype=q.dtype)):
        assert moved.is_quantized and moved.device.type == "cuda" and moved.dtype is q.dtype
        assert moved.qscheme() is q.qscheme()
        back = moved.cpu()
        assert back.device.type == "cpu" and repr(back) == repr(q)
        np.testing.assert_array_equal(back.int_repr().numpy(), q.int_repr().numpy())
    on_gpu = q.cuda()
    assert q.to("cpu") is q and on_gpu.to("cuda") is on_gpu and on_gpu.cuda(0) is on_gpu
    if per_channel:
        assert q.cuda().q_per_channel_scales().device.type == "cuda"
    with pytest.raises(RuntimeError, match="requires quantized dtype"):
        q.to("cuda", ember.float32)


def test_checkpoints_of_cuda_quantized_tensors():
    """Saved from the device, read by PyTorch on the host (map_location) and by ember on
    either device, quantizer included."""
    import io

    import torch

    host = ember.tensor(X)
    for q in (ember.quantize_per_tensor(host, 0.1, 2, ember.quint8),
              ember.quantize_per_channel(host, ember.tensor([0.1, 0.2, 0.3, 0.4]),
                                         ember.tensor([0, 1, 2, 3]), 0, ember.qint8)):
        buffer = io.BytesIO()
        ember.save({"q": q.cuda()}, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, map_location="cpu", weights_only=True)["q"]
        assert repr(loaded.dtype) == repr(q.dtype) and repr(loaded.qscheme()) == repr(q.qscheme())
        np.testing.assert_array_equal(loaded.int_repr().numpy(), q.int_repr().numpy())
        for where in ("cuda", "cpu"):
            buffer.seek(0)
            again = ember.load(buffer, map_location=where)["q"]
            assert again.is_quantized and again.device.type == where
            assert repr(again.cpu()) == repr(q)
