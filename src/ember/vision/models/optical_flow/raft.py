"""RAFT (Teed & Deng 2020): optical flow by iterative refinement. A feature encoder maps
both images to 1/8 resolution; their all-pairs dot products form a 4-level correlation
pyramid; a convolutional GRU, fed by correlation features looked up around the current
flow estimate and by a context encoder, predicts a flow update at every iteration; each
estimate is upsampled 8x (convexly, with a learned mask, in RAFT-large).

Module names follow torchvision (``update_block.recurrent_block.convgru1.convz``), so its
checkpoints load.
"""

from __future__ import annotations

import math

import ember
import ember.nn.functional as F
from ember import nn
from ember.vision.ops.misc import Conv2dNormActivation

from .._api import Weights, make_weights_enum, register_model
from ._utils import OpticalFlow, grid_sample, make_coords_grid, upsample_flow

__all__ = ("RAFT", "Raft_Large_Weights", "Raft_Small_Weights", "raft_large", "raft_small")


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm-ReLU (with biases), a projected shortcut when strided, ReLU."""

    def __init__(self, in_channels, out_channels, *, norm_layer, stride=1,
                 always_project: bool = False):
        super().__init__()
        self.convnormrelu1 = Conv2dNormActivation(in_channels, out_channels,
                                                  norm_layer=norm_layer, kernel_size=3,
                                                  stride=stride, bias=True)
        self.convnormrelu2 = Conv2dNormActivation(out_channels, out_channels,
                                                  norm_layer=norm_layer, kernel_size=3,
                                                  bias=True)
        if stride == 1 and not always_project:
            self.downsample = nn.Identity()
        else:
            self.downsample = Conv2dNormActivation(in_channels, out_channels,
                                                   norm_layer=norm_layer, kernel_size=1,
                                                   stride=stride, bias=True,
                                                   activation_layer=None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.convnormrelu2(self.convnormrelu1(x))
        return self.relu(self.downsample(x) + y)


class BottleneckBlock(nn.Module):
    """1x1 (to width/4), 3x3 (strided), 1x1 conv-norm-ReLU, a projected shortcut, ReLU."""

    def __init__(self, in_channels, out_channels, *, norm_layer, stride=1):
        super().__init__()
        mid = out_channels // 4
        self.convnormrelu1 = Conv2dNormActivation(in_channels, mid, norm_layer=norm_layer,
                                                  kernel_size=1, bias=True)
        self.convnormrelu2 = Conv2dNormActivation(mid, mid, norm_layer=norm_layer,
                                                  kernel_size=3, stride=stride, bias=True)
        self.convnormrelu3 = Conv2dNormActivation(mid, out_channels, norm_layer=norm_layer,
                                                  kernel_size=1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        if stride == 1:
            self.downsample = nn.Identity()
        else:
            self.downsample = Conv2dNormActivation(in_channels, out_channels,
                                                   norm_layer=norm_layer, kernel_size=1,
                                                   stride=stride, bias=True,
                                                   activation_layer=None)

    def forward(self, x):
        y = self.convnormrelu3(self.convnormrelu2(self.convnormrelu1(x)))
        return self.relu(self.downsample(x) + y)


class FeatureEncoder(nn.Module):
    """7x7 stem and three stages of two blocks, then a 1x1 conv to ``layers[-1]``
    channels; downsamples by 8 with the default strides. Used for features and context."""

    def __init__(self, *, block=ResidualBlock, layers=(64, 64, 96, 128, 256),
                 strides=(2, 1, 2, 2), norm_layer=nn.BatchNorm2d):
        super().__init__()
        if len(layers) != 5:
            raise ValueError(f"The expected number of layers is 5, instead got {len(layers)}")
        self.convnormrelu = Conv2dNormActivation(3, layers[0], norm_layer=norm_layer,
                                                 kernel_size=7, stride=strides[0], bias=True)
        self.layer1 = self._make_2_blocks(block, layers[0], layers[1], norm_layer, strides[1])
        self.layer2 = self._make_2_blocks(block, layers[1], layers[2], norm_layer, strides[2])
        self.layer3 = self._make_2_blocks(block, layers[2], layers[3], norm_layer, strides[3])
        self.conv = nn.Conv2d(layers[3], layers[4], kernel_size=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                if m.weight is not None:
                    nn.init.constant_(m.weight, 1)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
        self.output_dim = layers[-1]
        self.downsample_factor = 2 ** sum(1 for s in strides if s == 2)

    @staticmethod
    def _make_2_blocks(block, in_channels, out_channels, norm_layer, first_stride):
        return nn.Sequential(
            block(in_channels, out_channels, norm_layer=norm_layer, stride=first_stride),
            block(out_channels, out_channels, norm_layer=norm_layer, stride=1))

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.convnormrelu(x))))
        return self.conv(x)


class MotionEncoder(nn.Module):
    """Encodes correlation features and the current flow (conv-ReLU stacks), returns
    ``out_channels - 2`` encoded channels with the raw flow appended."""

    def __init__(self, *, in_channels_corr, corr_layers=(256, 192), flow_layers=(128, 64),
                 out_channels=128):
        super().__init__()
        if len(flow_layers) != 2:
            raise ValueError(
                f"The expected number of flow_layers is 2, instead got {len(flow_layers)}")
        if len(corr_layers) not in (1, 2):
            raise ValueError(
                f"The number of corr_layers should be 1 or 2, instead got {len(corr_layers)}")
        self.convcorr1 = Conv2dNormActivation(in_channels_corr, corr_layers[0], norm_layer=None,
                                              kernel_size=1)
        if len(corr_layers) == 2:
            self.convcorr2 = Conv2dNormActivation(corr_layers[0], corr_layers[1],
                                                  norm_layer=None, kernel_size=3)
        else:
            self.convcorr2 = nn.Identity()
        self.convflow1 = Conv2dNormActivation(2, flow_layers[0], norm_layer=None, kernel_size=7)
        self.convflow2 = Conv2dNormActivation(flow_layers[0], flow_layers[1], norm_layer=None,
                                              kernel_size=3)
        self.conv = Conv2dNormActivation(corr_layers[-1] + flow_layers[-1], out_channels - 2,
                                         norm_layer=None, kernel_size=3)
        self.out_channels = out_channels

    def forward(self, flow, corr_features):
        corr = self.convcorr2(self.convcorr1(corr_features))
        flow_features = self.convflow2(self.convflow1(flow))
        corr_flow = self.conv(ember.cat([corr, flow_features], dim=1))
        return ember.cat([corr_flow, flow], dim=1)


class ConvGRU(nn.Module):
    """GRU cell with convolutions for the gates: z, r from [h, x]; q from [r*h, x]."""

    def __init__(self, *, input_size, hidden_size, kernel_size, padding):
        super().__init__()
        channels = hidden_size + input_size
        self.convz = nn.Conv2d(channels, hidden_size, kernel_size=kernel_size, padding=padding)
        self.convr = nn.Conv2d(channels, hidden_size, kernel_size=kernel_size, padding=padding)
        self.convq = nn.Conv2d(channels, hidden_size, kernel_size=kernel_size, padding=padding)

    def forward(self, h, x):
        hx = ember.cat([h, x], dim=1)
        z = ember.sigmoid(self.convz(hx))
        r = ember.sigmoid(self.convr(hx))
        q = ember.tanh(self.convq(ember.cat([r * h, x], dim=1)))
        return (1 - z) * h + z * q


def _pass_through_h(h, _):
    return h


class RecurrentBlock(nn.Module):
    """One or two ConvGRUs in sequence (RAFT-large: a 1x5 then a 5x1 one)."""

    def __init__(self, *, input_size, hidden_size, kernel_size=((1, 5), (5, 1)),
                 padding=((0, 2), (2, 0))):
        super().__init__()
        if len(kernel_size) != len(padding):
            raise ValueError(
                "kernel_size should have the same length as padding, instead got "
                f"len(kernel_size) = {len(kernel_size)} and len(padding) = {len(padding)}")
        if len(kernel_size) not in (1, 2):
            raise ValueError(f"kernel_size should either 1 or 2, instead got {len(kernel_size)}")
        self.convgru1 = ConvGRU(input_size=input_size, hidden_size=hidden_size,
                                kernel_size=kernel_size[0], padding=padding[0])
        if len(kernel_size) == 2:
            self.convgru2 = ConvGRU(input_size=input_size, hidden_size=hidden_size,
                                    kernel_size=kernel_size[1], padding=padding[1])
        else:
            self.convgru2 = _pass_through_h
        self.hidden_size = hidden_size

    def forward(self, h, x):
        return self.convgru2(self.convgru1(h, x), x)


class FlowHead(nn.Module):
    """3x3 conv-ReLU-3x3 conv from the hidden state to a 2-channel flow update."""

    def __init__(self, *, in_channels, hidden_size):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, hidden_size, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden_size, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x)))


class UpdateBlock(nn.Module):
    """Motion encoder, recurrent block and flow head: (hidden, context, corr, flow) ->
    (new hidden, delta flow). Exposes ``hidden_state_size`` for RAFT."""

    def __init__(self, *, motion_encoder, recurrent_block, flow_head):
        super().__init__()
        self.motion_encoder = motion_encoder
        self.recurrent_block = recurrent_block
        self.flow_head = flow_head
        self.hidden_state_size = recurrent_block.hidden_size

    def forward(self, hidden_state, context, corr_features, flow):
        motion_features = self.motion_encoder(flow, corr_features)
        x = ember.cat([context, motion_features], dim=1)
        hidden_state = self.recurrent_block(hidden_state, x)
        return hidden_state, self.flow_head(hidden_state)


class MaskPredictor(nn.Module):
    """Upsampling mask (8*8*9 channels) from the hidden state, scaled by ``multiplier``
    (0.25, as the original code does to balance gradients)."""

    def __init__(self, *, in_channels, hidden_size, multiplier=0.25):
        super().__init__()
        self.convrelu = Conv2dNormActivation(in_channels, hidden_size, norm_layer=None,
                                             kernel_size=3)
        self.conv = nn.Conv2d(hidden_size, 8 * 8 * 9, 1, padding=0)
        self.multiplier = multiplier

    def forward(self, x):
        return self.multiplier * self.conv(self.convrelu(x))


class CorrBlock(nn.Module):
    """The correlation pyramid: ``build_pyramid`` stores the all-pairs correlation of two
    feature maps, average-pooled ``num_levels - 1`` times over the second image's axes;
    ``index_pyramid`` samples a (2r+1)^2 neighbourhood around each centroid at every
    level (coordinates halved per level). ``out_channels = num_levels * (2r+1)^2``."""

    def __init__(self, *, num_levels: int = 4, radius: int = 4):
        super().__init__()
        self.num_levels = num_levels
        self.radius = radius
        self.corr_pyramid: list = [ember.tensor(0)]
        self.out_channels = num_levels * (2 * radius + 1) ** 2

    def build_pyramid(self, fmap1, fmap2):
        if fmap1.shape != fmap2.shape:
            raise ValueError(
                "Input feature maps should have the same shape, instead got "
                f"{fmap1.shape} (fmap1.shape) != {fmap2.shape} (fmap2.shape)")
        min_fmap_size = 2 * (2 ** (self.num_levels - 1))
        if any(size < min_fmap_size for size in fmap1.shape[-2:]):
            raise ValueError(
                "Feature maps are too small to be down-sampled by the correlation pyramid. "
                f"H and W of feature maps should be at least {min_fmap_size}; got: "
                f"{fmap1.shape[-2:]}. Remember that input images to the model are downsampled "
                "by 8, so that means their dimensions should be at least 8 * "
                f"{min_fmap_size} = {8 * min_fmap_size}.")
        corr_volume = self._compute_corr_volume(fmap1, fmap2)
        batch_size, h, w, num_channels, _, _ = corr_volume.shape
        corr_volume = corr_volume.reshape(batch_size * h * w, num_channels, h, w)
        self.corr_pyramid = [corr_volume]
        for _ in range(self.num_levels - 1):
            corr_volume = F.avg_pool2d(corr_volume, kernel_size=2, stride=2)
            self.corr_pyramid.append(corr_volume)

    def index_pyramid(self, centroids_coords):
        side = 2 * self.radius + 1
        offsets = ember.linspace(-self.radius, self.radius, side)
        # torchvision's order: the first offset axis is added to x, the second to y
        delta = ember.stack(ember.meshgrid(offsets, offsets, indexing="ij"), dim=-1)
        delta = delta.to(centroids_coords.device).view(1, side, side, 2)
        batch_size, _, h, w = centroids_coords.shape
        centroids = centroids_coords.permute(0, 2, 3, 1).reshape(batch_size * h * w, 1, 1, 2)
        indexed = []
        for corr_volume in self.corr_pyramid:
            sampled = grid_sample(corr_volume, centroids + delta, align_corners=True,
                                  mode="bilinear")
            indexed.append(sampled.view(batch_size, h, w, -1))
            centroids = centroids / 2
        corr_features = ember.cat(indexed, dim=-1).permute(0, 3, 1, 2).contiguous()
        expected = (batch_size, self.out_channels, h, w)
        if tuple(corr_features.shape) != expected:
            raise ValueError("Output shape of index pyramid is incorrect. Should be "
                             f"{expected}, got {corr_features.shape}")
        return corr_features

    @staticmethod
    def _compute_corr_volume(fmap1, fmap2):
        batch_size, num_channels, h, w = fmap1.shape
        fmap1 = fmap1.view(batch_size, num_channels, h * w)
        fmap2 = fmap2.view(batch_size, num_channels, h * w)
        corr = ember.matmul(fmap1.transpose(1, 2), fmap2).view(batch_size, h, w, 1, h, w)
        return corr / math.sqrt(num_channels)


class RAFT(nn.Module):
    """RAFT from its parts (see the module docstring).

    ``forward(image1, image2, num_flow_updates=12)`` takes two (N, 3, H, W) images with H
    and W divisible by 8 (and at least 128 for the default 4-level pyramid) and returns a
    list of ``num_flow_updates`` flow estimates, each (N, 2, H, W), the last the best.
    """

    def __init__(self, *, feature_encoder, context_encoder, corr_block, update_block,
                 mask_predictor=None):
        super().__init__()
        self.feature_encoder = feature_encoder
        self.context_encoder = context_encoder
        self.corr_block = corr_block
        self.update_block = update_block
        self.mask_predictor = mask_predictor
        if not hasattr(self.update_block, "hidden_state_size"):
            raise ValueError(
                "The update_block parameter should expose a 'hidden_state_size' attribute.")

    def forward(self, image1, image2, num_flow_updates: int = 12):
        batch_size, _, h, w = image1.shape
        if (h, w) != tuple(image2.shape[-2:]):
            raise ValueError("input images should have the same shape, instead got "
                             f"({h}, {w}) != {image2.shape[-2:]}")
        if not (h % 8 == 0 and w % 8 == 0):
            raise ValueError("input image H and W should be divisible by 8, instead got "
                             f"{h} (h) and {w} (w)")
        fmaps = self.feature_encoder(ember.cat([image1, image2], dim=0))
        fmap1, fmap2 = ember.chunk(fmaps, chunks=2, dim=0)
        if tuple(fmap1.shape[-2:]) != (h // 8, w // 8):
            raise ValueError("The feature encoder should downsample H and W by 8")
        self.corr_block.build_pyramid(fmap1, fmap2)
        context_out = self.context_encoder(image1)
        if tuple(context_out.shape[-2:]) != (h // 8, w // 8):
            raise ValueError("The context encoder should downsample H and W by 8")
        hidden_state_size = self.update_block.hidden_state_size
        out_channels_context = context_out.shape[1] - hidden_state_size
        if out_channels_context <= 0:
            raise ValueError(
                f"The context encoder outputs {context_out.shape[1]} channels, but it should "
                f"have at strictly more than hidden_state={hidden_state_size} channels")
        hidden_state, context = ember.split(context_out,
                                            [hidden_state_size, out_channels_context], dim=1)
        hidden_state = ember.tanh(hidden_state)
        context = F.relu(context)
        coords0 = make_coords_grid(batch_size, h // 8, w // 8).to(fmap1.device)
        coords1 = make_coords_grid(batch_size, h // 8, w // 8).to(fmap1.device)
        flow_predictions = []
        for _ in range(num_flow_updates):
            coords1 = coords1.detach()  # the paper stops gradients through the lookup
            corr_features = self.corr_block.index_pyramid(centroids_coords=coords1)
            flow = coords1 - coords0
            hidden_state, delta_flow = self.update_block(hidden_state, context, corr_features,
                                                         flow)
            coords1 = coords1 + delta_flow
            up_mask = None if self.mask_predictor is None else self.mask_predictor(hidden_state)
            flow_predictions.append(upsample_flow(flow=coords1 - coords0, up_mask=up_mask))
        return flow_predictions


_URL = "https://download.pytorch.org/models/"
_OURS = "https://github.com/pytorch/vision/tree/main/references/optical_flow"
_PAPER = "https://github.com/princeton-vl/RAFT"


def _flow_weights(file: str, num_params: int, recipe: str, metrics: dict, ops: float,
                  size: float) -> Weights:
    return Weights(url=_URL + file, transforms=OpticalFlow,
                   meta={"min_size": (128, 128), "num_params": num_params, "recipe": recipe,
                         "_metrics": metrics, "_ops": ops, "_file_size": size})


def _large(file, recipe, metrics):
    return _flow_weights(file, 5257536, recipe, metrics, 211.007, 20.129)


def _small(file, recipe, metrics):
    return _flow_weights(file, 990162, recipe, metrics, 47.655, 3.821)


_LARGE_C_T_SKHT_V2 = _large("raft_large_C_T_SKHT_V2-ff5fadd5.pth", _OURS, {
    "Sintel-Test-Cleanpass": {"epe": 1.819}, "Sintel-Test-Finalpass": {"epe": 3.067}})
Raft_Large_Weights = make_weights_enum("Raft_Large_Weights", {
    "C_T_V1": _large("raft_large_C_T_V1-22a6c225.pth", _PAPER, {
        "Sintel-Train-Cleanpass": {"epe": 1.4411}, "Sintel-Train-Finalpass": {"epe": 2.7894},
        "Kitti-Train": {"per_image_epe": 5.0172, "fl_all": 17.4506}}),
    "C_T_V2": _large("raft_large_C_T_V2-1bb1363a.pth", _OURS, {
        "Sintel-Train-Cleanpass": {"epe": 1.3822}, "Sintel-Train-Finalpass": {"epe": 2.7161},
        "Kitti-Train": {"per_image_epe": 4.5118, "fl_all": 16.0679}}),
    "C_T_SKHT_V1": _large("raft_large_C_T_SKHT_V1-0b8c9e55.pth", _PAPER, {
        "Sintel-Test-Cleanpass": {"epe": 1.94}, "Sintel-Test-Finalpass": {"epe": 3.18}}),
    "C_T_SKHT_V2": _LARGE_C_T_SKHT_V2,
    "C_T_SKHT_K_V1": _large("raft_large_C_T_SKHT_K_V1-4a6a5039.pth", _PAPER,
                            {"Kitti-Test": {"fl_all": 5.10}}),
    "C_T_SKHT_K_V2": _large("raft_large_C_T_SKHT_K_V2-b5c70766.pth", _OURS,
                            {"Kitti-Test": {"fl_all": 5.19}}),
    "DEFAULT": _LARGE_C_T_SKHT_V2,
}, __name__)
Raft_Small_Weights = make_weights_enum("Raft_Small_Weights", {
    "C_T_V1": _small("raft_small_C_T_V1-ad48884c.pth", _PAPER, {
        "Sintel-Train-Cleanpass": {"epe": 2.1231}, "Sintel-Train-Finalpass": {"epe": 3.2790},
        "Kitti-Train": {"per_image_epe": 7.6557, "fl_all": 25.2801}}),
    "C_T_V2": _small("raft_small_C_T_V2-01064c6d.pth", _OURS, {
        "Sintel-Train-Cleanpass": {"epe": 1.9901}, "Sintel-Train-Finalpass": {"epe": 3.2831},
        "Kitti-Train": {"per_image_epe": 7.5978, "fl_all": 25.2369}}),
}, __name__)


def _raft(*, weights, progress, feature_encoder_layers, feature_encoder_block,
          feature_encoder_norm_layer, context_encoder_layers, context_encoder_block,
          context_encoder_norm_layer, corr_block_num_levels, corr_block_radius,
          motion_encoder_corr_layers, motion_encoder_flow_layers, motion_encoder_out_channels,
          recurrent_block_hidden_state_size, recurrent_block_kernel_size,
          recurrent_block_padding, flow_head_hidden_size, use_mask_predictor, **kwargs):
    """Assemble RAFT; any part can be replaced through ``kwargs`` (``feature_encoder``,
    ``context_encoder``, ``corr_block``, ``update_block``, ``mask_predictor``)."""
    feature_encoder = kwargs.pop("feature_encoder", None) or FeatureEncoder(
        block=feature_encoder_block, layers=feature_encoder_layers,
        norm_layer=feature_encoder_norm_layer)
    context_encoder = kwargs.pop("context_encoder", None) or FeatureEncoder(
        block=context_encoder_block, layers=context_encoder_layers,
        norm_layer=context_encoder_norm_layer)
    corr_block = kwargs.pop("corr_block", None) or CorrBlock(num_levels=corr_block_num_levels,
                                                            radius=corr_block_radius)
    update_block = kwargs.pop("update_block", None)
    if update_block is None:
        motion_encoder = MotionEncoder(in_channels_corr=corr_block.out_channels,
                                       corr_layers=motion_encoder_corr_layers,
                                       flow_layers=motion_encoder_flow_layers,
                                       out_channels=motion_encoder_out_channels)
        out_channels_context = context_encoder_layers[-1] - recurrent_block_hidden_state_size
        recurrent_block = RecurrentBlock(
            input_size=motion_encoder.out_channels + out_channels_context,
            hidden_size=recurrent_block_hidden_state_size,
            kernel_size=recurrent_block_kernel_size, padding=recurrent_block_padding)
        flow_head = FlowHead(in_channels=recurrent_block_hidden_state_size,
                             hidden_size=flow_head_hidden_size)
        update_block = UpdateBlock(motion_encoder=motion_encoder,
                                   recurrent_block=recurrent_block, flow_head=flow_head)
    mask_predictor = kwargs.pop("mask_predictor", None)
    if mask_predictor is None and use_mask_predictor:
        mask_predictor = MaskPredictor(in_channels=recurrent_block_hidden_state_size,
                                       hidden_size=256, multiplier=0.25)
    model = RAFT(feature_encoder=feature_encoder, context_encoder=context_encoder,
                 corr_block=corr_block, update_block=update_block,
                 mask_predictor=mask_predictor, **kwargs)
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


def _resolve(weights, kwargs, enum_cls):
    from .._utils import _legacy_weights

    return enum_cls.verify(_legacy_weights(kwargs, weights, "weights", "pretrained",
                                           enum_cls.DEFAULT))


@register_model()
def raft_large(*, weights: Raft_Large_Weights | None = None, progress=True, **kwargs) -> RAFT:
    """RAFT-large: residual encoders (instance-norm features, batch-norm context), radius-4
    correlation lookups, two separable ConvGRUs and a learned upsampling mask; 5.3M
    parameters."""
    weights = _resolve(weights, kwargs, Raft_Large_Weights)
    return _raft(
        weights=weights, progress=progress,
        feature_encoder_layers=(64, 64, 96, 128, 256), feature_encoder_block=ResidualBlock,
        feature_encoder_norm_layer=nn.InstanceNorm2d,
        context_encoder_layers=(64, 64, 96, 128, 256), context_encoder_block=ResidualBlock,
        context_encoder_norm_layer=nn.BatchNorm2d,
        corr_block_num_levels=4, corr_block_radius=4,
        motion_encoder_corr_layers=(256, 192), motion_encoder_flow_layers=(128, 64),
        motion_encoder_out_channels=128,
        recurrent_block_hidden_state_size=128,
        recurrent_block_kernel_size=((1, 5), (5, 1)),
        recurrent_block_padding=((0, 2), (2, 0)),
        flow_head_hidden_size=256, use_mask_predictor=True, **kwargs)


@register_model()
def raft_small(*, weights: Raft_Small_Weights | None = None, progress=True, **kwargs) -> RAFT:
    """RAFT-small: bottleneck encoders (no norm in the context one), radius-3 lookups, one
    3x3 ConvGRU, bilinear upsampling; 1.0M parameters."""
    weights = _resolve(weights, kwargs, Raft_Small_Weights)
    return _raft(
        weights=weights, progress=progress,
        feature_encoder_layers=(32, 32, 64, 96, 128), feature_encoder_block=BottleneckBlock,
        feature_encoder_norm_layer=nn.InstanceNorm2d,
        context_encoder_layers=(32, 32, 64, 96, 160), context_encoder_block=BottleneckBlock,
        context_encoder_norm_layer=None,
        corr_block_num_levels=4, corr_block_radius=3,
        motion_encoder_corr_layers=(96,), motion_encoder_flow_layers=(64, 32),
        motion_encoder_out_channels=82,
        recurrent_block_hidden_state_size=96, recurrent_block_kernel_size=(3,),
        recurrent_block_padding=(1,),
        flow_head_hidden_size=128, use_mask_predictor=False, **kwargs)
