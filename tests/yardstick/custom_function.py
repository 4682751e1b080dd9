"""A custom autograd.Function (forward/backward with ctx), checked with gradcheck in
float64, used inside a small fit."""

import math

import numpy as np
import torch


class LegendreP3(torch.autograd.Function):
    """P3(x) = (5x^3 - 3x) / 2, with its derivative written by hand."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class ScaledSoftplus(torch.autograd.Function):
    """softplus(x * s) with a non-tensor argument (whose gradient is None)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        out = torch.log1p(torch.exp(x * scale))
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.scale * torch.sigmoid(x * ctx.scale), None


x64 = torch.from_numpy(np.linspace(-1.0, 1.0, 7)).requires_grad_(True)
print("gradcheck P3:", torch.autograd.gradcheck(LegendreP3.apply, (x64,), eps=1e-6, atol=1e-4))
print("gradcheck softplus:",
      torch.autograd.gradcheck(lambda t: ScaledSoftplus.apply(t, 2.0), (x64,)))
out = LegendreP3.apply(x64)
print(out.grad_fn is not None, out.dtype)

x = torch.linspace(-math.pi, math.pi, 200)
y = torch.sin(x)
a = torch.full((), 0.0, requires_grad=True)
b = torch.full((), -1.0, requires_grad=True)
c = torch.full((), 0.0, requires_grad=True)
d = torch.full((), 0.3, requires_grad=True)
learning_rate = 5e-6
for t in range(200):
    y_pred = a + b * LegendreP3.apply(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, f"{loss.item():.4f}")
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= learning_rate * p.grad
            p.grad = None
print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
