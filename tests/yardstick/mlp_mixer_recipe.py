"""An MLP-Mixer trained the way modern image-classification recipes train: patches cut with
unfold/einops-style reshapes, token- and channel-mixing MLPs, label-smoothed cross-entropy,
AdamW with two parameter groups (no weight decay on norms and biases), OneCycleLR stepped
per batch, gradient clipping (norm and value), and an exponential moving average of the
weights through swa_utils.AveragedModel, once with get_ema_multi_avg_fn and once with a
hand-written avg_fn. Data are fixed synthetic stripes; weights start from fixed values."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset


def fixed_(module, scale=0.1):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 1.37 + i).reshape(tuple(p.shape)) * scale))
    return module


class MixerBlock(nn.Module):
    def __init__(self, tokens, dim, token_hidden, channel_hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = nn.Sequential(nn.Linear(tokens, token_hidden), nn.GELU(), nn.Linear(token_hidden, tokens))
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = nn.Sequential(nn.Linear(dim, channel_hidden), nn.GELU(approximate="tanh"),
                                         nn.Linear(channel_hidden, dim))

    def forward(self, x):                        # x: (batch, tokens, dim)
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class Mixer(nn.Module):
    def __init__(self, image=8, patch=2, dim=12, depth=2, classes=3):
        super().__init__()
        self.patch = patch
        tokens = (image // patch) ** 2
        self.stem = nn.Linear(patch * patch, dim)
        self.blocks = nn.Sequential(*[MixerBlock(tokens, dim, 8, 24) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):                        # x: (batch, 1, H, W)
        b, c, h, w = x.shape
        p = self.patch
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).flatten(3).flatten(1, 2)
        x = self.blocks(self.stem(x))
        return self.head(self.norm(x).mean(dim=1))


def stripes(n):
    yy, xx = np.mgrid[0:8, 0:8]
    imgs, labels = [], []
    for k in range(n):
        cls = k % 3
        pattern = [np.sin(xx * 1.2 + k * 0.1), np.sin(yy * 1.2 + k * 0.1), np.sin((xx + yy) * 0.8 + k * 0.1)][cls]
        imgs.append(pattern + 0.1 * np.cos(k * 0.7 + xx * yy))
        labels.append(cls)
    return torch.tensor(np.stack(imgs)[:, None], dtype=torch.float32), torch.tensor(labels)


x, y = stripes(24)
model = fixed_(Mixer())
patches = F.unfold(x[:1], kernel_size=2, stride=2).transpose(1, 2)
manual = x[:1].reshape(1, 1, 4, 2, 4, 2).permute(0, 2, 4, 1, 3, 5).flatten(3).flatten(1, 2)
print("patches:", tuple(manual.shape), "reshape == unfold:", torch.equal(patches, manual))
print("parameters:", sum(p.numel() for p in model.parameters()))

decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim == 1 else decay).append(p)
print("groups:", len(decay), len(no_decay))
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                         {"params": no_decay, "weight_decay": 0.0}], lr=3e-3, betas=(0.9, 0.98))
loader = DataLoader(TensorDataset(x, y), batch_size=8)
epochs = 6
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, epochs=epochs, steps_per_epoch=len(loader),
                                            pct_start=0.3, anneal_strategy="cos")
print(f"start lr {opt.param_groups[0]['lr']:.6f} initial_lr {opt.param_groups[0]['initial_lr']:.6f}")
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
ema_manual = AveragedModel(model, avg_fn=lambda avg, new, n: 0.9 * avg + 0.1 * new)

lrs = []
for epoch in range(epochs):
    total, norms = 0.0, []
    for xb, yb in loader:
        logits = model(xb)
        loss = criterion(logits, yb)
        opt.zero_grad()
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        ema.update_parameters(model)
        ema_manual.update_parameters(model)
        total += loss.item() * len(xb)
    print(f"epoch {epoch} loss {total / len(x):.5f} grad norm before clip {max(norms):.4f}")

print("lrs:", [round(v, 6) for v in lrs[::3]], "momentum now", round(opt.param_groups[0]["betas"][0], 5))
print("n_averaged:", ema.n_averaged.item(), ema_manual.n_averaged.item())
same = all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ema.parameters(), ema_manual.parameters()))
print("ema fns agree:", same)

with torch.no_grad():
    logits = model(x)
    ema_logits = ema(x)
    print("train accuracy:", (logits.argmax(1) == y).float().mean().item(),
          "ema accuracy:", (ema_logits.argmax(1) == y).float().mean().item())
    smooth = criterion(logits, y)
    log_p = F.log_softmax(logits, dim=1)
    by_hand = (0.9 * F.nll_loss(log_p, y) - 0.1 * log_p.mean(dim=1).mean())
    print(f"label smoothing by hand: {smooth.item():.5f} {by_hand.item():.5f}", torch.allclose(smooth, by_hand, atol=1e-6))
    soft = F.one_hot(y, 3).float() * 0.8 + 0.2 / 3
    print(f"soft targets: {F.cross_entropy(logits, soft).item():.5f}")

g = torch.zeros(3, requires_grad=True)
(g * torch.tensor([5.0, -0.2, 3.0])).sum().backward()
nn.utils.clip_grad_value_([g], clip_value=1.0)
print("clip by value:", g.grad.tolist())
total = nn.utils.clip_grad_norm_([g], max_norm=0.5, norm_type=math.inf)
print(f"inf-norm before {total.item():.3f} after {g.grad.abs().max().item():.3f}")
print("decay applied only to matrices:", opt.param_groups[1]["weight_decay"] == 0.0,
      sorted(opt.state_dict()["state"][0].keys()))
