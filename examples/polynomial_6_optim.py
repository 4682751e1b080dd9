"""Polynomial 6/8 - optim: let an optimizer do the update.

Run:  python examples/polynomial_6_optim.py

torch.optim implements the update rules (SGD, momentum, Adam, RMSprop, ...): the loop
becomes zero_grad, backward, step. RMSprop adapts the step per weight, so it takes a
far larger learning rate than plain gradient descent.
"""

import math

import ember as torch  # in PyTorch: import torch

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 500 == 499:
        print(t, round(loss.item(), 3))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

linear_layer = model[0]
bias, (w1, w2, w3) = linear_layer.bias.item(), linear_layer.weight[0].tolist()
print(f"Result: y = {bias:.4f} + {w1:.4f} x + {w2:.4f} x^2 + {w3:.4f} x^3")
