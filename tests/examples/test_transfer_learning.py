"""examples/transfer_learning.py end to end: a ResNet-18 checkpoint written by real PyTorch
(torchvision's own resnet18) loads into ember.vision.models.resnet18, the
backbone stays frozen, the new head learns on the generated ImageFolder."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch
from torch import nn
from vision._torchvision import load_torchvision

import ember

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                       "transfer_learning.py")


def _load_example():
    spec = importlib.util.spec_from_file_location("transfer_learning_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A "pretrained" torchvision-layout file: torchvision's init, BN statistics
    calibrated on data, saved with torch.save(model.state_dict())."""
    torch.manual_seed(0)
    model = load_torchvision().models.resnet18()  # its init: kaiming_normal_ fan_out, BN 1/0
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 32, 32))
    path = tmp_path_factory.mktemp("ckpt") / "resnet18-f37072fd.pth"
    torch.save(model.state_dict(), path)
    return path, {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_example_fine_tunes_the_head_only(checkpoint, tmp_path):
    path, torch_state = checkpoint
    example = _load_example()
    result = example.main(["--weights", str(path), "--data", str(tmp_path / "data"),
                           "--per-class", "8", "--epochs", "3", "--lr", "0.01",
                           "--batch-size", "8"])
    assert result["classes"] == ["checker", "horizontal", "vertical"]
    assert sorted(os.listdir(tmp_path / "data" / "train")) == result["classes"]
    assert len(os.listdir(tmp_path / "data" / "train" / "vertical")) == 8
    losses = result["train_losses"]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert 0.0 <= result["val_accuracy"] <= 1.0

    model = result["model"]
    assert tuple(model.fc.weight.shape) == (3, 512)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    state = model.state_dict()
    for key, value in torch_state.items():
        if key.startswith("fc."):
            continue
        # Frozen: weights and BN running statistics are still the checkpoint's.
        np.testing.assert_array_equal(state[key].numpy(), value, err_msg=key)


def test_example_loads_weights_enum_from_hub_cache(checkpoint, tmp_path, monkeypatch):
    path, torch_state = checkpoint
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("EMBER_HOME", raising=False)
    backbone = _load_example().load_backbone(None)
    for key, value in backbone.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), torch_state[key], err_msg=key)
    assert isinstance(backbone, ember.nn.Module)
