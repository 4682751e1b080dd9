"""Video Swin Transformer (Liu et al. 2022): Swin's shifted-window attention over 3D
windows of (T, H, W) tokens, with a relative position bias per 3D offset. The blocks and
patch merging are the 2D model's (they act on the last three axes), only the attention
and the patch embedding are 3D.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import ember
import ember.nn.functional as F
from ember import nn

from .._api import apply_weights, make_weights_enum, register_model, resolve_weights
from ..swin_transformer import PatchMerging, SwinTransformerBlock
from ._utils import kinetics_weights

__all__ = [
    "Swin3D_B_Weights",
    "Swin3D_S_Weights",
    "Swin3D_T_Weights",
    "SwinTransformer3d",
    "swin3d_b",
    "swin3d_s",
    "swin3d_t",
]


def _window_and_shift(shift_size: list[int], size_dhw: list[int], window_size: list[int]):
    """A side no longer than its window becomes one whole window and is not shifted."""
    window_size, shift_size = list(window_size), list(shift_size)
    for i in range(3):
        if size_dhw[i] <= window_size[i]:
            window_size[i] = size_dhw[i]
            shift_size[i] = 0
    return window_size, shift_size


def _get_relative_position_bias(table, index, window_size: list[int]):
    """(1, heads, N, N) bias for an N-token window; a shrunken window reads the top-left
    N x N block of the full window's index, as torchvision does."""
    window_vol = math.prod(window_size)
    bias = table[index[:window_vol, :window_vol].flatten()]
    return bias.view(window_vol, window_vol, -1).permute(2, 0, 1).contiguous().unsqueeze(0)


def _compute_pad_size_3d(size_dhw, patch_size) -> tuple[int, int, int]:
    pad = [(patch_size[i] - size_dhw[i] % patch_size[i]) % patch_size[i] for i in range(3)]
    return pad[0], pad[1], pad[2]


def _compute_attention_mask_3d(x, size_dhw, window_size, shift_size):
    """(windows, N, N) additive mask: -100 between tokens of different regions of the
    rolled volume (each axis splits into <size-window, the window strip and the shift
    strip), 0 within a region."""
    def labels(size, window, shift):
        pos = ember.arange(size, device=x.device)
        return (pos >= size - window).long() + (pos >= size - shift).long()

    d, h, w = (labels(size_dhw[i], window_size[i], shift_size[i]) for i in range(3))
    region = d.view(-1, 1, 1) * 9 + h.view(1, -1, 1) * 3 + w.view(1, 1, -1)
    region = region.view(size_dhw[0] // window_size[0], window_size[0],
                         size_dhw[1] // window_size[1], window_size[1],
                         size_dhw[2] // window_size[2], window_size[2])
    region = region.permute(0, 2, 4, 1, 3, 5).reshape(-1, math.prod(window_size))
    different = region.unsqueeze(1) != region.unsqueeze(2)
    return different.to(x.dtype) * -100.0


def shifted_window_attention_3d(input, qkv_weight, proj_weight, relative_position_bias,
                                window_size: list[int], num_heads: int,
                                shift_size: list[int], attention_dropout: float = 0.0,
                                dropout: float = 0.0, qkv_bias=None, proj_bias=None,
                                training: bool = True):
    """Window multi-head self-attention on [B, T, H, W, C]: pad to whole windows, roll by
    ``-shift_size``, attend inside each Wd x Wh x Ww window with the relative position
    bias (and the shift mask), merge and roll back."""
    b, t, h, w, c = input.shape
    pad = _compute_pad_size_3d((t, h, w), window_size)
    x = F.pad(input, (0, 0, 0, pad[2], 0, pad[1], 0, pad[0]))
    _, tp, hp, wp, _ = x.shape
    shifted = sum(shift_size) > 0
    if shifted:
        x = ember.roll(x, shifts=(-shift_size[0], -shift_size[1], -shift_size[2]),
                       dims=(1, 2, 3))
    grid = (tp // window_size[0], hp // window_size[1], wp // window_size[2])
    num_windows = math.prod(grid)
    tokens = math.prod(window_size)
    x = x.view(b, grid[0], window_size[0], grid[1], window_size[1], grid[2], window_size[2],
               c)
    x = x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b * num_windows, tokens, c)
    head_dim = c // num_heads
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.shape[0], tokens, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = (q * head_dim ** -0.5).matmul(k.transpose(-2, -1)) + relative_position_bias
    if shifted:
        mask = _compute_attention_mask_3d(x, (tp, hp, wp), window_size, shift_size)
        attn = attn.view(b, num_windows, num_heads, tokens, tokens)
        attn = (attn + mask.unsqueeze(1).unsqueeze(0)).view(-1, num_heads, tokens, tokens)
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], tokens, c)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.view(b, grid[0], grid[1], grid[2], window_size[0], window_size[1], window_size[2],
               c)
    x = x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, tp, hp, wp, c)
    if shifted:
        x = ember.roll(x, shifts=tuple(shift_size), dims=(1, 2, 3))
    return x[:, :t, :h, :w, :].contiguous()


class ShiftedWindowAttention3d(nn.Module):
    """qkv and proj Linears plus a learned bias per relative 3D offset and head
    (``relative_position_bias_table``, indexed by the (N, N) ``relative_position_index``)."""

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int],
                 num_heads: int, qkv_bias: bool = True, proj_bias: bool = True,
                 attention_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        if len(window_size) != 3 or len(shift_size) != 3:
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
        wd, wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            ember.zeros((2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1), self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def define_relative_position_index(self) -> None:
        # offset (dd, dh, dw), each shifted to start at 0, flattened row-major
        wd, wh, ww = self.window_size
        coords = ember.stack(ember.meshgrid(ember.arange(wd), ember.arange(wh),
                                            ember.arange(ww), indexing="ij")).flatten(1)
        offsets = coords[:, :, None] - coords[:, None, :]
        index = ((offsets[0] + wd - 1) * (2 * wh - 1) * (2 * ww - 1)
                 + (offsets[1] + wh - 1) * (2 * ww - 1) + (offsets[2] + ww - 1))
        self.register_buffer("relative_position_index", index)

    def get_relative_position_bias(self, window_size: list[int]):
        return _get_relative_position_bias(self.relative_position_bias_table,
                                           self.relative_position_index, window_size)

    def forward(self, x):
        _, t, h, w, _ = x.shape
        window_size, shift_size = _window_and_shift(self.shift_size, [t, h, w],
                                                    self.window_size)
        return shifted_window_attention_3d(
            x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(window_size),
            window_size, self.num_heads, shift_size=shift_size,
            attention_dropout=self.attention_dropout, dropout=self.dropout,
            qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class PatchEmbed3d(nn.Module):
    """Video to patch tokens: pad to whole patches, a Conv3d with stride = kernel =
    ``patch_size``, channels last, optional norm. (B, C, T, H, W) -> (B, T', H', W', D)."""

    def __init__(self, patch_size: list[int], in_channels: int = 3, embed_dim: int = 96,
                 norm_layer: Callable | None = None) -> None:
        super().__init__()
        self.tuple_patch_size = (patch_size[0], patch_size[1], patch_size[2])
        self.proj = nn.Conv3d(in_channels, embed_dim, kernel_size=self.tuple_patch_size,
                              stride=self.tuple_patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else nn.Identity()

    def forward(self, x):
        _, _, t, h, w = x.shape
        pad = _compute_pad_size_3d((t, h, w), self.tuple_patch_size)
        x = F.pad(x, (0, pad[2], 0, pad[1], 0, pad[0]))
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1))


class SwinTransformer3d(nn.Module):
    """Patch embedding, four stages of 3D Swin blocks (odd blocks shifted by half a
    window) joined by patch merging, LayerNorm, average pool, Linear head.

    Shape: (N, 3, T, H, W) -> (N, num_classes).
    """

    def __init__(self, patch_size: list[int], embed_dim: int, depths: list[int],
                 num_heads: list[int], window_size: list[int], mlp_ratio: float = 4.0,
                 dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.1, num_classes: int = 400,
                 norm_layer: Callable | None = None, block: Callable | None = None,
                 downsample_layer: Callable = PatchMerging,
                 patch_embed: Callable | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        if block is None:
            block = partial(SwinTransformerBlock, attn_layer=ShiftedWindowAttention3d)
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-5)
        patch_embed = patch_embed or PatchEmbed3d
        self.patch_embed = patch_embed(patch_size=patch_size, embed_dim=embed_dim,
                                       norm_layer=norm_layer)
        self.pos_drop = nn.Dropout(p=dropout)
        layers: list[nn.Module] = []
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
                                   stochastic_depth_prob=sd_prob, norm_layer=norm_layer,
                                   attn_layer=ShiftedWindowAttention3d))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(self.num_features)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(self.num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(self.pos_drop(self.patch_embed(x)))
        x = self.norm(x).permute(0, 4, 1, 2, 3)
        return self.head(ember.flatten(self.avgpool(x), 1))


_URL = "https://download.pytorch.org/models/"
_SWIN_PRESET = {"crop": (224, 224), "resize": (256,), "mean": (0.4850, 0.4560, 0.4060),
                "std": (0.2290, 0.2240, 0.2250), "min_temporal_size": 1,
                "recipe": "https://github.com/SwinTransformer/Video-Swin-Transformer"
                          "#kinetics-400"}

Swin3D_T_Weights = make_weights_enum("Swin3D_T_Weights", {
    "KINETICS400_V1": kinetics_weights(_URL + "swin3d_t-7615ae03.pth", 28158070, 77.715,
                                       93.519, 43.882, 121.543, **_SWIN_PRESET),
}, __name__)
Swin3D_S_Weights = make_weights_enum("Swin3D_S_Weights", {
    "KINETICS400_V1": kinetics_weights(_URL + "swin3d_s-da41c237.pth", 49816678, 79.521,
                                       94.158, 82.841, 218.288, **_SWIN_PRESET),
}, __name__)
_SWIN3D_B_1K = kinetics_weights(_URL + "swin3d_b_1k-24f7c7c6.pth", 88048984, 79.427, 94.386,
                                140.667, 364.134, **_SWIN_PRESET)
Swin3D_B_Weights = make_weights_enum("Swin3D_B_Weights", {
    "KINETICS400_V1": _SWIN3D_B_1K,
    "KINETICS400_IMAGENET22K_V1": kinetics_weights(
        _URL + "swin3d_b_22k-7c6ae6fa.pth", 88048984, 81.643, 95.574, 140.667, 364.134,
        **_SWIN_PRESET),
    "DEFAULT": _SWIN3D_B_1K,  # torchvision keeps the Kinetics-only weights as default
}, __name__)


def _swin3d(embed_dim, depths, num_heads, weights, progress, enum_cls,
            kwargs) -> SwinTransformer3d:
    weights = resolve_weights(weights, kwargs, enum_cls)
    model = SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=embed_dim, depths=depths,
                              num_heads=num_heads, window_size=[8, 7, 7],
                              stochastic_depth_prob=0.1, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def swin3d_t(*, weights: Swin3D_T_Weights | None = None, progress: bool = True,
             **kwargs) -> SwinTransformer3d:
    """Video Swin-T, 28.2M parameters."""
    return _swin3d(96, [2, 2, 6, 2], [3, 6, 12, 24], weights, progress, Swin3D_T_Weights,
                   kwargs)


@register_model()
def swin3d_s(*, weights: Swin3D_S_Weights | None = None, progress: bool = True,
             **kwargs) -> SwinTransformer3d:
    """Video Swin-S, 49.8M parameters."""
    return _swin3d(96, [2, 2, 18, 2], [3, 6, 12, 24], weights, progress, Swin3D_S_Weights,
                   kwargs)


@register_model()
def swin3d_b(*, weights: Swin3D_B_Weights | None = None, progress: bool = True,
             **kwargs) -> SwinTransformer3d:
    """Video Swin-B, 88.0M parameters."""
    return _swin3d(128, [2, 2, 18, 2], [4, 8, 16, 32], weights, progress, Swin3D_B_Weights,
                   kwargs)
