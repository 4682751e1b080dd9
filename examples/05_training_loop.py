"""05 - The training loop: model, loss, optimizer, repeat.

Run:  python examples/05_training_loop.py

Every PyTorch training loop has the same five lines: forward, loss, zero_grad, backward,
step. Here a small network learns to separate two interleaved spirals, a problem no
straight line can solve.
"""

import math

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn

torch.manual_seed(0)


def two_spirals(points_per_class: int = 200):
    """Points on two spiral arms (class 0 and class 1) with a little noise."""
    t = torch.linspace(0.25, 1.0, points_per_class) * 3 * math.pi
    arm = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / (3 * math.pi)
    features = torch.cat([arm, -arm]) + 0.02 * torch.randn(2 * points_per_class, 2)
    labels = torch.cat([torch.zeros(points_per_class), torch.ones(points_per_class)]).long()
    return features, labels


features, labels = two_spirals()
model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                      nn.Linear(32, 2))
loss_fn = nn.CrossEntropyLoss()                  # takes raw scores (logits) and class ids
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

for step in range(1, 201):
    logits = model(features)                     # 1. forward
    loss = loss_fn(logits, labels)               # 2. how wrong are we?
    optimizer.zero_grad()                        # 3. clear last step's gradients
    loss.backward()                              # 4. gradients of loss w.r.t. parameters
    optimizer.step()                             # 5. move parameters downhill
    if step % 50 == 0:
        accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
        print(f"step {step:3d}  loss {loss.item():.4f}  accuracy {accuracy:.1%}")

with torch.no_grad():                            # no graph needed to evaluate
    final = (model(features).argmax(dim=1) == labels).float().mean().item()
print(f"final training accuracy: {final:.1%}")
