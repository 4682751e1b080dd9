"""torch.utils.data beyond TensorDataset, and training-loop patterns around the optimizer:
a map-style Dataset returning dicts (default_collate of dicts, NumPy arrays, numbers and
strings), a custom collate_fn padding variable-length sequences, SequentialSampler/
BatchSampler/batch_sampler=, drop_last, an IterableDataset, ConcatDataset and Subset;
then a learning-rate range test ("LR finder") with an exponential LambdaLR that restores
the model with copy.deepcopy(state_dict), the common schedulers (OneCycleLR,
CosineAnnealingLR, CosineAnnealingWarmRestarts, LinearLR warmup chained by SequentialLR,
MultiStepLR, ReduceLROnPlateau), gradient accumulation (and its equality with one big
batch), and gradient clipping. Weights and data come from fixed NumPy values."""

import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                              SequentialSampler, Subset, default_collate)


class PointsDataset(Dataset):
    def __init__(self, n):
        self.features = np.stack([np.sin(np.arange(n) * 0.3), np.cos(np.arange(n) * 0.7),
                                  np.linspace(-1, 1, n)], axis=1).astype(np.float32)
        self.targets = (self.features @ np.array([1.5, -2.0, 0.5], dtype=np.float32) > 0).astype(np.int64)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, idx):
        return {"x": torch.from_numpy(self.features[idx]), "y": int(self.targets[idx]),
                "weight": np.float32(1.0 + idx % 2), "id": f"point-{idx}"}


dataset = PointsDataset(64)
loader = DataLoader(dataset, batch_size=5, drop_last=True)
batch = next(iter(loader))
print(sorted(batch), batch["x"].shape, batch["x"].dtype, batch["y"], batch["weight"], batch["id"][:2])
print("batches with drop_last:", len(loader), len(DataLoader(dataset, batch_size=5)))
print(default_collate([(1, 2.5, np.arange(2)), (3, 4.5, np.arange(2))]))
print(default_collate([{"a": torch.ones(2), "b": [1, 2]}, {"a": torch.zeros(2), "b": [3, 4]}]))


class Sentences(Dataset):
    def __init__(self):
        self.items = [[3, 1, 4], [1, 5], [9, 2, 6, 5], [3], [5, 8, 9, 7, 9], [3, 2]]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return torch.tensor(self.items[i]), i % 2


def pad_collate(batch):
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=0)
    return padded, lengths, torch.tensor(labels)


sampler = BatchSampler(SequentialSampler(Sentences()), batch_size=4, drop_last=False)
print(list(sampler))
for padded, lengths, labels in DataLoader(Sentences(), batch_sampler=sampler, collate_fn=pad_collate):
    print(padded.tolist(), lengths.tolist(), labels.tolist())


class Countdown(IterableDataset):
    def __init__(self, start):
        self.start = start

    def __iter__(self):
        worker = torch.utils.data.get_worker_info()
        assert worker is None
        return iter(torch.arange(self.start, 0, -1, dtype=torch.float32).split(1))


print([b.tolist() for b in DataLoader(Countdown(7), batch_size=3)])
both = ConcatDataset([Subset(dataset, range(0, 10)), Subset(dataset, [60, 61])])
print(len(both), both[10]["id"], both.cumulative_sizes)

# A learning-rate range test.
X = torch.from_numpy(dataset.features)
Y = torch.from_numpy(dataset.targets)


def make_model():
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.91 + i).reshape(tuple(p.shape)) * 0.4))
    return model


model = make_model()
initial_state = copy.deepcopy(model.state_dict())
optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
start_lr, end_lr, num_iter = 1e-4, 10.0, 40
gamma = (end_lr / start_lr) ** (1 / num_iter)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: gamma ** step)
lrs, losses, best = [], [], math.inf
for iteration in range(num_iter):
    xb, yb = X[(iteration * 8) % 64:(iteration * 8) % 64 + 8], Y[(iteration * 8) % 64:(iteration * 8) % 64 + 8]
    loss = F.cross_entropy(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    lrs.append(scheduler.get_last_lr()[0])
    scheduler.step()
    smoothed = loss.item() if not losses else 0.7 * losses[-1] + 0.3 * loss.item()
    losses.append(smoothed)
    best = min(best, smoothed)
    if smoothed > 4 * best or not math.isfinite(smoothed):
        break
print(f"range test: {len(lrs)} steps, lr {lrs[0]:.2e} .. {lrs[-1]:.2e}, "
      f"steepest drop at lr {lrs[int(np.argmin(np.diff(losses)))]:.3e}")
model.load_state_dict(initial_state)
print("restored:", torch.equal(model[0].weight, initial_state["0.weight"]))


def trajectory(make_scheduler, steps, metric=None):
    params = [nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    sched = make_scheduler(opt)
    out = []
    for step in range(steps):
        opt.step()
        out.append(round(opt.param_groups[0]["lr"], 6))
        if metric is None:
            sched.step()
        else:
            sched.step(metric[step])
    return out


lr_sched = torch.optim.lr_scheduler
print("OneCycleLR", trajectory(lambda o: lr_sched.OneCycleLR(o, max_lr=0.5, total_steps=10), 10))
opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
one_cycle = lr_sched.OneCycleLR(opt, max_lr=0.5, total_steps=6, anneal_strategy="linear")
momenta = []
for _ in range(5):
    opt.step()
    one_cycle.step()
    momenta.append(round(opt.param_groups[0]["momentum"], 6))
print("OneCycleLR momentum:", momenta, one_cycle.state_dict()["total_steps"])
print("Cosine", trajectory(lambda o: lr_sched.CosineAnnealingLR(o, T_max=6, eta_min=0.01), 8))
print("WarmRestarts", trajectory(lambda o: lr_sched.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), 10))
print("warmup+cosine", trajectory(lambda o: lr_sched.SequentialLR(o, schedulers=[
    lr_sched.LinearLR(o, start_factor=0.1, total_iters=3), lr_sched.CosineAnnealingLR(o, T_max=5)],
    milestones=[3]), 9))
print("MultiStep", trajectory(lambda o: lr_sched.MultiStepLR(o, milestones=[2, 5], gamma=0.5), 7))
print("Plateau", trajectory(lambda o: lr_sched.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1),
                            8, metric=[1.0, 0.9, 0.95, 0.97, 0.96, 0.5, 0.6, 0.7]))

# Gradient accumulation: four micro-batches of 8 give the gradient of one batch of 32.
accumulation_steps = 4
model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
optimizer.zero_grad()
for i, (xb, yb) in enumerate(DataLoader(list(zip(X[:32], Y[:32])), batch_size=8)):
    loss = F.cross_entropy(model(xb), yb) / accumulation_steps
    loss.backward()
    if (i + 1) % accumulation_steps == 0:
        accumulated = [p.grad.clone() for p in model.parameters()]
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.05)
        optimizer.step()
        optimizer.zero_grad()
reference = make_model()
F.cross_entropy(reference(X[:32]), Y[:32]).backward()
print("accumulated == big batch:", all(torch.allclose(a, p.grad, atol=1e-6)
                                       for a, p in zip(accumulated, reference.parameters())))
print("clipped step:", [f"{v:.5f}" for v in (model[2].bias - reference[2].bias).tolist()])
model = make_model()
optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
for epoch in range(30):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), Y)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    if epoch % 10 == 0:
        print(f"epoch {epoch}: loss {loss.item():.5f} grad norm {norm.item():.5f}")
print("accuracy:", (model(X).argmax(1) == Y).float().mean().item())
