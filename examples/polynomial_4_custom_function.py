"""Polynomial 4/8 - A custom autograd Function: y = a + b * P3(c + d x).

Run:  python examples/polynomial_4_custom_function.py

P3(t) = (5 t^3 - 3 t) / 2 is the Legendre polynomial of degree 3. Subclassing
torch.autograd.Function defines a new operation with its own forward and backward:
how every built-in op is made, and how to add one autograd does not know.
"""

import math

import ember as torch  # in PyTorch: import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)            # keep what backward needs
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)   # dP3/dt, chained


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

# The weights must start close enough to the answer for this model to converge.
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(2000):
    P3 = LegendrePolynomial3.apply             # use a Function through .apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 500 == 499:
        print(t, round(loss.item(), 3))
    loss.backward()
    with torch.no_grad():
        for weight in (a, b, c, d):
            weight -= learning_rate * weight.grad
            weight.grad = None

print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")

# Check the hand-written backward against finite differences (float64, as recommended).
check_input = torch.randn(5, dtype=torch.double, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(LegendrePolynomial3.apply, (check_input,)))
