"""10 - Watching training in TensorBoard.

Run:  python examples/10_tensorboard.py      then: tensorboard --logdir runs

SummaryWriter (as torch.utils.tensorboard's; needs the tensorboard extra) writes event
files that TensorBoard reads: a scalar per step for the loss, a histogram of the weights
per epoch, the model's graph, and the hyperparameters with the final result. This example
writes to a temporary folder and reads the log back to show what is in it.
"""

import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn
from ember.utils.tensorboard import SummaryWriter  # in PyTorch: torch.utils.tensorboard

torch.manual_seed(0)
inputs = torch.randn(256, 8)
targets = (inputs[:, :2].sum(dim=1) > 0).long()  # a simple rule to learn
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

log_dir = tempfile.mkdtemp() + "/runs/first_experiment"
with SummaryWriter(log_dir) as writer:
    writer.add_graph(model, inputs[:4])
    step = 0
    for epoch in range(5):
        for batch in range(0, 256, 32):
            loss = nn.functional.cross_entropy(model(inputs[batch:batch + 32]),
                                               targets[batch:batch + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            writer.add_scalar("loss/train", loss.item(), step)
            step += 1
        writer.add_histogram("first layer weights", model[0].weight, epoch)
    accuracy = (model(inputs).argmax(dim=1) == targets).float().mean().item()
    writer.add_hparams({"lr": 0.5, "hidden": 16}, {"hparam/accuracy": accuracy},
                       run_name="hparams")

events = EventAccumulator(log_dir)
events.Reload()
losses = events.Scalars("loss/train")
print(f"{len(losses)} loss points, first {losses[0].value:.3f}, last {losses[-1].value:.3f}")
print("histograms:", events.Tags()["histograms"], "graph:", events.Tags()["graph"])
print(f"training accuracy {accuracy:.2f}")
assert losses[-1].value < losses[0].value and np.isfinite(accuracy)
