"""A GPU-style batch augmentation pipeline written with tensor ops only, as people do
when torchvision's per-image transforms are too slow: random-resized crops and affine
warps through affine_grid + grid_sample (bilinear/nearest/bicubic, zeros/border/
reflection padding, both align_corners), resizing with interpolate in every mode
(nearest, nearest-exact, bilinear/bicubic with and without antialias, area), masks
warped with nearest so labels stay labels, F.pad in reflect/replicate/circular, a
Gaussian blur as a grouped conv, colour jitter, flips/rot90/roll, mixup and cutmix with
their soft targets, random erasing; then variable-length 1-d signals time-stretched with
linear interpolation, padded with pad_sequence and packed for a GRU. A small CNN trained
on the augmented batches, and the gradient of a loss through grid_sample with respect
to the warp. The "random" parameters come from a fixed NumPy generator."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

rng = np.random.default_rng(0)
n, size = 8, 16
yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size), indexing="ij")
labels = torch.arange(n) % 4
base = [np.sin(xx * 4), np.sin(yy * 4), np.sin((xx + yy) * 3), np.cos(np.hypot(xx, yy) * 6)]
images = torch.tensor(np.stack([np.stack([base[k] * (0.8 + 0.1 * c) + 0.1 * c for c in range(3)])
                                for k in labels.tolist()]), dtype=torch.float32)
masks = torch.tensor(np.stack([(np.hypot(xx - 0.2 * k, yy) < 0.5) * (k + 1)
                               for k in labels.tolist()]), dtype=torch.long)


def summary(name, t, digits=4):
    print(f"{name}: {tuple(t.shape)} mean {t.float().mean().item():.{digits}f} "
          f"std {t.float().std().item():.{digits}f}")


def affine_matrices(angles, scales, shifts, shear=0.0):
    cos, sin = torch.cos(angles), torch.sin(angles)
    theta = torch.zeros(len(angles), 2, 3)
    theta[:, 0, 0] = cos / scales
    theta[:, 0, 1] = (-sin + shear) / scales
    theta[:, 1, 0] = sin / scales
    theta[:, 1, 1] = cos / scales
    theta[:, :, 2] = shifts
    return theta


angles = torch.tensor(rng.uniform(-0.5, 0.5, n), dtype=torch.float32)
scales = torch.tensor(rng.uniform(0.8, 1.2, n), dtype=torch.float32)
shifts = torch.tensor(rng.uniform(-0.2, 0.2, (n, 2)), dtype=torch.float32)
theta = affine_matrices(angles, scales, shifts, shear=0.1)
for align in (False, True):
    grid = F.affine_grid(theta, list(images.shape), align_corners=align)
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding in ("zeros", "border", "reflection"):
            warped = F.grid_sample(images, grid, mode=mode, padding_mode=padding,
                                   align_corners=align)
            summary(f"grid_sample {mode:8s} {padding:10s} align={align!s:5s}", warped)
identity = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), list(images.shape), align_corners=False)
same = F.grid_sample(images, identity, align_corners=False)
print("identity warp is exact:", torch.allclose(same, images, atol=1e-5))
grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
warped_masks = F.grid_sample(masks[:, None].float(), grid, mode="nearest", align_corners=False)
print("warped masks stay labels:", sorted(set(warped_masks.unique().tolist())) <= [0, 1, 2, 3, 4],
      int(warped_masks.sum().item()))

# random resized crop: a crop box per image, expressed as an affine grid, resized to 12x12
boxes = [(rng.integers(0, 6), rng.integers(0, 6), rng.integers(8, 11)) for _ in range(n)]
crops = torch.stack([F.interpolate(images[i:i + 1, :, top:top + side, left:left + side],
                                   size=(12, 12), mode="bilinear", align_corners=False,
                                   antialias=True)[0]
                     for i, (top, left, side) in enumerate(boxes)])
summary("random resized crop", crops)

for mode, extra in [("nearest", {}), ("nearest-exact", {}), ("area", {}),
                    ("bilinear", {"align_corners": True}), ("bilinear", {"antialias": True}),
                    ("bicubic", {"align_corners": False}), ("bicubic", {"antialias": True})]:
    down = F.interpolate(images, size=(7, 9), mode=mode, **extra)
    up = F.interpolate(images, scale_factor=1.75, mode=mode, **extra) if mode != "area" else \
        F.interpolate(images, size=(28, 28), mode=mode)
    summary(f"resize {mode} {sorted(extra)}", torch.cat([down.flatten(1), up.flatten(1)], 1))
mask_small = F.interpolate(masks[:, None].float(), size=(8, 8), mode="nearest-exact").long()
print("nearest-exact mask:", mask_small[1, 0, 3].tolist(), mask_small.dtype)
summary("recompute_scale_factor", F.interpolate(images, scale_factor=0.7, mode="bilinear",
                                                recompute_scale_factor=True))

for mode in ("reflect", "replicate", "circular", "constant"):
    fill = {"value": -1.0} if mode == "constant" else {}
    padded = F.pad(images, (2, 3, 1, 2), mode=mode, **fill)
    summary(f"pad {mode}", padded)
print("reflect pad mirrors:", torch.equal(F.pad(images, (2, 0, 0, 0), mode="reflect")[..., :2],
                                          images[..., [2, 1]]))

sigma = 1.2
taps = torch.arange(5, dtype=torch.float32) - 2
kernel1d = torch.exp(-taps ** 2 / (2 * sigma ** 2))
kernel1d = kernel1d / kernel1d.sum()
kernel2d = torch.outer(kernel1d, kernel1d).expand(3, 1, 5, 5)
blurred = F.conv2d(F.pad(images, (2, 2, 2, 2), mode="reflect"), kernel2d, groups=3)
separable = F.conv2d(F.conv2d(F.pad(images, (2, 2, 2, 2), mode="reflect"),
                              kernel1d.view(1, 1, 1, 5).expand(3, 1, 1, 5), groups=3),
                     kernel1d.view(1, 1, 5, 1).expand(3, 1, 5, 1), groups=3)
summary("gaussian blur", blurred)
print("separable == 2-d kernel:", torch.allclose(blurred, separable, atol=1e-6))

brightness = torch.tensor(rng.uniform(0.8, 1.2, (n, 1, 1, 1)), dtype=torch.float32)
contrast = torch.tensor(rng.uniform(0.8, 1.2, (n, 1, 1, 1)), dtype=torch.float32)
gray = (images * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
jittered = ((images * brightness - gray.mean((2, 3), keepdim=True)) * contrast
            + gray.mean((2, 3), keepdim=True)).clamp(-1, 1)
saturation = torch.lerp(gray.expand_as(jittered), jittered, 0.7)
summary("colour jitter", saturation)
flips = torch.where(torch.tensor(rng.random(n) < 0.5).view(n, 1, 1, 1), images.flip(-1), images)
summary("flips/rot90/roll", torch.cat([flips, images.rot90(1, (2, 3)), images.roll((3, -2), (2, 3)),
                                       images.transpose(2, 3).flip(2)], 1))
print("rot90 four times is identity:", torch.equal(images.rot90(4, (2, 3)), images),
      "rot90 k=-1 == k=3:", torch.equal(images.rot90(-1, (2, 3)), images.rot90(3, (2, 3))))

lam = float(rng.beta(0.4, 0.4))
perm = torch.tensor(rng.permutation(n))
one_hot = F.one_hot(labels, 4).float()
mixed = lam * images + (1 - lam) * images[perm]
mixed_targets = lam * one_hot + (1 - lam) * one_hot[perm]
print(f"mixup lambda {lam:.4f} targets sum to one:",
      torch.allclose(mixed_targets.sum(1), torch.ones(n)))
cut = int(size * math.sqrt(1 - lam))
cy, cx = 5, 9
y0, y1 = max(cy - cut // 2, 0), min(cy + cut // 2, size)
x0, x1 = max(cx - cut // 2, 0), min(cx + cut // 2, size)
cutmix = images.clone()
cutmix[:, :, y0:y1, x0:x1] = images[perm][:, :, y0:y1, x0:x1]
area = 1 - (y1 - y0) * (x1 - x0) / size ** 2
cutmix_targets = area * one_hot + (1 - area) * one_hot[perm]
summary(f"cutmix box {(y0, y1, x0, x1)} kept {area:.4f}", cutmix)
erased = images.clone()
erase_values = torch.tensor(rng.normal(size=(n, 3, 4, 5)), dtype=torch.float32)
erased[:, :, 2:6, 7:12] = erase_values
summary("random erasing", erased)

# train a small CNN on the augmented batches with soft targets
net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                    nn.Linear(8, 4))
with torch.no_grad():
    for i, p in enumerate(net.parameters()):
        values = np.sin(np.arange(p.numel()) * 0.83 + i).reshape(tuple(p.shape)) * 0.3
        p.copy_(torch.from_numpy(values))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
batches = [(images, one_hot), (mixed, mixed_targets), (cutmix, cutmix_targets),
           (F.grid_sample(images, F.affine_grid(theta, list(images.shape), align_corners=False),
                          padding_mode="reflection", align_corners=False), one_hot)]
for epoch in range(3):
    for inputs, targets in batches:
        loss = F.cross_entropy(net(inputs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"epoch {epoch} soft-target loss {loss.item():.5f}")

# learn the warp back: gradient through grid_sample with respect to theta
theta_hat = torch.eye(2, 3).repeat(2, 1, 1).requires_grad_()
true_grid = F.affine_grid(theta[:2], [2, 3, size, size], align_corners=False)
target = F.grid_sample(images[:2], true_grid, padding_mode="border", align_corners=False)
warp = torch.optim.Adam([theta_hat], lr=0.02)
for step in range(30):
    grid_hat = F.affine_grid(theta_hat, [2, 3, size, size], align_corners=False)
    out = F.grid_sample(images[:2], grid_hat, padding_mode="border", align_corners=False)
    loss = F.mse_loss(out, target)
    warp.zero_grad()
    loss.backward()
    if step == 0:
        print("theta grad:", [round(v, 5) for v in theta_hat.grad[0].flatten().tolist()])
    warp.step()
print(f"alignment loss {loss.item():.5f}, closer to the true warp:",
      bool((theta_hat.detach() - theta[:2]).abs().sum()
           < (torch.eye(2, 3) - theta[:2]).abs().sum()))

# variable-length 1-d signals: time-stretch, pad, pack
signals = [torch.sin(torch.arange(length, dtype=torch.float32) * 0.4) for length in (9, 14, 6, 11)]
rates = [0.8, 1.25, 1.5, 0.9]
stretched = [F.interpolate(s.view(1, 1, -1), scale_factor=r, mode="linear", align_corners=False,
                           recompute_scale_factor=False).view(-1)
             for s, r in zip(signals, rates)]
lengths = torch.tensor([len(s) for s in stretched])
print("stretched lengths:", lengths.tolist())
batch = pad_sequence(stretched, batch_first=True, padding_value=0.0)
packed = pack_padded_sequence(batch.unsqueeze(-1), lengths, batch_first=True, enforce_sorted=False)
gru = nn.GRU(1, 4, batch_first=True)
with torch.no_grad():
    for i, p in enumerate(gru.parameters()):
        values = np.cos(np.arange(p.numel()) * 0.61 + i).reshape(tuple(p.shape)) * 0.4
        p.copy_(torch.from_numpy(values))
_, h = gru(packed)
print("packed GRU final states:", [round(v, 5) for v in h[0, :, 0].tolist()])
_, h_alone = gru(stretched[2].view(1, -1, 1))
print("packed == alone:", torch.allclose(h[0, 2], h_alone[0, 0], atol=1e-6))
