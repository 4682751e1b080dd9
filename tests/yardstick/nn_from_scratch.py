"""From raw tensors to torch.nn, step by step: a hand-written log-softmax and negative
log-likelihood with advanced indexing (``input[range(n), target]``), a manual SGD loop
under no_grad, then the same model refactored into nn.Parameter/nn.Module,
F.cross_entropy, TensorDataset/DataLoader, optim.SGD, and an nn.Sequential with a custom
Lambda layer. Data and weights come from fixed NumPy values."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

x_train = torch.from_numpy(np.linspace(0, 1, 120 * 8, dtype=np.float32).reshape(120, 8))
y_train = torch.tensor([i % 3 for i in range(120)])
x_valid, y_valid = x_train[::4].clone(), y_train[::4].clone()
n, c = x_train.shape
print(x_train.shape, y_train.min(), y_train.max(), n, c)

weights = torch.from_numpy(np.cos(np.arange(24)).reshape(8, 3).astype(np.float32)) / math.sqrt(8)
weights.requires_grad_()
bias = torch.zeros(3, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    return (torch.argmax(out, dim=1) == yb).float().mean()


bs = 32
preds = model(x_train[0:bs])
print(preds[0], preds.shape)
loss_func = nll
print(loss_func(preds, y_train[0:bs]), accuracy(preds, y_train[0:bs]))

lr, epochs = 0.5, 2
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        xb, yb = x_train[start_i:start_i + bs], y_train[start_i:start_i + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(loss_func(model(x_train), y_train), accuracy(model(x_train), y_train))

print(F.cross_entropy(x_train[:bs] @ weights + bias, y_train[:bs]))


class LogisticModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(
            torch.from_numpy(np.cos(np.arange(24)).reshape(8, 3).astype(np.float32)) / math.sqrt(8))
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, xb):
        return xb @ self.weights + self.bias


def get_data(train_ds, valid_ds, bs):
    return DataLoader(train_ds, batch_size=bs), DataLoader(valid_ds, batch_size=bs * 2)


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, f"{val_loss:.6f}")


train_dl, valid_dl = get_data(TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid), bs)
model = LogisticModel()
print([name for name, _ in model.named_parameters()])
opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
fit(3, model, F.cross_entropy, opt, train_dl, valid_dl)


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


cnn = nn.Sequential(
    Lambda(lambda x: x.view(-1, 1, 2, 4)),
    nn.Conv2d(1, 4, kernel_size=2, stride=1, padding=1),
    nn.ReLU(),
    nn.Conv2d(4, 3, kernel_size=2, stride=1, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
with torch.no_grad():
    for i, p in enumerate(cnn.parameters()):
        values = np.sin(np.arange(p.numel()) * 0.59 + i) * 0.5
        p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
print(cnn)
opt = optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
fit(2, cnn, F.cross_entropy, opt, train_dl, valid_dl)
