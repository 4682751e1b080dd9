"""Tutorial: "Hooks for autograd saved tensors" (pack/unpack hooks, saving to CPU or disk)."""
import os
import tempfile
import uuid

import torch
from torch import nn

# -- what autograd saves ---------------------------------------------------------------
x = torch.arange(1.0, 6.0, requires_grad=True)
y = x.pow(2)
print("saved self equals x:", x.equal(y.grad_fn._saved_self), "is x:", y.grad_fn._saved_self is x)
y = x.exp()
print("saved result equals y:", y.equal(y.grad_fn._saved_result),
      "is y:", y.grad_fn._saved_result is y)
y = x.sin()
print("sin saved:", y.grad_fn._saved_self.tolist())
y.sum().backward()
try:
    y.grad_fn._saved_self
except RuntimeError as error:
    print("after backward:", str(error).split(".")[0])

# -- hooks on one saved tensor ------------------------------------------------------------
log = []
x = torch.ones(3, requires_grad=True)
y = x.pow(2)
y.grad_fn._raw_saved_self.register_hooks(lambda t: (log.append("pack"), t * 2)[1],
                                         lambda t: (log.append("unpack"), t)[1])
print("log before backward:", log)
y.sum().backward()
print("log after backward:", log, "grad:", x.grad.tolist())

# -- hooks for every saved tensor in a block -------------------------------------------------
events = []


def pack_hook(tensor):
    events.append(("pack", tuple(tensor.shape)))
    return tensor


def unpack_hook(tensor):
    events.append(("unpack", tuple(tensor.shape)))
    return tensor


a = torch.ones(5, requires_grad=True)
b = torch.ones(5, requires_grad=True) * 2
with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    y = a * b
y.sum().backward()
print("events:", events)
print("grads:", a.grad.tolist(), "b leaf?", b.is_leaf)

# pack may return anything; unpack must give back a tensor of the same size


def pack_to_list(tensor):
    return tensor.tolist(), tensor.dtype


def unpack_from_list(packed):
    values, dtype = packed
    return torch.tensor(values, dtype=dtype)


x = torch.linspace(0.5, 2.0, 4, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(pack_to_list, unpack_from_list):
    y = (x * x.log()).sum()
y.backward()
print("x log x grad:", [round(v, 5) for v in x.grad.tolist()])

# -- save on cpu ----------------------------------------------------------------------------
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
with torch.no_grad():
    for index, parameter in enumerate(model.parameters()):
        parameter.copy_(torch.linspace(-0.5, 0.5, parameter.numel()).reshape(parameter.shape)
                        * (index + 1) / 4)
inputs = torch.linspace(-1, 1, 12).reshape(3, 4)
with torch.autograd.graph.save_on_cpu(pin_memory=False):
    loss = model(inputs).pow(2).sum()
loss.backward()
print("save_on_cpu loss:", round(loss.item(), 6),
      "grad norm:", round(model[0].weight.grad.norm().item(), 6))

# -- saving tensors to disk -------------------------------------------------------------------
folder = tempfile.mkdtemp()


class SelfDeletingTempFile:
    def __init__(self):
        self.name = os.path.join(folder, str(uuid.uuid4()))

    def __del__(self):
        if os.path.exists(self.name):
            os.remove(self.name)


def pack_to_disk(tensor):
    temp_file = SelfDeletingTempFile()
    torch.save(tensor, temp_file.name)
    return temp_file


def unpack_from_disk(temp_file):
    return torch.load(temp_file.name, weights_only=True)


for parameter in model.parameters():
    parameter.grad = None
with torch.autograd.graph.saved_tensors_hooks(pack_to_disk, unpack_from_disk):
    loss = model(inputs).pow(2).sum()
print("files while the graph lives:", len(os.listdir(folder)) > 0)
loss.backward()
print("disk grad norm:", round(model[0].weight.grad.norm().item(), 6))
del loss
print("files after the graph is freed:", len(os.listdir(folder)))

# -- hooks see the tensors autograd saves, not copies -----------------------------------------


def checking_pack(tensor):
    return tensor


def failing_pack(tensor):
    tensor.add_(1)
    return tensor


x = torch.ones(2, requires_grad=True)
with torch.autograd.graph.saved_tensors_hooks(checking_pack, lambda t: t):
    y = (x * x).sum()
y.backward()
print("identity hooks grad:", x.grad.tolist())
try:
    with torch.autograd.graph.saved_tensors_hooks(failing_pack, lambda t: t):
        y = x.exp()
except RuntimeError as error:
    print("in-place pack hook:", "modified" in str(error) or "in-place" in str(error).lower())

# -- disabling hooks --------------------------------------------------------------------------
with torch.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
            pass
    except RuntimeError as error:
        print("disabled:", error)
