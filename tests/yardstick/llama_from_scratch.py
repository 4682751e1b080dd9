"""A Llama-style decoder written from scratch, as "build a GPT/Llama" notebooks write it:
RMSNorm as a module, rotary position embeddings applied through complex numbers
(torch.polar, view_as_complex/view_as_real), grouped-query attention with repeat_interleave,
scaled_dot_product_attention(is_causal=True) checked against an einsum implementation,
SwiGLU feed-forward, weight tying, AdamW with weight-decay parameter groups, a warmup +
cosine LambdaLR, clip_grad_norm_, then greedy decoding and beam search with topk, gather
and index_select over a KV cache. Weights come from fixed values; nothing samples."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
VOCAB, DIM, N_HEADS, N_KV, N_LAYERS, MAX_LEN = 23, 32, 4, 2, 2, 24


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        return self._norm(x.float()).type_as(x) * self.weight


def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def rotate_half_rope(x, cos, sin):
    """The real-valued form of the same rotation, pairing (x0, x1), (x2, x3), ..."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.flatten(-2)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.head_dim = DIM // N_HEADS
        self.n_rep = N_HEADS // N_KV
        self.wq = nn.Linear(DIM, N_HEADS * self.head_dim, bias=False)
        self.wk = nn.Linear(DIM, N_KV * self.head_dim, bias=False)
        self.wv = nn.Linear(DIM, N_KV * self.head_dim, bias=False)
        self.wo = nn.Linear(N_HEADS * self.head_dim, DIM, bias=False)

    def forward(self, x, freqs_cis, cache=None):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, N_HEADS, self.head_dim)
        xk = self.wk(x).view(bsz, seqlen, N_KV, self.head_dim)
        xv = self.wv(x).view(bsz, seqlen, N_KV, self.head_dim)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
        if cache is not None:
            if "k" in cache:
                xk = torch.cat([cache["k"], xk], dim=1)
                xv = torch.cat([cache["v"], xv], dim=1)
            cache["k"], cache["v"] = xk, xv
        keys = xk.repeat_interleave(self.n_rep, dim=2).transpose(1, 2)
        values = xv.repeat_interleave(self.n_rep, dim=2).transpose(1, 2)
        xq = xq.transpose(1, 2)
        out = F.scaled_dot_product_attention(xq, keys, values, is_causal=seqlen > 1 and keys.size(2) == seqlen)
        return self.wo(out.transpose(1, 2).contiguous().view(bsz, seqlen, -1))


class FeedForward(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.w1 = nn.Linear(DIM, hidden, bias=False)
        self.w2 = nn.Linear(hidden, DIM, bias=False)
        self.w3 = nn.Linear(DIM, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_norm = RMSNorm(DIM)
        self.attention = Attention()
        self.ffn_norm = RMSNorm(DIM)
        self.feed_forward = FeedForward()

    def forward(self, x, freqs_cis, cache=None):
        h = x + self.attention(self.attention_norm(x), freqs_cis, cache)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_embeddings = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList([Block() for _ in range(N_LAYERS)])
        self.norm = RMSNorm(DIM)
        self.output = nn.Linear(DIM, VOCAB, bias=False)
        self.output.weight = self.tok_embeddings.weight
        self.register_buffer("freqs_cis", precompute_freqs_cis(DIM // N_HEADS, MAX_LEN), persistent=False)

    def forward(self, tokens, start_pos=0, caches=None):
        h = self.tok_embeddings(tokens)
        freqs = self.freqs_cis[start_pos:start_pos + tokens.size(1)]
        for i, layer in enumerate(self.layers):
            h = layer(h, freqs, None if caches is None else caches[i])
        return self.output(self.norm(h))


def fixed_(module, scale=0.25):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if name.endswith("norm.weight"):
                continue
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.731 + i).reshape(tuple(p.shape)) * scale))
    return module


model = fixed_(Llama())
n_params = sum(p.numel() for p in model.parameters())
print("parameters:", n_params, "tied:", model.output.weight is model.tok_embeddings.weight)
print("buffers in state_dict:", [k for k in model.state_dict() if "freqs" in k])
print("freqs_cis:", model.freqs_cis.dtype, tuple(model.freqs_cis.shape))

# RoPE: complex form == real form, and it preserves norms
q = torch.from_numpy(np.cos(np.arange(2 * 5 * 2 * 8) * 0.3).reshape(2, 5, 2, 8).astype(np.float32))
rq, _ = apply_rotary_emb(q, q, model.freqs_cis[:5])
angles = model.freqs_cis[:5].angle().view(1, 5, 1, 4)
real_rq = rotate_half_rope(q, angles.cos(), angles.sin())
print("rope complex == real:", torch.allclose(rq, real_rq, atol=1e-5), "norm kept:",
      torch.allclose(rq.norm(dim=-1), q.norm(dim=-1), atol=1e-5))
same = q[:, :1].expand(2, 5, 2, 8)  # one vector at every position
rs, _ = apply_rotary_emb(same, same, model.freqs_cis[:5])
print(f"depends on relative position only: {(rs[0, 1, 0] @ rs[0, 3, 1]).item():.5f} {(rs[0, 2, 0] @ rs[0, 4, 1]).item():.5f}")

# SDPA(is_causal=True) against attention written with einsum
Q = torch.from_numpy(np.sin(np.arange(2 * 4 * 6 * 8) * 0.11).reshape(2, 4, 6, 8).astype(np.float32))
K, V = Q.flip(-1) * 0.5, Q.roll(1, dims=2)
scores = torch.einsum("bhqd,bhkd->bhqk", Q, K) / math.sqrt(Q.size(-1))
mask = torch.ones(6, 6, dtype=torch.bool).tril()
scores = scores.masked_fill(~mask, float("-inf"))
manual = torch.einsum("bhqk,bhkd->bhqd", scores.softmax(-1), V)
sdpa = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
print("sdpa causal == einsum:", torch.allclose(sdpa, manual, atol=1e-5), tuple(sdpa.shape))
print("sdpa with bool mask == causal:", torch.allclose(F.scaled_dot_product_attention(Q, K, V, attn_mask=mask), sdpa, atol=1e-5))

# training on a repeating pattern
data = torch.tensor([(i * 5 + i // 3) % VOCAB for i in range(200)])
decay, no_decay = [], []
for name, p in model.named_parameters():
    (decay if p.dim() >= 2 else no_decay).append(p)
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                               {"params": no_decay, "weight_decay": 0.0}], lr=1e-2, betas=(0.9, 0.95))
warmup, total = 5, 40
scheduler = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))))
print("groups:", [len(g["params"]) for g in optimizer.param_groups])
block = 12
for step in range(total):
    starts = torch.tensor([(step * 13 + j * 29) % (len(data) - block - 1) for j in range(8)])
    offsets = starts.unsqueeze(1) + torch.arange(block + 1)
    chunk = data[offsets]
    x, y = chunk[:, :-1], chunk[:, 1:]
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, VOCAB), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    if step % 10 == 0 or step == total - 1:
        print(f"step {step:2d} loss {loss.item():.4f} grad norm {norm.item():.4f} lr {scheduler.get_last_lr()[0]:.5f}")

model.eval()
prompt = data[:6].unsqueeze(0)
with torch.no_grad():
    full = model(data[:10].unsqueeze(0))
    caches = [{} for _ in range(N_LAYERS)]
    first = model(data[:6].unsqueeze(0), 0, caches)
    steps = [model(data[i:i + 1].unsqueeze(0), i, caches) for i in range(6, 10)]
    cached = torch.cat([first] + steps, dim=1)
    print("kv cache == full pass:", torch.allclose(cached, full, atol=1e-4), tuple(caches[0]["k"].shape))

    tokens = prompt
    for _ in range(8):
        nxt = model(tokens)[:, -1].argmax(-1, keepdim=True)
        tokens = torch.cat([tokens, nxt], dim=1)
    print("greedy:", tokens[0, 6:].tolist())
    print("pattern:", data[6:14].tolist())

    def beam_search(prompt, beam=3, steps=6):
        seqs = prompt.repeat(beam, 1)
        scores = torch.tensor([0.0] + [float("-inf")] * (beam - 1))
        for _ in range(steps):
            logp = F.log_softmax(model(seqs)[:, -1], dim=-1)
            cand = (scores.unsqueeze(1) + logp).view(-1)
            top_scores, top_idx = cand.topk(beam)
            parent = torch.div(top_idx, VOCAB, rounding_mode="floor")
            token = top_idx % VOCAB
            seqs = torch.cat([seqs.index_select(0, parent), token.unsqueeze(1)], dim=1)
            scores = top_scores
        return seqs, scores

    seqs, scores = beam_search(prompt)
    print("beams:", [s[6:].tolist() for s in seqs])
    print("beam scores:", [round(v, 4) for v in scores.tolist()])
    logp = F.log_softmax(model(seqs[:, :-1]), dim=-1)
    rescored = logp.gather(2, seqs[:, 1:].unsqueeze(-1)).squeeze(-1)[:, 5:].sum(1)
    print("rescored == beam scores:", torch.allclose(rescored, scores, atol=1e-4))
    order = scores.argsort(descending=True)
    print("sorted:", order.tolist(), torch.sort(scores, descending=True).values.tolist() == scores[order].tolist())
