"""Graph neural networks written from scratch, as tutorials without PyG write them: a GCN
layer on a dense normalised adjacency (D^-1/2 (A + I) D^-1/2 with degree.pow(-0.5)), the
same layer as message passing over an edge_index with index_select and index_add_,
mean/max aggregation with scatter_add_/scatter_reduce(include_self=False), a graph
attention layer (leaky_relu scores, a per-node softmax built from scatter_reduce amax and
scatter_add), masked node classification with train/test masks, and graph-level readout
with index_add_ pooling. Graph and weights come from fixed values: every number printed
is deterministic."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

num_nodes, num_features, num_classes = 12, 5, 3
# two rings of six nodes joined by one bridge edge
edges = [(i, (i + 1) % 6) for i in range(6)] + [(6 + i, 6 + (i + 1) % 6) for i in range(6)] + [(0, 6)]
edge_index = torch.tensor(edges, dtype=torch.long).t()
edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)  # undirected
x = torch.from_numpy(np.cos(np.arange(num_nodes * num_features) * 0.7).reshape(num_nodes, num_features).astype(np.float32))
y = torch.tensor([0, 0, 1, 1, 2, 2, 1, 1, 2, 2, 0, 0])
train_mask = torch.zeros(num_nodes, dtype=torch.bool)
train_mask[::2] = True
test_mask = ~train_mask
print("edge_index:", tuple(edge_index.shape), edge_index.dtype, "train nodes:", int(train_mask.sum()))


def fixed_(module, scale=0.4):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.83 + i).reshape(tuple(p.shape)) * scale))
    return module


def normalized_adjacency(edge_index, n):
    A = torch.zeros(n, n)
    A[edge_index[0], edge_index[1]] = 1.0
    A = A + torch.eye(n)
    deg = A.sum(dim=1)
    d_inv_sqrt = deg.pow(-0.5)
    d_inv_sqrt[torch.isinf(d_inv_sqrt)] = 0
    return d_inv_sqrt.view(-1, 1) * A * d_inv_sqrt.view(1, -1)


class DenseGCNLayer(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x, adj):
        return adj @ self.linear(x) + self.bias


class MessagePassingGCN(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x, edge_index):
        n = x.size(0)
        loops = torch.arange(n).unsqueeze(0).repeat(2, 1)
        ei = torch.cat([edge_index, loops], dim=1)
        src, dst = ei
        deg = torch.zeros(n).index_add_(0, dst, torch.ones(ei.size(1)))
        norm = deg[src].rsqrt() * deg[dst].rsqrt()
        h = self.linear(x)
        messages = h.index_select(0, src) * norm.unsqueeze(-1)
        out = torch.zeros(n, h.size(1)).index_add_(0, dst, messages)
        return out + self.bias


adj = normalized_adjacency(edge_index, num_nodes)
dense = fixed_(DenseGCNLayer(num_features, 4))
sparse = MessagePassingGCN(num_features, 4)
sparse.load_state_dict(dense.state_dict())
print("dense == message passing:", torch.allclose(dense(x, adj), sparse(x, edge_index), atol=1e-6))

src, dst = edge_index
neighbour_sum = torch.zeros(num_nodes, num_features).scatter_add_(0, dst.unsqueeze(-1).expand(-1, num_features), x[src])
counts = torch.bincount(dst, minlength=num_nodes).clamp(min=1).unsqueeze(-1)
neighbour_max = torch.zeros(num_nodes, num_features).scatter_reduce(
    0, dst.unsqueeze(-1).expand(-1, num_features), x[src], reduce="amax", include_self=False)
print("mean agg:", f"{(neighbour_sum / counts).sum().item():.5f}", "max agg:", f"{neighbour_max.sum().item():.5f}")


class GATLayer(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.W = nn.Linear(in_features, out_features, bias=False)
        self.a_src = nn.Parameter(torch.zeros(out_features))
        self.a_dst = nn.Parameter(torch.zeros(out_features))

    def forward(self, x, edge_index):
        n = x.size(0)
        loops = torch.arange(n).unsqueeze(0).repeat(2, 1)
        src, dst = torch.cat([edge_index, loops], dim=1)
        h = self.W(x)
        scores = F.leaky_relu((h * self.a_src).sum(-1)[src] + (h * self.a_dst).sum(-1)[dst], 0.2)
        score_max = torch.full((n,), float("-inf")).scatter_reduce(0, dst, scores, reduce="amax", include_self=True)
        weights = torch.exp(scores - score_max[dst])
        denom = torch.zeros(n).scatter_add(0, dst, weights)
        alpha = weights / denom[dst]
        out = torch.zeros_like(h).index_add_(0, dst, h[src] * alpha.unsqueeze(-1))
        return out, alpha


class GNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = MessagePassingGCN(num_features, 16)
        self.att = GATLayer(16, 16)
        self.conv2 = MessagePassingGCN(16, num_classes)

    def forward(self, x, edge_index):
        h = F.relu(self.conv1(x, edge_index))
        h, alpha = self.att(h, edge_index)
        h = F.elu(h)
        return self.conv2(h, edge_index), alpha


model = fixed_(GNN())
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
for epoch in range(60):
    model.train()
    optimizer.zero_grad()
    out, alpha = model(x, edge_index)
    loss = F.cross_entropy(out[train_mask], y[train_mask])
    loss.backward()
    optimizer.step()
    if epoch % 20 == 0:
        print(f"epoch {epoch:3d} loss {loss.item():.5f}")
model.eval()
with torch.no_grad():
    out, alpha = model(x, edge_index)
    pred = out.argmax(dim=1)
    print("train acc:", (pred[train_mask] == y[train_mask]).float().mean().item(),
          "test acc:", f"{(pred[test_mask] == y[test_mask]).float().mean().item():.4f}")
    attention_sums = torch.zeros(num_nodes).index_add_(0, torch.cat([edge_index[1], torch.arange(num_nodes)]), alpha)
    print("attention sums to one per node:", torch.allclose(attention_sums, torch.ones(num_nodes), atol=1e-6))
    batch = torch.tensor([0] * 6 + [1] * 6)
    graph_sum = torch.zeros(2, num_classes).index_add_(0, batch, out)
    graph_mean = graph_sum / torch.bincount(batch).unsqueeze(-1)
    print("graph readout:", [[f"{v:.4f}" for v in row] for row in graph_mean.tolist()])
