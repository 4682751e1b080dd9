"""Checkpoints cross the library boundary: a checkpoint dict (state_dicts of a model with
Linear, BatchNorm1d and LSTM layers and of Adam, an epoch, a strided int16 tensor) and a
whole pickled module, saved by one library and loaded by the other.

``python checkpoint_interop.py save DIR`` writes, ``... load DIR`` reads and prints,
no argument does both in a temporary folder. The test runs save under PyTorch and load
through `ember run`, and the other way round, and compares what load prints."""

import os
import sys
import tempfile

import numpy as np
import torch
from torch import nn


def build():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LSTM(4, 2))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.9 + i) * 0.5
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
    return model, torch.optim.Adam(model.parameters(), lr=0.01)


def save(folder):
    model, optimizer = build()
    x = torch.from_numpy(np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3) ** 2)
    hidden = model[0](x)
    # Not a plain sum: batch norm's output sums to a constant, whose gradient is rounding
    # noise that Adam's first step would blow up to +-lr.
    (hidden.pow(2).sum() + model[1](hidden).pow(3).sum()).backward()
    optimizer.step()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3,
                "strided": torch.arange(5, dtype=torch.int16)[::2]},
               os.path.join(folder, "checkpoint.pth"))
    torch.save(model[0], os.path.join(folder, "linear.pth"))


def load(folder):
    checkpoint = torch.load(os.path.join(folder, "checkpoint.pth"), weights_only=True)
    model, optimizer = build()
    print(model.load_state_dict(checkpoint["model"]))
    optimizer.load_state_dict(checkpoint["optimizer"])
    print("epoch", checkpoint["epoch"], checkpoint["strided"])
    print({k: (tuple(v.shape), v.dtype) for k, v in checkpoint["model"].items()})
    print(f"linear weight sum {model[0].weight.sum().item():.6f}")
    print("running_mean", [f"{v:.6f}" for v in model[1].running_mean.tolist()])
    state = optimizer.state_dict()
    print("adam step", state["state"][0]["step"], "lr", state["param_groups"][0]["lr"])
    print("exp_avg", [f"{v:.6f}" for v in state["state"][1]["exp_avg"].tolist()])
    linear = torch.load(os.path.join(folder, "linear.pth"), weights_only=False)
    print(linear, type(linear.weight).__name__, linear.weight.requires_grad)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        {"save": save, "load": load}[sys.argv[1]](sys.argv[2])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            save(tmp)
            load(tmp)
