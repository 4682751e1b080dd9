"""_ops/conv.py against PyTorch: conv_transpose keeps bfloat16 (ml_dtypes' bfloat16 GEMM
returns float32; _ConvInputGrad casts back, as _Conv does)."""

import pytest
from oracle import check, randn


@pytest.mark.parametrize("fn, x, w", [
    ("conv_transpose1d", (1, 2, 5), (2, 3, 3)),
    ("conv_transpose2d", (1, 2, 4, 4), (2, 3, 3, 3)),
    ("conv_transpose3d", (1, 2, 3, 3, 3), (2, 2, 2, 2, 2)),
], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("bias", [False, True])
def test_conv_transpose_keeps_bfloat16(fn, x, w, bias):
    def run(lib, x, w, b):
        bf = lib.bfloat16
        return getattr(lib.nn.functional, fn)(x.to(bf), w.to(bf), b.to(bf) if bias else None)

    check(run, randn(*x), randn(*w), randn(w[1]), rtol=2e-2, atol=5e-2)



@pytest.mark.parametrize("which", ["input", "weight", "both", "neither"])
@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
def test_conv_output_is_channels_last_like_torch(which, op):
    import torch

    import ember

    strides = []
    for lib in (ember, torch):
        x, w = lib.ones(2, 2, 5, 5), lib.ones(2, 2, 3, 3)
        if which in ("input", "both"):
            x = x.to(memory_format=lib.channels_last)
        if which in ("weight", "both"):
            w = w.to(memory_format=lib.channels_last)
        strides.append(getattr(lib.nn.functional, op)(x, w, stride=2).stride())
    assert strides[0] == strides[1]
