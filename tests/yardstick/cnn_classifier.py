"""A CNN classifier on CIFAR-shaped images: torchvision's FakeData and transforms
(ToTensor, Normalize), Conv2d/MaxPool2d/BatchNorm2d/Dropout, SGD with momentum and a
StepLR schedule, train and eval modes.

torchvision cannot import next to the torch wheel used as the oracle here (its C ops do not
load), so when it is unusable the few torchvision names the script uses come from a small stand-in below
(same behaviour on the images used for the printed numbers). Under `ember run`,
`import torchvision` resolves to ember.vision and the stand-in is not used.

Dropout draws random masks and the two libraries' generators differ, so the numbers
printed come from eval mode (no dropout) or from the first train-mode forward pass before
any step (batch-norm statistics); training itself prints only what does not depend on
the masks."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from PIL import Image
from torch.utils.data import DataLoader, Dataset

try:
    import torchvision
    import torchvision.transforms as transforms
    from torchvision.datasets import FakeData
# the oracle's torchvision (a CUDA build) has no loadable C ops next to the CPU torch:
# its import then fails with RuntimeError
except (ImportError, RuntimeError):  # torch without a usable torchvision
    torchvision = None

    class transforms:  # noqa: N801 - a namespace standing in for torchvision.transforms
        class Compose:
            def __init__(self, steps):
                self.steps = steps

            def __call__(self, x):
                for step in self.steps:
                    x = step(x)
                return x

        class ToTensor:
            def __call__(self, pic):
                array = np.asarray(pic, dtype=np.uint8)
                return torch.from_numpy(array.transpose(2, 0, 1).copy()).float().div(255)

        class Normalize:
            def __init__(self, mean, std):
                self.mean, self.std = mean, std

            def __call__(self, x):
                mean = torch.tensor(self.mean).view(-1, 1, 1)
                std = torch.tensor(self.std).view(-1, 1, 1)
                return (x - mean) / std

    class FakeData(Dataset):
        def __init__(self, size, image_size, num_classes, transform=None):
            self.size, self.image_size, self.transform = size, image_size, transform
            self.num_classes = num_classes

        def __len__(self):
            return self.size

        def __getitem__(self, index):
            c, h, w = self.image_size
            pixels = np.random.default_rng(index).integers(0, 256, (h, w, c), dtype=np.uint8)
            return self.transform(Image.fromarray(pixels)), index % self.num_classes


transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])


class PatternImages(Dataset):
    """Deterministic 32x32 RGB PIL images: stripes whose direction is the label."""

    def __init__(self, n, transform=None):
        self.n, self.transform = n, transform

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        label = index % 4
        yy, xx = np.mgrid[0:32, 0:32]
        phase = [xx, yy, xx + yy, xx - yy][label] * (0.5 + 0.05 * (index % 7))
        red = 127.5 + 127.5 * np.sin(phase)
        green = 127.5 + 127.5 * np.cos(phase * 0.5 + index)
        blue = (xx * 8 + index) % 256
        pixels = np.stack([red, green, blue], -1).astype(np.uint8)
        image = Image.fromarray(pixels)
        return (self.transform(image) if self.transform else image), label


fake = FakeData(size=20, image_size=(3, 32, 32), num_classes=10, transform=transform)
image, label = fake[0]
print("FakeData:", len(fake), tuple(image.shape), image.dtype, type(label).__name__)

trainset = PatternImages(64, transform=transform)
trainloader = DataLoader(trainset, batch_size=16, shuffle=False)
images, labels = next(iter(trainloader))
print("batch:", tuple(images.shape), images.dtype, labels.tolist()[:8])
print(f"pixel range: {images.min().item():.4f} {images.max().item():.4f}")
print(f"first image mean: {images[0].mean().item():.6f}")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.dropout = nn.Dropout(0.25)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


def fixed_init(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if name.startswith("bn"):
                continue
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            values = np.cos(np.arange(p.numel()) * 0.73 + i) / math.sqrt(fan_in)
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))


net = Net()
fixed_init(net)
print("parameters:", sum(p.numel() for p in net.parameters()))
print("buffers:", [name for name, _ in net.named_buffers()])

net.eval()
with torch.no_grad():
    logits = net(images)
    print("eval logits:", tuple(logits.shape), [f"{v:.5f}" for v in logits[0].tolist()])
    print("eval twice is the same:", torch.equal(logits, net(images)))

net.train()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
with torch.no_grad():
    net(images)
print("bn1 running_mean:", [f"{v:.5f}" for v in net.bn1.running_mean.tolist()])
print("bn1 running_var:", [f"{v:.5f}" for v in net.bn1.running_var.tolist()])
print("bn1 batches tracked:", net.bn1.num_batches_tracked.item())

for epoch in range(4):
    running_loss = 0.0
    for inputs, targets in trainloader:
        optimizer.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    scheduler.step()
    print(f"epoch {epoch + 1}: lr now {scheduler.get_last_lr()[0]:.4f}, "
          f"loss finite: {math.isfinite(running_loss)}")

net.eval()
correct = total = 0
with torch.no_grad():
    for inputs, targets in trainloader:
        predicted = net(inputs).argmax(1)
        total += targets.size(0)
        correct += (predicted == targets).sum().item()
print("evaluated:", total, "accuracy is a fraction:", 0 <= correct / total <= 1)
print("momentum buffers:", len(optimizer.state), "param groups:", len(optimizer.param_groups))
