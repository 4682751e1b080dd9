"""Vision Transformer (Dosovitskiy et al. 2020): patch embedding, class token, encoder.

ViT-B/16, B/32, L/16, L/32 and H/14 share one ``VisionTransformer``; an optional
convolutional stem (Xiao et al. 2021, ``ConvStemConfig``) replaces the patchify conv.
Names follow torchvision (``conv_proj``, ``class_token``,
``encoder.layers.encoder_layer_0.ln_1``, ``encoder.pos_embedding``, ``heads.head``), so
its checkpoints load, the old ``mlp.linear_1`` key layout included.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import ember
from ember import nn

from ._api import (
    apply_weights,
    imagenet_weights,
    make_weights_enum,
    register_model,
    resolve_weights,
)
from ._layers import MLP, Conv2dNormActivation

# as torchvision's: ConvStemConfig and interpolate_embeddings live in this module only
__all__ = [
    "ViT_B_16_Weights", "ViT_B_32_Weights", "ViT_H_14_Weights", "ViT_L_16_Weights",
    "ViT_L_32_Weights", "VisionTransformer", "vit_b_16", "vit_b_32", "vit_h_14", "vit_l_16",
    "vit_l_32",
]


_LAYER_NORM = partial(nn.LayerNorm, eps=1e-6)


class ConvStemConfig(NamedTuple):
    """One conv-norm-activation layer of the optional convolutional stem."""

    out_channels: int
    kernel_size: int
    stride: int
    norm_layer: Callable = nn.BatchNorm2d
    activation_layer: Callable = nn.ReLU


class MLPBlock(MLP):
    """Linear, GELU, Dropout, Linear, Dropout (keys ``0`` and ``3`` hold weights).

    Version 2 of the module: checkpoints saved before torchvision switched to ``MLP``
    name the linears ``linear_1`` / ``linear_2``; loading renames them."""

    _version = 2

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, inplace=None,
                         dropout=dropout)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            for i in range(2):
                for kind in ("weight", "bias"):
                    old = f"{prefix}linear_{i + 1}.{kind}"
                    if old in state_dict:
                        state_dict[f"{prefix}{3 * i}.{kind}"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


class EncoderBlock(nn.Module):
    """Pre-norm transformer layer: x + attn(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float,
                 attention_dropout: float,
                 norm_layer: Callable = _LAYER_NORM) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads,
                                                    dropout=attention_dropout,
                                                    batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input):
        if input.dim() != 3:
            raise ValueError("Expected (batch_size, seq_length, hidden_dim) got "
                             f"{tuple(input.shape)}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Learned position embedding, dropout, the layers, a final LayerNorm."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float, attention_dropout: float,
                 norm_layer: Callable = _LAYER_NORM) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(
            nn.init.normal_(ember.empty(1, seq_length, hidden_dim), std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout,
                                                attention_dropout, norm_layer))
            for i in range(num_layers)))
        self.ln = norm_layer(hidden_dim)

    def forward(self, input):
        if input.dim() != 3:
            raise ValueError("Expected (batch_size, seq_length, hidden_dim) got "
                             f"{tuple(input.shape)}")
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """Square images of ``image_size`` cut into ``patch_size`` patches, one class token."""

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int,
                 hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None,
                 norm_layer: Callable = _LAYER_NORM,
                 conv_stem_configs: list[ConvStemConfig] | None = None) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError("Input shape indivisible by patch size!")
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.norm_layer = norm_layer
        if conv_stem_configs is not None:
            # The stem's strides must multiply to patch_size; a 1x1 conv maps to hidden_dim.
            stem = nn.Sequential()
            prev = 3
            for i, cfg in enumerate(conv_stem_configs):
                stem.add_module(f"conv_bn_relu_{i}", Conv2dNormActivation(
                    prev, cfg.out_channels, kernel_size=cfg.kernel_size, stride=cfg.stride,
                    norm_layer=cfg.norm_layer, activation_layer=cfg.activation_layer))
                prev = cfg.out_channels
            stem.add_module("conv_last", nn.Conv2d(prev, hidden_dim, kernel_size=1))
            self.conv_proj: nn.Module = stem
        else:
            self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size,
                                       stride=patch_size)
        seq_length = (image_size // patch_size) ** 2
        self.class_token = nn.Parameter(ember.zeros(1, 1, hidden_dim))
        seq_length += 1
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim,
                               dropout, attention_dropout, norm_layer)
        self.seq_length = seq_length
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)

        if isinstance(self.conv_proj, nn.Conv2d):
            fan_in = self.conv_proj.in_channels * patch_size * patch_size
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
            nn.init.zeros_(self.conv_proj.bias)
        else:
            last = self.conv_proj.conv_last
            nn.init.normal_(last.weight, mean=0.0, std=math.sqrt(2.0 / last.out_channels))
            nn.init.zeros_(last.bias)
        if "pre_logits" in heads:
            fan_in = heads["pre_logits"].in_features
            nn.init.trunc_normal_(heads["pre_logits"].weight, std=math.sqrt(1 / fan_in))
            nn.init.zeros_(heads["pre_logits"].bias)
        nn.init.zeros_(heads["head"].weight)
        nn.init.zeros_(heads["head"].bias)

    def _process_input(self, x):
        n, _, h, w = x.shape
        p = self.patch_size
        if h != self.image_size:
            raise ValueError(f"Wrong image height! Expected {self.image_size} but got {h}!")
        if w != self.image_size:
            raise ValueError(f"Wrong image width! Expected {self.image_size} but got {w}!")
        x = self.conv_proj(x)
        x = x.reshape(n, self.hidden_dim, (h // p) * (w // p))
        return x.permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        batch_class_token = self.class_token.expand(x.shape[0], -1, -1)
        x = self.encoder(ember.cat([batch_class_token, x], dim=1))
        return self.heads(x[:, 0])


_URL = "https://download.pytorch.org/models/"
_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#"
_SWAG = {"recipe": "https://github.com/facebookresearch/SWAG",
         "license": "https://github.com/facebookresearch/SWAG/blob/main/LICENSE"}
_LINEAR_RECIPE = "https://github.com/pytorch/vision/pull/5793"


def _v1(file, params, acc1, acc5, ops, size, arch, resize=256):
    """Trained by torchvision (DeiT-style recipe); inputs exactly 224x224."""
    return imagenet_weights(_URL + file, params, acc1, acc5, resize=resize,
                            min_size=(224, 224), recipe=_RECIPE + arch, _ops=ops,
                            _file_size=size)


def _swag(file, params, acc1, acc5, crop, ops, size, linear=False):
    """SWAG weights: fine-tuned end to end at ``crop``, or (``linear``) a frozen trunk
    with a linear classifier at 224; bicubic, no resize margin."""
    meta = {**_SWAG, "recipe": _LINEAR_RECIPE} if linear else _SWAG
    return imagenet_weights(_URL + file, params, acc1, acc5, crop=crop, resize=crop,
                            interpolation="bicubic", min_size=(crop, crop), _ops=ops,
                            _file_size=size, **meta)


def _weights_enum(name: str, members: dict):
    """``DEFAULT`` names the member it aliases (the first entry, not the last, here)."""
    if isinstance(members.get("DEFAULT"), str):
        members["DEFAULT"] = members[members["DEFAULT"]]
    return make_weights_enum(name, members, __name__)


ViT_B_16_Weights = _weights_enum("ViT_B_16_Weights", {
    "IMAGENET1K_V1": _v1("vit_b_16-c867db91.pth", 86567656, 81.072, 95.318, 17.564,
                         330.285, "vit_b_16"),
    "IMAGENET1K_SWAG_E2E_V1": _swag("vit_b_16_swag-9ac1b537.pth", 86859496, 85.304, 97.650,
                                    384, 55.484, 331.398),
    "IMAGENET1K_SWAG_LINEAR_V1": _swag("vit_b_16_lc_swag-4e70ced5.pth", 86567656, 81.886,
                                       96.180, 224, 17.564, 330.285, linear=True),
    "DEFAULT": "IMAGENET1K_V1"})
ViT_B_32_Weights = _weights_enum("ViT_B_32_Weights", {
    "IMAGENET1K_V1": _v1("vit_b_32-d86f8d99.pth", 88224232, 75.912, 92.466, 4.409,
                         336.604, "vit_b_32")})
ViT_L_16_Weights = _weights_enum("ViT_L_16_Weights", {
    "IMAGENET1K_V1": _v1("vit_l_16-852ce7e3.pth", 304326632, 79.662, 94.638, 61.555,
                         1161.023, "vit_l_16", resize=242),
    "IMAGENET1K_SWAG_E2E_V1": _swag("vit_l_16_swag-4f3808c9.pth", 305174504, 88.064, 98.512,
                                    512, 361.986, 1164.258),
    "IMAGENET1K_SWAG_LINEAR_V1": _swag("vit_l_16_lc_swag-4d563306.pth", 304326632, 85.146,
                                       97.422, 224, 61.555, 1161.023, linear=True),
    "DEFAULT": "IMAGENET1K_V1"})
ViT_L_32_Weights = _weights_enum("ViT_L_32_Weights", {
    "IMAGENET1K_V1": _v1("vit_l_32-c7638314.pth", 306535400, 76.972, 93.07, 15.378,
                         1169.449, "vit_l_32")})
ViT_H_14_Weights = _weights_enum("ViT_H_14_Weights", {
    "IMAGENET1K_SWAG_E2E_V1": _swag("vit_h_14_swag-80465313.pth", 633470440, 88.552, 98.694,
                                    518, 1016.717, 2416.643),
    "IMAGENET1K_SWAG_LINEAR_V1": _swag("vit_h_14_lc_swag-c1eb923e.pth", 632045800, 85.708,
                                       97.730, 224, 167.295, 2411.209, linear=True),
    "DEFAULT": "IMAGENET1K_SWAG_E2E_V1"})


def _vision_transformer(patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                        mlp_dim: int, weights, progress: bool,
                        kwargs: dict) -> VisionTransformer:
    """Weights fix the image size (their ``min_size``); a different one is a ValueError."""
    if weights is not None:
        size = weights.meta["min_size"][0]
        if "image_size" in kwargs and kwargs["image_size"] != size:
            raise ValueError(f"The parameter 'image_size' expected value {size} but got "
                             f"{kwargs['image_size']} instead.")
        kwargs["image_size"] = size
    image_size = kwargs.pop("image_size", 224)
    model = VisionTransformer(image_size=image_size, patch_size=patch_size,
                              num_layers=num_layers, num_heads=num_heads,
                              hidden_dim=hidden_dim, mlp_dim=mlp_dim, **kwargs)
    return apply_weights(model, weights, progress)


@register_model()
def vit_b_16(*, weights: ViT_B_16_Weights | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    """ViT-B/16: 12 layers, 12 heads, width 768, MLP 3072, 86.6M parameters."""
    weights = resolve_weights(weights, kwargs, ViT_B_16_Weights)
    return _vision_transformer(16, 12, 12, 768, 3072, weights, progress, kwargs)


@register_model()
def vit_b_32(*, weights: ViT_B_32_Weights | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    """ViT-B/32: ViT-B with 32x32 patches (49 tokens at 224), 88.2M parameters."""
    weights = resolve_weights(weights, kwargs, ViT_B_32_Weights)
    return _vision_transformer(32, 12, 12, 768, 3072, weights, progress, kwargs)


@register_model()
def vit_l_16(*, weights: ViT_L_16_Weights | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    """ViT-L/16: 24 layers, 16 heads, width 1024, MLP 4096, 304.3M parameters."""
    weights = resolve_weights(weights, kwargs, ViT_L_16_Weights)
    return _vision_transformer(16, 24, 16, 1024, 4096, weights, progress, kwargs)


@register_model()
def vit_l_32(*, weights: ViT_L_32_Weights | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    """ViT-L/32: ViT-L with 32x32 patches, 306.5M parameters."""
    weights = resolve_weights(weights, kwargs, ViT_L_32_Weights)
    return _vision_transformer(32, 24, 16, 1024, 4096, weights, progress, kwargs)


@register_model()
def vit_h_14(*, weights: ViT_H_14_Weights | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    """ViT-H/14: 32 layers, 16 heads, width 1280, MLP 5120, 632.0M parameters (633.5M
    at the SWAG end-to-end weights' 518x518, whose position embedding is longer)."""
    weights = resolve_weights(weights, kwargs, ViT_H_14_Weights)
    return _vision_transformer(14, 32, 16, 1280, 5120, weights, progress, kwargs)


def interpolate_embeddings(image_size: int, patch_size: int, model_state,
                           interpolation_mode: str = "bicubic",
                           reset_heads: bool = False):
    """Resize a checkpoint's position embedding to a new image size, so weights trained
    at one resolution load into a ViT built for another: the class token's embedding is
    kept, the patch grid's embeddings are interpolated in 2-D (``align_corners=True``).
    ``reset_heads`` drops the ``heads.*`` entries (only when the length changed, as
    torchvision does)."""
    pos_embedding = model_state["encoder.pos_embedding"]
    n, seq_length, hidden_dim = pos_embedding.shape
    if n != 1:
        raise ValueError(f"Unexpected position embedding shape: {pos_embedding.shape}")
    new_seq_length = (image_size // patch_size) ** 2 + 1
    if new_seq_length == seq_length:
        return model_state
    seq_length -= 1
    new_seq_length -= 1
    token = pos_embedding[:, :1, :]
    grid = pos_embedding[:, 1:, :].permute(0, 2, 1)
    side = int(math.sqrt(seq_length))
    if side * side != seq_length:
        raise ValueError("seq_length is not a perfect square! Instead got seq_length_1d * "
                         f"seq_length_1d = {side * side} and seq_length = {seq_length}")
    grid = grid.reshape(1, hidden_dim, side, side)
    grid = nn.functional.interpolate(grid, size=image_size // patch_size,
                                     mode=interpolation_mode, align_corners=True)
    grid = grid.reshape(1, hidden_dim, new_seq_length).permute(0, 2, 1)
    model_state["encoder.pos_embedding"] = ember.cat([token, grid], dim=1)
    if reset_heads:
        model_state = OrderedDict((k, v) for k, v in model_state.items()
                                  if not k.startswith("heads"))
    return model_state
