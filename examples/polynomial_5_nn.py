"""Polynomial 5/8 - nn: the model as layers, the loss as a module.

Run:  python examples/polynomial_5_nn.py

The cubic is a linear layer applied to the features (x, x^2, x^3): nn.Linear(3, 1) holds
the weights b, c, d and the bias a. The update is still written by hand.
"""

import math

import ember as torch  # in PyTorch: import torch

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# (x, x^2, x^3) as a (2000, 3) tensor: x.unsqueeze(-1) is (2000, 1), broadcast against (3,).
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),     # (2000, 1) -> (2000,) to match y
)
loss_fn = torch.nn.MSELoss(reduction="sum")

learning_rate = 1e-6
for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 500 == 499:
        print(t, round(loss.item(), 3))
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
bias, (w1, w2, w3) = linear_layer.bias.item(), linear_layer.weight[0].tolist()
print(f"Result: y = {bias:.4f} + {w1:.4f} x + {w2:.4f} x^2 + {w3:.4f} x^3")
