"""Polynomial 8/8 - Dynamic control flow: a different graph on every forward pass.

Run:  python examples/polynomial_8_dynamic_control_flow.py

forward is ordinary Python: loops and ifs decide, call by call, which operations run,
and autograd records whichever ran. Here each pass randomly uses a polynomial of
degree 4 or 5, with one shared weight e for the x^4 and x^5 terms.
"""

import math
import random

import ember as torch  # in PyTorch: import torch


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):    # 0, 1 or 2 extra terms this call
            y = y + self.e * x ** exp                 # the same weight, reused
        return y

    def string(self):
        return (f"y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 "
                f"+ {self.d.item():.4f} x^3 + {self.e.item():.4f} x^4 ? + "
                f"{self.e.item():.4f} x^5 ?")


random.seed(0)
torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = DynamicNet()
criterion = torch.nn.MSELoss(reduction="sum")
# Momentum smooths the steps; the tiny rate keeps the x^5 term (up to ~300) stable.
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for t in range(2000):
    loss = criterion(model(x), y)
    if t % 500 == 499:
        print(t, round(loss.item(), 3))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# The x^4/x^5 terms make this badly conditioned: PyTorch's tutorial runs 30,000 steps.
# 2,000 keep the example to seconds, so the loss is still falling when it stops.
print(f"Result: {model.string()}")
