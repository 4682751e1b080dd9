"""A nanoGPT-style training loop around torch.compile: the compiled model is an
OptimizedModule whose state_dict keys carry the "_orig_mod." prefix, so the checkpoint
code saves it as is and strips that prefix when loading into a fresh, uncompiled model
(nanoGPT's unwanted_prefix loop); raw_model = model._orig_mod for the optimizer groups.
Training uses a linear warmup then cosine decay (SequentialLR of LinearLR and
CosineAnnealingLR), gradient accumulation over micro-batches (checked equal to one big
batch), clip_grad_norm_, AdamW with decay only on matrices, and an EMA of the weights via
swa_utils.AveragedModel(multi_avg_fn=get_ema_multi_avg_fn(...), use_buffers=True).
backend="eager" keeps the compile step cheap under PyTorch. Weights come from fixed values."""

import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


class MLP(nn.Module):
    def __init__(self, n_in=6, hidden=32, n_out=3):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, n_out)
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long))
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                if p.dim() == 2:
                    p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.73 + i)
                                             .reshape(tuple(p.shape)) * 0.4))
            self.fc1.bias.fill_(0.05)
            self.fc2.bias.zero_()

    def forward(self, x):
        if self.training:
            self.steps_seen += 1
        return self.fc2(F.gelu(self.ln(self.fc1(x))))


grid = np.arange(96 * 6).reshape(96, 6)
x = torch.tensor(np.sin(grid * 0.37) + 0.3 * np.cos(grid * 0.11), dtype=torch.float32)
y = torch.tensor((np.sin(grid[:, 0] * 0.37) > 0).astype(np.int64) + (x[:, 1] > 0.5).long().numpy())

model = MLP()
compiled = torch.compile(model, backend="eager")
raw_model = compiled._orig_mod
print("compiled:", type(compiled).__name__, "raw is model:", raw_model is model)
print("state_dict keys:", list(compiled.state_dict())[:3])

# accumulation over 4 micro-batches == one batch of 32 (mean losses scaled by 1/4)
for p in model.parameters():
    p.grad = None
F.cross_entropy(model(x[:32]), y[:32]).backward()
big = [p.grad.clone() for p in model.parameters()]
model.zero_grad(set_to_none=True)
for micro in range(4):
    part = slice(micro * 8, (micro + 1) * 8)
    (F.cross_entropy(compiled(x[part]), y[part]) / 4).backward()
print("accumulated == big batch:", all(torch.allclose(a, p.grad, atol=1e-6)
                                       for a, p in zip(big, model.parameters())))
model.zero_grad(set_to_none=True)

decay = [p for n, p in raw_model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in raw_model.named_parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                               {"params": no_decay, "weight_decay": 0.0}],
                              lr=3e-3, betas=(0.9, 0.95))
warmup_iters, max_iters, accum = 4, 16, 4
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [
    torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.25, total_iters=warmup_iters),
    torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_iters - warmup_iters,
                                               eta_min=3e-4)],
    milestones=[warmup_iters])
ema = AveragedModel(compiled, multi_avg_fn=get_ema_multi_avg_fn(0.8), use_buffers=True)
print("ema keys:", list(ema.state_dict())[:3])


def cosine_with_warmup(it, lr=3e-3, min_lr=3e-4):
    """nanoGPT's get_lr, for comparison with the scheduler."""
    if it < warmup_iters:
        return lr * (0.25 + 0.75 * it / warmup_iters)
    ratio = (it - warmup_iters) / (max_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


lrs, expected = [], []
for it in range(max_iters):
    lrs.append(optimizer.param_groups[0]["lr"])
    expected.append(cosine_with_warmup(it))
    start = (it * 32) % 96
    for micro in range(accum):
        xb = x[start + micro * 8:start + (micro + 1) * 8]
        yb = y[start + micro * 8:start + (micro + 1) * 8]
        loss = F.cross_entropy(compiled(xb), yb) / accum
        loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(compiled.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    ema.update_parameters(compiled)
    if it % 5 == 0:
        print(f"iter {it}: loss {loss.item() * accum:.4f} grad norm {norm.item():.4f} "
              f"lr {lrs[-1]:.6f}")
print("scheduler == nanoGPT get_lr:",
      all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(lrs, expected)))
print("forward calls counted in the buffer:", model.steps_seen.item(),
      "ema's averaged copy:", ema.module._orig_mod.steps_seen.item(),
      "updates:", ema.n_averaged.item())

compiled.eval()
ema.eval()
with torch.no_grad():
    accuracy = (compiled(x).argmax(1) == y).float().mean().item()
    ema_accuracy = (ema(x).argmax(1) == y).float().mean().item()
print(f"accuracy {accuracy:.4f} ema accuracy {ema_accuracy:.4f}")

buffer = io.BytesIO()
torch.save({"model": compiled.state_dict(), "optimizer": optimizer.state_dict(),
            "iter_num": max_iters}, buffer)
buffer.seek(0)
checkpoint = torch.load(buffer)
state_dict = checkpoint["model"]
fresh = MLP()
try:
    fresh.load_state_dict(state_dict)
except RuntimeError as error:
    print("plain load refuses:", str(error).splitlines()[1].strip()[:40])
unwanted_prefix = "_orig_mod."
for k, v in list(state_dict.items()):
    if k.startswith(unwanted_prefix):
        state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
print(fresh.load_state_dict(state_dict), "iter_num:", checkpoint["iter_num"])
fresh.eval()
with torch.no_grad():
    print("resumed == trained:", torch.equal(fresh(x), compiled(x)))
ema_weights = {k.removeprefix("module._orig_mod."): v for k, v in ema.state_dict().items()
               if k != "n_averaged"}
fresh.load_state_dict(ema_weights)
with torch.no_grad():
    print("EMA weights load into the plain model:", torch.allclose(fresh(x), ema(x)))
print("ema differs from last weights:", not torch.allclose(fresh.fc1.weight, model.fc1.weight))
