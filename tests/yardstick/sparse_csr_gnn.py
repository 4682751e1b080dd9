"""A graph convolutional network on a sparse CSR adjacency, as a GNN tutorial writes one:
the symmetric-normalised adjacency with self loops built from an edge list (COO, then
to_sparse_csr), its crow/col indices and values, CSR @ dense in every spelling
(@, torch.sparse.mm, addmm, mv), a two-layer GCN trained with Adam whose weight gradients
match the dense-adjacency model's, learnable edge weights (gradients to a CSR tensor's
values), edge scores computed only on the edges with torch.sparse.sampled_addmm, COO <-> CSR
<-> CSC <-> BSR conversions, and torch.save / torch.load of the CSR adjacency. Features and
weights are fixed sines; the node order and labels are fixed."""

import io
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

warnings.filterwarnings("ignore", message=".*[Ss]parse.*")


def fixed(*shape, phase=0.0, scale=0.5):
    n = int(np.prod(shape))
    values = np.sin(np.arange(n) * 0.77 + phase) * scale
    return torch.from_numpy(values.reshape(shape).astype(np.float32))


# --- the graph: two rings of five joined by one bridge --------------------------------
num_nodes = 10
edges = [(i, (i + 1) % 5) for i in range(5)] + [(5 + i, 5 + (i + 1) % 5) for i in range(5)]
edges += [(0, 2), (5, 7), (4, 5)]
src = torch.tensor([a for a, b in edges] + [b for a, b in edges])
dst = torch.tensor([b for a, b in edges] + [a for a, b in edges])
edge_index = torch.stack([src, dst])
print("edges (both directions):", edge_index.shape[1])

# A + I, then D^-1/2 (A + I) D^-1/2, built as COO and coalesced
loops = torch.arange(num_nodes)
index = torch.cat([edge_index, torch.stack([loops, loops])], 1)
ones = torch.ones(index.shape[1])
adj_coo = torch.sparse_coo_tensor(index, ones, (num_nodes, num_nodes)).coalesce()
degree = torch.sparse.sum(adj_coo, 1).to_dense()
print("degrees:", degree.tolist())
row, col = adj_coo.indices()
norm_values = adj_coo.values() / torch.sqrt(degree[row] * degree[col])
adj_norm_coo = torch.sparse_coo_tensor(adj_coo.indices(), norm_values, adj_coo.shape).coalesce()
adj = adj_norm_coo.to_sparse_csr()
print("layout:", adj.layout, "nnz:", adj._nnz(), "shape:", tuple(adj.shape))
print("crow_indices:", adj.crow_indices().tolist())
print("col_indices[:8]:", adj.col_indices()[:8].tolist(), adj.col_indices().dtype)
print("values[:4]:", [round(v, 5) for v in adj.values()[:4].tolist()])
dense_adj = adj.to_dense()
print("symmetric:", torch.allclose(dense_adj, dense_adj.T))
print("eigenvalues in (-1, 1]:", bool(torch.linalg.eigvalsh(dense_adj).abs().max() <= 1 + 1e-5))

# round trips
back = adj.to_sparse_coo()
print("csr -> coo keeps the pattern:", torch.equal(back.indices(), adj_norm_coo.indices()),
      back.is_coalesced())
csc = adj.to_sparse_csc()
print("csc:", csc.layout, csc.ccol_indices()[:4].tolist(), torch.equal(csc.to_dense(), dense_adj))
bsr = adj.to_sparse_bsr((2, 2))
print("bsr blocks:", tuple(bsr.values().shape), "crow:", bsr.crow_indices().tolist())
print("dense -> csr == coo -> csr:", torch.equal(dense_adj.to_sparse_csr().col_indices(),
                                                  adj.col_indices()))
transposed = adj.t()
print("csr.t():", transposed.layout, torch.equal(transposed.to_dense(), dense_adj.T))

# --- products ---------------------------------------------------------------------------
features = fixed(num_nodes, 4, phase=0.3)
product = adj @ features
print("csr @ dense:", tuple(product.shape), product.layout,
      torch.allclose(product, dense_adj @ features, atol=1e-6))
print("sparse.mm == matmul:", torch.allclose(torch.sparse.mm(adj, features), product))
bias = fixed(num_nodes, 4, phase=2.0)
print("addmm:", torch.allclose(torch.addmm(bias, adj, features, beta=0.5, alpha=2.0),
                               0.5 * bias + 2.0 * (dense_adj @ features), atol=1e-6))
vector = fixed(num_nodes, phase=1.1)
print("mv:", [round(v, 4) for v in torch.mv(adj, vector)[:3].tolist()])
print("csr * 2 sums:", round(torch.sum(adj * 2).item(), 5), round(2 * dense_adj.sum().item(), 5))


# --- a two-layer GCN ---------------------------------------------------------------------
class GCNLayer(nn.Module):
    def __init__(self, in_features, out_features, phase):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        with torch.no_grad():
            self.linear.weight.copy_(fixed(out_features, in_features, phase=phase))
            self.linear.bias.zero_()

    def forward(self, adjacency, x):
        return adjacency @ self.linear(x)


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GCNLayer(4, 8, 0.5)
        self.conv2 = GCNLayer(8, 2, 1.5)

    def forward(self, adjacency, x):
        hidden = F.relu(self.conv1(adjacency, x))
        return self.conv2(adjacency, hidden)


labels = torch.tensor([0] * 5 + [1] * 5)
train_mask = torch.zeros(num_nodes, dtype=torch.bool)
train_mask[[0, 3, 6, 9]] = True
x_nodes = features + labels[:, None] * 0.3

sparse_model, dense_model = GCN(), GCN()
loss_sparse = F.cross_entropy(sparse_model(adj, x_nodes)[train_mask], labels[train_mask])
loss_dense = F.cross_entropy(dense_model(dense_adj, x_nodes)[train_mask], labels[train_mask])
loss_sparse.backward()
loss_dense.backward()
print(f"first loss {loss_sparse.item():.5f} dense {loss_dense.item():.5f}")
for name, p in sparse_model.named_parameters():
    other = dict(dense_model.named_parameters())[name]
    print(f"  grad {name:22s} {tuple(p.grad.shape)} layout {p.grad.layout} "
          f"matches dense: {torch.allclose(p.grad, other.grad, atol=1e-6)}")

optimizer = torch.optim.Adam(sparse_model.parameters(), lr=0.05)
for step in range(40):
    optimizer.zero_grad()
    out = sparse_model(adj, x_nodes)
    loss = F.cross_entropy(out[train_mask], labels[train_mask])
    loss.backward()
    optimizer.step()
    if step % 10 == 9:
        print(f"step {step + 1:2d} loss {loss.item():.5f}")
with torch.no_grad():
    prediction = sparse_model(adj, x_nodes).argmax(1)
print("predictions:", prediction.tolist())
print("accuracy:", (prediction == labels).float().mean().item())

# --- learnable edge weights: gradients to the CSR values --------------------------------
edge_weight = adj.values().clone().requires_grad_()
weighted = torch.sparse_csr_tensor(adj.crow_indices(), adj.col_indices(), edge_weight,
                                   adj.shape)
print("values requires grad:", weighted.requires_grad, weighted.layout)
out = weighted @ features
out.pow(2).sum().backward()
dense_leaf = dense_adj.clone().requires_grad_()
(dense_leaf @ features).pow(2).sum().backward()
rows = torch.repeat_interleave(torch.arange(num_nodes), adj.crow_indices().diff())
expected = dense_leaf.grad[rows, adj.col_indices()]
print("edge weight grads == dense grad on the pattern:", torch.allclose(edge_weight.grad, expected,
                                                                        atol=1e-5))
print("edge weight grad[:3]:", [round(v, 4) for v in edge_weight.grad[:3].tolist()])

# --- edge scores only where there are edges: sampled_addmm ----------------------------
queries, keys = fixed(num_nodes, 3, phase=0.2), fixed(num_nodes, 3, phase=0.9)
pattern = torch.sparse_csr_tensor(adj.crow_indices(), adj.col_indices(),
                                  torch.zeros(adj._nnz()), adj.shape)
scores = torch.sparse.sampled_addmm(pattern, queries, keys.T, beta=0.0, alpha=1 / math.sqrt(3))
full = (queries @ keys.T) / math.sqrt(3)
print("sampled_addmm:", scores.layout, scores._nnz(),
      torch.allclose(scores.to_dense(), full * (dense_adj != 0), atol=1e-6))
with_bias = torch.sparse.sampled_addmm(adj, queries, keys.T, beta=0.5, alpha=1.0)
print("beta keeps the input's values:", torch.allclose(
    with_bias.values(), 0.5 * adj.values() + full.mul(math.sqrt(3))[rows, adj.col_indices()],
    atol=1e-6))
# attention over neighbours: a softmax per row of the CSR scores, through dense -inf
dense_scores = scores.to_dense().masked_fill(dense_adj == 0, float("-inf"))
attention = dense_scores.softmax(1)
print("neighbour attention rows sum to one:", torch.allclose(attention.sum(1), torch.ones(10)))

# --- save / load -------------------------------------------------------------------------
buffer = io.BytesIO()
torch.save({"adjacency": adj, "num_nodes": num_nodes}, buffer)
buffer.seek(0)
loaded = torch.load(buffer)
adjacency = loaded["adjacency"]
print("loaded:", adjacency.layout, adjacency._nnz(), adjacency.dtype,
      torch.equal(adjacency.crow_indices(), adj.crow_indices()),
      torch.equal(adjacency.to_dense(), dense_adj))
print("loaded model output:", torch.allclose(sparse_model(adjacency, x_nodes),
                                             sparse_model(adj, x_nodes)))
