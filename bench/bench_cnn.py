"""CNN benchmarks (issue 4): the same PyTorch-API code on ember and torch.

    python bench/bench_cnn.py [--memory]

Rows: LeNet-5 training step (1x28x28, batch 64, Adam), a small ResNet-style net with
BatchNorm (3x32x32, batch 32, SGD momentum), ResNet-18 inference (batch 8, 3x224x224).
``--memory`` also runs one ResNet-18 forward+backward at batch 8 on 3x224x224 in a fresh
ember process and prints its peak RSS (the issue's budget is 4 GiB).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import compare, print_table  # noqa: E402

RNG = np.random.default_rng(0)
LENET_X = RNG.standard_normal((64, 1, 28, 28)).astype(np.float32)
LENET_Y = RNG.integers(0, 10, 64).astype(np.int64)
SMALL_X = RNG.standard_normal((32, 3, 32, 32)).astype(np.float32)
SMALL_Y = RNG.integers(0, 10, 32).astype(np.int64)
IMAGENET_X = RNG.standard_normal((8, 3, 224, 224)).astype(np.float32)


def lenet5(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def _basic_block_class(lib):
    nn = lib.nn

    class BasicBlock(nn.Module):
        """ResNet's two 3x3 convs with BatchNorm and an identity (or 1x1) shortcut."""

        def __init__(self, in_planes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or in_planes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    return BasicBlock


def small_resnet(lib):
    """CIFAR-sized: a 3x3 stem and three stages of one BasicBlock (16, 32, 64 channels)."""
    nn = lib.nn
    block = _basic_block_class(lib)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        block(16, 16), block(16, 32, 2), block(32, 64, 2),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(64, 10))


def resnet18(lib, num_classes=1000):
    """torchvision's ResNet-18 layout written with lib.nn (same layers and shapes)."""
    nn = lib.nn
    block = _basic_block_class(lib)

    def stage(in_planes, planes, stride):
        return nn.Sequential(block(in_planes, planes, stride), block(planes, planes))

    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
        stage(64, 64, 1), stage(64, 128, 2), stage(128, 256, 2), stage(256, 512, 2),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes))


def lenet_train_step(lib, device="cpu"):
    model = lenet5(lib).to(device)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    x, y = lib.tensor(LENET_X, device=device), lib.tensor(LENET_Y, device=device)

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def small_resnet_train_step(lib, device="cpu"):
    model = small_resnet(lib).to(device)
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = lib.tensor(SMALL_X, device=device), lib.tensor(SMALL_Y, device=device)

    def step():
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def resnet18_inference(lib):
    model = resnet18(lib)
    model.eval()
    x = lib.tensor(IMAGENET_X)

    def step():
        with lib.no_grad():
            model(x)

    return step


def _peak_rss_child():
    """One ResNet-18 forward+backward at batch 8 on 3x224x224; print peak RSS in MiB."""
    import resource

    import ember

    model = resnet18(ember)
    x = ember.tensor(IMAGENET_X)
    y = ember.tensor(RNG.integers(0, 1000, 8).astype(np.int64))
    ember.nn.functional.cross_entropy(model(x), y).backward()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def resnet18_peak_rss_mib():
    out = subprocess.run([sys.executable, __file__, "--rss-child"], capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    rows = [
        compare("LeNet-5 train step, 1x28x28 batch 64, Adam", lenet_train_step, repeat=20),
        compare("small ResNet+BN train step, 3x32x32 b32, SGD", small_resnet_train_step,
                repeat=10),
        compare("ResNet-18 inference, 3x224x224 batch 8", resnet18_inference, repeat=5,
                warmup=1),
    ]
    print_table(rows)
    if "--memory" in sys.argv:
        rss = resnet18_peak_rss_mib()
        print(f"ResNet-18 forward+backward, batch 8, 3x224x224: peak RSS {rss:.0f} MiB "
              f"(budget 4096 MiB)")
    return rows


if __name__ == "__main__":
    if "--rss-child" in sys.argv:
        _peak_rss_child()
    else:
        main()
