"""Autograd beyond the basics, as tutorials and papers' reference code use it: tensor
hooks (register_hook) and retain_grad, module forward/forward-pre/full-backward hooks
(feature extraction and gradient inspection, Grad-CAM style), a WGAN-GP gradient penalty
(torch.autograd.grad with create_graph=True through Conv2d, LeakyReLU and Linear, then
backward through the penalty), torch.autograd.functional.jacobian/hessian/vjp,
torch.autograd.backward with grad_tensors, retain_graph, no_grad and enable_grad as
decorators, set_detect_anomaly, and the error for a second backward through a freed
graph. Weights and inputs come from fixed NumPy values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed_(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.47 + i).reshape(tuple(p.shape)) * scale))
    return module


def data(*shape, phase=0.0):
    return torch.from_numpy(np.cos(np.arange(int(np.prod(shape))) * 0.31 + phase).reshape(shape).astype(np.float32))


# Tensor hooks and retain_grad.
x = data(3).requires_grad_()
y = x * 2
y.retain_grad()
seen = []
handle = y.register_hook(lambda grad: seen.append(grad.clone()))
x.register_hook(lambda grad: grad * 10)  # a hook may replace the gradient
z = (y ** 2).sum()
z.backward()
print("y.grad:", y.grad, "seen:", seen[0], "x.grad (scaled by hook):", x.grad)
handle.remove()
print("is_leaf:", x.is_leaf, y.is_leaf, "y.grad_fn:", y.grad_fn.name())

# Module hooks.
model = fixed_(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)))
activation = {}


def get_activation(name):
    def hook(model, input, output):
        activation[name] = output.detach()
    return hook


gradients = {}


def save_gradient(module, grad_input, grad_output):
    gradients["conv2"] = grad_output[0].detach()


calls = []
model[2].register_forward_hook(get_activation("conv2"))
model[2].register_full_backward_hook(save_gradient)
pre = model[0].register_forward_pre_hook(lambda module, args: calls.append(tuple(args[0].shape)))
image = data(2, 1, 6, 6).requires_grad_()
scores = model(image)
scores[:, 1].sum().backward()
print("activation:", tuple(activation["conv2"].shape), f"{activation['conv2'].sum().item():.5f}")
print("gradient:", tuple(gradients["conv2"].shape), f"{gradients['conv2'].abs().sum().item():.5f}")
weights = gradients["conv2"].mean(dim=(2, 3), keepdim=True)
cam = F.relu((weights * activation["conv2"]).sum(1))
print("grad-cam:", tuple(cam.shape), f"{cam.sum().item():.5f}", "pre-hook saw:", calls)
pre.remove()
print("saliency:", f"{image.grad.abs().amax().item():.5f}")

# WGAN-GP gradient penalty (double backward).
netD = fixed_(nn.Sequential(nn.Conv2d(3, 4, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 4 * 4, 1)))
real = data(4, 3, 8, 8)
fake = data(4, 3, 8, 8, phase=1.0)
alpha = torch.linspace(0, 1, 4).view(4, 1, 1, 1)
interpolates = (alpha * real + ((1 - alpha) * fake)).requires_grad_(True)
d_interpolates = netD(interpolates)
grads = torch.autograd.grad(outputs=d_interpolates, inputs=interpolates,
                            grad_outputs=torch.ones_like(d_interpolates),
                            create_graph=True, retain_graph=True, only_inputs=True)[0]
gradient_penalty = ((grads.view(grads.size(0), -1).norm(2, dim=1) - 1) ** 2).mean() * 10
d_loss = -netD(real).mean() + netD(fake).mean() + gradient_penalty
d_loss.backward()
print(f"penalty: {gradient_penalty.item():.5f} d_loss: {d_loss.item():.5f}",
      f"conv grad: {netD[0].weight.grad.abs().sum().item():.5f}", grads.requires_grad)

# torch.autograd.functional
def f(v):
    return torch.stack([v[0] ** 2 * v[1], v[1].sin() + v[0]])


point = torch.tensor([1.0, 0.5])
print("jacobian:", torch.autograd.functional.jacobian(f, point))
print("hessian:", torch.autograd.functional.hessian(lambda v: (v ** 3).sum() + v[0] * v[1], point))
out, vjp = torch.autograd.functional.vjp(f, point, torch.tensor([1.0, -1.0]))
print("vjp:", out, vjp)

# backward with grad_tensors, retain_graph, and a freed graph.
a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = a * a
c = a.exp()
torch.autograd.backward([b, c], grad_tensors=[torch.ones(3), torch.full((3,), 0.5)])
print("a.grad:", a.grad)
a.grad = None
loss = (a * 3).sum() + (a ** 2).sum()
loss.backward(retain_graph=True)
loss.backward()
print("twice with retain_graph:", a.grad)
loss = (a ** 2).sum()
loss.backward()
try:
    loss.backward()
except RuntimeError as error:
    print("freed graph:", str(error).split(".")[0])


@torch.no_grad()
def predict(inputs):
    return model(inputs)


@torch.enable_grad()
def with_grad(inputs):
    return (inputs * 2).sum()


print("decorators:", predict(image).requires_grad, end=" ")
with torch.no_grad():
    print(with_grad(a).requires_grad, torch.is_grad_enabled())
with torch.autograd.set_detect_anomaly(True):
    (a * 2).sum().backward()
print("anomaly mode off again:", torch.is_anomaly_enabled())
try:
    a.add_(1)
except RuntimeError as error:
    print("in-place on leaf:", error)
with torch.no_grad():
    a.add_(1)
print("in-place under no_grad:", a, a.requires_grad)
