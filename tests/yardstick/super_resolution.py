"""pytorch/examples super_resolution (ESPCN, "sub-pixel convolution"): an RGB image goes to
YCbCr, the Y channel is shrunk by the upscale factor (area and antialiased bicubic
interpolation), a small conv net predicts upscale_factor**2 channels that PixelShuffle
rearranges into the full-resolution image, trained with MSE and Adam and judged by PSNR
against the bicubic baseline. Also: orthogonal_ init with calculate_gain, ICNR init (a
sub-pixel conv that starts as nearest-neighbour upsampling), a residual variant over the
bicubic upsample, PixelUnshuffle as its
inverse, and the super-resolved Y merged back with the upsampled chroma. Weights come
from fixed values; the orthogonal init is checked by its property, not its draws."""

import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init


def fixed_(module, scale=0.2):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.37 + i) * scale / math.sqrt(p[0].numel())
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super(Net, self).__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

    def initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        return self.pixel_shuffle(self.conv4(x))


class ResidualNet(Net):
    """ESPCN predicting the detail the bicubic upsample misses (VDSR-style residual)."""

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.pixel_shuffle.upscale_factor, mode="bicubic",
                             align_corners=False)
        return base + super().forward(x)


def rgb_to_ycbcr(img):
    r, g, b = img.unbind(-3)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = (b - y) * 0.564 + 0.5
    cr = (r - y) * 0.713 + 0.5
    return torch.stack([y, cb, cr], -3)


def ycbcr_to_rgb(img):
    y, cb, cr = img.unbind(-3)
    r = y + 1.403 * (cr - 0.5)
    g = y - 0.714 * (cr - 0.5) - 0.344 * (cb - 0.5)
    b = y + 1.773 * (cb - 0.5)
    return torch.stack([r, g, b], -3)


def psnr(prediction, target):
    mse = F.mse_loss(prediction, target)
    return 10 * math.log10(1 / mse.item())


def icnr_(weight, upscale_factor, initializer):
    """ICNR: each group of upscale_factor**2 output channels shares one kernel, so the
    freshly initialised sub-pixel conv is a nearest-neighbour upsampler (no checkerboard)."""
    out_channels, in_channels, kh, kw = weight.shape
    sub = torch.empty(out_channels // upscale_factor ** 2, in_channels, kh, kw)
    initializer(sub)
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(upscale_factor ** 2, dim=0))
    return weight


upscale_factor = 3
n, size = 6, 24
yy, xx = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
images = np.stack([np.stack([0.5 + 0.4 * np.sin((k + 2) * xx * 3 + c + k * yy * 2)
                             * np.cos((c + 1) * yy * 2.5) for c in range(3)])
                   for k in range(n)]).astype(np.float32)
rgb = torch.from_numpy(images)
ycbcr = rgb_to_ycbcr(rgb)
print("ycbcr round trip:", torch.allclose(ycbcr_to_rgb(ycbcr), rgb, atol=2e-3), tuple(ycbcr.shape))
target = ycbcr[:, :1]
low_area = F.interpolate(target, scale_factor=1 / upscale_factor, mode="area")
low = F.interpolate(target, size=(size // upscale_factor,) * 2, mode="bicubic", align_corners=False,
                    antialias=True)
print("low-res:", tuple(low.shape), tuple(low_area.shape),
      f"{low.mean().item():.5f} {low_area.mean().item():.5f}",
      f"{(low - low_area).abs().max().item():.5f}")
bicubic = F.interpolate(low, scale_factor=upscale_factor, mode="bicubic",
                        align_corners=False).clamp(0, 1)
bilinear = F.interpolate(low, scale_factor=upscale_factor, mode="bilinear", align_corners=False)
nearest = nn.Upsample(scale_factor=upscale_factor, mode="nearest")(low)
print(f"baseline PSNR: bicubic {psnr(bicubic, target):.4f} bilinear {psnr(bilinear, target):.4f} "
      f"nearest {psnr(nearest, target):.4f}")

model = Net(upscale_factor)
torch.manual_seed(0)
model.initialize_weights()
w = model.conv2.weight.flatten(1)
gram = torch.eye(16) * init.calculate_gain('relu') ** 2
print("orthogonal rows:", torch.allclose(w @ w.t(), gram, atol=1e-5),
      f"gain {init.calculate_gain('relu'):.5f} {init.calculate_gain('leaky_relu', 0.2):.5f}")
icnr_(model.conv4.weight, upscale_factor, lambda t: init.kaiming_normal_(t, nonlinearity="relu"))
with torch.no_grad():
    model.conv4.bias.zero_()
    probe = model.pixel_shuffle(model.conv4(torch.rand(1, 8, 4, 4)))
blocks = F.pixel_unshuffle(probe, upscale_factor)
print("ICNR gives nearest-neighbour blocks:",
      torch.allclose(blocks, blocks[:, :1].expand_as(blocks)))

model = fixed_(ResidualNet(upscale_factor), scale=0.05)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.002)
for epoch in range(1, 16):
    for start in range(0, n, 3):
        optimizer.zero_grad()
        loss = F.mse_loss(model(low[start:start + 3]), target[start:start + 3])
        loss.backward()
        optimizer.step()
    if epoch % 5 == 0:
        with torch.no_grad():
            prediction = model(low)
        print(f"===> Epoch {epoch}: Avg. PSNR: {psnr(prediction, target):.4f} dB")

model.eval()
with torch.no_grad():
    out_y = model(low).clamp(0, 1)
    small_chroma = F.interpolate(ycbcr[:, 1:], scale_factor=1 / upscale_factor, mode="area")
    chroma = F.interpolate(small_chroma, scale_factor=upscale_factor, mode="bicubic",
                           align_corners=False)
    restored = ycbcr_to_rgb(torch.cat([out_y, chroma], 1)).clamp(0, 1)
print("restored:", tuple(restored.shape), restored.dtype, f"RGB PSNR {psnr(restored, rgb):.4f}")
stacked = probe.repeat(1, 9, 1, 1)
print("unshuffle inverts shuffle:",
      torch.equal(F.pixel_unshuffle(F.pixel_shuffle(stacked, 3), 3), stacked))
buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
reloaded = ResidualNet(upscale_factor)
reloaded.load_state_dict(torch.load(buffer))
reloaded.eval()
with torch.no_grad():
    print("reloaded matches:", torch.equal(reloaded(low), model(low)))
    print("sample:", [round(v, 4) for v in out_y[0, 0, 10, :6].tolist()])
