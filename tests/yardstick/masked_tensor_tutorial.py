"""The torch.masked tutorials as one program: "MaskedTensor Overview" (torch.where's nan
gradient fixed by masks, nan-free reductions, distinguishing 0 from "not there"),
"Advanced Semantics" (masks must match for binary ops, reductions and where, the
numpy.ma comparison done by hand), a softmax over padded sequences (attention scores of
ragged lengths, gradients that stay inside the padding), the functional
torch.masked.sum/mean/softmax/amax with mask=, and the "sparse semantics for Adagrad"
tutorial: one Adagrad step on a sparse gradient written with MaskedTensor. Values are
fixed ranges and sines; nothing depends on a random stream."""

import warnings

import torch
from torch.masked import as_masked_tensor, masked_tensor

# torch.masked is a prototype and says so once per process
warnings.filterwarnings("ignore", message=".*prototype.*")
warnings.filterwarnings("ignore", category=UserWarning)

# --- Overview: torch.where and the nan gradient -------------------------------------
x = torch.tensor([-10.0, -5, 0, 5, 10, 50, 60, 70, 80, 90, 100], requires_grad=True)
mask = x < 0
y = torch.where(mask, torch.exp(x), torch.ones_like(x))
y.sum().backward()
print("where grad has nan:", bool(x.grad.isnan().any()), "count:", int(x.grad.isnan().sum()))

data = x.detach()
mx = masked_tensor(data, mask, requires_grad=True)
my = masked_tensor(torch.ones_like(data), ~mask, requires_grad=True)
y = torch.where(mask, torch.exp(mx), my)
y.sum().backward()
print("masked where grad:", mx.grad)
print("grad data inside the mask:", [round(v, 6) for v in mx.grad.get_data()[mask].tolist()])
print("grad mask is the input mask:", torch.equal(mx.grad.get_mask(), mask))

# --- Overview: "is it zero or is it missing?" ---------------------------------------
data = torch.arange(12, dtype=torch.float).reshape(3, 4)
keep = torch.tensor([[True, False, False, True], [False, False, False, False],
                     [True, True, False, True]])
mt = masked_tensor(data, keep)
print(mt)
print("sum(1):", mt.sum(1))
print("amax(1):", mt.amax(1))
print("mean(1) fills an empty row with nothing:", mt.mean(1).to_tensor(-1.0).tolist())
print("to_tensor(0):", mt.to_tensor(0).tolist())
print("sum of all:", mt.sum(), "type:", type(mt.sum()).__name__)

# nan-free mean: torch.nanmean vs a mask built from isnan
readings = torch.tensor([[1.0, float("nan"), 3.0], [float("nan"), float("nan"), 6.0]])
valid = ~readings.isnan()
mean_masked = masked_tensor(readings.nan_to_num(0.0), valid).mean(1).to_tensor(0.0)
print("nanmean:", torch.nanmean(readings, 1).tolist(), "masked mean:", mean_masked.tolist())

# argmax over a masked tensor ignores the masked maximum
scores = torch.tensor([[0.2, 9.0, 0.5], [4.0, 1.0, 3.0]])
seen = torch.tensor([[True, False, True], [False, True, True]])
print("argmax plain:", scores.argmax(1).tolist(),
      "masked:", masked_tensor(scores, seen).argmax(1).to_tensor(-1).tolist())

# --- Advanced semantics ------------------------------------------------------------
a = masked_tensor(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([True, False, True]))
b = masked_tensor(torch.tensor([10.0, 20.0, 30.0]), torch.tensor([True, False, True]))
print("a + b:", a + b)
print("a * 2:", (a * 2).to_tensor(0).tolist(),
      "exp:", [round(v, 4) for v in a.exp().get_data()[a.get_mask()].tolist()])
c = masked_tensor(torch.tensor([10.0, 20.0, 30.0]), torch.tensor([True, True, False]))
try:
    a + c
except ValueError as error:
    print("mismatched masks:", type(error).__name__, str(error).split(".")[0])
print("a + plain tensor:", (a + torch.tensor([1.0, 1.0, 1.0])).to_tensor(-1).tolist())

# numpy.ma-style reductions done by hand with the mask
values = torch.arange(6, dtype=torch.float).reshape(2, 3)
hide = torch.tensor([[True, False, True], [False, True, False]])
m_values = masked_tensor(values, hide)
by_hand = (values * hide).sum(0)
print("sum(0) == hand-masked sum:", torch.equal(m_values.sum(0).to_tensor(0), by_hand))
print("prod(0):", m_values.prod(0).to_tensor(-1).tolist(),
      "amin(1):", m_values.amin(1).to_tensor(-1).tolist())
print("transposed:", m_values.t().shape, m_values.t().get_mask().tolist())
picked_by_where = torch.where(hide, m_values, masked_tensor(-values, ~hide))
print("where with masks:", picked_by_where.to_tensor(99).tolist())

# as_masked_tensor keeps the graph back to the data
w = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
amt = as_masked_tensor(w * 3, torch.tensor([True, True, False, True]))
total = amt.sum()
print("as_masked_tensor keeps history:", amt.requires_grad, amt.is_leaf, "sum:", total)

# --- Softmax over padded sequences -------------------------------------------------
lengths = torch.tensor([4, 2, 3])
steps = torch.arange(5)
pad_mask = steps[None, :] < lengths[:, None]                       # (3, 5)
logits = torch.sin(torch.arange(15, dtype=torch.float) * 0.7).reshape(3, 5) * 2
filled = logits.masked_fill(~pad_mask, float("-inf")).softmax(-1)
functional = torch.masked.softmax(logits, -1, mask=pad_mask)
print("masked.softmax == masked_fill(-inf):", torch.allclose(functional, filled))
print("attention row 1:", [round(v, 5) for v in functional[1].tolist()])

scores = masked_tensor(logits, pad_mask, requires_grad=True)
attention = scores.softmax(-1)
print("rows sum to one:", [round(v, 5) for v in attention.sum(-1).to_tensor(0).tolist()])
target = torch.tensor([0, 1, 2])
picked = attention.to_tensor(0.0)[torch.arange(3), target]
(-picked.log().sum()).backward()
g = scores.grad
print("grad masked where padded:", torch.equal(g.get_mask(), pad_mask))
print("grad rows sum to zero:", torch.allclose(g.sum(-1).to_tensor(0), torch.zeros(3), atol=1e-6))

# the same through plain tensors: the gradient in the padding is exactly zero
plain = logits.clone().requires_grad_()
p = torch.masked.softmax(plain, -1, mask=pad_mask)
(-p[torch.arange(3), target].log().sum()).backward()
print("plain grad in padding:", plain.grad[~pad_mask].abs().max().item(),
      "matches masked grad:", torch.allclose(plain.grad[pad_mask], g.get_data()[pad_mask]))

# --- functional torch.masked with mask= --------------------------------------------
batch = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, -6.0, 7.0, 8.0]])
keep = torch.tensor([[True, True, False, False], [True, False, True, True]])
print("masked.sum:", torch.masked.sum(batch, 1, mask=keep).tolist())
print("masked.mean:", torch.masked.mean(batch, 1, mask=keep).tolist())
print("masked.amax keepdim:", torch.masked.amax(batch, 1, keepdim=True, mask=keep).tolist())
variance = torch.masked.var(batch, 1, unbiased=False, mask=keep)
print("masked.var:", [round(v, 5) for v in variance.tolist()])
log_probs = torch.masked.log_softmax(batch, 1, mask=keep)
print("masked.log_softmax:", [round(v, 5) for v in log_probs[0, :2].tolist()])
print("masked.norm:", [round(v, 5) for v in torch.masked.norm(batch, 2.0, 1, mask=keep).tolist()])
leaf = batch.clone().requires_grad_()
torch.masked.mean(leaf, 1, mask=keep).sum().backward()
print("masked.mean grad:", leaf.grad.tolist())

# --- Sparse semantics for Adagrad --------------------------------------------------
eps, clr = 1e-10, 0.1
i = torch.tensor([[0, 1, 1], [2, 0, 2]])
v = torch.tensor([3, 4, 5], dtype=torch.float32)
grad = torch.sparse_coo_tensor(i, v, [2, 4])


def _make_sparse(grad, grad_indices, values):
    size = grad.size()
    if grad_indices.numel() == 0 or values.numel() == 0:
        return torch.empty_like(grad)
    return torch.sparse_coo_tensor(grad_indices, values, size)


# the original: sparsity standing in for "only where there is a gradient"
param = torch.arange(8).reshape(2, 4).float()
state_sum = torch.full_like(param, 0.5)
grad = grad.coalesce()
grad_indices = grad._indices()
grad_values = grad._values()
state_sum.add_(_make_sparse(grad, grad_indices, grad_values.pow(2)))
std = state_sum.sparse_mask(grad)
std_values = std._values().sqrt_().add_(eps)
param.add_(_make_sparse(grad, grad_indices, grad_values / std_values), alpha=-clr)

# with MaskedTensor: the gradient's stored elements are the mask
param2 = torch.arange(8).reshape(2, 4).float()
state_sum2 = torch.full_like(param2, 0.5)
mask = (grad.to_dense() != 0).to_sparse()
masked_grad = masked_tensor(grad, mask)
print("masked grad layout:", masked_grad.layout, "mask nnz:", mask._nnz())
state_sum2 = state_sum2 + masked_grad.pow(2).get_data()
std2 = masked_tensor(state_sum2.to_sparse(), mask)
std2 = std2.sqrt().add(eps)
param2 = param2.add((masked_grad / std2).get_data(), alpha=-clr)
print("state_sum:", state_sum2.tolist())
print("param after step:", [[round(x, 5) for x in row] for row in param2.tolist()])
print("MaskedTensor Adagrad == sparse Adagrad:", torch.allclose(param2, param),
      torch.allclose(state_sum2, state_sum))
print("std2 data:", [round(x, 5) for x in std2.get_data().to_dense().flatten().tolist()])
