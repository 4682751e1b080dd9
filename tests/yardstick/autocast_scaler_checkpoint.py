"""Mixed precision and activation checkpointing beyond the recipe: which ops autocast on
the CPU runs in bfloat16 / float16, which it keeps in float32 (losses, cdist, prod,
linalg) and which it leaves in the input's dtype or promotes (cat, stack); gradients of
float32 parameters stay float32; custom_fwd(cast_inputs=...) / custom_bwd on an
autograd.Function; a real GradScaler on the CPU (scale, unscale_ before clipping,
skipping a step with an inf gradient, backoff and growth, state_dict); and
torch.utils.checkpoint with use_reentrant=False over a block with dropout
(preserve_rng_state reproduces the mask), keyword arguments and non-tensor outputs,
channels_last inputs kept through the checkpointed block. Weights are fixed values."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


def fixed(*shape, phase=0.0, scale=0.5):
    n = int(np.prod(shape))
    return torch.from_numpy((np.sin(np.arange(n) * 0.91 + phase) * scale).reshape(shape).astype(np.float32))


a, b = fixed(4, 6), fixed(6, 3, phase=1.0)
img, w = fixed(1, 2, 6, 6, phase=0.3), fixed(3, 2, 3, 3, phase=0.7)
target = torch.tensor([0, 2, 1, 1])
ops = {
    "mm": lambda: a @ b,
    "linear": lambda: F.linear(a, b.T),
    "conv2d": lambda: F.conv2d(img, w),
    "bmm": lambda: torch.bmm(a[None], b[None]),
    "baddbmm": lambda: torch.baddbmm(torch.zeros(1, 4, 3), a[None], b[None]),
    "addmm": lambda: torch.addmm(torch.zeros(4, 3), a, b),
    "conv_transpose2d": lambda: F.conv_transpose2d(img, w.transpose(0, 1), stride=2),
    "prelu": lambda: F.prelu(a @ b, torch.tensor([0.25])),
    "einsum": lambda: torch.einsum("ij,jk->ik", a, b),
    "sdpa": lambda: F.scaled_dot_product_attention(a[None, None], a[None, None], a[None, None]),
    "relu(mm)": lambda: F.relu(a @ b),
    "softmax(mm)": lambda: (a @ b).softmax(-1),
    "mm + fp32": lambda: a @ b + b[:4],
    "cross_entropy": lambda: F.cross_entropy(a @ b, target),
    "mse_loss": lambda: F.mse_loss(a @ b, torch.zeros(4, 3)),
    "cdist": lambda: torch.cdist(a, a),
    "prod": lambda: (a @ b).prod(),
    "linalg.inv": lambda: torch.linalg.inv((a @ a.T) + torch.eye(4)),
    "reflection pad": lambda: F.pad(F.conv2d(img, w), (1, 1, 1, 1), mode="reflect"),
    "grid_sample": lambda: F.grid_sample(F.conv2d(img, w), torch.zeros(1, 2, 2, 2), align_corners=False),
    "cat(bf16, fp32)": lambda: torch.cat([a @ b, b[:4]]),
    "stack(bf16, fp32)": lambda: torch.stack([a @ b, b[:4]]),
    "sum(mm)": lambda: (a @ b).sum(),
    "layer_norm(mm)": lambda: F.layer_norm(a @ b, (3,)),
}
for dtype in (torch.bfloat16, torch.float16):
    with torch.autocast("cpu", dtype=dtype):
        table = {name: str(fn().dtype).replace("torch.", "") for name, fn in ops.items()}
    print(f"autocast {str(dtype).replace('torch.', '')}:")
    for name, result in table.items():
        print(f"    {name:18s} {result}")

model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(fixed(*p.shape, phase=i))
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = model(a)
    loss = F.cross_entropy(out, target)
loss.backward()
print("bf16 model:", out.dtype, loss.dtype, "grad dtypes:", sorted({str(p.grad.dtype) for p in model.parameters()}))
print("bf16 loss close to fp32:", abs(loss.item() - F.cross_entropy(model(a), target).item()) < 0.05)


class ScaledTanh(torch.autograd.Function):
    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return torch.tanh(k * x)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.k * (1 - torch.tanh(ctx.k * x) ** 2), None


x = fixed(5, phase=0.2).requires_grad_()
with torch.autocast("cpu", dtype=torch.bfloat16):
    hidden = (x[None] @ torch.eye(5))[0]
    y = ScaledTanh.apply(hidden, 2.0)
    inner = torch.is_autocast_enabled("cpu")
y.sum().backward()
print("custom_fwd:", hidden.dtype, "->", y.dtype, "autocast was on:", inner, "x.grad:", x.grad.dtype)

# a real GradScaler on the CPU
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
history = []
for step in range(6):
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(a), target)
    scaler.scale(loss).backward()
    if step == 2:
        model[0].weight.grad[0, 0] = float("inf")
    scaler.unscale_(opt)
    norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    before = model[2].bias.detach().clone()
    scaler.step(opt)
    scaler.update()
    history.append((step, scaler.get_scale(), bool(torch.isfinite(norm)), not torch.equal(before, model[2].bias)))
for entry in history:
    print("    step {} scale {:.1f} finite {} updated {}".format(*entry))
print("scaler state:", scaler.state_dict())
print("scale(tensor):", scaler.scale(torch.tensor(3.0)).item(), "enabled:", scaler.is_enabled())


# checkpointing
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.drop = nn.Dropout(0.3)
        with torch.no_grad():
            self.conv.weight.copy_(fixed(2, 2, 3, 3, phase=0.4))
            self.conv.bias.zero_()

    def forward(self, x, scale=1.0):
        y = self.drop(torch.tanh(self.conv(x))) * scale
        return y, {"mean": y.mean().item(), "note": "aux"}


block = Block()
inp = fixed(2, 2, 5, 5, phase=0.9).requires_grad_()
torch.manual_seed(0)
plain, _ = block(inp, scale=2.0)
plain.square().sum().backward()
grads_plain = (inp.grad.clone(), block.conv.weight.grad.clone())
inp.grad = None
block.zero_grad()
torch.manual_seed(0)
ckpt, aux = checkpoint(block, inp, use_reentrant=False, scale=2.0)
ckpt.square().sum().backward()
print("checkpoint == plain with dropout:", torch.equal(ckpt, plain), torch.allclose(inp.grad, grads_plain[0]),
      torch.allclose(block.conv.weight.grad, grads_plain[1]), "aux:", aux["note"])
cl = inp.detach().to(memory_format=torch.channels_last).requires_grad_()
block.eval()
out_cl, _ = checkpoint(block, cl, use_reentrant=False)
out_cl.sum().backward()
print("channels_last kept:", out_cl.is_contiguous(memory_format=torch.channels_last),
      "grad:", cl.grad.is_contiguous(memory_format=torch.channels_last), tuple(cl.grad.stride()))
print(f"eval checkpoint sum {out_cl.sum().item():.5f}")
