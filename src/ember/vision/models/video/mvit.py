"""Multiscale Vision Transformers for video: MViTv1 (Fan et al. 2021) and MViTv2 (Li et
al. 2022). Attention runs on a token grid (T, H, W) plus a class token; queries, keys and
values are pooled by depthwise strided Conv3d so the grid shrinks stage by stage while the
width grows. v2 adds decomposed relative position biases and a pooled-query residual.

Module and parameter names follow torchvision (``blocks.3.attn.pool_k.pool.weight``,
``pos_encoding.spatial_pos``), so its checkpoints load.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

import ember
import ember.nn.functional as F
from ember import nn
from ember.vision.ops.misc import MLP
from ember.vision.ops.stochastic_depth import StochasticDepth

from .._api import apply_weights, make_weights_enum, register_model, resolve_weights
from ._utils import kinetics_weights

__all__ = ["MViT", "MViT_V1_B_Weights", "MViT_V2_S_Weights", "mvit_v1_b", "mvit_v2_s"]


@dataclass
class MSBlockConfig:
    """One block of the table in the MViT papers: heads, widths, pooling kernels/strides
    (an empty list means no pooling)."""

    num_heads: int
    input_channels: int
    output_channels: int
    kernel_q: list[int]
    kernel_kv: list[int]
    stride_q: list[int]
    stride_kv: list[int]


def _prod(s: Sequence[int]) -> int:
    return math.prod(s)


class Pool(nn.Module):
    """Pools the token grid of (B, [heads,] 1 + T*H*W, C) tokens with ``pool`` (a
    depthwise Conv3d or a MaxPool3d over (T, H, W)), keeping the class token apart, then
    applies ``norm`` (and ``activation``) to all tokens. Returns the tokens and new (T, H, W).
    """

    def __init__(self, pool: nn.Module, norm: nn.Module | None,
                 activation: nn.Module | None = None, norm_before_pool: bool = False) -> None:
        super().__init__()
        self.pool = pool
        layers = [m for m in (norm, activation) if m is not None]
        self.norm_act = nn.Sequential(*layers) if layers else None
        self.norm_before_pool = norm_before_pool

    def forward(self, x, thw: tuple[int, int, int]):
        squeeze = x.dim() == 3
        if squeeze:
            x = x.unsqueeze(1)
        elif x.dim() != 4:
            raise ValueError(f"Unsupported input dimension {x.shape}")
        class_token, x = x[:, :, :1], x[:, :, 1:]
        x = x.transpose(2, 3)
        b, n, c = x.shape[:3]
        x = x.reshape((b * n, c) + tuple(thw)).contiguous()
        if self.norm_before_pool and self.norm_act is not None:
            x = self.norm_act(x)
        x = self.pool(x)
        t, h, w = x.shape[2:]
        x = ember.cat((class_token, x.reshape(b, n, c, -1).transpose(2, 3)), dim=2)
        if not self.norm_before_pool and self.norm_act is not None:
            x = self.norm_act(x)
        if squeeze:
            x = x.squeeze(1)
        return x, (t, h, w)


def _interpolate(embedding, d: int):
    """Resize a (L, C) relative-position table to L = ``d`` rows (linear in L)."""
    if embedding.shape[0] == d:
        return embedding
    resized = F.interpolate(embedding.permute(1, 0).unsqueeze(0), size=d, mode="linear")
    return resized.squeeze(0).permute(1, 0)


def _rel_index(q_size: int, k_size: int, device):
    """Row of the relative table for each (query, key) pair along one axis, with the
    coarser grid's coordinates scaled up to the finer one's."""
    q_ratio = max(k_size / q_size, 1.0)
    k_ratio = max(q_size / k_size, 1.0)
    dist = (np.arange(q_size)[:, None] * q_ratio
            - (np.arange(k_size)[None, :] + (1.0 - k_size)) * k_ratio)
    return ember.from_numpy(dist.astype(np.int64)).to(device)


def _add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t):
    """MViTv2's decomposed relative position bias: for every query the bias to each key
    is R_t[dt] . q + R_h[dh] . q + R_w[dw] . q; added to the token-token block of
    ``attn`` (the class-token row and column get none)."""
    q_t, q_h, q_w = q_thw
    k_t, k_h, k_w = k_thw
    device = q.device
    rel_h = _interpolate(rel_pos_h, 2 * max(q_h, k_h) - 1)[_rel_index(q_h, k_h, device)]
    rel_w = _interpolate(rel_pos_w, 2 * max(q_w, k_w) - 1)[_rel_index(q_w, k_w, device)]
    rel_t = _interpolate(rel_pos_t, 2 * max(q_t, k_t) - 1)[_rel_index(q_t, k_t, device)]
    b, n_head, _, dim = q.shape
    r_q = q[:, :, 1:].reshape(b, n_head, q_t, q_h, q_w, dim)
    rel_h_q = ember.einsum("bythwc,hkc->bythwk", r_q, rel_h)
    rel_w_q = ember.einsum("bythwc,wkc->bythwk", r_q, rel_w)
    rel_t_q = ember.einsum("bythwc,tkc->bythwk", r_q, rel_t)
    rel_pos = (rel_h_q[:, :, :, :, :, None, :, None]
               + rel_w_q[:, :, :, :, :, None, None, :]
               + rel_t_q[:, :, :, :, :, :, None, None])
    rel_pos = rel_pos.reshape(b, n_head, q_t * q_h * q_w, k_t * k_h * k_w)
    # zero bias for the class token's row and column, out of place so autograd sees it
    return attn + F.pad(rel_pos, (1, 0, 1, 0))


class MultiscaleAttention(nn.Module):
    """Pooling attention: q, k, v from one Linear, each optionally pooled (pool_q,
    pool_k, pool_v: depthwise Conv3d + norm per head), softmax(q k^T / sqrt(d)) v, then
    (v2) the pooled query added back, and a Linear projection."""

    def __init__(self, input_size: list[int], embed_dim: int, output_dim: int,
                 num_heads: int, kernel_q: list[int], kernel_kv: list[int],
                 stride_q: list[int], stride_kv: list[int], residual_pool: bool,
                 residual_with_cls_embed: bool, rel_pos_embed: bool, dropout: float = 0.0,
                 norm_layer: Callable = nn.LayerNorm) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.output_dim = output_dim
        self.num_heads = num_heads
        self.head_dim = output_dim // num_heads
        self.scaler = 1.0 / math.sqrt(self.head_dim)
        self.residual_pool = residual_pool
        self.residual_with_cls_embed = residual_with_cls_embed
        self.qkv = nn.Linear(embed_dim, 3 * output_dim)
        layers: list[nn.Module] = [nn.Linear(output_dim, output_dim)]
        if dropout > 0.0:
            layers.append(nn.Dropout(dropout, inplace=True))
        self.project = nn.Sequential(*layers)

        def pool(kernel, stride):
            conv = nn.Conv3d(self.head_dim, self.head_dim, kernel, stride=stride,
                             padding=[int(k // 2) for k in kernel], groups=self.head_dim,
                             bias=False)
            return Pool(conv, norm_layer(self.head_dim))

        self.pool_q = None
        if _prod(kernel_q) > 1 or _prod(stride_q) > 1:
            self.pool_q = pool(kernel_q, stride_q)
        self.pool_k = None
        self.pool_v = None
        if _prod(kernel_kv) > 1 or _prod(stride_kv) > 1:
            self.pool_k = pool(kernel_kv, stride_kv)
            self.pool_v = pool(kernel_kv, stride_kv)
        self.rel_pos_h = None
        self.rel_pos_w = None
        self.rel_pos_t = None
        if rel_pos_embed:
            size = max(input_size[1:])
            q_size = size // stride_q[1] if len(stride_q) > 0 else size
            kv_size = size // stride_kv[1] if len(stride_kv) > 0 else size
            spatial_dim = 2 * max(q_size, kv_size) - 1
            temporal_dim = 2 * input_size[0] - 1
            self.rel_pos_h = nn.Parameter(ember.zeros(spatial_dim, self.head_dim))
            self.rel_pos_w = nn.Parameter(ember.zeros(spatial_dim, self.head_dim))
            self.rel_pos_t = nn.Parameter(ember.zeros(temporal_dim, self.head_dim))
            for table in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                nn.init.trunc_normal_(table, std=0.02)

    def forward(self, x, thw: tuple[int, int, int]):
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).transpose(1, 3)
        q, k, v = qkv.unbind(dim=2)
        k_thw = thw
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
        if self.pool_v is not None:
            v = self.pool_v(v, thw)[0]
        if self.pool_q is not None:
            q, thw = self.pool_q(q, thw)
        attn = ember.matmul(self.scaler * q, k.transpose(2, 3))
        if self.rel_pos_h is not None:
            attn = _add_rel_pos(attn, q, thw, k_thw, self.rel_pos_h, self.rel_pos_w,
                                self.rel_pos_t)
        x = ember.matmul(attn.softmax(dim=-1), v)
        if self.residual_pool:
            if self.residual_with_cls_embed:
                x = x + q
            else:  # the class token keeps its attention output only
                x = x + F.pad(q[:, :, 1:, :], (0, 0, 1, 0))
        x = x.transpose(1, 2).reshape(b, -1, self.output_dim)
        return self.project(x), thw


class MultiscaleBlock(nn.Module):
    """Pre-norm transformer block around MultiscaleAttention; the skip path is max-pooled
    when queries are strided and projected by a Linear when the width changes (v1 after
    the MLP's norm, v2 right after attention)."""

    def __init__(self, input_size: list[int], cnf: MSBlockConfig, residual_pool: bool,
                 residual_with_cls_embed: bool, rel_pos_embed: bool, proj_after_attn: bool,
                 dropout: float = 0.0, stochastic_depth_prob: float = 0.0,
                 norm_layer: Callable = nn.LayerNorm) -> None:
        super().__init__()
        self.proj_after_attn = proj_after_attn
        self.pool_skip = None
        if _prod(cnf.stride_q) > 1:
            kernel_skip = [s + 1 if s > 1 else s for s in cnf.stride_q]
            padding_skip = [int(k // 2) for k in kernel_skip]
            self.pool_skip = Pool(nn.MaxPool3d(kernel_skip, stride=cnf.stride_q,
                                               padding=padding_skip), None)
        attn_dim = cnf.output_channels if proj_after_attn else cnf.input_channels
        self.norm1 = norm_layer(cnf.input_channels)
        self.norm2 = norm_layer(attn_dim)
        self.needs_transposal = isinstance(self.norm1, nn.BatchNorm1d)
        self.attn = MultiscaleAttention(
            input_size, cnf.input_channels, attn_dim, cnf.num_heads, kernel_q=cnf.kernel_q,
            kernel_kv=cnf.kernel_kv, stride_q=cnf.stride_q, stride_kv=cnf.stride_kv,
            rel_pos_embed=rel_pos_embed, residual_pool=residual_pool,
            residual_with_cls_embed=residual_with_cls_embed, dropout=dropout,
            norm_layer=norm_layer)
        self.mlp = MLP(attn_dim, [4 * attn_dim, cnf.output_channels], activation_layer=nn.GELU,
                       dropout=dropout, inplace=None)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.project = None
        if cnf.input_channels != cnf.output_channels:
            self.project = nn.Linear(cnf.input_channels, cnf.output_channels)

    def _norm(self, norm, x):
        return norm(x.transpose(1, 2)).transpose(1, 2) if self.needs_transposal else norm(x)

    def forward(self, x, thw: tuple[int, int, int]):
        x_norm1 = self._norm(self.norm1, x)
        x_attn, thw_new = self.attn(x_norm1, thw)
        if self.project is not None and self.proj_after_attn:
            x = self.project(x_norm1)
        x_skip = x if self.pool_skip is None else self.pool_skip(x, thw)[0]
        x = x_skip + self.stochastic_depth(x_attn)
        x_norm2 = self._norm(self.norm2, x)
        x_proj = x
        if self.project is not None and not self.proj_after_attn:
            x_proj = self.project(x_norm2)
        return x_proj + self.stochastic_depth(self.mlp(x_norm2)), thw_new


class PositionalEncoding(nn.Module):
    """Prepends the class token; v1 also adds separable learned positions (a temporal
    row per frame plus a spatial row per location, and one for the class token)."""

    def __init__(self, embed_size: int, spatial_size: tuple[int, int], temporal_size: int,
                 rel_pos_embed: bool) -> None:
        super().__init__()
        self.spatial_size = spatial_size
        self.temporal_size = temporal_size
        self.class_token = nn.Parameter(ember.zeros(embed_size))
        self.spatial_pos = None
        self.temporal_pos = None
        self.class_pos = None
        if not rel_pos_embed:
            self.spatial_pos = nn.Parameter(
                ember.zeros(self.spatial_size[0] * self.spatial_size[1], embed_size))
            self.temporal_pos = nn.Parameter(ember.zeros(self.temporal_size, embed_size))
            self.class_pos = nn.Parameter(ember.zeros(embed_size))

    def forward(self, x):
        class_token = self.class_token.expand(x.size(0), -1).unsqueeze(1)
        x = ember.cat((class_token, x), dim=1)
        if self.spatial_pos is not None:
            hw_size, embed_size = self.spatial_pos.shape
            pos = ember.repeat_interleave(self.temporal_pos, hw_size, dim=0)
            pos = pos + self.spatial_pos.unsqueeze(0).expand(
                self.temporal_size, -1, -1).reshape(-1, embed_size)
            pos = ember.cat((self.class_pos.unsqueeze(0), pos), dim=0).unsqueeze(0)
            x = x + pos
        return x


class MViT(nn.Module):
    """MViT for clips (N, 3, T, H, W) (or images (N, 3, H, W), seen as one frame).

    ``spatial_size`` and ``temporal_size`` fix the token grid after the patch embedding
    (a strided Conv3d); the learned positions (v1) and relative tables (v2) are sized for
    it, so inputs must have that size.

    Args:
        spatial_size, temporal_size: input (H, W) and T.
        block_setting: one MSBlockConfig per block.
        residual_pool, residual_with_cls_embed, rel_pos_embed, proj_after_attn: v2 switches.
        dropout: before the head. attention_dropout: in attention and MLP.
        stochastic_depth_prob: the last block's rate (linear in depth from 0).
        num_classes: head width. Default 400.
    """

    def __init__(self, spatial_size: tuple[int, int], temporal_size: int,
                 block_setting: Sequence[MSBlockConfig], residual_pool: bool,
                 residual_with_cls_embed: bool, rel_pos_embed: bool, proj_after_attn: bool,
                 dropout: float = 0.5, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0, num_classes: int = 400,
                 block: Callable | None = None, norm_layer: Callable | None = None,
                 patch_embed_kernel: tuple[int, int, int] = (3, 7, 7),
                 patch_embed_stride: tuple[int, int, int] = (2, 4, 4),
                 patch_embed_padding: tuple[int, int, int] = (1, 3, 3)) -> None:
        super().__init__()
        total_stage_blocks = len(block_setting)
        if total_stage_blocks == 0:
            raise ValueError("The configuration parameter can't be empty.")
        block = block or MultiscaleBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.conv_proj = nn.Conv3d(3, block_setting[0].input_channels,
                                   kernel_size=patch_embed_kernel, stride=patch_embed_stride,
                                   padding=patch_embed_padding)
        input_size = [size // stride for size, stride in
                      zip((temporal_size,) + tuple(spatial_size), self.conv_proj.stride)]
        self.pos_encoding = PositionalEncoding(
            embed_size=block_setting[0].input_channels,
            spatial_size=(input_size[1], input_size[2]), temporal_size=input_size[0],
            rel_pos_embed=rel_pos_embed)
        self.blocks = nn.ModuleList()
        for stage_block_id, cnf in enumerate(block_setting):
            sd_prob = stochastic_depth_prob * stage_block_id / (total_stage_blocks - 1.0)
            self.blocks.append(block(
                input_size=input_size, cnf=cnf, residual_pool=residual_pool,
                residual_with_cls_embed=residual_with_cls_embed, rel_pos_embed=rel_pos_embed,
                proj_after_attn=proj_after_attn, dropout=attention_dropout,
                stochastic_depth_prob=sd_prob, norm_layer=norm_layer))
            if len(cnf.stride_q) > 0:
                input_size = [size // stride for size, stride in zip(input_size, cnf.stride_q)]
        self.norm = norm_layer(block_setting[-1].output_channels)
        self.head = nn.Sequential(nn.Dropout(dropout, inplace=True),
                                  nn.Linear(block_setting[-1].output_channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, nn.LayerNorm):
                if m.weight is not None:
                    nn.init.constant_(m.weight, 1.0)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, PositionalEncoding):
                for weights in m.parameters():
                    nn.init.trunc_normal_(weights, std=0.02)

    def forward(self, x):
        if x.dim() == 4:  # (B, C, H, W) -> (B, C, 1, H, W)
            x = x.unsqueeze(2)
        elif x.dim() != 5:
            raise ValueError(f"Unsupported input dimension {x.shape}")
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = self.pos_encoding(x)
        thw = (self.pos_encoding.temporal_size,) + tuple(self.pos_encoding.spatial_size)
        for block in self.blocks:
            x, thw = block(x, thw)
        return self.head(self.norm(x)[:, 0])


def _configs(rows: dict) -> list[MSBlockConfig]:
    return [MSBlockConfig(*(rows[key][i] for key in (
        "num_heads", "input_channels", "output_channels", "kernel_q", "kernel_kv",
        "stride_q", "stride_kv"))) for i in range(len(rows["num_heads"]))]


_K3 = [3, 3, 3]
_NONE: list[int] = []
_S1, _S2, _S4, _S8 = [1, 1, 1], [1, 2, 2], [1, 4, 4], [1, 8, 8]
_HEADS = [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8]
_KV_STRIDES = [_S8, _S4, _S4] + [_S2] * 11 + [_S1, _S1]

_V1_B = _configs({
    "num_heads": _HEADS,
    "input_channels": [96, 192, 192] + [384] * 11 + [768, 768],
    "output_channels": [192, 192] + [384] * 11 + [768, 768, 768],
    "kernel_q": [_NONE, _K3, _NONE, _K3] + [_NONE] * 10 + [_K3, _NONE],
    "kernel_kv": [_K3] * 16,
    "stride_q": [_NONE, _S2, _NONE, _S2] + [_NONE] * 10 + [_S2, _NONE],
    "stride_kv": _KV_STRIDES,
})
_V2_S = _configs({
    "num_heads": _HEADS,
    "input_channels": [96, 96, 192, 192] + [384] * 11 + [768],
    "output_channels": [96, 192, 192] + [384] * 11 + [768, 768],
    "kernel_q": [_K3] * 16,
    "kernel_kv": [_K3] * 16,
    "stride_q": [_S1, _S2, _S1, _S2] + [_S1] * 10 + [_S2, _S1],
    "stride_kv": _KV_STRIDES,
})

_MVIT_PRESET = {"crop": (224, 224), "resize": (256,), "mean": (0.45, 0.45, 0.45),
                "std": (0.225, 0.225, 0.225), "min_size": (224, 224),
                "min_temporal_size": 16}
MViT_V1_B_Weights = make_weights_enum("MViT_V1_B_Weights", {
    "KINETICS400_V1": kinetics_weights(
        "https://download.pytorch.org/models/mvit_v1_b-dbeb1030.pth", 36610672, 78.477,
        93.582, 70.599, 139.764,
        recipe="https://github.com/facebookresearch/pytorchvideo/blob/main/docs/source/"
               "model_zoo.md", **_MVIT_PRESET),
}, __name__)
MViT_V2_S_Weights = make_weights_enum("MViT_V2_S_Weights", {
    "KINETICS400_V1": kinetics_weights(
        "https://download.pytorch.org/models/mvit_v2_s-ae3be167.pth", 34537744, 80.757,
        94.665, 64.224, 131.884,
        recipe="https://github.com/facebookresearch/SlowFast/blob/main/MODEL_ZOO.md",
        **_MVIT_PRESET),
}, __name__)


def _mvit(block_setting, weights, progress, enum_cls, kwargs, **variant) -> MViT:
    weights = resolve_weights(weights, kwargs, enum_cls)
    if weights is not None:
        from .._utils import _ovewrite_value_param

        for param, value in (("spatial_size", weights.meta["min_size"]),
                             ("temporal_size", weights.meta["min_temporal_size"])):
            kwargs[param] = _ovewrite_value_param(param, kwargs.get(param), value)
    spatial_size = kwargs.pop("spatial_size", (224, 224))
    temporal_size = kwargs.pop("temporal_size", 16)
    sd_prob = kwargs.pop("stochastic_depth_prob", 0.2)
    for key, default in variant.items():
        variant[key] = kwargs.pop(key, default)
    model = MViT(spatial_size=spatial_size, temporal_size=temporal_size,
                 block_setting=block_setting, stochastic_depth_prob=sd_prob, **variant,
                 **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def mvit_v1_b(*, weights: MViT_V1_B_Weights | None = None, progress: bool = True,
              **kwargs) -> MViT:
    """MViTv1-Base for 16x224x224 clips, 36.6M parameters."""
    return _mvit(_V1_B, weights, progress, MViT_V1_B_Weights, kwargs, residual_pool=False,
                 residual_with_cls_embed=False, rel_pos_embed=False, proj_after_attn=False)


@register_model()
def mvit_v2_s(*, weights: MViT_V2_S_Weights | None = None, progress: bool = True,
              **kwargs) -> MViT:
    """MViTv2-Small for 16x224x224 clips, 34.5M parameters."""
    return _mvit(_V2_S, weights, progress, MViT_V2_S_Weights, kwargs, residual_pool=True,
                 residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True)
