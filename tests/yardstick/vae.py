"""pytorch/examples' vae/main.py on a small synthetic image set: argparse options, a
device chosen via torch.accelerator, encode/reparameterize/decode with torch.randn_like,
F.binary_cross_entropy(reduction='sum') plus the KL term, Adam, a train loop with
log-interval printing and a test loop under no_grad, sampling from the prior.

Sampling draws from the generator and the two libraries' streams differ, so the printed
numbers come from the deterministic path (decoding the mean, fixed weights) and the
trained run prints only what does not depend on the draws (shapes, ranges, whether the
loss fell)."""

import argparse

import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser(description="VAE MNIST Example")
parser.add_argument("--batch-size", type=int, default=32, metavar="N",
                    help="input batch size for training (default: 32)")
parser.add_argument("--epochs", type=int, default=4, metavar="N",
                    help="number of epochs to train (default: 4)")
parser.add_argument("--accel", action="store_true", default=False,
                    help="use accelerator")
parser.add_argument("--seed", type=int, default=1, metavar="S",
                    help="random seed (default: 1)")
parser.add_argument("--log-interval", type=int, default=4, metavar="N",
                    help="how many batches to wait before logging training status")
args = parser.parse_args()

torch.manual_seed(args.seed)

if args.accel and torch.accelerator.is_available():
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")
print(f"Using device: {device}")

kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
# 28x28 "digits": smooth blobs in [0, 1], like MNIST's ToTensor() output
grid = np.linspace(-1, 1, 28)
images = []
for k in range(192):
    cx, cy, width = np.sin(k * 0.7) * 0.5, np.cos(k * 1.1) * 0.5, 0.2 + 0.1 * (k % 3)
    blob = np.exp(-((grid[None, :] - cx) ** 2 + (grid[:, None] - cy) ** 2) / width)
    images.append(blob)
data = torch.tensor(np.stack(images)[:, None], dtype=torch.float32)
targets = torch.arange(192) % 10
train_loader = DataLoader(TensorDataset(data[:160], targets[:160]),
                          batch_size=args.batch_size, shuffle=True, **kwargs)
test_loader = DataLoader(TensorDataset(data[160:], targets[160:]),
                         batch_size=args.batch_size, shuffle=False, **kwargs)


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc21 = nn.Linear(64, 8)
        self.fc22 = nn.Linear(64, 8)
        self.fc3 = nn.Linear(8, 64)
        self.fc4 = nn.Linear(64, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


model = VAE().to(device)
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.9 + i).reshape(tuple(p.shape)) * 0.05))
optimizer = optim.Adam(model.parameters(), lr=5e-3)


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes.
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


with torch.no_grad():
    x = data[:8].to(device)
    mu, logvar = model.encode(x.view(-1, 784))
    recon = model.decode(mu)
    print("deterministic loss:", f"{loss_function(recon, x, mu, logvar).item():.3f}",
          tuple(mu.shape), tuple(recon.shape))

history = []


def train(epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader)))
    average = train_loss / len(train_loader.dataset)
    history.append(average)
    print("====> Epoch: {} Average loss finite: {}".format(epoch, np.isfinite(average)))


def test(epoch):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(test_loader):
            data = data.to(device)
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
            if i == 0:
                n = min(data.size(0), 8)
                comparison = torch.cat([data[:n],
                                        recon_batch.view(args.batch_size, 1, 28, 28)[:n]])
                print("comparison:", tuple(comparison.shape), comparison.min().item() >= 0,
                      comparison.max().item() <= 1)
    test_loss /= len(test_loader.dataset)
    return test_loss


if __name__ == "__main__":
    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test(epoch)
        with torch.no_grad():
            sample = torch.randn(64, 8).to(device)
            sample = model.decode(sample).cpu()
            print("sample:", tuple(sample.view(64, 1, 28, 28).shape), sample.dtype)
    print("loss fell:", history[-1] < history[0] * 0.8)
