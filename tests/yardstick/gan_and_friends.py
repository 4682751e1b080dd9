"""Pieces of the intermediate tutorials: a DCGAN generator/discriminator step
(ConvTranspose2d, BatchNorm2d, LeakyReLU, BCELoss, Adam with betas, a weights_init
applied with Module.apply), a spatial-transformer warp (affine_grid, grid_sample), n-gram
word embeddings (Embedding, log_softmax, NLLLoss, topk), and a GRU encoder with an
attention step (bmm, softmax, cat). Weights come from fixed NumPy values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed(module, scale=0.3):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.7 + i) * scale
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape)).astype(np.float32)))
    return module


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


nz, ngf, ndf = 8, 16, 8
netG = nn.Sequential(
    nn.ConvTranspose2d(nz, ngf, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
    nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())
netD = nn.Sequential(
    nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(ndf, 1, 4, 1, 0, bias=False), nn.Sigmoid())
netG.apply(weights_init)
fixed(netG)
fixed(netD)
print(netG)

criterion = nn.BCELoss()
noise = torch.from_numpy(np.linspace(-1, 1, 4 * nz, dtype=np.float32).reshape(4, nz, 1, 1))
real = torch.from_numpy(np.cos(np.arange(4 * 3 * 8 * 8) * 0.1).reshape(4, 3, 8, 8).astype(np.float32))
real_label, fake_label = 1.0, 0.0
optimizerD = torch.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
for step in range(3):
    netD.zero_grad()
    label = torch.full((4,), real_label, dtype=torch.float)
    errD_real = criterion(netD(real).view(-1), label)
    errD_real.backward()
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    optimizerD.step()
    netG.zero_grad()
    label.fill_(real_label)
    output = netD(fake).view(-1)
    errG = criterion(output, label)
    errG.backward()
    optimizerG.step()
    print(f"[{step}] Loss_D: {(errD_real + errD_fake).item():.5f} Loss_G: {errG.item():.5f} "
          f"D(G(z)): {output.mean().item():.5f}")
print("fake:", tuple(fake.shape), fake.dtype)
print("running_var:", [f"{v:.5f}" for v in netG[1].running_var[:4].tolist()])

theta = torch.tensor([[[0.8, 0.1, 0.05], [-0.1, 0.9, 0.0]]])
grid = F.affine_grid(theta, (1, 3, 8, 8), align_corners=False)
image = torch.from_numpy(np.cos(np.arange(192)).reshape(1, 3, 8, 8).astype(np.float32))
warped = F.grid_sample(image, grid, align_corners=False)
print("warp:", tuple(grid.shape), f"{warped.sum().item():.5f}")

embeddings = fixed(nn.Embedding(10, 4))
linear = fixed(nn.Linear(8, 10))
context = torch.tensor([[1, 2], [3, 4]])
log_probs = F.log_softmax(linear(embeddings(context).view((2, -1))), dim=1)
loss = nn.NLLLoss()(log_probs, torch.tensor([5, 6]))
loss.backward()
print(f"ngram loss: {loss.item():.5f}", log_probs.topk(2)[1].tolist())
print(f"embedding grad: {embeddings.weight.grad.abs().sum().item():.5f}")

gru = fixed(nn.GRU(4, 4, batch_first=True))
outputs, hidden = gru(embeddings(context))
attn_weights = F.softmax(fixed(nn.Linear(8, 2))(torch.cat((embeddings(context)[:, 0], hidden[0]), 1)), dim=1)
attn_applied = torch.bmm(attn_weights.unsqueeze(1), outputs)
print("attention:", tuple(attn_applied.shape), f"{attn_applied.sum().item():.5f}")
