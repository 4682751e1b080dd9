"""The "Spatial Transformer Networks" tutorial on fixed data: a localization network
regresses a 2x3 affine matrix (its last layer starts at the identity transform),
F.affine_grid + F.grid_sample warp the input, the classifier trains with SGD and
nll_loss; then the learned transform is inspected and the warp checked against known
affine maps (identity, a translation). Dropout is left out of the training steps so the
printed losses do not depend on random draws; weights come from fixed NumPy values."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim

rng = np.random.default_rng(4)


def fixed_(module, scale):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32))
                    * scale)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2),
        )
        fixed_(self, 0.1)
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        return x

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


images = torch.from_numpy(rng.random((64, 1, 28, 28)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 10, 64))
for i, label in enumerate(labels.tolist()):  # a bright square whose place is the class
    row, col = divmod(label, 5)
    images[i, 0, 4 + row * 10:10 + row * 10, 2 + col * 5:6 + col * 5] += 1.5
model = Net()
model.conv2_drop.p = 0.0
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.5)


def train(epoch):
    model.train()
    for batch_idx in range(4):
        data = images[batch_idx * 16:(batch_idx + 1) * 16]
        target = labels[batch_idx * 16:(batch_idx + 1) * 16]
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 2 == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(images)} "
                  f"({100.0 * batch_idx / 4:.0f}%)]\tLoss: {loss.item():.6f}")


def test():
    with torch.no_grad():
        model.eval()
        output = model(images)
        test_loss = F.nll_loss(output, labels, reduction="sum").item()
        pred = output.max(1, keepdim=True)[1]
        correct = pred.eq(labels.view_as(pred)).sum().item()
        test_loss /= len(images)
        print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(images)} "
              f"({100.0 * correct / len(images):.0f}%)\n")


for epoch in range(1, 4):
    train(epoch)
    test()

with torch.no_grad():
    data = images[:4]
    transformed = model.stn(data)
    theta = model.fc_loc(model.localization(data).view(-1, 90)).view(-1, 2, 3)
print("transformed:", tuple(transformed.shape), transformed.dtype)
print("theta[0]:", [[round(v, 4) for v in row] for row in theta[0].tolist()])
print("moved away from identity:", (theta - torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])).abs().max()
      .item() > 0)

# The warp itself: the identity grid reproduces the image, a shift moves it.
identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
grid = F.affine_grid(identity, (1, 1, 28, 28), align_corners=False)
print("grid:", tuple(grid.shape), f"{grid[0, 0, 0, 0].item():.5f} {grid[0, -1, -1, 1].item():.5f}")
same = F.grid_sample(images[:1], grid, align_corners=False)
print("identity warp:", torch.allclose(same, images[:1], atol=1e-5))
shift = torch.tensor([[[1.0, 0.0, 2.0 / 28 * 2], [0.0, 1.0, 0.0]]])
moved = F.grid_sample(images[:1], F.affine_grid(shift, (1, 1, 28, 28), align_corners=False),
                      align_corners=False, padding_mode="zeros")
print("shift by 2 px:", torch.allclose(moved[..., :-2], images[:1, ..., 2:], atol=1e-5),
      f"{moved[..., -2:].abs().sum().item():.4f}")
for mode in ("bilinear", "nearest"):
    zoom = torch.tensor([[[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]])
    out = F.grid_sample(images[:1], F.affine_grid(zoom, (1, 1, 14, 14), align_corners=True),
                        mode=mode, align_corners=True)
    print(mode, "zoom:", tuple(out.shape), f"{out.sum().item():.4f}")
