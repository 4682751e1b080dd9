"""pytorch/examples' mnist_hogwild (main.py + train.py) on a small synthetic digit set:
argparse, mp.set_start_method('spawn'), model.share_memory() ("gradients are allocated
lazily, so they are not shared here"), num_processes mp.Process workers each running
train() with its own DataLoader, SGD with momentum and a per-rank seed, then test_epoch
in the parent on the parameters the children updated.

Hogwild updates race by design, so the script prints only what does not depend on the
interleaving: that the workers finished, that the parent's shared parameters moved, and
that the test loss fell below the untrained model's."""

import argparse
import os

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import TensorDataset
from torch.utils.data.sampler import Sampler  # noqa: F401 - the example's import list

parser = argparse.ArgumentParser(description="PyTorch MNIST Hogwild Example")
parser.add_argument("--batch-size", type=int, default=32, metavar="N")
parser.add_argument("--test-batch-size", type=int, default=100, metavar="N")
parser.add_argument("--epochs", type=int, default=4, metavar="N")
parser.add_argument("--lr", type=float, default=0.1, metavar="LR")
parser.add_argument("--momentum", type=float, default=0.5, metavar="M")
parser.add_argument("--seed", type=int, default=1, metavar="S")
parser.add_argument("--log-interval", type=int, default=0, metavar="N",
                    help="batches between status lines (0: quiet; children print unordered)")
parser.add_argument("--num-processes", type=int, default=2, metavar="N")
parser.add_argument("--accel", action="store_true", default=False)
parser.add_argument("--dry-run", action="store_true", default=False)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=3)
        self.conv2 = nn.Conv2d(6, 12, kernel_size=3)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(12 * 2 * 2, 24)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 12 * 2 * 2)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def digits(count, offset):
    images = np.zeros((count, 1, 14, 14), dtype=np.float32)
    labels = (np.arange(count) + offset) % 10
    for i, k in enumerate(labels):
        images[i, 0, k + 2, 2:12] = 1.0
        images[i, 0, 2:12, 11 - k] += 0.7
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


# train.py
def train(rank, args, model, device, dataset, dataloader_kwargs):
    torch.manual_seed(args.seed + rank)

    train_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)

    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    for epoch in range(1, args.epochs + 1):
        train_epoch(epoch, args, model, device, train_loader, optimizer)


def train_epoch(epoch, args, model, device, data_loader, optimizer):
    model.train()
    pid = os.getpid()
    for batch_idx, (data, target) in enumerate(data_loader):
        optimizer.zero_grad()
        output = model(data.to(device))
        loss = F.nll_loss(output, target.to(device))
        loss.backward()
        optimizer.step()
        if args.log_interval and batch_idx % args.log_interval == 0:
            print("{}\tTrain Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                pid, epoch, batch_idx * len(data), len(data_loader.dataset),
                100. * batch_idx / len(data_loader), loss.item()))
            if args.dry_run:
                break


def test_epoch(model, device, data_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in data_loader:
            output = model(data.to(device))
            test_loss += F.nll_loss(output, target.to(device), reduction="sum").item()
            pred = output.max(1)[1]
            correct += pred.eq(target.to(device)).sum().item()
    test_loss /= len(data_loader.dataset)
    return test_loss, correct / len(data_loader.dataset)


if __name__ == "__main__":
    args = parser.parse_args()

    use_accel = args.accel and torch.accelerator.is_available()
    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    dataset1 = digits(320, 0)
    dataset2 = digits(100, 5)
    kwargs = {"batch_size": args.batch_size, "shuffle": True}

    torch.manual_seed(args.seed)
    mp.set_start_method("spawn", force=True)

    model = Net().to(device)
    model.share_memory()  # gradients are allocated lazily, so they are not shared here
    print("parameters shared:", all(p.is_shared() for p in model.parameters()))
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=args.test_batch_size)
    untrained_loss, _ = test_epoch(model, device, test_loader)
    before = model.fc2.bias.clone()

    processes = []
    for rank in range(args.num_processes):
        p = mp.Process(target=train, args=(rank, args, model, device, dataset1, kwargs))
        # We first train the model across `num_processes` processes
        p.start()
        processes.append(p)
    for p in processes:
        p.join()
    print("workers finished:", [p.exitcode for p in processes])
    print("shared parameters moved:", not torch.equal(before, model.fc2.bias))

    # Once training is complete, we can test the model
    test_loss, accuracy = test_epoch(model, device, test_loader)
    print("test loss fell:", test_loss < untrained_loss, "accuracy above chance:", accuracy > 0.2)
