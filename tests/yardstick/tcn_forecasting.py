"""Time-series forecasting the way WaveNet / TCN tutorials write it: causal dilated Conv1d
blocks (left padding with F.pad, dilation 1-2-4, gated tanh * sigmoid units, residual and
skip connections, weight_norm through torch.nn.utils.parametrizations), sliding windows
cut with Tensor.unfold, per-series standardisation, a pinball (quantile) loss for three
quantiles, a 1-d conv autoencoder with MaxPool1d / ConvTranspose1d / AvgPool1d for anomaly
scores, and bfloat16 autocast inference through the whole model (conv, pools, transposed
conv) compared with float32. The series are fixed sums of sines."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.83 + i).reshape(tuple(p.shape)) * scale))
    return module


class CausalBlock(nn.Module):
    def __init__(self, channels, dilation, kernel=2):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.filter = weight_norm(nn.Conv1d(channels, channels, kernel, dilation=dilation))
        self.gate = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.res = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        padded = F.pad(x, (self.pad, 0))
        h = torch.tanh(self.filter(padded)) * torch.sigmoid(self.gate(padded))
        return x + self.res(h), self.skip(h)


class TCN(nn.Module):
    def __init__(self, channels=8, quantiles=3):
        super().__init__()
        self.inp = nn.Conv1d(1, channels, 1)
        self.blocks = nn.ModuleList([CausalBlock(channels, d) for d in (1, 2, 4)])
        self.head = nn.Conv1d(channels, quantiles, 1)

    def forward(self, x):                           # (B, 1, T) -> (B, Q, T)
        x = self.inp(x)
        skips = 0
        for block in self.blocks:
            x, s = block(x)
            skips = skips + s
        return self.head(F.relu(skips))


t = np.arange(400)
series = torch.tensor(np.stack([np.sin(t * 0.11) + 0.5 * np.sin(t * 0.037 + k) + 0.1 * np.cos(t * 1.3 * (k + 1))
                                for k in range(3)]), dtype=torch.float32)
mean, std = series.mean(dim=1, keepdim=True), series.std(dim=1, keepdim=True)
z = (series - mean) / std
windows = z.unfold(dimension=1, size=33, step=16)            # (3, W, 33)
print("windows:", tuple(windows.shape), "stride:", windows.stride(), "shares storage:",
      windows.untyped_storage().data_ptr() == z.untyped_storage().data_ptr())
inputs, targets = windows[..., :-1].reshape(-1, 1, 32), windows[..., 1:].reshape(-1, 1, 32)
print("batch:", tuple(inputs.shape), "targets shift by one:", torch.equal(inputs[0, 0, 1:], targets[0, 0, :-1]))

model = fixed_(TCN())
print("weight_norm parametrized:", nn.utils.parametrize.is_parametrized(model.blocks[0].filter, "weight"),
      sorted(n for n, _ in model.blocks[0].filter.named_parameters()))
probe = torch.zeros(1, 1, 32, requires_grad=True)
model(probe)[0, 1, 20].backward()
field = (probe.grad[0, 0] != 0).nonzero().flatten()
print("receptive field:", field.min().item(), "..", field.max().item(), "causal:", field.max().item() <= 20)

quantiles = torch.tensor([0.1, 0.5, 0.9]).view(1, 3, 1)


def pinball(pred, target):
    diff = target - pred
    return torch.maximum(quantiles * diff, (quantiles - 1) * diff).mean()


opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(30):
    loss = pinball(model(inputs), targets)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 9:
        print(f"step {step} pinball {loss.item():.5f}")
with torch.no_grad():
    pred = model(inputs)
    covered = ((targets >= pred[:, :1]) & (targets <= pred[:, 2:])).float().mean()
    ordered = (pred[:, 0] <= pred[:, 2]).float().mean()
print(f"80% band covers {covered.item():.3f} lower<=upper {ordered.item():.3f}")
print(f"median MAE {F.l1_loss(pred[:, 1:2], targets).item():.5f} in original units "
      f"{(F.l1_loss(pred[:, 1:2], targets, reduction='none').mean(dim=(1, 2)).view(3, -1).mean(1) * std.squeeze(1)).tolist()}")

# autoregressive rollout: feed predictions back in
context = z[:1, None, :32].clone()
with torch.no_grad():
    for _ in range(8):
        nxt = model(context)[:, 1:2, -1:]
        context = torch.cat([context, nxt], dim=2)
rollout = context[0, 0, 32:]
print(f"rollout MAE {(rollout - z[0, 32:40]).abs().mean().item():.5f}")


class ConvAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                                 nn.Conv1d(4, 8, 3, padding=1), nn.ReLU(), nn.AvgPool1d(2))
        self.dec = nn.Sequential(nn.ConvTranspose1d(8, 4, 2, stride=2), nn.ReLU(),
                                 nn.ConvTranspose1d(4, 1, 2, stride=2))

    def forward(self, x):
        return self.dec(self.enc(x))


ae = fixed_(ConvAE(), scale=0.4)
opt = torch.optim.AdamW(ae.parameters(), lr=0.02)
for step in range(25):
    recon = ae(inputs)
    loss = F.mse_loss(recon, inputs)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"autoencoder mse {loss.item():.5f}")
spiky = inputs[:4].clone()
spiky[2, 0, 10] += 4.0
with torch.no_grad():
    score = (ae(spiky) - spiky).pow(2).mean(dim=(1, 2))
print("anomaly flagged:", score.argmax().item() == 2, f"score ratio {(score[2] / score[[0, 1, 3]].max()).item():.2f}")

# bfloat16 autocast inference through conv, pools and transposed convs
with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
    low = ae(inputs)
    low_tcn = model(inputs)
    pooled = F.max_pool1d(ae.enc[0](inputs), 2)
print("autocast dtypes:", low.dtype, low_tcn.dtype, pooled.dtype)
with torch.no_grad():
    full = ae(inputs)
print("bf16 close to fp32:", torch.allclose(low.float(), full, atol=0.1),
      "tcn:", torch.allclose(low_tcn.float(), model(inputs), atol=0.15))
