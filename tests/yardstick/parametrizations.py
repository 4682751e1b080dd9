"""The "Parametrizations tutorial" and nn.Module bookkeeping that library code relies on:
register_parametrization with a Symmetric and a MatrixExponential module, chaining two
parametrizations, .parametrizations.weight.original, right_inverse on assignment,
parametrize.cached(), remove_parametrizations(leave_parametrized=...), the built-in
orthogonal/weight_norm/spectral_norm parametrizations; then register_buffer(persistent=
False), ModuleDict/ModuleList/ParameterList/ParameterDict, named_modules/named_buffers,
Module.apply, requires_grad_(False), half()/double() conversions and state_dict keys.
Weights come from fixed NumPy values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as parametrize
from torch.nn.utils import parametrizations


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.59 + i).reshape(tuple(p.shape)) * scale))
    return module


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)


class MatrixExponential(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)


layer = fixed_(nn.Linear(3, 3))
parametrize.register_parametrization(layer, "weight", Symmetric())
A = layer.weight
print("symmetric:", torch.allclose(A, A.T), type(layer).__name__, type(layer).__mro__[1].__name__)
print(layer)
print("original:", layer.parametrizations.weight.original.shape, "is_parametrized:",
      parametrize.is_parametrized(layer), parametrize.is_parametrized(layer, "bias"))
print("state_dict:", list(layer.state_dict().keys()))
x = torch.from_numpy(np.cos(np.arange(6) * 0.5).reshape(2, 3).astype(np.float32))
layer(x).sum().backward()
print("grad reaches original:", layer.parametrizations.weight.original.grad.triu(1).abs().sum().item() > 0,
      "lower triangle grad zero:", layer.parametrizations.weight.original.grad.tril(-1).abs().sum().item() == 0)

with torch.no_grad():
    layer.weight = torch.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]])
print("right_inverse:", layer.parametrizations.weight.original.tolist())
with parametrize.cached():
    same = layer.weight is layer.weight
print("cached:", same, "uncached:", layer.weight is layer.weight)

layer = fixed_(nn.Linear(3, 3))
parametrize.register_parametrization(layer, "weight", Skew())
parametrize.register_parametrization(layer, "weight", MatrixExponential())
Q = layer.weight
print("orthogonal via exp(skew):", torch.allclose(Q.T @ Q, torch.eye(3), atol=1e-5),
      len(layer.parametrizations.weight))
parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
print("removed:", type(layer).__name__, torch.allclose(layer.weight.T @ layer.weight, torch.eye(3), atol=1e-5),
      isinstance(layer.weight, nn.Parameter))

ortho = parametrizations.orthogonal(fixed_(nn.Linear(4, 4)))
W = ortho.weight
print("parametrizations.orthogonal:", torch.allclose(W @ W.T, torch.eye(4), atol=1e-5))
wn = parametrizations.weight_norm(fixed_(nn.Linear(4, 2)))
print("weight_norm:", sorted(name for name, _ in wn.named_parameters()),
      torch.allclose(wn.parametrizations.weight.original0.view(-1), wn.weight.norm(dim=1)))
sn = parametrizations.spectral_norm(fixed_(nn.Linear(4, 4)))
sigma = torch.linalg.matrix_norm(sn.weight.detach(), ord=2)
print("spectral_norm: largest singular value <= 1 + 1e-3:", sigma.item() <= 1.001)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(4)) for _ in range(2)])
        self.extra = nn.ParameterDict({"bias": nn.Parameter(torch.zeros(4))})
        self.register_buffer("running", torch.zeros(4))
        self.register_buffer("scratch", torch.ones(4), persistent=False)

    def forward(self, x):
        for block, scale in zip(self.blocks, self.scales):
            x = torch.relu(block(x)) * scale + self.extra["bias"]
        self.running.mul_(0.9).add_(x.detach().mean(0), alpha=0.1)
        return {name: head(x) for name, head in self.heads.items()}


model = fixed_(Model())
print("state_dict:", list(model.state_dict().keys()))
print("buffers:", [name for name, _ in model.named_buffers()])
print("modules:", [name for name, _ in model.named_modules()])
counts = []
model.apply(lambda m: counts.append(type(m).__name__))
print("apply order:", counts)
out = model(torch.from_numpy(np.cos(np.arange(8) * 0.3).reshape(2, 4).astype(np.float32)))
print("outputs:", {k: tuple(v.shape) for k, v in out.items()}, f"{out['cls'].sum().item():.5f}",
      f"running: {model.running.sum().item():.5f}")
model.heads.requires_grad_(False)
print("trainable:", [name for name, p in model.named_parameters() if p.requires_grad])
model.half()
print("half:", model.blocks[0].weight.dtype, model.running.dtype, model.scratch.dtype)
model.double()
print("double:", model.heads["cls"].bias.dtype, model.get_submodule("heads.reg").weight.shape)
print("parameter count:", sum(p.numel() for p in model.parameters()))
