"""prepare_fx fuses an eval-mode conv-bn followed by a functional relu for inference, as
PyTorch does (the relu's stand-in module takes the conv's mode)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
import torch.ao.quantization as tq
from torch.ao.quantization.quantize_fx import prepare_fx as torch_prepare_fx

import ember
from ember.ao.quantization import get_default_qconfig_mapping
from ember.ao.quantization.quantize_fx import prepare_fx


def _model(lib):
    class ConvBnFunctionalRelu(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(1, 2, 3)
            self.bn = lib.nn.BatchNorm2d(2)

        def forward(self, x):
            return lib.nn.functional.relu(self.bn(self.conv(x)))

    return ConvBnFunctionalRelu()


@pytest.fixture
def fbgemm_engine():
    """torch's quantized engine is process-wide: set for this test only."""
    saved = torch.backends.quantized.engine
    torch.backends.quantized.engine = "fbgemm"
    yield
    torch.backends.quantized.engine = saved


def test_eval_conv_bn_functional_relu_fuses_for_inference(fbgemm_engine):
    weights = np.linspace(-1, 1, 18, dtype=np.float32).reshape(2, 1, 3, 3)
    models = {}
    for lib in (torch, ember):
        model = _model(lib).eval()
        with lib.no_grad():
            model.conv.weight.copy_(lib.tensor(weights))
            model.conv.bias.fill_(0.1)
        models[lib] = model
    x = np.sin(np.arange(25, dtype=np.float32)).reshape(1, 1, 5, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch_prepare_fx(copy.deepcopy(models[torch]),
                                  tq.get_default_qconfig_mapping("fbgemm"),
                                  (torch.tensor(x),))
        ours = prepare_fx(copy.deepcopy(models[ember]), get_default_qconfig_mapping("fbgemm"),
                          (ember.tensor(x),))
    assert type(ours.conv).__name__ == type(theirs.conv).__name__ == "ConvReLU2d"
    assert ours.conv[1].training == theirs.conv[1].training
    np.testing.assert_allclose(ours(ember.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
