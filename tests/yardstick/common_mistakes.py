"""The errors learners hit in their first PyTorch weeks, caught and printed as forum posts
quote them: mismatched Linear shapes, a float target to cross_entropy, a missing batch
dimension for conv, BatchNorm on a batch of one, an out-of-range embedding index, view on
a transposed tensor, backward through a freed graph, backward on a non-scalar, in-place
on a leaf, numpy() of a tensor requiring grad, mixing dtypes in matmul, a wrong-sized
state_dict, optimizer given no parameters, DataLoader of ragged samples, and more. Each
line prints the exception type and PyTorch's message, so the text must match."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader


def attempt(label, fn):
    try:
        fn()
        print(f"{label}: no error")
    except Exception as err:  # noqa: BLE001 - printing what a learner would see
        message = str(err).strip().splitlines()[0]
        print(f"{label}: {type(err).__name__}: {message}")


x = torch.ones(4, 10)
attempt("linear shapes", lambda: nn.Linear(20, 5)(x))
attempt("float target", lambda: F.cross_entropy(torch.zeros(4, 3), torch.tensor([0.0, 1.0, 2.0, 1.0])))
attempt("target out of range", lambda: F.cross_entropy(torch.zeros(4, 3), torch.tensor([0, 1, 3, 1])))
attempt("target shape", lambda: F.cross_entropy(torch.zeros(4, 3), torch.tensor([[0], [1], [2], [1]])))
attempt("nll on probabilities", lambda: F.nll_loss(torch.zeros(4, 3), torch.tensor([0, 1, 2, 1]).float()))
attempt("mse shapes", lambda: F.mse_loss(torch.zeros(4, 1), torch.zeros(4, 3)))
attempt("bce out of range", lambda: F.binary_cross_entropy(torch.tensor([1.5, 0.5]), torch.tensor([1.0, 0.0])))
attempt("bce target size", lambda: F.binary_cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor([[1.0, 0.0]])))
attempt("conv without batch", lambda: nn.Conv2d(3, 8, 3)(torch.ones(3, 3, 8, 8)))
attempt("conv channels", lambda: nn.Conv2d(3, 8, 3)(torch.ones(2, 1, 8, 8)))
attempt("conv too small", lambda: nn.Conv2d(1, 1, 5)(torch.ones(1, 1, 3, 3)))
attempt("pool too small", lambda: nn.MaxPool2d(4)(torch.ones(1, 1, 2, 2)))
attempt("batchnorm batch of one", lambda: nn.BatchNorm1d(3)(torch.ones(1, 3)))
attempt("batchnorm features", lambda: nn.BatchNorm1d(3)(torch.ones(4, 5)))
attempt("layernorm shape", lambda: nn.LayerNorm(5)(torch.ones(2, 4)))
attempt("embedding index", lambda: nn.Embedding(10, 3)(torch.tensor([1, 10])))
attempt("embedding float index", lambda: nn.Embedding(10, 3)(torch.tensor([1.0, 2.0])))
attempt("view non-contiguous", lambda: torch.arange(6.0).view(2, 3).t().view(6))
attempt("view bad size", lambda: torch.arange(6.0).view(4, -1))
attempt("reshape two -1", lambda: torch.arange(6.0).reshape(-1, -1))
attempt("cat shapes", lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 4)]))
attempt("stack shapes", lambda: torch.stack([torch.ones(2, 3), torch.ones(3, 2)]))
attempt("broadcast", lambda: torch.ones(2, 3) + torch.ones(4, 3))
attempt("matmul shapes", lambda: torch.ones(2, 3) @ torch.ones(2, 3))
attempt("mm 1-d", lambda: torch.mm(torch.ones(3), torch.ones(3, 2)))
attempt("matmul dtypes", lambda: torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64))
attempt("index out of range", lambda: torch.arange(5)[5])
attempt("dim out of range", lambda: torch.ones(2, 3).sum(dim=2))
attempt("transpose dim", lambda: torch.ones(2, 3).transpose(0, 3))
attempt("permute dims", lambda: torch.ones(2, 3, 4).permute(0, 1))
attempt("squeeze dim", lambda: torch.ones(2, 3).unsqueeze(4))
attempt("gather index dims", lambda: torch.ones(2, 3).gather(1, torch.tensor([0, 1])))
attempt("scatter dtype", lambda: torch.zeros(3).scatter_(0, torch.tensor([0.0]), 1.0))
attempt("expand", lambda: torch.ones(2, 3).expand(4, 3))
attempt("repeat dims", lambda: torch.ones(2, 3).repeat(2))
attempt("item of many", lambda: torch.ones(3).item())
attempt("bool of many", lambda: bool(torch.ones(3) > 0))
attempt("int of float tensor", lambda: range(torch.tensor(2.5)))


def freed_graph():
    w = torch.ones(3, requires_grad=True)
    loss = (w.exp() * 2).sum()
    loss.backward()
    loss.backward()


def non_scalar():
    w = torch.ones(3, requires_grad=True)
    (w * 2).backward()


def leaf_inplace():
    w = torch.ones(3, requires_grad=True)
    w += 1


def numpy_of_grad():
    return torch.ones(3, requires_grad=True).numpy()


def grad_of_int():
    return torch.tensor([1, 2], requires_grad=True)


def grad_of_nonleaf():
    w = torch.ones(3, requires_grad=True)
    y = w * 2
    y.sum().backward()
    return y.grad.sum()


def no_grad_output():
    with torch.no_grad():
        y = torch.ones(3, requires_grad=True) * 2
    y.sum().backward()


def autograd_grad_unused():
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    torch.autograd.grad((a * 2).sum(), [a, b])


attempt("backward twice", freed_graph)
attempt("backward non-scalar", non_scalar)
attempt("in-place on leaf", leaf_inplace)
attempt("numpy of grad tensor", numpy_of_grad)
attempt("int requires_grad", grad_of_int)
attempt("grad of non-leaf", grad_of_nonleaf)
attempt("output of no_grad", no_grad_output)
attempt("grad of unused input", autograd_grad_unused)

model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
bad_state = {k: v for k, v in nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)).state_dict().items()}
attempt("state_dict sizes", lambda: model.load_state_dict(bad_state))
attempt("state_dict keys", lambda: model.load_state_dict({"weight": torch.ones(3, 4)}))
print("non-strict:", model.load_state_dict({"0.weight": torch.ones(3, 4)}, strict=False))
attempt("optimizer empty", lambda: torch.optim.SGD([], lr=0.1))
attempt("optimizer bad lr", lambda: torch.optim.Adam(model.parameters(), lr=-1))
attempt("optimizer tensor", lambda: torch.optim.SGD(torch.ones(3, requires_grad=True), lr=0.1))
attempt("parameter of int", lambda: nn.Parameter(torch.tensor([1, 2])))
attempt("module attribute", lambda: model.fc)
attempt("add_module name", lambda: model.add_module("a.b", nn.ReLU()))
ragged = [torch.ones(3), torch.ones(4)]
attempt("ragged batch", lambda: next(iter(DataLoader(ragged, batch_size=2))))
attempt("numpy object", lambda: torch.tensor(np.array([1, "a"], dtype=object)))
attempt("from list ragged", lambda: torch.tensor([[1, 2], [3]]))
attempt("device string", lambda: torch.ones(2).to("gpu"))
attempt("one_hot classes", lambda: F.one_hot(torch.tensor([0, 3]), num_classes=3))
attempt("softmax no dim", lambda: F.softmax(torch.ones(2, 3)).shape)
attempt("multinomial negative", lambda: torch.multinomial(torch.tensor([0.5, -0.1]), 1))
attempt("randint range", lambda: torch.randint(5, 2, (3,)))
attempt("arange step", lambda: torch.arange(0, 5, 0))
attempt("linspace steps", lambda: torch.linspace(0, 1, -2))
attempt("clip max_norm", lambda: nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0, norm_type="fro"))
