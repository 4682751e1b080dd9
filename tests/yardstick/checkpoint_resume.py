"""Saving and loading a full training checkpoint (model, optimizer, epoch, loss) and
resuming: the resumed run must end exactly where the uninterrupted one does."""

import os
import tempfile

import numpy as np
import torch
from torch import nn, optim

rng = np.random.default_rng(0)
X = torch.from_numpy(rng.normal(size=(64, 5)).astype(np.float32))
true_w = torch.tensor([[1.5], [-2.0], [0.5], [0.0], [3.0]])
y = X @ true_w + 0.1


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x)


def make():
    model = Regressor()
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.77 + i) * 0.4
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    return model, optimizer


def train_epoch(model, optimizer):
    model.train()
    total = 0.0
    for start in range(0, 64, 16):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X[start:start + 16]), y[start:start + 16])
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / 4


model, optimizer = make()
for epoch in range(6):
    loss = train_epoch(model, optimizer)
    print(f"uninterrupted epoch {epoch}: {loss:.6f}")
reference = {k: v.clone() for k, v in model.state_dict().items()}

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.tar")
    model, optimizer = make()
    for epoch in range(3):
        loss = train_epoch(model, optimizer)
    torch.save({
        "epoch": epoch,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": loss,
    }, path)
    del model, optimizer

    model, optimizer = make()
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    start_epoch = checkpoint["epoch"] + 1
    print("resumed at epoch", start_epoch, f"saved loss {checkpoint['loss']:.6f}")
    state = optimizer.state_dict()
    print("optimizer state keys:", sorted(state), "steps:",
          [float(s["step"]) for s in state["state"].values()][:2])
    print("param_groups:", {k: v for k, v in state["param_groups"][0].items()
                            if k in ("lr", "weight_decay", "betas", "params")})
    for epoch in range(start_epoch, 6):
        loss = train_epoch(model, optimizer)
        print(f"resumed epoch {epoch}: {loss:.6f}")

same = all(torch.equal(reference[k], v) for k, v in model.state_dict().items())
print("resumed run identical to uninterrupted one:", same)
model.eval()
with torch.no_grad():
    print(f"final mse: {nn.functional.mse_loss(model(X), y).item():.6f}")
print(sorted(model.state_dict()), model.state_dict()["net.0.weight"].dtype)
