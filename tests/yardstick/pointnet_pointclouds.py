"""Point-cloud deep learning as PointNet / DGCNN tutorials write it: a PointNet classifier
with an input T-Net (Conv1d k=1 shared MLPs, BatchNorm1d, a symmetric max-pool whose
argmax gives the "critical points", the orthogonality regulariser ||I - A A^T||), farthest
point sampling, kNN grouping with cdist + topk + gather, an EdgeConv layer whose
neighbourhood max is computed both densely and with scatter_reduce("amax") over an edge
list, segment means with scatter_reduce("mean") / index_add_, and a Chamfer distance.
Shapes are generated from fixed formulas (circles, squares, helices)."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if p.ndim == 1 and "bn" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.57 + i).reshape(tuple(p.shape)) * scale))
    return module


def shape_cloud(kind, n=32, phase=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    if kind == 0:   # circle in the xy plane
        pts = np.stack([np.cos(t), np.sin(t), 0.05 * np.sin(5 * t)], 1)
    elif kind == 1:  # square outline
        s = (t / (2 * np.pi) * 4) % 4
        side, u = np.floor(s), s - np.floor(s)
        pts = np.stack([np.select([side == 0, side == 1, side == 2], [u, 1 + 0 * u, 1 - u], 0 * u),
                        np.select([side == 0, side == 1, side == 2], [0 * u, u, 1 + 0 * u], 1 - u),
                        0.05 * np.cos(3 * t)], 1) - 0.5
    else:           # helix
        pts = np.stack([0.5 * np.cos(2 * t), 0.5 * np.sin(2 * t), t / np.pi - 1], 1)
    return torch.tensor(pts, dtype=torch.float32)


class TNet(nn.Module):
    def __init__(self, k=3):
        super().__init__()
        self.k = k
        self.conv = nn.Conv1d(k, 16, 1)
        self.bn = nn.BatchNorm1d(16)
        self.fc = nn.Linear(16, k * k)

    def forward(self, x):                           # (B, k, N)
        feat = F.relu(self.bn(self.conv(x))).max(dim=2).values
        return self.fc(feat).view(-1, self.k, self.k) + torch.eye(self.k)


class PointNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.tnet = TNet()
        self.mlp1 = nn.Sequential(nn.Conv1d(3, 16, 1), nn.BatchNorm1d(16), nn.ReLU())
        self.mlp2 = nn.Sequential(nn.Conv1d(16, 32, 1), nn.BatchNorm1d(32), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, classes))

    def forward(self, pts):                          # (B, N, 3)
        transform = self.tnet(pts.transpose(1, 2))
        x = torch.bmm(pts, transform).transpose(1, 2)
        x = self.mlp2(self.mlp1(x))
        global_feat, critical = torch.max(x, dim=2)
        return self.head(global_feat), transform, critical


clouds = torch.stack([shape_cloud(k % 3, phase=0.1 * k) * (1 + 0.1 * (k % 4)) for k in range(12)])
labels = torch.arange(12) % 3
model = fixed_(PointNet())
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(12):
    logits, transform, _ = model(clouds)
    ortho = torch.linalg.matrix_norm(torch.eye(3) - transform @ transform.transpose(1, 2)).mean()
    loss = F.cross_entropy(logits, labels) + 0.001 * ortho
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 4 == 3:
        print(f"epoch {epoch} loss {loss.item():.5f} ortho {ortho.item():.5f}")
model.eval()
with torch.no_grad():
    logits, transform, critical = model(clouds)
    perm = torch.arange(31, -1, -1)
    shuffled, _, _ = model(clouds[:, perm])
    feats = model.mlp2(model.mlp1(torch.bmm(clouds, transform).transpose(1, 2)))
    pooled = feats.gather(2, critical.unsqueeze(2)).squeeze(2)
print("accuracy:", (logits.argmax(1) == labels).float().mean().item(), "critical points:", tuple(critical.shape),
      "gather at argmax == max-pool:", torch.equal(pooled, feats.amax(dim=2)))
print("permutation invariant:", torch.allclose(logits, shuffled, atol=1e-5))


def farthest_point_sample(xyz, m):
    b, n, _ = xyz.shape
    chosen = torch.zeros(b, m, dtype=torch.long)
    dist = torch.full((b, n), float("inf"))
    farthest = torch.zeros(b, dtype=torch.long)
    for i in range(m):
        chosen[:, i] = farthest
        centre = xyz[torch.arange(b), farthest].unsqueeze(1)
        dist = torch.minimum(dist, ((xyz - centre) ** 2).sum(-1))
        farthest = dist.argmax(-1)
    return chosen


idx = farthest_point_sample(clouds[:3], 6)
print("fps:", idx.tolist())
centres = torch.gather(clouds[:3], 1, idx.unsqueeze(-1).expand(-1, -1, 3))
knn = torch.cdist(centres, clouds[:3]).topk(4, dim=-1, largest=False).indices
groups = torch.gather(clouds[:3].unsqueeze(1).expand(-1, 6, -1, -1), 2, knn.unsqueeze(-1).expand(-1, -1, -1, 3))
print("groups:", tuple(groups.shape), "centre is its own nearest:", torch.equal(knn[..., 0], idx))
local = groups - centres.unsqueeze(2)
print(f"local radius: {local.norm(dim=-1).amax().item():.5f}")


class EdgeConv(nn.Module):
    def __init__(self, cin, cout, k=4):
        super().__init__()
        self.k = k
        self.mlp = nn.Linear(2 * cin, cout)

    def forward(self, x):                           # (N, C) single cloud
        nbrs = torch.cdist(x, x).topk(self.k + 1, largest=False).indices[:, 1:]
        centre = x.unsqueeze(1).expand(-1, self.k, -1)
        edge = torch.cat([centre, x[nbrs] - centre], dim=-1)
        return F.leaky_relu(self.mlp(edge), 0.2).amax(dim=1), nbrs


edge_conv = fixed_(EdgeConv(3, 8))
dense, nbrs = edge_conv(clouds[1])
src = nbrs.reshape(-1)
dst = torch.arange(32).repeat_interleave(4)
messages = F.leaky_relu(edge_conv.mlp(torch.cat([clouds[1][dst], clouds[1][src] - clouds[1][dst]], -1)), 0.2)
sparse = torch.zeros(32, 8).scatter_reduce(0, dst.unsqueeze(1).expand(-1, 8), messages, "amax", include_self=False)
print("edge list == dense EdgeConv:", torch.allclose(sparse, dense, atol=1e-6))
dense.sum().backward()
print(f"edge conv grad: {edge_conv.mlp.weight.grad.abs().sum().item():.5f}")

segment = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 2, 0])
vals = torch.arange(10.0).unsqueeze(1) * torch.tensor([[1.0, -1.0]])
means = torch.zeros(3, 2).scatter_reduce(0, segment.unsqueeze(1).expand(-1, 2), vals, "mean", include_self=False)
sums = torch.zeros(3, 2).index_add_(0, segment, vals)
print("segment means:", means.tolist(), "== sum / count:",
      torch.allclose(means, sums / torch.bincount(segment).unsqueeze(1)))
print("segment amin/prod:", torch.ones(3).scatter_reduce(0, segment, torch.arange(1.0, 11.0), "amin").tolist(),
      torch.ones(3).scatter_reduce(0, segment, torch.arange(1.0, 11.0), "prod").tolist())


def chamfer(a, b):
    d = torch.cdist(a, b) ** 2
    return d.min(dim=2).values.mean(dim=1) + d.min(dim=1).values.mean(dim=1)


angle = math.pi / 6
rot = torch.tensor([[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0], [0.0, 0.0, 1.0]])
print("chamfer:", [round(v, 5) for v in chamfer(clouds[:3], clouds[3:6]).tolist()],
      "to itself:", chamfer(clouds[:1], clouds[:1]).item(),
      f"rotated circle: {chamfer(clouds[:1], clouds[:1] @ rot.T).item():.5f}")
