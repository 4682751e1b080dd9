"""A small language model trained the way current recipes do: Muon for the hidden 2-D
weight matrices and AdamW for embeddings, norms and the head (two optimizers over
parameter groups), the LM head fused with its loss (nn.LinearCrossEntropyLoss and
F.linear_cross_entropy, checked against linear + cross_entropy, chunked options included),
attention heads split with torch.func.rearrange, activation checkpointing with
use_reentrant=False (full, and selective: create_selective_checkpoint_contexts with a
policy that saves the matmuls and recomputes the rest), and a bf16 autocast step under
torch.amp.GradScaler. Weights are fixed sines; the data is a fixed token pattern."""

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import rearrange
from torch.utils.checkpoint import (CheckpointPolicy, checkpoint,
                                    create_selective_checkpoint_contexts)

VOCAB, DIM, HEADS, SEQ, BATCH = 23, 16, 2, 8, 4


def fixed(*shape, phase=0.0, scale=0.3):
    n = int(np.prod(shape))
    values = np.sin(np.arange(n) * 0.61 + phase) * scale
    return torch.from_numpy(values.reshape(shape).astype(np.float32))


saved_ops = []


def save_matmuls(ctx, op, *args, **kwargs):
    """Keep the linear layers' matmul outputs (expensive to recompute), recompute the rest."""
    if op in (torch.ops.aten.mm.default, torch.ops.aten.addmm.default):
        if not ctx.is_recompute:
            saved_ops.append(str(op))
        return CheckpointPolicy.MUST_SAVE
    return CheckpointPolicy.PREFER_RECOMPUTE


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(DIM)
        self.qkv = nn.Linear(DIM, 3 * DIM, bias=False)
        self.proj = nn.Linear(DIM, DIM, bias=False)
        self.norm2 = nn.LayerNorm(DIM)
        self.up = nn.Linear(DIM, 4 * DIM, bias=False)
        self.down = nn.Linear(4 * DIM, DIM, bias=False)

    def forward(self, x):
        q, k, v = rearrange(self.qkv(self.norm1(x)), "b t (three h d) -> three b h t d",
                            three=3, h=HEADS)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(rearrange(attended, "b h t d -> b t (h d)"))
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class TinyLM(nn.Module):
    def __init__(self, checkpointing="none"):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.LinearCrossEntropyLoss(DIM, VOCAB, ignore_index=-100)
        self.checkpointing = checkpointing
        with torch.no_grad():
            for index, (name, parameter) in enumerate(self.named_parameters()):
                if parameter.ndim == 2:
                    parameter.copy_(fixed(*parameter.shape, phase=index))

    def hidden(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            if self.checkpointing == "full":
                x = checkpoint(block, x, use_reentrant=False)
            elif self.checkpointing == "selective":
                context = functools.partial(create_selective_checkpoint_contexts, save_matmuls)
                x = checkpoint(block, x, use_reentrant=False, context_fn=context)
            else:
                x = block(x)
        return self.norm(x)

    def forward(self, tokens, targets):
        return self.head(self.hidden(tokens).flatten(0, 1), targets.flatten())


# a fixed pattern to learn: each token is followed by (5 * token + 2) % VOCAB
def batch_of(start):
    rows = []
    for b in range(BATCH):
        token = (start + 3 * b) % VOCAB
        row = [token]
        for _ in range(SEQ):
            token = (5 * token + 2) % VOCAB
            row.append(token)
        rows.append(row)
    data = torch.tensor(rows)
    return data[:, :-1], data[:, 1:]


inputs, targets = batch_of(0)
targets = targets.clone()
targets[0, :2] = -100  # a prompt we do not train on
print("batch:", tuple(inputs.shape), "ignored targets:", int((targets == -100).sum()))

# --- the fused head against linear + cross_entropy ------------------------------------
model = TinyLM()
print(model.head)
hidden = model.hidden(inputs).flatten(0, 1)
weight = model.head.linear.weight
fused = F.linear_cross_entropy(hidden, weight, targets.flatten(), ignore_index=-100)
plain = F.cross_entropy(F.linear(hidden, weight), targets.flatten(), ignore_index=-100)
module_loss = model(inputs, targets)
print(f"fused {fused.item():.5f} plain {plain.item():.5f} module {module_loss.item():.5f}")
grad_fused = torch.autograd.grad(fused, weight, retain_graph=True)[0]
grad_plain = torch.autograd.grad(plain, weight, retain_graph=True)[0]
print("head grads agree:", torch.allclose(grad_fused, grad_plain, atol=1e-6))
smooth = F.linear_cross_entropy(hidden, weight, targets.flatten(), ignore_index=-100,
                                label_smoothing=0.1, reduction="sum")
smooth_plain = F.cross_entropy(hidden @ weight.T, targets.flatten(), ignore_index=-100,
                               label_smoothing=0.1, reduction="sum")
print("label smoothing, sum:", torch.allclose(smooth, smooth_plain), round(smooth.item(), 4))
per_token = F.linear_cross_entropy(hidden, weight, targets.flatten(), reduction="none")
print("reduction none:", tuple(per_token.shape), "ignored are zero:",
      per_token[:2].tolist() == [0.0, 0.0])
chunked = F.linear_cross_entropy(hidden, weight, targets.flatten(), ignore_index=-100,
                                 options=nn.LinearCrossEntropyOptions(batch_chunk_size=8))
print("chunked == reference:", torch.allclose(chunked, fused, atol=1e-6))

# --- Muon for hidden matrices, AdamW for the rest ---------------------------------------
muon_params, adamw_params = [], []
for name, parameter in model.named_parameters():
    if parameter.ndim == 2 and "embed" not in name and "head" not in name:
        muon_params.append(parameter)
    else:
        adamw_params.append(parameter)
print("muon tensors:", len(muon_params), "adamw tensors:", len(adamw_params))
try:
    torch.optim.Muon(adamw_params)
except ValueError as error:
    print("Muon refuses vectors:", str(error).split(" whereas")[0])
optimizers = [torch.optim.Muon(muon_params, lr=0.02, weight_decay=0.01, momentum=0.95),
              torch.optim.AdamW([{"params": [p for p in adamw_params if p.ndim == 2]},
                                 {"params": [p for p in adamw_params if p.ndim == 1],
                                  "weight_decay": 0.0}], lr=0.01, weight_decay=0.1)]
print("adamw groups weight decay:", [g["weight_decay"] for g in optimizers[1].param_groups])
print("muon defaults:",
      {key: optimizers[0].defaults[key] for key in ("momentum", "nesterov", "ns_steps")})

losses = []
for step in range(30):
    inputs_step, targets_step = batch_of(step % 5)
    for optimizer in optimizers:
        optimizer.zero_grad()
    loss = model(inputs_step, targets_step)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()
    losses.append(loss.item())
# Newton-Schulz runs in bfloat16: one rounding flip between two BLAS libraries grows over
# steps, so the trajectory is compared by what it reaches, not digit by digit.
print(f"first loss {losses[0]:.5f}", "loss fell:", losses[-1] < 0.5 * losses[0],
      "below 1.5 after 30 steps:", losses[-1] < 1.5)
state = optimizers[0].state[muon_params[0]]
print("muon state:", sorted(state), tuple(state["momentum_buffer"].shape))

# what Muon does to one gradient: an update with singular values near one
matrix = nn.Parameter(fixed(12, 6, phase=0.8))
single = torch.optim.Muon([matrix], lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False)
scales = torch.tensor([2.0, 1.5, 1.0, 0.7, 0.4, 0.2])
matrix.grad = torch.eye(12, 6) * scales + fixed(12, 6, phase=2.5) * 0.01  # condition ~10
before = matrix.detach().clone()
single.step()
update = (before - matrix.detach()) / (12 / 6) ** 0.5  # undo the shape scaling
singular = torch.linalg.svdvals(update)
print("gradient condition number > 5:", bool(torch.linalg.cond(matrix.grad) > 5),
      "update singular values in (0.5, 1.5):", bool(singular.min() > 0.5 and singular.max() < 1.5))

# --- checkpointing: full and selective give the plain gradients ---------------------------
grads = {}
for mode in ("none", "full", "selective"):
    net = TinyLM(checkpointing=mode)
    loss = net(inputs, targets)
    loss.backward()
    grads[mode] = (loss.detach(), [p.grad.clone() for p in net.parameters()])
for mode in ("full", "selective"):
    same_loss = torch.allclose(grads[mode][0], grads["none"][0])
    same_grads = all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads[mode][1],
                                                                     grads["none"][1]))
    print(f"{mode} checkpoint == plain: {same_loss} {same_grads}")
print("selective policy saved:", sorted(set(saved_ops)))
listed = functools.partial(create_selective_checkpoint_contexts, [torch.ops.aten.mm.default])
block = TinyLM().blocks[0]
x = fixed(2, SEQ, DIM, phase=0.4).requires_grad_()
checkpoint(block, x, use_reentrant=False, context_fn=listed).square().sum().backward()
grad_listed = x.grad.clone()
x.grad = None
block(x).square().sum().backward()
print("op-list policy == plain:", torch.allclose(grad_listed, x.grad, atol=1e-6))
try:
    checkpoint(block, x, use_reentrant=True, context_fn=listed)
except ValueError as error:
    print("reentrant with context_fn:", type(error).__name__)

# --- bf16 autocast with a GradScaler ----------------------------------------------------
model = TinyLM()
scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=1)
optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
fp32_loss = model(inputs, targets).item()
for step in range(2):
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = model.hidden(inputs)
        logits = model.head.linear(hidden)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    if step == 0:
        print("autocast dtypes:", hidden.dtype, logits.dtype, loss.dtype,
              "close to fp32:", abs(loss.item() - fp32_loss) < 0.05)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    print(f"scaler step {step}: scale {scaler.get_scale():.1f} finite {bool(torch.isfinite(norm))}",
          "grad dtype:", model.head.linear.weight.grad.dtype)
