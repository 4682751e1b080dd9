"""pytorch/examples' mnist/main.py on a small synthetic digit set: argparse with the
example's options, torch.accelerator device choice, a Net of Conv2d/Dropout/max_pool2d/
log_softmax, Adadelta with StepLR(step_size=1, gamma), train() with log-interval printing
and --dry-run, test() summing F.nll_loss(reduction='sum') and counting
pred.eq(target.view_as(pred)), and --save-model.

Dropout draws random masks, so training losses are printed only as 'finite'; the
printed numbers come from test() (eval mode, no dropout) on fixed starting weights, the
learning-rate schedule, and the saved state_dict's keys."""

import argparse
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss finite: {}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), bool(torch.isfinite(loss))))
            if args.dry_run:
                break


def test(model, device, test_loader, verbose=True):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    if verbose:
        print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
    return test_loss


def digits(count, offset):
    """14x14 images: digit k is a bright bar at row k plus a faint column at k."""
    images = np.zeros((count, 1, 14, 14), dtype=np.float32)
    labels = (np.arange(count) + offset) % 10
    for i, k in enumerate(labels):
        images[i, 0, k + 2, 2:12] = 1.0
        images[i, 0, 2:12, k + 2] += 0.5
    images += 0.1 * np.sin(np.arange(images.size) * 0.37).reshape(images.shape).astype(np.float32)
    return torch.from_numpy((images - 0.1307) / 0.3081), torch.from_numpy(labels)


def main():
    # Training settings
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N",
                        help="input batch size for training (default: 32)")
    parser.add_argument("--test-batch-size", type=int, default=100, metavar="N",
                        help="input batch size for testing (default: 100)")
    parser.add_argument("--epochs", type=int, default=3, metavar="N",
                        help="number of epochs to train (default: 3)")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR",
                        help="learning rate (default: 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M",
                        help="Learning rate step gamma (default: 0.7)")
    parser.add_argument("--no-accel", action="store_true",
                        help="disables accelerator")
    parser.add_argument("--dry-run", action="store_true",
                        help="quickly check a single pass")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default: 1)")
    parser.add_argument("--log-interval", type=int, default=4, metavar="N",
                        help="how many batches to wait before logging training status")
    parser.add_argument("--save-model", action="store_true", default=True,
                        help="For Saving the current Model")
    args = parser.parse_args()

    use_accel = not args.no_accel and torch.accelerator.is_available()

    torch.manual_seed(args.seed)

    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_accel:
        accel_kwargs = {"num_workers": 1, "persistent_workers": True,
                        "pin_memory": True, "shuffle": True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)

    dataset1 = TensorDataset(*digits(160, 0))
    dataset2 = TensorDataset(*digits(100, 3))
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.61 + i).reshape(tuple(p.shape)) * 0.1))
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    first = test(model, device, test_loader)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test_loss = test(model, device, test_loader, verbose=False)
        print("test loss finite:", np.isfinite(test_loss))
        scheduler.step()
        print("lr:", [f"{lr:.4f}" for lr in scheduler.get_last_lr()])
    with torch.no_grad():
        output = model(dataset2.tensors[0].to(device))
        target = dataset2.tensors[1].to(device)
        accuracy = (output.argmax(1) == target).float().mean().item()
        final = F.nll_loss(output, target).item()
    print("test loss fell:", final < first, "accuracy above chance:", accuracy > 0.2)

    if args.save_model:
        path = os.path.join(tempfile.mkdtemp(), "mnist_cnn.pt")
        torch.save(model.state_dict(), path)
        print("saved:", list(torch.load(path, weights_only=True)))


if __name__ == "__main__":
    main()
