"""13 - Function transforms: per-sample gradients, Jacobians, Hessians.

Run:  python examples/13_function_transforms.py

torch.func treats a model as a pure function of its parameters (functional_call), then
transforms it: grad differentiates, vmap maps over a batch dimension, jacrev/hessian build
whole derivative matrices. Per-sample gradients, one gradient per example rather than
their sum, are vmap(grad(loss)) over the batch: the building block of differential
privacy and of many training diagnostics.
"""

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn
from ember.func import functional_call, grad, hessian, jacrev, vmap  # torch.func

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
params = {name: p.detach() for name, p in model.named_parameters()}
inputs, targets = torch.randn(8, 3), torch.randn(8, 1)


def loss_of(params, x, y):
    prediction = functional_call(model, params, (x.unsqueeze(0),))
    return nn.functional.mse_loss(prediction, y.unsqueeze(0))


per_sample = vmap(grad(loss_of), in_dims=(None, 0, 0))(params, inputs, targets)
print("per-sample gradient of the first weight:", tuple(per_sample["0.weight"].shape))

# Their mean is the ordinary batch gradient (mse_loss averages over the batch).
batch_loss = nn.functional.mse_loss(model(inputs), targets)
batch_loss.backward()
print("mean of per-sample grads == batch grad:",
      torch.allclose(per_sample["0.weight"].mean(0), model[0].weight.grad, atol=1e-6))


def f(x):
    return (x.sin() * x).sum()


x = torch.tensor([0.5, 1.0, 2.0])
print("gradient:", grad(f)(x))
print("Jacobian of sin:", jacrev(torch.sin)(x).diagonal())
print("Hessian diagonal:", hessian(f)(x).diagonal())
