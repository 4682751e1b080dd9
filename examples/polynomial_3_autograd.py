"""Polynomial 3/8 - Autograd computes the backward pass.

Run:  python examples/polynomial_3_autograd.py

Mark the weights requires_grad=True and loss.backward() fills a.grad, b.grad, ...: the
hand-derived gradient code of the previous file disappears.
"""

import math

import ember as torch  # in PyTorch: import torch

dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

# Weights that autograd tracks (fixed start; the tutorial uses torch.randn(())).
a = torch.tensor(0.1, dtype=dtype, requires_grad=True)
b = torch.tensor(0.2, dtype=dtype, requires_grad=True)
c = torch.tensor(-0.1, dtype=dtype, requires_grad=True)
d = torch.tensor(0.05, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 500 == 499:
        print(t, round(loss.item(), 3))

    loss.backward()             # a.grad ... d.grad now hold d loss / d weight

    # Update outside the graph: the step itself must not be differentiated.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        # Gradients accumulate, so clear them for the next step.
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
