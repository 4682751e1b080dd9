"""Swin Transformer V1 and V2 (Liu et al. 2021, 2022): self-attention inside local windows
that shift by half a window every other block, with a relative position bias.

Everything is vectorised with ember ops: windows are a reshape/permute of the padded
feature map, the cyclic shift is ``roll``, the shifted-window mask comes from region labels
computed with ``arange`` comparisons. Module names follow torchvision
(``features.1.0.attn.relative_position_bias_table``), so its checkpoints load.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import ember
import ember.nn.functional as F
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from ._layers import MLP, Permute, StochasticDepth

__all__ = [
    "SwinTransformer",
    "Swin_B_Weights",
    "Swin_S_Weights",
    "Swin_T_Weights",
    "Swin_V2_B_Weights",
    "Swin_V2_S_Weights",
    "Swin_V2_T_Weights",
    "swin_b",
    "swin_s",
    "swin_t",
    "swin_v2_b",
    "swin_v2_s",
    "swin_v2_t",
]


def _patch_merging_pad(x):
    """[..., H, W, C] -> [..., H/2, W/2, 4C]: each 2x2 neighbourhood stacked on channels
    (odd sizes padded by one)."""
    height, width = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
    return ember.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :],
                      x[..., 1::2, 1::2, :]], -1)


def _get_relative_position_bias(table, index, window_size: list[int]):
    """Gather the per-head bias of every (query, key) offset: (1, heads, N, N)."""
    n = window_size[0] * window_size[1]
    bias = table[index].view(n, n, -1)
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)


class PatchMerging(nn.Module):
    """Halve the resolution, double the channels: merge 2x2 patches, LayerNorm, Linear."""

    def __init__(self, dim: int, norm_layer: Callable = nn.LayerNorm) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        return self.reduction(self.norm(_patch_merging_pad(x)))


class PatchMergingV2(nn.Module):
    """Swin V2's patch merging: the norm comes after the reduction."""

    def __init__(self, dim: int, norm_layer: Callable = nn.LayerNorm) -> None:
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(2 * dim)

    def forward(self, x):
        return self.norm(self.reduction(_patch_merging_pad(x)))


def _shift_mask(pad_h: int, pad_w: int, window_size: list[int], shift_size: list[int],
                dtype, device):
    """(windows, N, N) additive mask: -100 where query and key lie in different regions
    of the rolled map (they were not neighbours before the cyclic shift), else 0."""
    def labels(size, window, shift):
        pos = ember.arange(size, device=device)
        return (pos >= size - window).long() + (pos >= size - shift).long()

    region = labels(pad_h, window_size[0], shift_size[0]).unsqueeze(1) * 3 + \
        labels(pad_w, window_size[1], shift_size[1]).unsqueeze(0)
    region = region.view(pad_h // window_size[0], window_size[0], pad_w // window_size[1],
                         window_size[1])
    region = region.permute(0, 2, 1, 3).reshape(-1, window_size[0] * window_size[1])
    different = region.unsqueeze(1) != region.unsqueeze(2)
    return different.to(dtype) * -100.0


def shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias,
                             window_size: list[int], num_heads: int, shift_size: list[int],
                             attention_dropout: float = 0.0, dropout: float = 0.0,
                             qkv_bias=None, proj_bias=None, logit_scale=None,
                             training: bool = True):
    """Window multi-head self-attention (W-MSA / SW-MSA) on [B, H, W, C].

    The map is padded to whole windows, rolled by ``-shift_size`` (no shift along a side
    that fits in one window), split into windows of N = wh*ww tokens, attended with the
    relative position bias (and the shift mask), merged and rolled back. ``logit_scale``
    selects V2's scaled cosine attention."""
    batch, height, width, channels = input.shape
    pad_r = (window_size[1] - width % window_size[1]) % window_size[1]
    pad_b = (window_size[0] - height % window_size[0]) % window_size[0]
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_h, pad_w, _ = x.shape
    shift_size = list(shift_size)
    if window_size[0] >= pad_h:
        shift_size[0] = 0
    if window_size[1] >= pad_w:
        shift_size[1] = 0
    shifted = sum(shift_size) > 0
    if shifted:
        x = ember.roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2))
    rows, cols = pad_h // window_size[0], pad_w // window_size[1]
    num_windows = rows * cols
    tokens = window_size[0] * window_size[1]
    x = x.view(batch, rows, window_size[0], cols, window_size[1], channels)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch * num_windows, tokens, channels)

    if logit_scale is not None and qkv_bias is not None:
        # V2 has no key bias: the middle third of the qkv bias is held at zero.
        third = qkv_bias.numel() // 3
        qkv_bias = ember.cat([qkv_bias[:third], ember.zeros_like(qkv_bias[third:2 * third]),
                              qkv_bias[2 * third:]])
    head_dim = channels // num_heads
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.shape[0], tokens, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * ember.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        attn = (q * head_dim ** -0.5).matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias
    if shifted:
        mask = _shift_mask(pad_h, pad_w, window_size, shift_size, attn.dtype, attn.device)
        attn = attn.view(batch, num_windows, num_heads, tokens, tokens)
        attn = (attn + mask.unsqueeze(1).unsqueeze(0)).view(-1, num_heads, tokens, tokens)
    attn = F.softmax(attn, dim=-1)
    attn = F.dropout(attn, p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], tokens, channels)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)

    x = x.view(batch, rows, cols, window_size[0], window_size[1], channels)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, pad_h, pad_w, channels)
    if shifted:
        x = ember.roll(x, shifts=(shift_size[0], shift_size[1]), dims=(1, 2))
    return x[:, :height, :width, :].contiguous()


class ShiftedWindowAttention(nn.Module):
    """qkv and proj Linears plus a learned bias per relative offset and head
    (``relative_position_bias_table``, indexed by the ``relative_position_index`` buffer)."""

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int],
                 num_heads: int, qkv_bias: bool = True, proj_bias: bool = True,
                 attention_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = window_size
        self.shift_size = shift_size
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_relative_position_bias_table()
        self.define_relative_position_index()

    def define_relative_position_bias_table(self) -> None:
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            ember.zeros((2 * wh - 1) * (2 * ww - 1), self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self) -> None:
        # Offset (dh, dw) in [-(wh-1), wh-1] x [-(ww-1), ww-1] -> row of the table.
        wh, ww = self.window_size
        coords = ember.stack(ember.meshgrid(ember.arange(wh), ember.arange(ww),
                                            indexing="ij")).flatten(1)
        offsets = coords[:, :, None] - coords[:, None, :]
        index = (offsets[0] + wh - 1) * (2 * ww - 1) + (offsets[1] + ww - 1)
        self.register_buffer("relative_position_index", index.flatten())

    def get_relative_position_bias(self):
        return _get_relative_position_bias(self.relative_position_bias_table,
                                           self.relative_position_index, self.window_size)

    def forward(self, x):
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """V2: cosine attention with a learned per-head ``logit_scale``; the position bias is
    produced by a small MLP (``cpb_mlp``) from log-spaced relative coordinates."""

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int],
                 num_heads: int, qkv_bias: bool = True, proj_bias: bool = True,
                 attention_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__(dim, window_size, shift_size, num_heads, qkv_bias=qkv_bias,
                         proj_bias=proj_bias, attention_dropout=attention_dropout,
                         dropout=dropout)
        self.logit_scale = nn.Parameter(ember.log(10 * ember.ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(512, num_heads, bias=False))
        if qkv_bias:
            third = self.qkv.bias.numel() // 3
            with ember.no_grad():
                self.qkv.bias[third:2 * third].zero_()

    def define_relative_position_bias_table(self) -> None:
        wh, ww = self.window_size
        coords_h = ember.arange(-(wh - 1), wh, dtype=ember.float32) / (wh - 1)
        coords_w = ember.arange(-(ww - 1), ww, dtype=ember.float32) / (ww - 1)
        table = ember.stack(ember.meshgrid(coords_h, coords_w, indexing="ij"), dim=-1)
        table = table.unsqueeze(0) * 8  # (1, 2wh-1, 2ww-1, 2), in [-8, 8]
        table = ember.sign(table) * ember.log2(ember.abs(table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)

    def get_relative_position_bias(self):
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        bias = _get_relative_position_bias(table, self.relative_position_index,
                                           self.window_size)
        return 16 * ember.sigmoid(bias)

    def forward(self, x):
        return shifted_window_attention(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
            self.window_size, self.num_heads, shift_size=self.shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, logit_scale=self.logit_scale,
            training=self.training)


class SwinTransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x)), each with stochastic
    depth; works on [B, H, W, C]."""

    def __init__(self, dim: int, num_heads: int, window_size: list[int],
                 shift_size: list[int], mlp_ratio: float = 4.0, dropout: float = 0.0,
                 attention_dropout: float = 0.0, stochastic_depth_prob: float = 0.0,
                 norm_layer: Callable = nn.LayerNorm,
                 attn_layer: Callable = ShiftedWindowAttention) -> None:
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, window_size, shift_size, num_heads,
                               attention_dropout=attention_dropout, dropout=dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU,
                       inplace=None, dropout=dropout)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x):
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformerBlockV2(SwinTransformerBlock):
    """V2 block: res-post-norm, x + norm1(attn(x)), then x + norm2(mlp(x))."""

    def __init__(self, dim: int, num_heads: int, window_size: list[int],
                 shift_size: list[int], mlp_ratio: float = 4.0, dropout: float = 0.0,
                 attention_dropout: float = 0.0, stochastic_depth_prob: float = 0.0,
                 norm_layer: Callable = nn.LayerNorm,
                 attn_layer: Callable = ShiftedWindowAttentionV2) -> None:
        super().__init__(dim, num_heads, window_size, shift_size, mlp_ratio=mlp_ratio,
                         dropout=dropout, attention_dropout=attention_dropout,
                         stochastic_depth_prob=stochastic_depth_prob, norm_layer=norm_layer,
                         attn_layer=attn_layer)

    def forward(self, x):
        x = x + self.stochastic_depth(self.norm1(self.attn(x)))
        return x + self.stochastic_depth(self.norm2(self.mlp(x)))


class SwinTransformer(nn.Module):
    """Patch embedding (conv + LayerNorm, NHWC), stages of Swin blocks (odd blocks shift by
    half a window) separated by patch merging, LayerNorm, average pool, Linear head.

    Args:
        patch_size, embed_dim, depths, num_heads, window_size: the architecture.
        mlp_ratio, dropout, attention_dropout: block settings. stochastic_depth_prob:
        drop probability of the last block (linear in depth from 0). num_classes: head
        outputs. norm_layer, block, downsample_layer: module classes (V1 or V2 ones).
    """

    def __init__(self, patch_size: list[int], embed_dim: int, depths: list[int],
                 num_heads: list[int], window_size: list[int], mlp_ratio: float = 4.0,
                 dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.1, num_classes: int = 1000,
                 norm_layer: Callable | None = None, block: Callable | None = None,
                 downsample_layer: Callable = PatchMerging) -> None:
        super().__init__()
        self.num_classes = num_classes
        block = block or SwinTransformerBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-5)
        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=(patch_size[0], patch_size[1]),
                      stride=(patch_size[0], patch_size[1])),
            Permute([0, 2, 3, 1]), norm_layer(embed_dim))]
        total_stage_blocks = sum(depths)
        stage_block_id = 0
        for i_stage, depth in enumerate(depths):
            dim = embed_dim * 2 ** i_stage
            stage: list[nn.Module] = []
            for i_layer in range(depth):
                sd_prob = stochastic_depth_prob * float(stage_block_id) / (total_stage_blocks - 1)
                stage.append(block(dim, num_heads[i_stage], window_size=window_size,
                                   shift_size=[0 if i_layer % 2 == 0 else w // 2
                                               for w in window_size],
                                   mlp_ratio=mlp_ratio, dropout=dropout,
                                   attention_dropout=attention_dropout,
                                   stochastic_depth_prob=sd_prob, norm_layer=norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


_URL = "https://download.pytorch.org/models/"
_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#"


def _enum(name, file, num_params, acc1, acc5, crop, resize, ops, size, recipe):
    weights = imagenet_weights(_URL + file, num_params, acc1, acc5, crop=crop, resize=resize,
                               interpolation="bicubic", min_size=(crop, crop),
                               recipe=_RECIPE + recipe, _ops=ops, _file_size=size)
    return make_weights_enum(name, {"IMAGENET1K_V1": weights}, __name__)


Swin_T_Weights = _enum("Swin_T_Weights", "swin_t-704ceda3.pth", 28288354, 81.474, 95.776,
                       224, 232, 4.491, 108.19, "swintransformer")
Swin_S_Weights = _enum("Swin_S_Weights", "swin_s-5e29d889.pth", 49606258, 83.196, 96.360,
                       224, 246, 8.741, 189.786, "swintransformer")
Swin_B_Weights = _enum("Swin_B_Weights", "swin_b-68c6b09e.pth", 87768224, 83.582, 96.640,
                       224, 238, 15.431, 335.364, "swintransformer")
Swin_V2_T_Weights = _enum("Swin_V2_T_Weights", "swin_v2_t-b137f0e2.pth", 28351570, 82.072,
                          96.132, 256, 260, 5.94, 108.626, "swintransformer-v2")
Swin_V2_S_Weights = _enum("Swin_V2_S_Weights", "swin_v2_s-637d8ceb.pth", 49737442, 83.712,
                          96.816, 256, 260, 11.546, 190.675, "swintransformer-v2")
Swin_V2_B_Weights = _enum("Swin_V2_B_Weights", "swin_v2_b-781e5279.pth", 87930848, 84.112,
                          96.864, 256, 272, 20.325, 336.372, "swintransformer-v2")


def _swin_transformer(embed_dim, depths, num_heads, window, sd_prob, weights, progress,
                      enum_cls, kwargs, v2=False) -> SwinTransformer:
    weights = resolve_weights(weights, kwargs, enum_cls)
    if v2:
        kwargs.setdefault("block", SwinTransformerBlockV2)
        kwargs.setdefault("downsample_layer", PatchMergingV2)
    model = SwinTransformer(patch_size=[4, 4], embed_dim=embed_dim, depths=depths,
                            num_heads=num_heads, window_size=[window, window],
                            stochastic_depth_prob=sd_prob, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def swin_t(*, weights: Swin_T_Weights | None = None, progress: bool = True,
           **kwargs) -> SwinTransformer:
    """Swin-T, 28.3M parameters."""
    return _swin_transformer(96, [2, 2, 6, 2], [3, 6, 12, 24], 7, 0.2, weights, progress,
                             Swin_T_Weights, kwargs)


@register_model()
def swin_s(*, weights: Swin_S_Weights | None = None, progress: bool = True,
           **kwargs) -> SwinTransformer:
    """Swin-S, 49.6M parameters."""
    return _swin_transformer(96, [2, 2, 18, 2], [3, 6, 12, 24], 7, 0.3, weights, progress,
                             Swin_S_Weights, kwargs)


@register_model()
def swin_b(*, weights: Swin_B_Weights | None = None, progress: bool = True,
           **kwargs) -> SwinTransformer:
    """Swin-B, 87.8M parameters."""
    return _swin_transformer(128, [2, 2, 18, 2], [4, 8, 16, 32], 7, 0.5, weights, progress,
                             Swin_B_Weights, kwargs)


@register_model()
def swin_v2_t(*, weights: Swin_V2_T_Weights | None = None, progress: bool = True,
              **kwargs) -> SwinTransformer:
    """Swin-V2-T, 28.4M parameters (window 8, 256x256 weights)."""
    return _swin_transformer(96, [2, 2, 6, 2], [3, 6, 12, 24], 8, 0.2, weights, progress,
                             Swin_V2_T_Weights, kwargs, v2=True)


@register_model()
def swin_v2_s(*, weights: Swin_V2_S_Weights | None = None, progress: bool = True,
              **kwargs) -> SwinTransformer:
    """Swin-V2-S, 49.7M parameters."""
    return _swin_transformer(96, [2, 2, 18, 2], [3, 6, 12, 24], 8, 0.3, weights, progress,
                             Swin_V2_S_Weights, kwargs, v2=True)


@register_model()
def swin_v2_b(*, weights: Swin_V2_B_Weights | None = None, progress: bool = True,
              **kwargs) -> SwinTransformer:
    """Swin-V2-B, 87.9M parameters."""
    return _swin_transformer(128, [2, 2, 18, 2], [4, 8, 16, 32], 8, 0.5, weights, progress,
                             Swin_V2_B_Weights, kwargs, v2=True)
