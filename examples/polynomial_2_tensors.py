"""Polynomial 2/8 - Tensors with hand-written gradients.

Run:  python examples/polynomial_2_tensors.py

The NumPy program again, with tensors: the same code could run on a GPU by choosing
device="cuda". Gradients are still derived by hand.
"""

import math

import ember as torch  # in PyTorch: import torch

dtype = torch.float
device = torch.device("cpu")   # torch.device("cuda") to run on a GPU

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# A fixed start (the tutorial uses torch.randn(())): the same numbers on every run.
a = torch.tensor(0.1, device=device, dtype=dtype)
b = torch.tensor(0.2, device=device, dtype=dtype)
c = torch.tensor(-0.1, device=device, dtype=dtype)
d = torch.tensor(0.05, device=device, dtype=dtype)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum().item()
    if t % 500 == 499:
        print(t, round(loss, 3))

    # Backward pass by hand, as in the NumPy version.
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()

    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
