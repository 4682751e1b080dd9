"""A Vision Transformer as the tutorials build it: a strided Conv2d patch embedding (and
the same patches through F.unfold), a learned class token and position embedding, pre-norm
encoder blocks written by hand around nn.MultiheadAttention (per-head weights for
attention rollout) with a DropPath of its own, and the same blocks via
nn.TransformerEncoderLayer(norm_first=True, activation="gelu"). Training uses AdamW with
decay only on matrices, linear warmup then cosine decay through LambdaLR, label smoothing
and clip_grad_norm_. Afterwards: the position embedding is resized with bicubic
interpolation to run on larger images, and F.scaled_dot_product_attention reproduces a
block's attention. Weights come from fixed values; the data are fixed striped images."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def fixed_(module, scale=0.15):
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            if "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            elif name.endswith("bias"):
                p.zero_()
            else:
                values = np.sin(np.arange(p.numel()) * 0.61 + i * 0.7) * scale
                p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


def drop_path(x, drop_prob: float = 0., training: bool = False):
    """Drop whole samples of a residual branch (stochastic depth), rescaling the rest."""
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    return x * random_tensor.div_(keep_prob)


class DropPath(nn.Module):
    def __init__(self, drop_prob=0.):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f"drop_prob={self.drop_prob:.3f}"


class PatchEmbed(nn.Module):
    def __init__(self, img_size=16, patch_size=4, in_chans=3, embed_dim=32):
        super().__init__()
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # B, N, D


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=2., drop_path=0.):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(),
                                 nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x, return_attention=False):
        h = self.norm1(x)
        y, attn = self.attn(h, h, h, need_weights=return_attention, average_attn_weights=False)
        if return_attention:
            return attn
        x = x + self.drop_path(y)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class VisionTransformer(nn.Module):
    def __init__(self, img_size=16, patch_size=4, num_classes=4, embed_dim=32, depth=2,
                 num_heads=4, drop_path_rate=0.1):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, 3, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, drop_path=dpr[i])
                                     for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=.02)
        nn.init.trunc_normal_(self.cls_token, std=.02)

    def interpolate_pos_encoding(self, x, w, h):
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0]
        patch_pos_embed = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_embed.patch_size
        h0 = h // self.patch_embed.patch_size
        side = int(math.sqrt(N))
        patch_pos_embed = F.interpolate(
            patch_pos_embed.reshape(1, side, side, dim).permute(0, 3, 1, 2),
            size=(w0, h0), mode="bicubic", align_corners=False)
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def prepare_tokens(self, x):
        B, nc, w, h = x.shape
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        return x + self.interpolate_pos_encoding(x, w, h)

    def forward(self, x):
        x = self.prepare_tokens(x)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])

    def get_last_selfattention(self, x):
        x = self.prepare_tokens(x)
        for i, blk in enumerate(self.blocks):
            if i < len(self.blocks) - 1:
                x = blk(x)
            else:
                return blk(x, return_attention=True)


def striped_images(n, size=16):
    """Four classes: horizontal, vertical, diagonal stripes, and a checkerboard."""
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    patterns = [np.sin(yy * 1.3), np.sin(xx * 1.3), np.sin((xx + yy) * 0.9),
                np.sign(np.sin(xx * 0.8)) * np.sign(np.sin(yy * 0.8))]
    labels = np.arange(n) % 4
    images = np.stack([np.stack([patterns[k] * (0.6 + 0.1 * c) + 0.05 * np.cos(i + c + xx * 0.3)
                                 for c in range(3)]) for i, k in enumerate(labels)])
    return torch.tensor(images, dtype=torch.float32), torch.tensor(labels)


model = VisionTransformer()
print("trunc_normal_ in range:", bool(model.pos_embed.abs().max() <= 2.0),
      tuple(model.pos_embed.shape), tuple(model.cls_token.shape))
fixed_(model)
print(model.blocks[1])
images, labels = striped_images(16)
patches = model.patch_embed(images)
unfolded = F.unfold(images, kernel_size=4, stride=4).transpose(1, 2)
by_matmul = unfolded @ model.patch_embed.proj.weight.flatten(1).t() + model.patch_embed.proj.bias
print("patches:", tuple(patches.shape), "conv == unfold @ W:",
      torch.allclose(patches, by_matmul, atol=1e-5))

decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos_embed" not in n
         and "cls_token" not in n]
no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos_embed" not in n
                                                           and "cls_token" not in n)]
print("param groups:", len(decay), len(no_decay))
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                               {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
warmup, total = 3, 24


def lr_lambda(step):
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / (total - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
model.eval()  # DropPath draws random masks in train mode; eval keeps the run deterministic
lrs = []
for step in range(total):
    batch = slice((step % 2) * 8, (step % 2) * 8 + 8)
    loss = criterion(model(images[batch]), labels[batch])
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    lrs.append(scheduler.get_last_lr()[0])
    scheduler.step()
    if step % 6 == 5:
        print(f"step {step + 1} loss {loss.item():.4f} grad norm {norm.item():.4f}")
print("lr warmup then cosine:", [round(v, 5) for v in lrs[:4]], round(lrs[-1], 6))
with torch.no_grad():
    accuracy = (model(images).argmax(1) == labels).float().mean().item()
print("train accuracy:", accuracy)

model.train()
out = drop_path(torch.ones(6, 3), 0.5, training=True)
kept = sorted(set(out.flatten().tolist()))
print("drop_path keeps or doubles:", kept in ([0.0, 2.0], [2.0], [0.0]), model.blocks[1].drop_path)
model.eval()
with torch.no_grad():
    attn = model.get_last_selfattention(images[:2])
    print("attention:", tuple(attn.shape), "rows sum to one:",
          torch.allclose(attn.sum(-1), torch.ones(2, 4, 17)))
    cls_attn = attn[:, :, 0, 1:].mean(1).reshape(2, 4, 4)
    print("cls attention map:", [round(v, 4) for v in cls_attn[0, 0].tolist()])
    big = torch.cat([images[:2], images[:2]], dim=3)
    big = torch.cat([big, big], dim=2)
    print("32x32 input:", tuple(model.prepare_tokens(big).shape), tuple(model(big).shape))
    blk = model.blocks[0]
    h = blk.norm1(model.prepare_tokens(images[:2]))
    q, k, v = F.linear(h, blk.attn.in_proj_weight, blk.attn.in_proj_bias).chunk(3, dim=-1)
    heads = [t.reshape(2, 17, 4, 8).transpose(1, 2) for t in (q, k, v)]
    sdpa = F.scaled_dot_product_attention(*heads).transpose(1, 2).reshape(2, 17, 32)
    manual = blk.attn.out_proj(sdpa)
    print("sdpa == MultiheadAttention:", torch.allclose(manual, blk.attn(h, h, h)[0], atol=1e-5))

layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu", batch_first=True,
                                   norm_first=True, layer_norm_eps=1e-6)
encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
with torch.no_grad():
    for i, block in enumerate(model.blocks):
        mine = encoder.layers[i]
        mine.self_attn.load_state_dict(block.attn.state_dict())
        mine.norm1.load_state_dict(block.norm1.state_dict())
        mine.norm2.load_state_dict(block.norm2.state_dict())
        mine.linear1.load_state_dict(block.mlp[0].state_dict())
        mine.linear2.load_state_dict(block.mlp[2].state_dict())
    tokens = model.prepare_tokens(images[:3])
    ours = tokens
    for block in model.blocks:
        ours = block(ours)
    print("nn.TransformerEncoder agrees:", torch.allclose(encoder(tokens), ours, atol=1e-5))
