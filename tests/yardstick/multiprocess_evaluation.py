"""torch.multiprocessing as evaluation and data-loading scripts use it: a model trained in
the parent, its state_dict handed to ranks started with mp.spawn (the spawn start method:
fresh interpreters that re-import this script), each rank rebuilding the model, scoring
its shard under no_grad and reporting through a SimpleQueue; DataLoader worker processes
with a worker_init_fn and get_worker_info; errors in a rank surfacing as
ProcessRaisedException. Weights and data come from fixed NumPy values."""

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, get_worker_info


def make_model():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def make_data():
    x = torch.from_numpy(np.sin(np.arange(90 * 6) * 0.37).reshape(90, 6).astype(np.float32))
    y = torch.from_numpy((np.arange(90) * 7) % 3)
    return x, y


def evaluate_shard(rank, world_size, state_dict, queue):
    model = make_model()
    model.load_state_dict(state_dict)
    model.eval()
    x, y = make_data()
    shard = slice(rank, None, world_size)
    with torch.no_grad():
        logits = model(x[shard])
        loss = F.cross_entropy(logits, y[shard], reduction="sum").item()
        correct = (logits.argmax(1) == y[shard]).sum().item()
    queue.put((rank, len(y[shard]), round(loss, 4), correct))


def broken(rank):
    if rank == 1:
        raise RuntimeError("shard 1 is corrupt")


class Numbers(Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, index):
        info = get_worker_info()
        return torch.tensor([float(index)]), info.id if info is not None else -1


def seed_worker(worker_id):
    np.random.seed(1000 + worker_id)


if __name__ == "__main__":
    mp.set_start_method("spawn", force=True)
    print("start method:", mp.get_start_method(), "cpu_count > 0:", mp.cpu_count() > 0)
    model = make_model()
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.41 + i).reshape(tuple(p.shape)) * 0.4))
    x, y = make_data()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for step in range(60):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    print(f"trained: loss {loss.item():.4f}")

    world_size = 2
    queue = mp.get_context("spawn").SimpleQueue()
    mp.spawn(evaluate_shard, args=(world_size, model.state_dict(), queue), nprocs=world_size, join=True)
    results = sorted(queue.get() for _ in range(world_size))
    print("ranks:", results)
    total = sum(r[1] for r in results)
    with torch.no_grad():
        full = F.cross_entropy(model(x), y, reduction="sum").item()
    print(f"sharded loss {sum(r[2] for r in results) / total:.4f} == full {full / total:.4f}",
          "accuracy:", sum(r[3] for r in results) / total)

    try:
        mp.spawn(broken, nprocs=2)
    except mp.ProcessRaisedException as error:
        print("rank error:", str(error).strip().splitlines()[0], "|", str(error).strip().splitlines()[-1])

    loader = DataLoader(Numbers(), batch_size=4, num_workers=2, worker_init_fn=seed_worker,
                        multiprocessing_context="fork")
    batches = [(batch.view(-1).tolist(), workers.tolist()) for batch, workers in loader]
    print("loader:", batches)
