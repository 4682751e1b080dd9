"""Data-parallel training on several processes: DistributedDataParallel + DistributedSampler.

Run:  ember run --nproc-per-node 2 examples/ddp_mnist_like.py
 or:  python -m ember.distributed.run --nproc-per-node 2 examples/ddp_mnist_like.py
      (the ``distributed`` extra: mpi4py and an MPI such as Open MPI)

Each process trains the same model on its own half of every epoch's shuffled data. After
``backward()`` DDP has averaged the gradients over the processes, so every optimizer step
is the step one process would take on the whole batch, and the replicas stay identical.
The same script runs on PyTorch with ``torchrun --nproc-per-node 2``.
"""

import ember as torch  # in PyTorch: import torch
import ember.distributed as dist  # in PyTorch: import torch.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset
from ember.vision.datasets import Digits  # 8x8 handwritten digits, no download

dist.init_process_group("gloo")  # rank and world size come from the launcher
rank, world_size = dist.get_rank(), dist.get_world_size()


def as_tensors(split):
    """Digits as float images in [0, 1] (N, 64) and int64 labels."""
    return split.data.reshape(len(split.targets), -1).float() / 255.0, split.targets


train_images, train_labels = as_tensors(Digits(train=True))
test_images, test_labels = as_tensors(Digits(train=False))
train_set = TensorDataset(train_images, train_labels)
sampler = DistributedSampler(train_set, shuffle=True, seed=0)  # this rank's share
loader = DataLoader(train_set, batch_size=32, sampler=sampler)

torch.manual_seed(rank)  # different on purpose: DDP starts every rank from rank 0's weights
model = DDP(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(1, 6):
    sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    model.train()
    loss_sum = torch.zeros(())
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()  # gradients averaged over the ranks here
        optimizer.step()
        loss_sum += loss.detach()
    dist.all_reduce(loss_sum, op=dist.ReduceOp.AVG)  # the mean over the ranks, for the log
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_images).argmax(dim=1) == test_labels).float().mean().item()
    if rank == 0:
        print(f"epoch {epoch}  mean loss per batch {loss_sum.item() / len(loader):.4f}  "
              f"test accuracy {accuracy:.2%}  ({world_size} processes)", flush=True)

if rank == 0:  # the replicas are identical: one checkpoint, without DDP's "module." prefix
    torch.save(model.module.state_dict(), "ddp_digits.pt")
dist.destroy_process_group()
