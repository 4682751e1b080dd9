"""Embedding and clustering code as metric-learning and data-science notebooks write it: a
ViT-style patch embedding (unfold into patches, a class token, learned positions),
SimCLR's NT-Xent loss on two fixed "views" (normalize, a masked similarity matrix,
cross_entropy over 2N-1 candidates), a triplet loss with batch-hard mining (cdist,
masked max/min), TripletMarginLoss and CosineEmbeddingLoss, k-means with cdist/argmin
and index_add_, kNN accuracy with topk + mode, and the order statistics and bookkeeping
ops such code leans on: unique(return_inverse, return_counts), bucketize, histc,
quantile, kthvalue, median, nanmean, cummax, logcumsumexp, searchsorted, tensor_split,
take_along_dim, nonzero(as_tuple=True), masked_select and scatter_reduce. Inputs and
weights come from fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed_(module, scale=0.2):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.73 + i).reshape(tuple(p.shape)) * scale))
    return module


class PatchEncoder(nn.Module):
    def __init__(self, patch=4, dim=16, image=8, channels=1):
        super().__init__()
        self.patch = patch
        n = (image // patch) ** 2
        self.proj = nn.Linear(channels * patch * patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 8))

    def forward(self, x):
        patches = F.unfold(x, kernel_size=self.patch, stride=self.patch).transpose(1, 2)
        tokens = self.proj(patches)
        cls = self.cls_token.expand(x.size(0), -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        return self.head(self.norm(tokens).mean(1))


def make_batch(n, shift):
    yy, xx = np.mgrid[0:8, 0:8]
    imgs = [np.sin(xx * (0.4 + 0.3 * (k % 4)) + yy * 0.2 * (k % 3) + shift) for k in range(n)]
    return torch.from_numpy(np.stack(imgs)[:, None].astype(np.float32))


labels = torch.arange(12) % 4
view1, view2 = make_batch(12, 0.0), make_batch(12, 0.3)
enc = fixed_(PatchEncoder())
patches = F.unfold(view1, kernel_size=4, stride=4)
print("patches:", tuple(patches.shape), "fold back:", torch.allclose(F.fold(patches, (8, 8), kernel_size=4, stride=4), view1))


def nt_xent(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.size(0)
    sim = z @ z.t() / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


def batch_hard_triplet(emb, labels, margin=0.3):
    dist = torch.cdist(emb, emb)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    hardest_pos = (dist * same.float()).max(1).values
    hardest_neg = dist.masked_fill(same, float("inf")).min(1).values
    return F.relu(hardest_pos - hardest_neg + margin).mean()


opt = torch.optim.Adam(enc.parameters(), lr=0.01)
for step in range(25):
    z1, z2 = enc(view1), enc(view2)
    contrastive = nt_xent(z1, z2)
    triplet = batch_hard_triplet(z1, labels)
    loss = contrastive + triplet
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 8 == 0 or step == 24:
        print(f"step {step:2d} nt-xent {contrastive.item():.5f} triplet {triplet.item():.5f}")

with torch.no_grad():
    emb = F.normalize(enc(view1), dim=1)
    anchors, positives, negatives = emb[:4], emb[4:8], emb[torch.tensor([1, 2, 3, 0])]
    print(f"TripletMarginLoss: {nn.TripletMarginLoss(margin=0.5, p=2)(anchors, positives, negatives).item():.5f}")
    print(f"swap + p=1: {F.triplet_margin_loss(anchors, positives, negatives, margin=0.5, p=1, swap=True).item():.5f}")
    target = torch.tensor([1, -1, 1, -1])
    print(f"CosineEmbeddingLoss: {nn.CosineEmbeddingLoss(margin=0.1)(anchors, positives, target).item():.5f}")
    dist = torch.cdist(emb, emb)
    dist.fill_diagonal_(float("inf"))
    knn = dist.topk(3, largest=False).indices
    votes = labels[knn]
    pred = votes.mode(dim=1).values
    print("kNN votes:", tuple(votes.shape), f"accuracy: {(pred == labels).float().mean().item():.4f}")
    print("cdist p=1 == manual:", torch.allclose(torch.cdist(emb, emb, p=1), (emb[:, None] - emb[None]).abs().sum(-1), atol=1e-5))

# k-means on fixed points
pts = torch.from_numpy(np.stack([np.cos(np.arange(60) * 0.9) + (np.arange(60) % 3) * 3,
                                 np.sin(np.arange(60) * 1.3) + (np.arange(60) % 3)], 1).astype(np.float32))
centroids = pts[[0, 1, 2]].clone()
for it in range(8):
    assign = torch.cdist(pts, centroids).argmin(dim=1)
    sums = torch.zeros_like(centroids).index_add_(0, assign, pts)
    counts = torch.bincount(assign, minlength=3).clamp(min=1).unsqueeze(1)
    new = sums / counts
    shift = (new - centroids).norm()
    centroids = new
print("k-means centroids:", [[round(v, 3) for v in c] for c in centroids.tolist()], f"shift: {shift.item():.6f}")
inertia = torch.cdist(pts, centroids).min(1).values.pow(2).sum()
print(f"inertia: {inertia.item():.4f}", "sizes:", torch.bincount(assign).tolist())

# order statistics and bookkeeping
values = torch.tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, float("nan")])
finite = values[~values.isnan()]
uniq, inverse, counts = torch.unique(finite, sorted=True, return_inverse=True, return_counts=True)
print("unique:", uniq.tolist(), inverse.tolist(), counts.tolist())
u2, c2 = torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 2, 3, 1, 1]), return_counts=True)
print("unique_consecutive:", u2.tolist(), c2.tolist())
boundaries = torch.tensor([2.0, 4.0, 6.0])
print("bucketize:", torch.bucketize(finite, boundaries).tolist(), torch.bucketize(finite, boundaries, right=True).tolist())
print("searchsorted:", torch.searchsorted(uniq, torch.tensor([0.5, 3.0, 7.0]), side="right").tolist())
print("histc:", torch.histc(finite, bins=4, min=0, max=10).tolist())
print("quantile:", [round(v, 4) for v in torch.quantile(finite, torch.tensor([0.1, 0.5, 0.9])).tolist()],
      round(torch.quantile(finite, 0.3, interpolation="nearest").item(), 4),
      round(torch.nanquantile(values, 0.75).item(), 4))
kv = torch.kthvalue(finite, 3)
print("kthvalue:", kv.values.item(), kv.indices.item(), "median:", finite.median().item(), "nanmedian:", values.nanmedian().item())
print(f"nanmean: {values.nanmean().item():.5f} nansum: {values.nansum().item():.1f}")
grid = finite[:10].view(2, 5)
cm = grid.cummax(dim=1)
print("cummax:", cm.values.tolist(), cm.indices.tolist())
print("logcumsumexp:", [round(v, 4) for v in grid.logcumsumexp(dim=1)[0].tolist()])
med = grid.median(dim=1)
print("median dim:", med.values.tolist(), med.indices.tolist())
print("tensor_split:", [t.tolist() for t in torch.tensor_split(torch.arange(7), 3)], [t.tolist() for t in torch.tensor_split(torch.arange(7), [2, 5])])
order = grid.argsort(dim=1, descending=True, stable=True)
print("take_along_dim:", torch.take_along_dim(grid, order, dim=1).tolist(), order.tolist())
rows, cols = torch.nonzero(grid > 4, as_tuple=True)
print("nonzero:", rows.tolist(), cols.tolist(), "masked_select:", grid.masked_select(grid > 4).tolist())
index = torch.tensor([0, 1, 0, 1, 2])
print("scatter_reduce:", torch.zeros(3).scatter_reduce(0, index, grid[0], reduce="amax", include_self=False).tolist(),
      torch.ones(3).scatter_reduce(0, index, grid[0], reduce="prod").tolist(),
      torch.zeros(3).scatter_reduce(0, index, grid[0], reduce="mean", include_self=False).tolist())
g = grid.clone().requires_grad_()
torch.quantile(g, 0.4, dim=1).sum().backward()
print("quantile grad:", g.grad.tolist())
g.grad = None
(g.median() + g.kthvalue(2, dim=1).values.sum() + g.cummax(1).values.sum()).backward()
print("order-stat grads:", g.grad.tolist())
