"""Polynomial 1/8 - NumPy by hand: fit y = sin(x) with a + b x + c x^2 + d x^3.

Run:  python examples/polynomial_1_numpy.py
(Plain NumPy, no ember: the baseline the next seven files rebuild step by step.)

Gradient descent written out: a forward pass computes the prediction and the loss, a
backward pass computes the loss's gradient for each weight by the chain rule, and each
weight takes a small step against its gradient.
"""

import math

import numpy as np

x = np.linspace(-math.pi, math.pi, 2000)
y = np.sin(x)

# Start from a fixed guess (the PyTorch tutorial draws random weights; a fixed start
# makes every run, and every version of this example, print the same numbers).
a, b, c, d = 0.1, 0.2, -0.1, 0.05

learning_rate = 1e-6
for t in range(2000):
    # Forward pass: predicted y and the squared-error loss.
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = np.square(y_pred - y).sum()
    if t % 500 == 499:
        print(t, loss)

    # Backward pass: d loss / d weight for each weight, by the chain rule.
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()

    # Update the weights.
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

print(f"Result: y = {a:.4f} + {b:.4f} x + {c:.4f} x^2 + {d:.4f} x^3")
