"""A sparse Mixture-of-Experts layer the way Switch/Mixtral-style code writes it: a router
picks the top-k experts per token (topk, softmax over the chosen logits), tokens are
grouped per expert with argsort/bincount, each expert runs on its slice, and outputs are
combined with index_add_; expert capacity is enforced with a cumsum over one-hot
assignments (overflowing tokens are dropped, as in Switch Transformer); the auxiliary
load-balancing loss is fraction-of-tokens x mean router probability; and the same layer
is written densely with batched expert weights through einsum and gather, which must
agree. A tiny MoE model is trained for a few steps. Weights come from fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed(shape, phase, scale=0.3):
    count = int(np.prod(shape))
    return torch.tensor(np.sin(np.arange(count) * 0.67 + phase).reshape(shape) * scale,
                        dtype=torch.float32)


class Experts(nn.Module):
    """E two-layer SwiGLU experts with stacked weights (one parameter per matrix)."""

    def __init__(self, num_experts, dim, hidden):
        super().__init__()
        self.w1 = nn.Parameter(fixed((num_experts, dim, hidden), 0.0))
        self.w3 = nn.Parameter(fixed((num_experts, dim, hidden), 1.0))
        self.w2 = nn.Parameter(fixed((num_experts, hidden, dim), 2.0))

    def one(self, e, x):
        return (F.silu(x @ self.w1[e]) * (x @ self.w3[e])) @ self.w2[e]

    def all(self, x):
        """Every expert on every token: [T, D] -> [E, T, D]."""
        gate = F.silu(torch.einsum("td,edh->eth", x, self.w1))
        h = gate * torch.einsum("td,edh->eth", x, self.w3)
        return torch.einsum("eth,ehd->etd", h, self.w2)


class MoELayer(nn.Module):
    def __init__(self, dim=8, hidden=16, num_experts=4, top_k=2, capacity_factor=None):
        super().__init__()
        self.num_experts, self.top_k, self.capacity_factor = num_experts, top_k, capacity_factor
        self.router = nn.Linear(dim, num_experts, bias=False)
        with torch.no_grad():
            self.router.weight.copy_(fixed((num_experts, dim), 3.0, scale=0.8))
        self.experts = Experts(num_experts, dim, hidden)

    def route(self, x):
        logits = self.router(x)
        probs = logits.softmax(-1)
        top_logits, top_experts = logits.topk(self.top_k, dim=-1)
        weights = top_logits.softmax(-1)
        return probs, weights, top_experts

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        probs, weights, top_experts = self.route(x)
        flat_experts = top_experts.flatten()
        flat_weights = weights.flatten()
        token_of = torch.arange(x.size(0)).repeat_interleave(self.top_k)
        keep = torch.ones_like(flat_experts, dtype=torch.bool)
        if self.capacity_factor is not None:
            capacity = int(self.capacity_factor * x.size(0) * self.top_k / self.num_experts)
            one_hot = F.one_hot(flat_experts, self.num_experts)
            position = (one_hot.cumsum(0) * one_hot).sum(-1) - 1  # slot within its expert
            keep = position < capacity
        order = torch.argsort(flat_experts[keep], stable=True)
        tokens, experts = token_of[keep][order], flat_experts[keep][order]
        w = flat_weights[keep][order]
        counts = torch.bincount(experts, minlength=self.num_experts)
        out = torch.zeros_like(x)
        start = 0
        for e, count in enumerate(counts.tolist()):
            if count:
                idx = tokens[start:start + count]
                y = self.experts.one(e, x[idx]) * w[start:start + count, None]
                out.index_add_(0, idx, y)
            start += count
        # Switch Transformer's balance loss: E * sum_e (fraction routed to e) * (mean prob of e)
        fraction = F.one_hot(top_experts[:, 0], self.num_experts).float().mean(0)
        self.aux_loss = self.num_experts * (fraction * probs.mean(0)).sum()
        self.last_counts = counts
        return out.reshape(shape)

    def dense(self, x):
        """The same output computed densely: every expert, then gather the chosen ones."""
        x = x.reshape(-1, x.shape[-1])
        _, weights, top_experts = self.route(x)
        every = self.experts.all(x).transpose(0, 1)  # T, E, D
        chosen = every.gather(1, top_experts[..., None].expand(-1, -1, x.size(-1)))
        return (chosen * weights[..., None]).sum(1)


moe = MoELayer()
tokens = fixed((2, 5, 8), 4.0, scale=1.0)
out = moe(tokens)
print("out:", tuple(out.shape), "per-expert counts:", moe.last_counts.tolist(),
      f"aux loss {moe.aux_loss.item():.5f}")
print("sparse == dense:", torch.allclose(out.reshape(-1, 8), moe.dense(tokens), atol=1e-6))
probs, weights, experts = moe.route(tokens.reshape(-1, 8))
print("top-2 experts of token 0:", experts[0].tolist(), [round(v, 5) for v in weights[0].tolist()],
      "weights sum to one:", torch.allclose(weights.sum(-1), torch.ones(10)))

out.pow(2).mean().backward()
g_sparse = [p.grad.clone() for p in moe.parameters()]
moe.zero_grad()
moe.dense(tokens).pow(2).mean().backward()
print("gradients agree:", all(torch.allclose(a, b.reshape(a.shape), atol=1e-6)
                              for a, b in zip(g_sparse, (p.grad for p in moe.parameters()))),
      "router grad norm:", f"{g_sparse[0].norm().item():.6f}")
top1 = MoELayer(top_k=1)
top1(tokens[:, :2]).sum().backward()
unused = [e for e in range(4) if top1.last_counts[e] == 0]
print("top-1 counts:", top1.last_counts.tolist(), "unused experts get zero grad:", unused,
      all(top1.experts.w1.grad[e].abs().sum().item() == 0 for e in unused),
      "used ones do not:", all(top1.experts.w1.grad[e].abs().sum().item() > 0
                               for e in range(4) if e not in unused))

capped = MoELayer(capacity_factor=1.0)
capped.load_state_dict(moe.state_dict())
capped_out = capped(tokens)
dropped = (capped_out.reshape(-1, 8).abs().sum(-1) < out.reshape(-1, 8).abs().sum(-1) - 1e-6)
print("capacity:", int(1.0 * 10 * 2 / 4), "per-expert kept:", capped.last_counts.tolist(),
      "tokens losing an expert:", int(dropped.sum().item()))
slots = F.one_hot(torch.tensor([2, 0, 2, 2, 1, 0]), 3)
print("slot positions:", ((slots.cumsum(0) * slots).sum(-1) - 1).tolist())


class TinyMoEModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(12, 8)
        self.moe = MoELayer()
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 12)
        with torch.no_grad():
            self.embed.weight.copy_(fixed((12, 8), 5.0, scale=1.0))
            self.head.weight.copy_(fixed((12, 8), 6.0))
            self.head.bias.zero_()

    def forward(self, ids):
        h = self.embed(ids)
        h = h + self.moe(self.norm(h))
        return self.head(h)


model = TinyMoEModel()
ids = torch.tensor([[1, 5, 7, 3, 2, 9], [4, 4, 8, 10, 11, 0]])
targets = (ids + 1) % 12
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(10):
    logits = model(ids)
    task = F.cross_entropy(logits.reshape(-1, 12), targets.reshape(-1))
    loss = task + 0.01 * model.moe.aux_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 3 == 0:
        print(f"step {step} task {task.item():.5f} aux {model.moe.aux_loss.item():.5f} "
              f"counts {model.moe.last_counts.tolist()}")
print("loss fell:", task.item() < 2.4)
