"""Deformable convolution v1/v2 ("Deformable ConvNets", "Deformable ConvNets v2").

Each kernel tap reads the input at its regular position plus a learned fractional offset
(bilinear interpolation, zero outside the map), optionally scaled by a modulation mask;
the sampled columns then meet the weights in one GEMM per weight group. Built from ember
ops, so input, offset, mask, weight and bias all get gradients from the engine; they
agree with torchvision's hand-written backward kernels except exactly on the map border.
"""

from __future__ import annotations

import math

import ember
from ember import nn

__all__ = ["DeformConv2d", "deform_conv2d"]


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _sample(input, y, x, groups: int):
    """Bilinear samples of ``input [B, C, H, W]`` at ``y, x [B, G, K, OH, OW]`` (channel
    group g reads its own coordinates): ``[B, G, K, OH, OW, C / G]``. A point at or beyond
    one pixel outside the map reads 0; neighbours outside the map count as 0."""
    b, channels, height, width = input.shape
    per_group = channels // groups
    rows = input.reshape(b, groups, per_group, height, width).permute(0, 1, 3, 4, 2)
    rows = rows.reshape(b * groups * height * width, per_group)
    with ember.no_grad():
        inside = (y > -1) & (y < height) & (x > -1) & (x < width)
        y_low = ember.floor(y)
        x_low = ember.floor(x)
        image = ember.arange(b * groups, device=input.device).reshape(b, groups, 1, 1, 1)
    ly = y - y_low
    lx = x - x_low
    total = None
    for y_corner, weight_y in ((y_low, 1 - ly), (y_low + 1, ly)):
        for x_corner, weight_x in ((x_low, 1 - lx), (x_low + 1, lx)):
            with ember.no_grad():
                valid = (inside & (y_corner >= 0) & (y_corner <= height - 1)
                         & (x_corner >= 0) & (x_corner <= width - 1))
                yi = y_corner.clamp(0, height - 1).long()
                xi = x_corner.clamp(0, width - 1).long()
                index = (image * height + yi) * width + xi
            values = ember.index_select(rows, 0, index.reshape(-1))
            values = values.reshape(tuple(index.shape) + (per_group,))
            weight = weight_y * weight_x
            weight = ember.where(valid, weight, ember.zeros_like(weight))
            term = values * weight[..., None]
            total = term if total is None else total + term
    return total


def deform_conv2d(input, offset, weight, bias=None, stride=(1, 1), padding=(0, 0),
                  dilation=(1, 1), mask=None):
    """Deformable 2-D convolution (v2 when ``mask`` is given).

    Args:
        input (Tensor[B, C_in, H, W]): input.
        offset (Tensor[B, 2 * G * KH * KW, OH, OW]): per-tap ``(dy, dx)`` offsets for each
            of G offset groups (input channels split evenly among them).
        weight (Tensor[C_out, C_in / groups, KH, KW]): convolution weights.
        bias (Tensor[C_out], optional).
        stride, padding, dilation (int or (int, int)): as in ``conv2d``.
        mask (Tensor[B, G * KH * KW, OH, OW], optional): modulation of each tap.

    Returns:
        Tensor[B, C_out, OH, OW].
    """
    out_channels = weight.shape[0]
    stride_h, stride_w = _pair(stride)
    pad_h, pad_w = _pair(padding)
    dil_h, dil_w = _pair(dilation)
    kernel_h, kernel_w = weight.shape[-2:]
    batch, in_channels, height, width = input.shape
    offset_groups = offset.shape[1] // (2 * kernel_h * kernel_w)
    weight_groups = in_channels // weight.shape[1]
    if offset_groups == 0:
        raise RuntimeError(
            "the shape of the offset tensor at dimension 1 is not valid. It should be a "
            "multiple of 2 * weight.size[2] * weight.size[3].\n"
            f"Got offset.shape[1]={offset.shape[1]}, while 2 * weight.size[2] * "
            f"weight.size[3]={2 * kernel_h * kernel_w}")
    out_h = (height + 2 * pad_h - (dil_h * (kernel_h - 1) + 1)) // stride_h + 1
    out_w = (width + 2 * pad_w - (dil_w * (kernel_w - 1) + 1)) // stride_w + 1
    if tuple(offset.shape[2:]) != (out_h, out_w):
        raise RuntimeError(f"offset output dims: ({offset.shape[2]}, {offset.shape[3]}) - "
                           f"computed output dims: ({out_h}, {out_w})")
    taps = kernel_h * kernel_w
    with ember.no_grad():
        device, dtype = input.device, input.dtype
        tap_y = (ember.arange(kernel_h, device=device) * dil_h).reshape(kernel_h, 1, 1, 1)
        tap_x = (ember.arange(kernel_w, device=device) * dil_w).reshape(1, kernel_w, 1, 1)
        row = (ember.arange(out_h, device=device) * stride_h - pad_h).reshape(1, 1, out_h, 1)
        col = (ember.arange(out_w, device=device) * stride_w - pad_w).reshape(1, 1, 1, out_w)
        base_y = (tap_y + row).expand(kernel_h, kernel_w, out_h, out_w).reshape(
            taps, out_h, out_w).to(dtype)
        base_x = (tap_x + col).expand(kernel_h, kernel_w, out_h, out_w).reshape(
            taps, out_h, out_w).to(dtype)
    shifts = offset.reshape(batch, offset_groups, taps, 2, out_h, out_w)
    y = base_y + shifts[:, :, :, 0]
    x = base_x + shifts[:, :, :, 1]
    samples = _sample(input, y, x, offset_groups)  # [B, G, K, OH, OW, C / G]
    if mask is not None:
        samples = samples * mask.reshape(batch, offset_groups, taps, out_h, out_w)[..., None]
    # columns ordered (channel, tap) like the weight's (C_in / groups, KH, KW) flattening
    columns = samples.permute(0, 1, 5, 2, 3, 4).reshape(
        batch, weight_groups, in_channels // weight_groups * taps, out_h * out_w)
    kernel = weight.reshape(weight_groups, out_channels // weight_groups,
                            in_channels // weight_groups * taps)
    out = (kernel @ columns).reshape(batch, out_channels, out_h, out_w)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


class DeformConv2d(nn.Module):
    """See :func:`deform_conv2d`; ``forward(input, offset, mask=None)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.weight = nn.Parameter(ember.empty(out_channels, in_channels // groups,
                                               self.kernel_size[0], self.kernel_size[1]))
        if bias:
            self.bias = nn.Parameter(ember.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Conv2d's default initialisation (kaiming-uniform, a = sqrt(5))."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input, offset, mask=None):
        return deform_conv2d(input, offset, self.weight, self.bias, stride=self.stride,
                             padding=self.padding, dilation=self.dilation, mask=mask)

    def __repr__(self) -> str:
        s = (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
             f"kernel_size={self.kernel_size}, stride={self.stride}")
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        s += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        s += f", groups={self.groups}" if self.groups != 1 else ""
        s += ", bias=False" if self.bias is None else ""
        return s + ")"
