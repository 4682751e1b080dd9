"""DropBlock ("DropBlock: A regularization method for convolutional networks"): drop
contiguous square (cubic) regions of feature maps rather than single activations."""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember import nn

__all__ = ["DropBlock2d", "DropBlock3d", "drop_block2d", "drop_block3d"]


def _drop_block(input, p: float, block_size: int, inplace: bool, eps: float,
                training: bool, dims: int):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}.")
    if input.ndim != dims + 2:
        raise ValueError(f"input should be {dims + 2} dimensional. Got {input.ndim} dimensions.")
    if not training or p == 0.0:
        return input
    spatial = tuple(input.shape[2:])
    block_size = min((block_size,) + spatial)
    if block_size % 2 == 0:
        raise ValueError(f"block size should be odd. Got {block_size} which is even.")
    # gamma: the rate of block centres that drops a fraction p of the activations
    valid = 1
    total = 1
    for size in spatial:
        valid *= size - block_size + 1
        total *= size
    gamma = p * total / (block_size ** dims * valid)
    seed_shape = tuple(input.shape[:2]) + tuple(s - block_size + 1 for s in spatial)
    noise = ember.empty(seed_shape, dtype=input.dtype, device=input.device)
    noise.bernoulli_(gamma)
    noise = F.pad(noise, [block_size // 2] * (2 * dims), value=0)
    pool = F.max_pool2d if dims == 2 else F.max_pool3d
    noise = pool(noise, stride=(1,) * dims, kernel_size=(block_size,) * dims,
                 padding=block_size // 2)
    noise = 1 - noise
    normalize_scale = noise.numel() / (eps + noise.sum())
    if inplace:
        input.mul_(noise).mul_(normalize_scale)
    else:
        input = input * noise * normalize_scale
    return input


def drop_block2d(input, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True):
    """Zero ``block_size`` x ``block_size`` squares of an (N, C, H, W) input so that about a
    fraction ``p`` of it is dropped, then rescale by kept/total."""
    return _drop_block(input, p, block_size, inplace, eps, training, dims=2)


def drop_block3d(input, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True):
    """:func:`drop_block2d` for (N, C, D, H, W) inputs, dropping cubes."""
    return _drop_block(input, p, block_size, inplace, eps, training, dims=3)


class DropBlock2d(nn.Module):
    """See :func:`drop_block2d`."""

    def __init__(self, p: float, block_size: int, inplace: bool = False,
                 eps: float = 1e-06) -> None:
        super().__init__()
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps

    def forward(self, input):
        return drop_block2d(input, self.p, self.block_size, self.inplace, self.eps,
                            self.training)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(p={self.p}, block_size={self.block_size}, "
                f"inplace={self.inplace})")


class DropBlock3d(DropBlock2d):
    """See :func:`drop_block3d`."""

    def forward(self, input):
        return drop_block3d(input, self.p, self.block_size, self.inplace, self.eps,
                            self.training)
