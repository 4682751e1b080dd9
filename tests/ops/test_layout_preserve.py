"""memory_format=torch.preserve_format, as PyTorch: clone, to()/the cast methods and the
*_like factories keep a dense non-overlapping input's strides (transpose, permute,
channels-last), give other strided inputs dense strides in the same dim order, and the
shuffles and tensordot lay their results out as torch's kernels do. torch's strides,
values and gradients are the oracle."""

import numpy as np
import pytest
import torch

import ember
from oracle import as_numpy


def _base(lib):
    return lib.arange(2 * 3 * 4 * 5, dtype=lib.float32).reshape(2, 3, 4, 5)


INPUTS = {
    "contiguous": lambda L: _base(L),
    "transposed": lambda L: L.arange(12.0).reshape(3, 4).t(),
    "permuted": lambda L: _base(L).permute(2, 0, 3, 1),
    "channels_last": lambda L: _base(L).contiguous(memory_format=L.channels_last),
    "stepped slice": lambda L: _base(L)[:, :, ::2],
    "permuted slice": lambda L: _base(L).permute(3, 2, 1, 0)[::2],
    "expanded": lambda L: L.arange(3.0).reshape(3, 1).expand(3, 4),
    "size-1 dim of a transpose": lambda L: L.arange(12.0).reshape(3, 4).t().unsqueeze(1),
    "size-1 dim, odd stride": lambda L: _base(L).transpose(0, 1)[:, :1],
    "column of a row": lambda L: L.arange(6.0).reshape(1, 6).t(),
    "0-d": lambda L: L.tensor(3.0),
}

OPS = {
    "clone": lambda L, x: x.clone(),
    "clone(preserve_format)": lambda L, x: x.clone(memory_format=L.preserve_format),
    "clone(contiguous_format)": lambda L, x: x.clone(memory_format=L.contiguous_format),
    "contiguous": lambda L, x: x.contiguous(),
    "empty_like": lambda L, x: L.empty_like(x).zero_(),
    "zeros_like": lambda L, x: L.zeros_like(x),
    "ones_like": lambda L, x: L.ones_like(x),
    "full_like": lambda L, x: L.full_like(x, 2.5),
    "zeros_like(contiguous_format)": lambda L, x: L.zeros_like(
        x, memory_format=L.contiguous_format),
    "ones_like(dtype=int64)": lambda L, x: L.ones_like(x, dtype=L.int64),
    "to(float64)": lambda L, x: x.to(L.float64),
    "to(copy=True)": lambda L, x: x.to(L.float32, copy=True),
    "float() of double": lambda L, x: x.double().float(),
    "double()": lambda L, x: x.double(),
    "half()": lambda L, x: x.half(),
    "long()": lambda L, x: x.long(),
    "to(contiguous_format)": lambda L, x: x.to(L.float64, memory_format=L.contiguous_format),
}
# value-free factories: only the layout is compared
RANDOM_OPS = {
    "rand_like": lambda L, x: L.rand_like(x),
    "randn_like": lambda L, x: L.randn_like(x),
    "randint_like": lambda L, x: L.randint_like(x, 5),
    "rand_like(contiguous_format)": lambda L, x: L.rand_like(
        x, memory_format=L.contiguous_format),
}


def _check_layout(e_out, t_out):
    assert tuple(e_out.shape) == tuple(t_out.shape)
    assert e_out.stride() == t_out.stride()
    assert e_out.is_contiguous() == t_out.is_contiguous()
    assert str(e_out.dtype) == str(t_out.dtype)


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("layout", list(INPUTS))
def test_preserve_format_strides_and_values(layout, op):
    e_in, t_in = INPUTS[layout](ember), INPUTS[layout](torch)
    assert e_in.stride() == t_in.stride()  # the inputs themselves agree
    e_out, t_out = OPS[op](ember, e_in), OPS[op](torch, t_in)
    _check_layout(e_out, t_out)
    np.testing.assert_array_equal(as_numpy(e_out.double()), t_out.double().numpy())


@pytest.mark.parametrize("op", list(RANDOM_OPS))
@pytest.mark.parametrize("layout", list(INPUTS))
def test_random_like_layout(layout, op):
    _check_layout(RANDOM_OPS[op](ember, INPUTS[layout](ember)),
                  RANDOM_OPS[op](torch, INPUTS[layout](torch)))


def test_transpose_then_contiguous_is_contiguous():
    for lib in (ember, torch):
        out = lib.arange(12.0).reshape(3, 4).t().contiguous()
        assert out.is_contiguous() and out.stride() == (3, 1)


@pytest.mark.parametrize("op", ["clone", "to(float64)", "double()"])
def test_gradient_through_a_preserved_copy(op):
    """The copy's gradient comes back in the input's shape and values, as torch's."""
    grads = []
    for lib in (ember, torch):
        leaf = lib.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        out = OPS[op](lib, leaf.t())
        weight = lib.tensor(np.arange(12.0).reshape(4, 3) + 1.0, dtype=out.dtype)
        (out * weight).sum().backward()
        grads.append(leaf.grad)
    assert str(grads[0].dtype) == str(grads[1].dtype)
    np.testing.assert_array_equal(as_numpy(grads[0]), grads[1].numpy())


SHUFFLES = {
    "pixel_shuffle": lambda L, x: L.nn.functional.pixel_shuffle(x, 2),
    "pixel_unshuffle": lambda L, x: L.nn.functional.pixel_unshuffle(x, 3),
    "channel_shuffle": lambda L, x: L.nn.functional.channel_shuffle(x, 2),
}


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("name", list(SHUFFLES))
def test_shuffles_keep_channels_last(name, channels_last):
    outs = []
    for lib in (ember, torch):
        x = lib.arange(2 * 8 * 3 * 3, dtype=lib.float32).reshape(2, 8, 3, 3)
        if channels_last:
            x = x.contiguous(memory_format=lib.channels_last)
        outs.append(SHUFFLES[name](lib, x))
    _check_layout(*outs)
    np.testing.assert_array_equal(as_numpy(outs[0]), outs[1].numpy())


@pytest.mark.parametrize("dims", [1, ([1, 2], [1, 0]), ([0], [0]), 0])
def test_tensordot_result_is_contiguous(dims):
    outs = []
    for lib in (ember, torch):
        a = lib.arange(24.0).reshape(2, 3, 4)
        b = lib.arange(24.0).reshape(4, 3, 2)
        if dims == ([0], [0]):
            a = a.transpose(0, 2)
        outs.append(lib.tensordot(a, b, dims=dims))
    _check_layout(*outs)
    np.testing.assert_array_equal(as_numpy(outs[0]), outs[1].numpy())
