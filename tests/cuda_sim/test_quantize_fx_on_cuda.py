"""FX graph mode quantization of a model on cuda, as PyTorch draws the line: prepare_fx
puts the observers where the model is and calibration keeps its statistics there (the
same as on the host); the reference form (float modules between quantize/dequantize)
runs on the device; the integer kernels are host-only, so lowering refuses to pack a
CUDA weight with PyTorch's "Could not run 'quantized::...'" error."""

import copy

import numpy as np
import pytest

import ember
import ember.ao.quantization as eq
from ember.ao.quantization.quantize_fx import convert_fx, convert_to_reference_fx, prepare_fx

pytestmark = [pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max")]
X = np.random.default_rng(4).standard_normal((5, 6)).astype(np.float32)


def _prepared(device):
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(6, 4), ember.nn.ReLU(),
                                ember.nn.Linear(4, 3)).to(device).eval()
    prepared = prepare_fx(model, eq.get_default_qconfig_mapping("x86"),
                          (ember.tensor(X, device=device),))
    prepared(ember.tensor(X, device=device))
    return prepared


def test_observers_calibrate_on_the_device():
    on_cuda, on_host = _prepared("cuda"), _prepared("cpu")
    names = [name for name, m in on_host.named_modules()
             if name.startswith("activation_post_process")]
    assert names == [name for name, m in on_cuda.named_modules()
                     if name.startswith("activation_post_process")]
    for name in names:
        observer, host = getattr(on_cuda, name), getattr(on_host, name)
        assert observer.min_val.device.type == "cuda"
        assert observer.histogram.device.type == "cuda"
        np.testing.assert_allclose(observer.max_val.cpu().numpy(), host.max_val.numpy(),
                                   rtol=1e-6)
    reference = convert_to_reference_fx(copy.deepcopy(on_cuda))
    out = reference(ember.tensor(X, device="cuda"))
    assert out.device.type == "cuda"
    host_reference = convert_to_reference_fx(on_host)
    # a device GEMM may land a float sum on the other side of a rounding tie: one step
    step = float(getattr(host_reference, "2_scale_0"))
    np.testing.assert_allclose(out.cpu().numpy(), host_reference(ember.tensor(X)).numpy(),
                               rtol=0, atol=step * 1.001)
    with pytest.raises(NotImplementedError, match="Could not run 'quantized::linear_prepack' "
                                                  "with arguments from the 'QuantizedCUDA'"):
        convert_fx(on_cuda)
