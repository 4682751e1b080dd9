"""pytorch/examples mnist_forward_forward: Hinton's Forward-Forward algorithm. Each layer
is an nn.Linear subclass with its own Adam that trains *locally*: the "goodness" (mean
squared activation) of positive data (an image with its true label written into the first
10 pixels) is pushed above a threshold and that of negative data (a wrong label) below
it, with softplus written as log(1 + exp(.)). No gradient crosses layers: each layer
hands detached, direction-normalised activations to the next. Prediction overlays every
label and picks the one with the highest summed goodness. The data are MNIST-sized
stand-ins (class prototypes plus fixed noise); negative labels are a fixed derangement
instead of randperm's draws, so both libraries see the same stream."""

import numpy as np
import torch
import torch.nn as nn
from torch.optim import Adam


def overlay_y_on_x(x, y):
    """Replace the first 10 pixels of data [x] with one-hot-encoded label [y]"""
    x_ = x.clone()
    x_[:, :10] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class Net(torch.nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.layers = []
        for d in range(len(dims) - 1):
            self.layers += [Layer(dims[d], dims[d + 1], seed=d)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness += [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        goodness_per_label = torch.cat(goodness_per_label, 1)
        return goodness_per_label.argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            print('training layer', i, '...')
            h_pos, h_neg = layer.train(h_pos, h_neg)


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None, seed=0):
        super().__init__(in_features, out_features, bias, device, dtype)
        with torch.no_grad():
            rows = np.cos(np.arange(out_features * in_features) * (0.71 + seed)).reshape(
                out_features, in_features)
            self.weight.copy_(torch.from_numpy(rows / np.sqrt(in_features)))
            self.bias.fill_(0.01)
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=0.03)
        self.threshold = 2.0
        self.num_epochs = 150

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(
            torch.mm(x_direction, self.weight.T) +
            self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            # The following loss pushes pos (neg) samples to
            # values larger (smaller) than the self.threshold.
            loss = torch.log(1 + torch.exp(torch.cat([
                -g_pos + self.threshold,
                g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            # this backward just compute the derivative and hence
            # is not considered backpropagation.
            loss.backward()
            self.opt.step()
            if i % 50 == 0:
                print(f'  epoch {i} loss {loss.item():.5f} '
                      f'goodness pos {g_pos.mean().item():.4f} neg {g_neg.mean().item():.4f}')
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


def mnist_like(n, features, offset):
    """Ten class prototypes in [0, 1] plus fixed noise, flattened like MNIST images."""
    prototypes = (np.sin(np.outer(np.arange(1, 11), np.arange(features)) * 0.37) > 0.2) * 0.8
    labels = (np.arange(n) * 7 + offset) % 10
    noise = np.cos(np.outer(np.arange(n) + offset * 13, np.arange(features)) * 0.913) * 0.25
    x = np.clip(prototypes[labels] + noise, 0, 1)
    normalised = (x - 0.1307) / 0.3081
    return torch.tensor(normalised, dtype=torch.float32), torch.tensor(labels)


x, y = mnist_like(200, 32, 0)
x_te, y_te = mnist_like(100, 32, 3)
print("train:", tuple(x.shape), x.dtype, y.dtype, "labels seen:", torch.bincount(y).tolist())
net = Net([32, 100, 100])
print("layers are submodules:", len(list(net.children())), "parameters:",
      sum(p.numel() for layer in net.layers for p in layer.parameters()))
x_pos = overlay_y_on_x(x, y)
y_neg = (y + 1 + torch.arange(len(y)) % 9) % 10
print("negative labels never true:", bool((y_neg != y).all()))
x_neg = overlay_y_on_x(x, y_neg)
print("overlay keeps the image:", torch.equal(x_pos[:, 10:], x[:, 10:]),
      "one-hot max:", round(x_pos[0, :10].max().item(), 4),
      x_pos[0, :10].argmax().item() == y[0].item())

net.train(x_pos, x_neg)
train_error = 1.0 - net.predict(x).eq(y).float().mean().item()
test_error = 1.0 - net.predict(x_te).eq(y_te).float().mean().item()
print(f'train error: {train_error:.4f}')
print(f'test error: {test_error:.4f}')
print("better than chance:", train_error < 0.5 and test_error < 0.5)
with torch.no_grad():
    h = net.layers[0](x_pos[:4])
print("layer 0 goodness:", [round(v, 4) for v in h.pow(2).mean(1).tolist()])
print("each layer has its own gradients:", net.layers[1].weight.grad is not None,
      net.layers[0].weight.grad.abs().sum().item() > 0)
