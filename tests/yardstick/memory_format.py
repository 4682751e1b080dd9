"""The "Channels Last Memory Format" tutorial: NCHW tensors and modules converted with
memory_format=torch.channels_last, stride() and is_contiguous(memory_format=...) checks,
which ops keep the format (conv, relu, batch norm, pointwise, clone, empty_like), permute
tricks for NHWC data, torch.channels_last_3d, and a small model converted with
model.to(memory_format=...) giving the same outputs and gradients as the NCHW one."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

N, C, H, W = 10, 3, 32, 32
x = torch.empty(N, C, H, W)
print(x.stride())
x = x.to(memory_format=torch.channels_last)
print(x.shape)
print(x.stride())
x = x.to(memory_format=torch.contiguous_format)
print(x.stride())
x = x.contiguous(memory_format=torch.channels_last)
print(x.stride())
x = torch.empty(N, C, H, W, memory_format=torch.channels_last)
print(x.stride())
x = torch.empty(N, H, W, C)
x = x.permute(0, 3, 1, 2)
print(x.shape)
print(x.stride())
print(x.is_contiguous(memory_format=torch.channels_last), x.is_contiguous())
special_x = torch.empty(4, 1, 4, 4)
print(special_x.is_contiguous(memory_format=torch.channels_last))
print(special_x.is_contiguous(memory_format=torch.contiguous_format))

rng = np.random.default_rng(8)
data = torch.from_numpy(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
x = data.to(memory_format=torch.channels_last)
print("same values:", torch.equal(x, data), x.data_ptr() != data.data_ptr())
print("clone keeps:", x.clone().is_contiguous(memory_format=torch.channels_last))
print("empty_like keeps:", torch.empty_like(x).is_contiguous(memory_format=torch.channels_last))
print("pointwise keeps:", (x * 2 + 1).is_contiguous(memory_format=torch.channels_last),
      x.relu().is_contiguous(memory_format=torch.channels_last))
print("contiguous():", x.contiguous().stride(), x.contiguous().is_contiguous())

conv = nn.Conv2d(3, 4, 3, padding=1)
with torch.no_grad():
    conv.weight.copy_(torch.from_numpy(rng.standard_normal((4, 3, 3, 3)).astype(np.float32)))
    conv.bias.copy_(torch.linspace(-0.5, 0.5, 4))
ref = conv(data)
conv_cl = conv.to(memory_format=torch.channels_last)
print("weight channels last:", conv_cl.weight.is_contiguous(memory_format=torch.channels_last),
      conv_cl.weight.stride())
out = conv_cl(x)
print("conv out:", out.shape, torch.allclose(out, ref, atol=1e-5),
      f"{out.abs().sum().item():.4f}")
print(torch.empty(2, 3, 4, 5, 6).to(memory_format=torch.channels_last_3d).stride())


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 2 * 2, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.conv1(x)))
        x = F.max_pool2d(self.conv2(x), 1)
        return self.fc(torch.flatten(x, 1))


def build():
    model = Small()
    rng_model = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng_model.standard_normal(tuple(p.shape))
                                     .astype(np.float32)) * 0.3)
    return model


plain = build()
loss = plain(data).pow(2).mean()
loss.backward()
model = build().to(memory_format=torch.channels_last)
loss_cl = model(x).pow(2).mean()
loss_cl.backward()
print(f"losses: {loss.item():.5f} {loss_cl.item():.5f}")
print("grads agree:", all(torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4)
                          for a, b in zip(plain.parameters(), model.parameters())))
print("conv1 weight grad shape:", tuple(model.conv1.weight.grad.shape))
try:
    torch.empty(2, 3, 4).to(memory_format=torch.channels_last)
except RuntimeError as error:
    print("RuntimeError:", str(error).splitlines()[0])
