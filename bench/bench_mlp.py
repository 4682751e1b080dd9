"""MLP benchmarks (issue 3): a training step and inference, same code on ember and torch.

    python bench/bench_mlp.py

Rows: MLP 784-512-256-10, training step (batch 128, cross_entropy, SGD momentum 0.9) and
inference (batch 256 under no_grad). Only ``lib.nn`` / ``lib.optim`` APIs are used.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import compare, print_table  # noqa: E402


RNG = np.random.default_rng(0)
TRAIN_X = RNG.standard_normal((128, 784)).astype(np.float32)
TRAIN_Y = RNG.integers(0, 10, 128).astype(np.int64)
INFER_X = RNG.standard_normal((256, 784)).astype(np.float32)


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def mlp_train_step(lib, device="cpu"):
    """Forward, cross_entropy, backward and an SGD (momentum) update."""
    model = _mlp(lib).to(device)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = lib.tensor(TRAIN_X, device=device)
    y = lib.tensor(TRAIN_Y, device=device)

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def mlp_inference(lib, device="cpu"):
    """Forward only, no graph."""
    model = _mlp(lib).to(device)
    model.eval()
    x = lib.tensor(INFER_X, device=device)

    def step():
        with lib.no_grad():
            model(x)

    return step


def main():
    rows = [
        compare("MLP 784-512-256-10 train step, batch 128", mlp_train_step, repeat=30,
                warmup=15),
        compare("MLP 784-512-256-10 inference, batch 256", mlp_inference, repeat=30,
                warmup=15),
    ]
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
