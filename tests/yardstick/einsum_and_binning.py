"""Index-notation and binning code as research notebooks write it: multi-head attention
written with einsum (ellipsis batch dims, the sublist format), bilinear scoring with
nn.Bilinear / F.bilinear against einsum, tensordot and kron, pairwise geometry with cdist
(compute modes, p-norms), cartesian_prod / combinations / triu_indices for pair lists,
and the binning toolbox behind histograms and quantile features: bucketize (right, int32),
searchsorted (side, sorter), histc, histogram (weights, density), histogramdd,
unique(dim=0, return_counts), bincount with weights, diff with prepend, and trapezoid
integration. Inputs are fixed values; one small einsum attention layer is trained."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def fixed(*shape, phase=0.0, scale=1.0):
    n = int(np.prod(shape))
    return torch.from_numpy((np.sin(np.arange(n) * 0.77 + phase) * scale).reshape(shape).astype(np.float32))


class EinsumAttention(nn.Module):
    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Parameter(fixed(3, heads, dim, dim // heads, phase=0.3, scale=0.4))
        self.out = nn.Parameter(fixed(heads, dim // heads, dim, phase=1.1, scale=0.4))

    def forward(self, x, mask=None):                      # x: (..., tokens, dim)
        q, k, v = torch.einsum("...td,shde->s...hte", x, self.qkv)
        scores = torch.einsum("...hqe,...hke->...hqk", q, k) / q.size(-1) ** 0.5
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        attn = scores.softmax(-1)
        ctx = torch.einsum("...hqk,...hke->...hqe", attn, v)
        return torch.einsum("...hte,hed->...td", ctx, self.out), attn


layer = EinsumAttention()
x = fixed(2, 3, 5, 8, phase=0.5)                        # two extra batch dims
y, attn = layer(x)
print("einsum attention:", tuple(y.shape), tuple(attn.shape), f"{y.abs().sum().item():.5f}")
flat, _ = layer(x.reshape(6, 5, 8))
print("ellipsis == flattened batch:", torch.allclose(flat.reshape(2, 3, 5, 8), y, atol=1e-6))
q = x[0, 0] @ layer.qkv[0, 0]
k = x[0, 0] @ layer.qkv[1, 0]
print("head 0 scores by matmul:", torch.allclose((q @ k.T / 2).softmax(-1), attn[0, 0, 0], atol=1e-6))
causal = torch.ones(5, 5, dtype=torch.bool).tril()
_, masked = layer(x, causal)
print("causal rows:", [round(v, 4) for v in masked[0, 0, 0, 1].tolist()])
a, b = fixed(3, 4), fixed(4, 2, phase=1.0)
print("sublist format:", torch.allclose(torch.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b),
      "trace", round(torch.einsum("ii", fixed(4, 4)).item(), 5), "diag", torch.einsum("ii->i", fixed(3, 3)).shape)
keys_first = torch.einsum("hqd,hkd->hkq", x[0, 0].reshape(5, 2, 4).transpose(0, 1), x[0, 1].reshape(5, 2, 4).transpose(0, 1))
probs = keys_first.transpose(-1, -2).softmax(-1)
grid = F.interpolate(probs[None], scale_factor=2, mode="bilinear", align_corners=False)
print("softmax/bilinear of transposed views are contiguous:", probs.is_contiguous(), grid.is_contiguous(),
      tuple(probs.view(-1).shape), tuple(grid.view(2, -1).shape), f"{grid.sum().item():.5f}")
print("outer via einsum:", torch.equal(torch.einsum("i,j->ij", a[0], b[:, 0]), torch.outer(a[0], b[:, 0])))

target = fixed(4, 5, 8, phase=2.0, scale=0.5)
opt = torch.optim.Adam(layer.parameters(), lr=0.02)
for step in range(15):
    out, _ = layer(x[0, :, :, :] + fixed(3, 5, 8, phase=0.1)[None][0])
    loss = F.mse_loss(out, target[:3])
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"trained einsum attention: loss {loss.item():.6f}, qkv grad {layer.qkv.grad.norm().item():.6f}")

# bilinear forms
bil = nn.Bilinear(4, 3, 2)
with torch.no_grad():
    bil.weight.copy_(fixed(2, 4, 3, phase=0.2))
    bil.bias.copy_(torch.tensor([0.1, -0.1]))
u, v = fixed(5, 4, phase=0.9), fixed(5, 3, phase=1.7)
manual = torch.einsum("bi,oij,bj->bo", u, bil.weight, v) + bil.bias
print("Bilinear == einsum:", torch.allclose(bil(u, v), manual, atol=1e-6),
      "F.bilinear:", torch.allclose(F.bilinear(u, v, bil.weight), manual - bil.bias, atol=1e-6))
M = fixed(4, 4, phase=0.4)
quad = torch.einsum("bi,ij,bj->b", u, M, u)
print("quadratic form:", [round(t, 5) for t in quad.tolist()])
print("tensordot:", torch.tensordot(fixed(2, 3, 4), fixed(3, 4, 5), dims=([1, 2], [0, 1])).shape,
      torch.tensordot(fixed(2, 3), fixed(3, 2), dims=1).tolist() == (fixed(2, 3) @ fixed(3, 2)).tolist())
print("kron:", torch.kron(torch.eye(2), torch.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist())

# pairwise geometry
pts = fixed(6, 2, phase=0.0, scale=2.0)
d_mm = torch.cdist(pts, pts, compute_mode="use_mm_for_euclid_dist")
d_plain = torch.cdist(pts, pts, compute_mode="donot_use_mm_for_euclid_dist")
off = ~torch.eye(6, dtype=torch.bool)
print("cdist modes agree off the diagonal:", torch.allclose(d_mm[off], d_plain[off], atol=1e-4), "p=inf:",
      torch.allclose(torch.cdist(pts, pts, p=float("inf")), (pts[:, None] - pts[None]).abs().amax(-1)))
pairs = torch.combinations(torch.arange(6), r=2)
iu = torch.triu_indices(6, 6, offset=1)
print("pairs:", pairs.shape, "same as triu_indices:", torch.equal(pairs.T, iu))
print("closest pair:", pairs[d_plain[iu[0], iu[1]].argmin()].tolist(),
      f"{d_plain[iu[0], iu[1]].min().item():.5f}")
grid = torch.cartesian_prod(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5, 1.0]))
print("cartesian grid:", grid.tolist())

# binning
values = torch.tensor([0.05, 0.2, 0.2, 0.35, 0.5, 0.51, 0.7, 0.95, 1.0, -0.1])
edges = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])
print("bucketize left:", torch.bucketize(values, edges).tolist())
print("bucketize right int32:", torch.bucketize(values, edges, right=True, out_int32=True))
unsorted = torch.tensor([0.75, 0.0, 1.0, 0.25, 0.5])
sorter = torch.argsort(unsorted)
print("searchsorted sorter:", torch.searchsorted(unsorted, values, sorter=sorter).tolist(),
      "side=right:", torch.searchsorted(edges, torch.tensor([0.25, 0.6]), side="right").tolist())
rows = torch.tensor([[0.1, 0.5, 0.9], [0.2, 0.4, 0.6]])
print("batched searchsorted:", torch.searchsorted(rows, torch.tensor([[0.5], [0.5]])).tolist())
print("histc:", torch.histc(values, bins=4, min=0, max=1).tolist())
hist, bin_edges = torch.histogram(values, bins=4, range=(0.0, 1.0), weight=torch.arange(10.0))
print("histogram weighted:", hist.tolist(), [round(e, 3) for e in bin_edges.tolist()])
dens, _ = torch.histogram(values, bins=edges, density=True)
print("density:", [round(t, 4) for t in dens.tolist()], "integrates to one:",
      round((dens * edges.diff()).sum().item(), 5))
hdd, hedges = torch.histogramdd(pts, bins=[2, 3])
print("histogramdd:", hdd.tolist(), [tuple(e.shape) for e in hedges])
codes = torch.tensor([[1, 2], [0, 1], [1, 2], [3, 3], [0, 1], [1, 2]])
uniq, inverse, counts = torch.unique(codes, dim=0, return_inverse=True, return_counts=True)
print("unique rows:", uniq.tolist(), inverse.tolist(), counts.tolist())
print("bincount weighted:", torch.bincount(inverse, weights=torch.linspace(0, 1, 6)).tolist())
print("diff prepend:", torch.diff(torch.tensor([1, 4, 9, 16]), prepend=torch.tensor([0])).tolist(),
      "n=2:", torch.diff(torch.tensor([1.0, 4.0, 9.0, 16.0]), n=2).tolist())
t = torch.linspace(0, np.pi, 101)
print(f"trapezoid sin: {torch.trapezoid(torch.sin(t), t).item():.6f}",
      f"cumulative last: {torch.cumulative_trapezoid(torch.sin(t), dx=float(t[1] - t[0]))[-1].item():.6f}")
