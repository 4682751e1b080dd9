"""Polynomial 7/8 - A custom nn.Module.

Run:  python examples/polynomial_7_custom_module.py

When no stack of built-in layers fits, subclass nn.Module: declare parameters in
__init__, compute in forward. Everything else (parameters(), optimizers, state_dict)
works unchanged.
"""

import math

import ember as torch  # in PyTorch: import torch


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # nn.Parameter registers each tensor as a weight of the module.
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f"y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 "
                f"+ {self.d.item():.4f} x^3")


torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = Polynomial3()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for t in range(2000):
    loss = criterion(model(x), y)
    if t % 500 == 499:
        print(t, round(loss.item(), 3))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f"Result: {model.string()}")
