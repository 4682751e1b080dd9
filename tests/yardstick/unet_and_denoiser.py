"""Dense prediction with small conv nets, as segmentation and autoencoder tutorials write
them: a U-Net with double-conv blocks, MaxPool2d down, ConvTranspose2d up, skip
connections joined with torch.cat (center-cropped when sizes differ), per-pixel
cross_entropy with class weights and ignore_index, Dice loss from one_hot + permute,
pixel accuracy and per-class IoU through bincount confusion matrices; then a
convolutional denoising autoencoder (Conv2d stride 2 / ConvTranspose2d output_padding,
Sigmoid output) trained with BCELoss and BCEWithLogitsLoss(pos_weight), PSNR, and
Upsample/interpolate-based decoders. Images and weights come from fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed_(module, scale=0.2):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if "bn" in name or "norm" in name:
                continue
            p.copy_(torch.from_numpy(np.cos(np.arange(p.numel()) * 0.917 + i).reshape(tuple(p.shape)) * scale))
    return module


def make_images(n, size=16):
    """Bright squares (class 1) and discs (class 2) on a dark background (class 0)."""
    yy, xx = np.mgrid[0:size, 0:size]
    images, masks = [], []
    for k in range(n):
        img = (0.1 * np.sin(xx * 0.7 + k)).astype(np.float32)
        mask = np.zeros((size, size), np.int64)
        r0, c0 = 2 + k % 5, 3 + (k * 3) % 6
        mask[r0:r0 + 5, c0:c0 + 5] = 1
        cy, cx = 10 + k % 3, 10 - k % 4
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= 6
        mask[disc] = 2
        img[mask == 1] += 0.8
        img[mask == 2] += 0.5
        images.append(img)
        masks.append(mask)
    return torch.from_numpy(np.stack(images)[:, None]), torch.from_numpy(np.stack(masks))


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, n_classes=3, base=8):
        super().__init__()
        self.inc = DoubleConv(1, base)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base, base * 2))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base * 2, base * 4))
        self.up1 = nn.ConvTranspose2d(base * 4, base * 2, kernel_size=2, stride=2)
        self.conv1 = DoubleConv(base * 4, base * 2)
        self.up2 = nn.ConvTranspose2d(base * 2, base, kernel_size=2, stride=2)
        self.conv2 = DoubleConv(base * 2, base)
        self.outc = nn.Conv2d(base, n_classes, kernel_size=1)

    @staticmethod
    def join(skip, x):
        dy, dx = skip.size(2) - x.size(2), skip.size(3) - x.size(3)
        x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return torch.cat([skip, x], dim=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.conv1(self.join(x2, self.up1(x3)))
        x = self.conv2(self.join(x1, self.up2(x)))
        return self.outc(x)


def dice_loss(logits, target, eps=1.0):
    probs = logits.softmax(dim=1)
    one_hot = F.one_hot(target, num_classes=logits.size(1)).permute(0, 3, 1, 2).float()
    inter = (probs * one_hot).sum(dim=(0, 2, 3))
    union = probs.sum(dim=(0, 2, 3)) + one_hot.sum(dim=(0, 2, 3))
    return 1 - ((2 * inter + eps) / (union + eps)).mean()


def confusion(pred, target, n):
    valid = target != 255
    idx = target[valid] * n + pred[valid]
    return torch.bincount(idx, minlength=n * n).reshape(n, n)


images, masks = make_images(8)
masks_ignored = masks.clone()
masks_ignored[:, 0, :] = 255  # an unlabelled border row
print("images:", tuple(images.shape), images.dtype, "masks:", tuple(masks.shape), masks.dtype)
print("class counts:", torch.bincount(masks.flatten()).tolist())

net = fixed_(UNet())
print("unet params:", sum(p.numel() for p in net.parameters()), "odd size:", tuple(net(torch.zeros(1, 1, 12, 12)).shape))
weights = 1.0 / torch.bincount(masks.flatten()).float()
weights = weights / weights.sum() * 3
opt = torch.optim.Adam(net.parameters(), lr=0.01)
for epoch in range(12):
    net.train()
    logits = net(images)
    ce = F.cross_entropy(logits, masks_ignored, weight=weights, ignore_index=255)
    loss = ce + dice_loss(logits, masks)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 4 == 0 or epoch == 11:
        print(f"epoch {epoch:2d} ce {ce.item():.4f} total {loss.item():.4f}")

net.eval()
with torch.no_grad():
    logits = net(images)
    pred = logits.argmax(dim=1)
    cm = confusion(pred, masks_ignored, 3)
    iou = cm.diag().float() / (cm.sum(0) + cm.sum(1) - cm.diag()).float().clamp(min=1)
    # hard argmax metrics flip on near-tied pixels between libraries: print them coarsely
    print("confusion:", tuple(cm.shape), cm.dtype, "pixels:", cm.sum().item())
    acc = (cm.diag().sum().float() / cm.sum()).item()
    print("pixel acc above 0.6:", acc > 0.6, "IoU sums to at most 3:", iou.sum().item() <= 3)
    probs = logits.softmax(1)
    one_hot = F.one_hot(masks, 3).permute(0, 3, 1, 2).float()
    soft_iou = (probs * one_hot).sum((0, 2, 3)) / (probs + one_hot - probs * one_hot).sum((0, 2, 3))
    print("soft IoU:", [round(v, 4) for v in soft_iou.tolist()])
    print(f"running_mean norm: {net.inc[1].running_mean.norm().item():.4f}",
          "tracked:", net.inc[1].num_batches_tracked.item())
    none_loss = F.cross_entropy(logits, masks_ignored, ignore_index=255, reduction="none")
    print("ignored pixels have zero loss:", bool((none_loss[:, 0, :] == 0).all()), tuple(none_loss.shape))


class DenoisingAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


clean = images.clamp(0, 1)
noise = torch.from_numpy((np.sin(np.arange(clean.numel()) * 12.9898) * 0.25).reshape(tuple(clean.shape)).astype(np.float32))
noisy = (clean + noise).clamp(0.0, 1.0)
ae = fixed_(DenoisingAE(), 0.15)
print("code:", tuple(ae.encoder(noisy).shape), "recon:", tuple(ae(noisy).shape))
opt = torch.optim.Adam(ae.parameters(), lr=2e-2)
criterion = nn.BCELoss()
for epoch in range(15):
    recon = ae(noisy)
    loss = criterion(recon, clean)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 5 == 0 or epoch == 14:
        print(f"ae epoch {epoch:2d} bce {loss.item():.5f}")
with torch.no_grad():
    recon = ae(noisy)
    mse = F.mse_loss(recon, clean)
    print(f"psnr: {(10 * torch.log10(1.0 / mse)).item():.3f} dB")
    logits = torch.logit(recon.clamp(1e-4, 1 - 1e-4))
    print(f"bce == bce_with_logits: {F.binary_cross_entropy(torch.sigmoid(logits), clean).item():.5f} {F.binary_cross_entropy_with_logits(logits, clean).item():.5f}")
    targets = (clean > 0.5).float()
    pw = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=torch.tensor([3.0]))
    print(f"pos_weight loss: {pw.item():.5f}")
    weighted = nn.BCELoss(weight=targets * 2 + 1, reduction="sum")(recon, clean)
    print(f"weighted sum bce: {weighted.item():.4f}")

up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(16, 1, 3, padding=1))
fixed_(up)
code = ae.encoder(noisy)
out = up(F.interpolate(code, size=(8, 8), mode="nearest"))
out.mean().backward()
print("upsample decoder:", tuple(out.shape), f"{out.mean().item():.5f}", f"grad: {up[1].weight.grad.abs().sum().item():.6f}")
