"""Autograd: requires_grad, grad_fn, backward, no_grad, detach, and vector-Jacobian
products through backward(gradient)."""

import numpy as np
import torch

x = torch.ones(5)
y = torch.zeros(3)
w = torch.from_numpy(np.linspace(-1.0, 1.0, 15, dtype=np.float32).reshape(5, 3))
w.requires_grad_(True)
b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn.name()}")
print(f"Gradient function for loss recorded: {loss.grad_fn is not None}")
print(f"loss = {loss.item():.6f}")

loss.backward()
print(w.grad)
print(b.grad)

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)

z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad, z_det.grad_fn is None)

inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

a = torch.tensor([2.0, 3.0], requires_grad=True)
c = torch.tensor([6.0, 4.0], requires_grad=True)
Q = 3 * a ** 3 - c ** 2
Q.backward(gradient=torch.tensor([1.0, 1.0]))
print(9 * a ** 2 == a.grad, -2 * c == c.grad)

x = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)
y = x * 2
while y.data.norm() < 100:
    y = y * 2
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)
print(y, x.grad)

x = torch.tensor(2.0, requires_grad=True)
y = x ** 3
(g,) = torch.autograd.grad(y, x, create_graph=True)
(g2,) = torch.autograd.grad(g, x)
print(g.item(), g2.item())

leaf = torch.tensor([1.0, 2.0], requires_grad=True)
print(leaf.is_leaf, (leaf * 2).is_leaf, leaf.detach().is_leaf)
try:
    leaf.add_(1)
except RuntimeError as error:
    print("RuntimeError:", error)
