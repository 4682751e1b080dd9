"""Swin Transformer's building blocks as the reference implementation writes them:
window_partition / window_reverse with view+permute, a learned relative position bias
table indexed by a relative_position_index built from meshgrid/flatten/permute and
registered as a buffer, the shifted-window attention mask made by slicing an image mask
and masked_fill(-100.0), cyclic shifts with torch.roll, PatchMerging by strided slicing,
and a tiny two-stage Swin trained for a few AdamW steps. Checked: the window round trip,
that a shifted window's attention never mixes regions that were not adjacent, the bias
index's symmetry, and that state_dict carries the index buffer but not the mask.
Weights come from fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed_(module, scale=0.15):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if "norm" in name:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                values = np.sin(np.arange(p.numel()) * 0.53 + i * 0.9) * scale
                p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


def window_partition(x, window_size):
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    return windows


def window_reverse(windows, window_size, H, W):
    B = int(windows.shape[0] / (H * W / window_size / window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)
    return x


class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads):
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        head_dim = dim // num_heads
        self.scale = head_dim ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) * (2 * window_size - 1), num_heads))
        coords_h = torch.arange(window_size)
        coords_w = torch.arange(window_size)
        coords = torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))  # 2, Wh, Ww
        coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
        relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
        relative_coords = relative_coords.permute(1, 2, 0).contiguous()
        relative_coords[:, :, 0] += window_size - 1
        relative_coords[:, :, 1] += window_size - 1
        relative_coords[:, :, 0] *= 2 * window_size - 1
        relative_position_index = relative_coords.sum(-1)
        self.register_buffer("relative_position_index", relative_position_index)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=.02)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = (q @ k.transpose(-2, -1))
        relative_position_bias = self.relative_position_bias_table[
            self.relative_position_index.view(-1)].view(N, N, -1)
        relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
        attn = attn + relative_position_bias.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = attn.softmax(dim=-1)
        self.last_attn = attn.detach()
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


def shifted_window_mask(H, W, window_size, shift_size):
    img_mask = torch.zeros((1, H, W, 1))
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, window_size).view(-1, window_size * window_size)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0))
    attn_mask = attn_mask.masked_fill(attn_mask == 0, float(0.0))
    return attn_mask, img_mask


class SwinBlock(nn.Module):
    def __init__(self, dim, resolution, num_heads, window_size=4, shift_size=0):
        super().__init__()
        self.resolution, self.window_size, self.shift_size = resolution, window_size, shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        if shift_size > 0:
            attn_mask, _ = shifted_window_mask(resolution, resolution, window_size, shift_size)
        else:
            attn_mask = None
        self.register_buffer("attn_mask", attn_mask, persistent=False)

    def forward(self, x):
        H = W = self.resolution
        B, L, C = x.shape
        shortcut = x
        x = self.norm1(x).view(B, H, W, C)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        x_windows = window_partition(x, self.window_size).view(-1, self.window_size ** 2, C)
        attn_windows = self.attn(x_windows, mask=self.attn_mask)
        attn_windows = attn_windows.view(-1, self.window_size, self.window_size, C)
        x = window_reverse(attn_windows, self.window_size, H, W)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x = shortcut + x.view(B, H * W, C)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, resolution, dim):
        super().__init__()
        self.resolution = resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        H = W = self.resolution
        B, L, C = x.shape
        x = x.view(B, H, W, C)
        x0 = x[:, 0::2, 0::2, :]
        x1 = x[:, 1::2, 0::2, :]
        x2 = x[:, 0::2, 1::2, :]
        x3 = x[:, 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1).view(B, -1, 4 * C)
        return self.reduction(self.norm(x))


class TinySwin(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, 16, kernel_size=2, stride=2)
        self.stage1 = nn.Sequential(SwinBlock(16, 8, 2), SwinBlock(16, 8, 2, shift_size=2))
        self.merge = PatchMerging(8, 16)
        self.stage2 = nn.Sequential(SwinBlock(32, 4, 4), SwinBlock(32, 4, 4))
        self.norm = nn.LayerNorm(32)
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = self.stage2(self.merge(self.stage1(x)))
        return self.head(self.norm(x).mean(1))


x = torch.arange(2 * 8 * 8 * 3, dtype=torch.float32).view(2, 8, 8, 3)
windows = window_partition(x, 4)
print("windows:", tuple(windows.shape), "round trip:",
      torch.equal(window_reverse(windows, 4, 8, 8), x))
attn = WindowAttention(16, 4, 2)
table = attn.relative_position_bias_table
print("trunc_normal_ stays in [-2, 2]:", bool(table.abs().max() <= 2.0), tuple(table.shape))
index = attn.relative_position_index
print("relative index:", tuple(index.shape), index.dtype, index[0, :6].tolist(),
      index.max().item(),
      "centre on the diagonal:", bool((index.diagonal() == 24).all()),
      "antisymmetric:", torch.equal(index + index.t(), torch.full_like(index, 48)))
mask, img_mask = shifted_window_mask(8, 8, 4, 2)
print("image regions:", img_mask[0, :, :, 0].int()[::2, ::2].tolist())
print("mask:", tuple(mask.shape), "blocked per window:", (mask < 0).sum((1, 2)).tolist(),
      "values:", sorted(mask.unique().tolist()))

torch.manual_seed(0)
model = fixed_(TinySwin())
print("buffers:", [name for name, _ in model.named_buffers()][:3])
state = model.state_dict()
print("state_dict keeps index, not mask:", "stage1.1.attn.relative_position_index" in state,
      "stage1.1.attn_mask" in state)
images = torch.tensor(np.stack([np.sin(np.arange(3 * 16 * 16) * (0.05 + 0.03 * (i % 3)))
                                .reshape(3, 16, 16) for i in range(6)]), dtype=torch.float32)
labels = torch.arange(6) % 3
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
for step in range(8):
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 2 == 1:
        print(f"step {step} loss {loss.item():.5f}")
table_grad = model.stage1[1].attn.relative_position_bias_table.grad
print("bias table grad:", tuple(table_grad.shape), f"{table_grad.abs().sum().item():.6f}")
with torch.no_grad():
    model(images[:1])
    shifted = model.stage1[1].attn.last_attn  # windows x heads x 16 x 16
    region = mask[3] < 0
    print("masked pairs get ~0 attention:", bool(shifted[3][:, region].max() < 1e-20),
          "unmasked rows sum to one:", torch.allclose(shifted.sum(-1), torch.ones(4, 2, 16)))
    print("logits:", [round(v, 4) for v in model(images[:2]).flatten().tolist()])
