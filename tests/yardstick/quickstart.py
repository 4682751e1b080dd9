"""Quickstart: a Dataset and DataLoader over scikit-learn's digits, an nn.Module with a
Flatten/Linear/ReLU stack, train and test loops, and saving/loading the state_dict.

Weights start from fixed NumPy values and the loader does not shuffle, so the printed
numbers are the same under PyTorch and under `ember run`."""

import os
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Dataset


class DigitsDataset(Dataset):
    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = torch.tensor(self.images[idx], dtype=torch.float32) / 16.0
        return image.unsqueeze(0), int(self.labels[idx])


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        return self.linear_relu_stack(x)


def fixed_init(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.61 + i) / np.sqrt(p.shape[-1])
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 10 == 0:
            print(f"loss: {loss.item():>7f}  [{(batch + 1) * len(X):>5d}/{len(dataloader.dataset):>5d}]")


def test(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: Accuracy: {100 * correct:>0.1f}%, Avg loss: {test_loss:>8f}")
    return correct


digits = load_digits()
images = digits.images.astype(np.float32)
labels = digits.target
training_data = DigitsDataset(images[:640], labels[:640])
test_data = DigitsDataset(images[1500:], labels[1500:])

train_dataloader = DataLoader(training_data, batch_size=64)
test_dataloader = DataLoader(test_data, batch_size=64)
for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break

model = NeuralNetwork()
fixed_init(model)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
epochs = 2
for t in range(epochs):
    print(f"Epoch {t + 1}")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.pth")
    torch.save(model.state_dict(), path)
    print("Saved PyTorch Model State to model.pth")
    loaded = NeuralNetwork()
    loaded.load_state_dict(torch.load(path, weights_only=True))

loaded.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    pred = loaded(x.unsqueeze(0))
    print(f'Predicted: "{pred[0].argmax(0).item()}", Actual: "{y}"')
    print("same predictions after load:", torch.equal(pred, model(x.unsqueeze(0))))
print(sorted(loaded.state_dict().keys()))
