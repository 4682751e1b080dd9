"""Convolution, transposed convolution, fold/unfold and the conv modules against PyTorch:
forward values, every gradient (input, weight, bias), double backward, error texts."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
import oracle  # noqa: E402
from module_oracle import check_module  # noqa: E402
from oracle import check, check_raises, randn  # noqa: E402

import ember  # noqa: E402
from ember.autograd import gradcheck, gradgradcheck  # noqa: E402

# float32 sums run in a different order than PyTorch's kernels: a few ulp of the sum
F32 = dict(rtol=1e-4, atol=1e-4)


def _conv(nd):
    return lambda lib, *a, **k: getattr(lib.nn.functional, f"conv{nd}d")(*a, **k)


CONV_CASES = [
    # (name, x shape, w shape, bias, kwargs)
    ("1d plain", (2, 3, 11), (4, 3, 3), True, {}),
    ("1d stride pad dil", (2, 4, 13), (6, 2, 3), True,
     dict(stride=2, padding=2, dilation=2, groups=2)),
    ("1d same even", (1, 2, 8), (3, 2, 4), False, dict(padding="same")),
    ("2d plain", (2, 3, 7, 8), (5, 3, 3, 3), True, {}),
    ("2d stride2 pad1", (2, 3, 9, 9), (4, 3, 3, 3), True, dict(stride=2, padding=1)),
    ("2d rect kernel tuple args", (2, 2, 9, 7), (3, 2, 2, 3), True,
     dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ("2d groups", (2, 6, 6, 6), (9, 2, 3, 3), True, dict(groups=3, padding=1)),
    ("2d depthwise", (2, 4, 7, 7), (8, 1, 3, 3), True, dict(groups=4, stride=2, padding=1)),
    ("2d same dilated", (1, 3, 8, 9), (2, 3, 3, 2), True, dict(padding="same", dilation=2)),
    ("2d valid", (1, 3, 6, 6), (2, 3, 3, 3), False, dict(padding="valid")),
    ("2d 1x1", (2, 8, 5, 5), (4, 8, 1, 1), True, {}),
    ("2d 1x1 stride2", (2, 8, 5, 5), (4, 8, 1, 1), False, dict(stride=2)),
    ("2d kernel 7 stride 2", (1, 3, 16, 16), (4, 3, 7, 7), False, dict(stride=2, padding=3)),
    ("2d unbatched", (3, 6, 6), (2, 3, 3, 3), True, dict(padding=1)),
    # conv2d kernel paths (_conv_kernels): under 64 output positions with many weight
    # columns the batch is folded into one GEMM, otherwise row GEMMs (im2col for tall
    # kernels on few channels); a stride's grad_input goes through stride-phase buffers
    ("2d folded batch", (3, 256, 3, 3), (4, 256, 3, 3), True, dict(padding=1)),
    ("2d small map rows", (4, 8, 6, 6), (6, 8, 3, 3), True, dict(padding=1)),
    ("2d rows stride2", (2, 3, 17, 16), (4, 3, 3, 3), True, dict(stride=2, padding=1)),
    ("2d rows dilated rect", (2, 3, 12, 14), (4, 3, 3, 2), False,
     dict(padding=(2, 1), dilation=(2, 3))),
    ("2d phases no tap reaches", (2, 3, 25, 22), (4, 3, 2, 2), True, dict(stride=3, padding=1)),
    ("2d stride dilation uncovered edge", (2, 3, 20, 19), (4, 3, 3, 3), False,
     dict(stride=2, dilation=2)),
    ("2d tall kernel few channels", (2, 1, 12, 12), (16, 1, 5, 5), True, dict(padding=2)),
    ("3d plain", (1, 2, 4, 5, 6), (3, 2, 2, 3, 2), True, {}),
    ("3d stride groups", (2, 4, 5, 5, 5), (4, 2, 3, 3, 3), True,
     dict(stride=2, padding=1, groups=2)),
]


@pytest.mark.parametrize("name,x_shape,w_shape,bias,kwargs", CONV_CASES,
                         ids=[c[0] for c in CONV_CASES])
def test_conv_matches_torch(name, x_shape, w_shape, bias, kwargs):
    nd = len(w_shape) - 2
    inputs = [randn(*x_shape), randn(*w_shape)]
    if bias:
        inputs.append(randn(w_shape[0]))
    check(lambda lib, *a: _conv(nd)(lib, *a, **kwargs), *inputs, **F32)


TRANSPOSE_CASES = [
    ("1d", (2, 4, 6), (4, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ("2d plain", (2, 3, 5, 4), (3, 2, 3, 3), True, {}),
    ("2d stride pad outpad", (2, 4, 5, 5), (4, 3, 3, 2), True,
     dict(stride=(2, 3), padding=1, output_padding=(1, 2))),
    ("2d groups dilation", (1, 4, 4, 5), (4, 2, 3, 3), True,
     dict(groups=2, dilation=2, padding=1)),
    ("2d outpad below dilation", (1, 2, 4, 4), (2, 2, 3, 3), False,
     dict(dilation=2, output_padding=1)),
    ("2d unbatched", (3, 4, 4), (3, 2, 2, 2), True, dict(stride=2)),
    ("3d", (1, 2, 3, 4, 3), (2, 3, 2, 3, 2), True, dict(stride=2, output_padding=1)),
]


@pytest.mark.parametrize("name,x_shape,w_shape,bias,kwargs", TRANSPOSE_CASES,
                         ids=[c[0] for c in TRANSPOSE_CASES])
def test_conv_transpose_matches_torch(name, x_shape, w_shape, bias, kwargs):
    nd = len(w_shape) - 2
    inputs = [randn(*x_shape), randn(*w_shape)]
    if bias:
        inputs.append(randn(w_shape[1] * kwargs.get("groups", 1)))
    op = f"conv_transpose{nd}d"
    check(lambda lib, *a: getattr(lib.nn.functional, op)(*a, **kwargs), *inputs, **F32)


@st.composite
def conv_configs(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    size = tuple(max(draw(st.integers(1, 7 if nd < 3 else 5)),
                     d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding))
    batch = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    return nd, groups, cin, cout, kernel, stride, dilation, padding, size, batch, bias


@settings(max_examples=40, deadline=None)
@given(conv_configs(), st.integers(0, 2**31 - 1))
def test_conv_drawn_configurations(config, seed):
    nd, groups, cin, cout, kernel, stride, dilation, padding, size, batch, bias = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, cin) + size)
    w = rng.standard_normal((cout, cin // groups) + kernel)
    inputs = [x, w] + ([rng.standard_normal(cout)] if bias else [])
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check(lambda lib, *a: _conv(nd)(lib, *a, **kwargs), *inputs)


@settings(max_examples=30, deadline=None)
@given(conv_configs(), st.integers(0, 2**31 - 1), st.data())
def test_conv_transpose_drawn_configurations(config, seed, data):
    nd, groups, cin, cout, kernel, stride, dilation, padding, size, batch, bias = config
    output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    size = tuple(max(s, 1 + (2 * p - d * (k - 1) - op + stride_ - 1) // stride_ + 1)
                 for s, p, d, k, op, stride_ in
                 zip(size, padding, dilation, kernel, output_padding, stride))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, cin) + size)
    w = rng.standard_normal((cin, cout // groups) + kernel)
    inputs = [x, w] + ([rng.standard_normal(cout)] if bias else [])
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding,
                  groups=groups, dilation=dilation)
    op = f"conv_transpose{nd}d"
    check(lambda lib, *a: getattr(lib.nn.functional, op)(*a, **kwargs), *inputs)


FOLD_CASES = [
    ("basic", (2, 3, 5, 6), 2, {}),
    ("all args", (1, 2, 7, 8), (2, 3), dict(dilation=(1, 2), padding=1, stride=(2, 1))),
    ("stride over kernel", (2, 1, 7, 7), 2, dict(stride=3)),
    ("unbatched", (3, 4, 4), 3, dict(padding=1)),
]


@pytest.mark.parametrize("name,x_shape,kernel,kwargs", FOLD_CASES, ids=[c[0] for c in FOLD_CASES])
def test_unfold_and_fold_match_torch(name, x_shape, kernel, kwargs):
    x = randn(*x_shape)
    check(lambda lib, x: lib.nn.functional.unfold(x, kernel, **kwargs), x)
    cols = torch.nn.functional.unfold(torch.from_numpy(x), kernel, **kwargs).numpy()
    size = x_shape[-2:]
    check(lambda lib, c: lib.nn.functional.fold(c, size, kernel, **kwargs), cols)


# -- gradcheck / gradgradcheck in float64 on tiny shapes ------------------------------------


def _leaf(*shape):
    return ember.tensor(np.random.default_rng(sum(shape)).standard_normal(shape),
                        requires_grad=True)


GRADCHECK_CASES = [
    ("conv1d", lambda x, w, b: ember.nn.functional.conv1d(x, w, b, stride=2, padding=1),
     [(1, 2, 5), (3, 2, 3), (3,)]),
    ("conv2d groups dilation",
     lambda x, w, b: ember.nn.functional.conv2d(x, w, b, padding=1, dilation=2, groups=2),
     [(1, 4, 4, 4), (2, 2, 2, 2), (2,)]),
    ("conv3d", lambda x, w, b: ember.nn.functional.conv3d(x, w, b, stride=(1, 2, 1)),
     [(1, 1, 3, 3, 3), (2, 1, 2, 2, 2), (2,)]),
    ("conv_transpose2d",
     lambda x, w, b: ember.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                          output_padding=1),
     [(1, 2, 3, 3), (2, 2, 3, 3), (2,)]),
    ("conv_transpose1d groups",
     lambda x, w, b: ember.nn.functional.conv_transpose1d(x, w, b, groups=2, dilation=2),
     [(1, 2, 3), (2, 1, 2), (2,)]),
    ("unfold", lambda x: ember.nn.functional.unfold(x, 2, padding=1, stride=2), [(1, 2, 3, 3)]),
    ("fold", lambda c: ember.nn.functional.fold(c, (3, 4), 2, stride=1), [(1, 8, 6)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck(name, fn, shapes):
    inputs = [_leaf(*s) for s in shapes]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_double_backward_matches_torch():
    def fn(lib, x, w):
        y = lib.nn.functional.conv2d(x, w, stride=2, padding=1, groups=2)
        gx, gw = lib.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        return (gx * gx).sum() + (gw ** 3).sum()

    check(fn, np.random.default_rng(0).standard_normal((2, 4, 5, 5)),
          np.random.default_rng(1).standard_normal((4, 2, 3, 3)))


def test_grad_fn_name_and_partial_grads():
    """Only the weight requires grad: the input gradient is never computed."""
    def fn(lib, x, w):
        return lib.nn.functional.conv2d(x, w, padding=1)

    x = randn(1, 2, 5, 5)
    w = ember.tensor(randn(3, 2, 3, 3), requires_grad=True)
    y = fn(ember, ember.tensor(x), w)
    assert y.grad_fn.name() == "ConvolutionBackward0"
    y.sum().backward()
    tw = torch.from_numpy(w.detach().numpy().copy()).requires_grad_()
    fn(torch, torch.from_numpy(x), tw).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-5)


# -- error texts -----------------------------------------------------------------------------


ERROR_CASES = [
    ("kernel larger than input", lambda lib, x, w: lib.nn.functional.conv2d(x, w),
     [randn(2, 3, 2, 2), randn(4, 3, 3, 3)],
     r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel "
     r"size can't be greater than actual input size"),
    ("channel mismatch", lambda lib, x, w: lib.nn.functional.conv2d(x, w),
     [randn(2, 3, 10, 10), randn(8, 4, 3, 3)],
     r"Given groups=1, weight of size \[8, 4, 3, 3\], expected input\[2, 3, 10, 10\] to "
     r"have 4 channels, but got 3 channels instead"),
    ("weight not divisible by groups", lambda lib, x, w: lib.nn.functional.conv2d(x, w, groups=3),
     [randn(2, 6, 10, 10), randn(8, 2, 3, 3)],
     r"Given groups=3, expected weight to be divisible by 3 at dimension 0"),
    ("same with stride", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding="same",
                                                                      stride=2),
     [randn(1, 3, 6, 6), randn(2, 3, 3, 3)],
     r"padding='same' is not supported for strided convolutions"),
    ("bad padding string", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding="foo"),
     [randn(1, 3, 6, 6), randn(2, 3, 3, 3)], r"Invalid padding string: 'foo'"),
    ("wrong input rank", lambda lib, x, w: lib.nn.functional.conv2d(x, w),
     [randn(2, 3), randn(2, 3, 3, 3)],
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[2, 3\]"),
    ("bias size", lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b),
     [randn(1, 3, 6, 6), randn(8, 3, 3, 3), randn(7)],
     r"expected bias to be 1-dimensional with 8 elements, but got bias of size \[7\]"),
    ("dtype mismatch", lambda lib, x, w: lib.nn.functional.conv2d(x, w),
     [randn(1, 3, 6, 6), randn(2, 3, 3, 3, dtype=np.float64)],
     # ember's text on its device: torch.cuda.* on cuda (cuDNN's check), as torch-cuda's
     r"Input type \(torch\.(cuda\.)?FloatTensor\) and weight type "
     r"\(torch\.(cuda\.)?DoubleTensor\) should be the same"),
    ("zero stride", lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=0),
     [randn(1, 3, 6, 6), randn(2, 3, 3, 3)], r"non-positive stride is not supported"),
    ("negative padding", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=-1),
     [randn(1, 3, 6, 6), randn(2, 3, 3, 3)], r"negative padding is not supported"),
    ("stride list length", lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=(1, 1, 1)),
     [randn(1, 3, 6, 6), randn(2, 3, 3, 3)],
     r"expected stride to be a single integer value or a list of 2 values"),
    ("transpose channels", lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w),
     [randn(2, 4, 4, 4), randn(3, 2, 3, 3)],
     r"Given transposed=1, weight of size \[3, 2, 3, 3\], expected input\[2, 4, 4, 4\] to "
     r"have 3 channels, but got 4 channels instead"),
    ("transpose output padding", lambda lib, x, w: lib.nn.functional.conv_transpose2d(
        x, w, output_padding=2), [randn(2, 3, 4, 4), randn(3, 2, 3, 3)],
     r"output padding must be smaller than either stride or dilation, but got "
     r"output_padding_height: 2 output_padding_width: 2 stride_height: 1 stride_width: 1 "
     r"dilation_height: 1 dilation_width: 1"),
    ("unfold too small", lambda lib, x: lib.nn.functional.unfold(x, 3),
     [randn(2, 3, 2, 2)], r"calculated shape of the array of sliding blocks as \(0, 0\)"),
    ("fold block count", lambda lib, c: lib.nn.functional.fold(c, (4, 4), 3),
     [randn(2, 27, 5)],
     r"expected size of input's dimension 2 to match the calculated number of sliding "
     r"blocks 2 \* 2 = 4, but got input.size\(2\)=5"),
    ("fold channels divisible", lambda lib, c: lib.nn.functional.fold(c, (3, 3), 2),
     [randn(1, 7, 4)],
     r"input.size\(1\)=7 and kernel_size=\(2, 2\)\.$"),
    ("module groups", lambda lib: lib.nn.Conv2d(3, 8, 3, groups=2), [],
     r"in_channels must be divisible by groups"),
    ("module out groups", lambda lib: lib.nn.Conv2d(4, 6, 3, groups=4), [],
     r"out_channels must be divisible by groups"),
    ("module padding mode", lambda lib: lib.nn.Conv2d(3, 8, 3, padding_mode="foo"), [],
     r"padding_mode must be one of \{.*\}, but got padding_mode='foo'"),
    ("module same strided", lambda lib: lib.nn.Conv2d(3, 8, 3, padding="same", stride=2), [],
     r"padding='same' is not supported for strided convolutions"),
    ("module bad padding string", lambda lib: lib.nn.Conv1d(3, 8, 3, padding="full"), [],
     r"Invalid padding string 'full', should be one of"),
    ("transpose module padding mode",
     lambda lib: lib.nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect"), [],
     r'Only "zeros" padding mode is supported for ConvTranspose2d'),
    ("transpose output_size", lambda lib, x: lib.nn.ConvTranspose2d(3, 2, 3, stride=2)(
        x, output_size=(20, 20)), [randn(1, 3, 4, 4)],
     r"requested an output size of \(20, 20\), but valid sizes range from \[9, 9\] to "
     r"\[10, 10\]"),
]


@pytest.mark.parametrize("name,fn,inputs,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, fn, inputs, match):
    check_raises(fn, *inputs, match=match)


# -- modules -------------------------------------------------------------------------------


MODULE_CASES = [
    ("Conv1d", lambda lib: lib.nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    ("Conv2d", lambda lib: lib.nn.Conv2d(3, 6, (3, 2), padding=(1, 0), groups=3), (2, 3, 7, 6)),
    ("Conv2d no bias same", lambda lib: lib.nn.Conv2d(2, 4, 4, padding="same", bias=False),
     (1, 2, 7, 7)),
    ("Conv3d", lambda lib: lib.nn.Conv3d(2, 3, 2, dilation=2), (1, 2, 5, 5, 5)),
    ("ConvTranspose1d", lambda lib: lib.nn.ConvTranspose1d(3, 2, 3, stride=2), (2, 3, 5)),
    ("ConvTranspose2d", lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                            output_padding=1, groups=2),
     (2, 4, 4, 5)),
    ("ConvTranspose3d", lambda lib: lib.nn.ConvTranspose3d(2, 2, 2, stride=2), (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("name,make,shape", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_modules_match_torch(name, make, shape):
    e_mod, t_mod, _, _ = check_module(make, randn(*shape), **F32)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert [tuple(p.shape) for p in e_mod.parameters()] == \
        [tuple(p.shape) for p in t_mod.parameters()]


@pytest.mark.parametrize("mode,padding", [("reflect", (2, 1)), ("replicate", (2, 1)),
                                          ("circular", (2, 1)), ("reflect", "same"),
                                          ("circular", "same")])
def test_padding_modes(mode, padding):
    def make(lib):
        return lib.nn.Conv2d(2, 3, (3, 4), padding=padding, padding_mode=mode)

    e_mod, t_mod, _, _ = check_module(make, randn(2, 2, 6, 7), **F32)
    assert repr(e_mod) == repr(t_mod)
    conv1d = check_module(lambda lib: lib.nn.Conv1d(2, 3, 3, padding=1, padding_mode=mode),
                          randn(2, 2, 7), **F32)
    assert repr(conv1d[0]) == repr(conv1d[1])


def test_transpose_module_output_size():
    check_module(lambda lib: _TransposeWithSize(lib), randn(1, 3, 4, 4), **F32)


class _TransposeWithSize:
    """A ConvTranspose2d called with output_size, as a module for check_module."""

    def __new__(cls, lib):
        class Wrapper(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.up = lib.nn.ConvTranspose2d(3, 2, 3, stride=2)

            def forward(self, x):
                return self.up(x, output_size=(1, 2, 10, 10))

        return Wrapper()


def test_default_init_bounds():
    ember.manual_seed(0)
    conv = ember.nn.Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)
    w = conv.weight.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    transposed = ember.nn.ConvTranspose2d(8, 4, 3, groups=2)
    assert tuple(transposed.weight.shape) == (8, 2, 3, 3)
    t_bound = 1 / np.sqrt(2 * 9)  # PyTorch's fan_in for a transposed weight: dim 1 * kernel
    assert np.abs(transposed.bias.detach().numpy()).max() <= t_bound


def test_lazy_conv_infers_in_channels():
    lazy = ember.nn.LazyConv2d(4, 3, padding=1)
    out = lazy(ember.randn(2, 5, 6, 6))
    assert type(lazy) is ember.nn.Conv2d
    assert tuple(lazy.weight.shape) == (4, 5, 3, 3) and tuple(out.shape) == (2, 4, 6, 6)
    lazy_t = ember.nn.LazyConvTranspose1d(3, 2, stride=2)
    assert tuple(lazy_t(ember.randn(1, 4, 5)).shape) == (1, 3, 10)


def test_fold_modules_match_torch():
    e_mod, t_mod, _, _ = check_module(lambda lib: lib.nn.Unfold((2, 3), padding=1, stride=2),
                                      randn(2, 3, 5, 6))
    assert repr(e_mod) == repr(t_mod)
    e_mod, t_mod, _, _ = check_module(lambda lib: lib.nn.Fold((4, 5), 2), randn(2, 12, 12))
    assert repr(e_mod) == repr(t_mod)


EDGE_CASES = [
    ("empty batch", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1),
     [randn(0, 3, 5, 5), randn(4, 3, 3, 3)]),
    ("non-contiguous input", lambda lib, x, w: lib.nn.functional.conv2d(x.transpose(2, 3), w,
                                                                      padding=1),
     [randn(2, 3, 6, 5), randn(4, 3, 3, 3)]),
    ("non-contiguous 1x1", lambda lib, x, w: lib.nn.functional.conv2d(x.transpose(2, 3), w),
     [randn(2, 3, 6, 5), randn(4, 3, 1, 1)]),
    ("float64", lambda lib, x, w: lib.nn.functional.conv1d(x, w, stride=2),
     [randn(2, 3, 9, dtype=np.float64), randn(4, 3, 3, dtype=np.float64)]),
]


@pytest.mark.parametrize("name,fn,inputs", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_conv_edge_cases(name, fn, inputs):
    check(fn, *inputs, **F32)


def test_integer_conv():
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-5, 5, (1, 3, 5, 5)), rng.integers(-5, 5, (2, 3, 3, 3))]

    def conv(lib, x, w):
        return lib.nn.functional.conv2d(x, w, padding=1)

    if oracle.DEVICE == "cuda":  # cuDNN has no integer convolution
        oracle.raises_on_cuda(conv, inputs, RuntimeError,
                        "getCudnnDataTypeFromScalarType() not supported for Long")
    else:
        check(conv, *inputs, grad=False)



@pytest.mark.parametrize("which", ["input", "weight"])
def test_double_backward_one_input(which):
    """create_graph with only one of input/weight requiring grad."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))

    def fn(lib, leaf):
        other = lib.tensor(w if which == "input" else x)
        args = (leaf, other) if which == "input" else (other, leaf)
        y = lib.nn.functional.conv2d(*args, padding=1)
        (g,) = lib.autograd.grad((y * y).sum(), (leaf,), create_graph=True)
        return (g * g).sum()

    check(fn, x if which == "input" else w)


# Mixed input/weight/bias dtypes: PyTorch checks the bias first for conv and the weight
# first for conv_transpose, and a float64/float16 input reports through its slow kernel
# ("expected scalar type Double but found Float", the usual float64-NumPy-data mistake).
_DT = {"f": "float32", "d": "float64", "h": "float16", "b": "bfloat16"}
DTYPE_MISMATCH = [(fn, xd, wd, bd) for fn in ("conv1d", "conv2d", "conv3d", "conv_transpose2d")
                  for xd, wd, bd in [("d", "f", None), ("d", "f", "f"), ("f", "d", None),
                                     ("f", "d", "f"), ("f", "d", "d"), ("f", "f", "d"),
                                     ("d", "h", None), ("h", "f", None), ("b", "f", None),
                                     ("f", "b", None), ("d", "b", None), ("f", "f", "b"),
                                     ("b", "b", "f"), ("d", "d", "b")]
                  if not (fn == "conv_transpose2d" and xd == "d" and wd == "d")]
DTYPE_MISMATCH += [("conv_transpose3d", "d", "d", "f"), ("conv_transpose3d", "f", "f", "d")]


_LIBS_ON_DEVICES = ((torch, oracle.TORCH_DEVICE), (ember, oracle.DEVICE))
_CPP = {"f": "float", "d": "double", "h": "c10::Half", "b": "c10::BFloat16"}
_CUDA_TYPE = {"f": "torch.cuda.FloatTensor", "d": "torch.cuda.DoubleTensor",
              "h": "torch.cuda.HalfTensor", "b": "CUDABFloat16Type"}


def _cudnn_text(fn, xd, wd, bd):
    """PyTorch's CUDA text: conv1d/2d/3d's device-independent bias check first, then
    cuDNN's (``check_input_same_type_as_parameters``: weight, then bias), which refuses
    every mismatch. Checked against torch itself where torch has cuda."""
    if not fn.startswith("conv_transpose") and bd is not None and bd != xd:
        return f"Input type ({_CPP[xd]}) and bias type ({_CPP[bd]}) should be the same"
    other, what = (wd, "weight") if wd != xd else (bd, "bias")
    return f"Input type ({_CUDA_TYPE[xd]}) and {what} type ({_CUDA_TYPE[other]}) should be the same"


def _check_refusal(call, expected_on_cuda):
    """``call(lib, device)`` raises the same RuntimeError text on ember as on torch, each
    on the oracle's device for it (tensors built without a device would leave both on the
    CPU on a GPU machine too, and test nothing of cuda); on cuda that is cuDNN's text,
    checked on torch too where torch has cuda (on the double torch stays on the CPU,
    whose text, or result, differs)."""
    libs = _LIBS_ON_DEVICES
    if oracle.DEVICE == "cuda" and oracle.TORCH_DEVICE != "cuda":
        libs = libs[1:]
    texts = {}
    for lib, device in libs:
        with pytest.raises(RuntimeError) as info:
            call(lib, device)
        texts[lib] = str(info.value)
    if oracle.DEVICE == "cuda":
        assert texts == {lib: expected_on_cuda for lib in texts}
    else:
        assert texts[ember] == texts[torch]


@pytest.mark.parametrize("fn,xd,wd,bd", DTYPE_MISMATCH)
def test_dtype_mismatch_error_text_matches_torch(fn, xd, wd, bd):
    nd = int(fn[-2])
    x_shape, w_shape = (2, 3) + (5,) * nd, (3, 4) + (3,) * nd
    if not fn.startswith("conv_transpose"):
        w_shape = (4, 3) + (3,) * nd

    def call(lib, device):
        args = [lib.zeros(x_shape, dtype=getattr(lib, _DT[xd]), device=device),
                lib.zeros(w_shape, dtype=getattr(lib, _DT[wd]), device=device)]
        if bd is not None:
            args.append(lib.zeros(4, dtype=getattr(lib, _DT[bd]), device=device))
        getattr(lib.nn.functional, fn)(*args)

    _check_refusal(call, _cudnn_text(fn, xd, wd, bd))


def test_float16_dtype_texts_follow_onednn_where_it_takes_float16(monkeypatch):
    """On an AVX512-FP16 host (the lent H200's Xeon) PyTorch's CPU float16 convolution is
    oneDNN's, with oneDNN's dtype texts and no float bias; elsewhere (this machine, CI)
    it is the slow kernel's. torch here cannot show the first, so its text is written out
    (torch 2.11's there)."""
    from ember._ops import conv

    monkeypatch.setattr(conv, "_onednn_fp16", lambda: True)
    half, flt = ember.zeros(2, 3, 5, 5, dtype=ember.float16), ember.zeros(4, 3, 3, 3)
    with pytest.raises(RuntimeError) as info:
        ember.nn.functional.conv2d(half, flt)
    assert str(info.value) == (
        "Input type (torch.HalfTensor) and weight type (torch.FloatTensor) should be the same "
        "or input should be a MKLDNN tensor and weight is a dense tensor")
    with pytest.raises(RuntimeError) as info:
        ember.nn.functional.conv_transpose2d(half, flt.half().transpose(0, 1), ember.zeros(4))
    assert str(info.value) == (
        "Input type (torch.HalfTensor) and bias type (torch.FloatTensor) should be the same "
        "or input should be a MKLDNN tensor and bias is a dense tensor")


def test_onednn_float16_probe_agrees_with_torch():
    from ember._ops import conv

    assert conv._onednn_fp16() == torch.ops.mkldnn._is_mkldnn_fp16_supported()


def test_onednn_float16_probe_reads_both_of_onednns_isas():
    """oneDNN takes float16 with AVX512-FP16 or with avx2_vnni_2 (Sierra Forest, Arrow Lake:
    no AVX-512 at all), whose parts NumPy's table lacks; the probe above can only see
    this host's answer."""
    from ember._ops import conv

    vnni_2 = {"avx2", "avx_vnni", "avx_vnni_int8", "avx_ne_convert", "sse4_2"}
    assert conv._f16_isa({"AVX512FP16": True}, frozenset())
    assert conv._f16_isa({"AVX512FP16": False, "AVX512F": True}, frozenset(vnni_2))
    assert not conv._f16_isa({"AVX512FP16": False}, frozenset(vnni_2 - {"avx_ne_convert"}))
    assert not conv._f16_isa({}, frozenset({"avx2", "avx512f", "avx512_bf16"}))
    assert isinstance(conv._cpu_flags(), frozenset)


@pytest.mark.parametrize("fn,xd,bd", [("conv_transpose1d", "d", "f"),
                                      ("conv_transpose2d", "d", "f"),
                                      ("conv_transpose2d", "d", "b"),
                                      ("conv_transpose2d", "h", "f")])
def test_conv_transpose_takes_a_bias_of_another_float_dtype(fn, xd, bd):
    """PyTorch's slow CPU kernels (float64; float16 where oneDNN does not take it) for
    transposed 1-d/2-d add a bias of another float dtype in the input's dtype; the bias's
    gradient comes back in its own dtype. cuDNN, and oneDNN (float16 on an AVX512-FP16
    host), refuse it: there ember refuses alike."""
    nd = int(fn[-2])
    x_np, w_np, b_np = randn(1, 3, *(4,) * nd), randn(3, 2, *(3,) * nd), randn(2)

    def call(lib, device):
        x = lib.tensor(x_np, dtype=getattr(lib, _DT[xd]), device=device, requires_grad=True)
        w = lib.tensor(w_np, dtype=getattr(lib, _DT[xd]), device=device)
        b = lib.tensor(b_np, dtype=getattr(lib, _DT[bd]), device=device, requires_grad=True)
        out = getattr(lib.nn.functional, fn)(x, w, b)
        out.float().pow(2).sum().backward()
        return out, b.grad

    if oracle.DEVICE == "cuda" or (xd == "h" and torch.ops.mkldnn._is_mkldnn_fp16_supported()):
        _check_refusal(call, _cudnn_text(fn, xd, xd, bd))
        return
    (t_out, t_grad), (e_out, e_grad) = [call(lib, device) for lib, device in _LIBS_ON_DEVICES]
    assert str(e_out.dtype) == str(t_out.dtype) and str(e_grad.dtype) == str(t_grad.dtype)
    np.testing.assert_allclose(e_out.float().detach().numpy(), t_out.float().detach().numpy(),
                               rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(e_grad.float().numpy(), t_grad.float().numpy(), rtol=1e-2, atol=5e-2)


# -- module plumbing: reprs, output_size, lazy forms, old pickles ----------------------------

REPR_CASES = [
    lambda lib: lib.nn.Conv2d(2, 4, (3, 1), dilation=(1, 2), padding="valid", bias=False),
    lambda lib: lib.nn.Conv1d(2, 2, 3, padding="same", padding_mode="replicate", groups=2),
    lambda lib: lib.nn.ConvTranspose3d(2, 4, 2, output_padding=(0, 1, 0), stride=2, dilation=1),
    lambda lib: lib.nn.ConvTranspose1d(4, 2, 3, padding=2, groups=2, dilation=3),
]


@pytest.mark.parametrize("make", REPR_CASES)
def test_module_repr_and_padding_plan_match_torch(make):
    e_mod, t_mod = make(ember), make(torch)
    assert repr(e_mod) == repr(t_mod)
    assert list(e_mod._reversed_padding_repeated_twice) == \
        list(t_mod._reversed_padding_repeated_twice)


OUTPUT_SIZES = [(9, 9), (10, 9), [1, 2, 10, 10], (2, 10, 9), (8, 9), (9,), (1, 1, 2, 9, 9)]


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("size", OUTPUT_SIZES)
def test_transpose_output_size_like_torch(size, unbatched):
    shape = (3, 4, 4) if unbatched else (1, 3, 4, 4)
    x = randn(*shape)
    results = []
    for lib in (torch, ember):
        mod = lib.nn.ConvTranspose2d(3, 2, 3, stride=2, dilation=1)
        try:
            results.append(("ok", mod._output_padding(lib.tensor(x), size, mod.stride,
                                                      mod.padding, mod.kernel_size, 2,
                                                      mod.dilation)))
        except ValueError as error:
            results.append(("error", str(error)))
    assert results[0] == results[1]


@pytest.mark.parametrize("name,args,shape", [
    ("LazyConv1d", (4, 3), (3, 7)),                       # unbatched: channels at dim 0
    ("LazyConvTranspose2d", (4, 3, 2, 0, 0, 2), (2, 6, 3, 3)),
    ("LazyConv3d", (2, 2), (1, 2, 3, 3, 3)),
])
def test_lazy_conv_matches_torch(name, args, shape):
    e_mod, t_mod = getattr(ember.nn, name)(*args), getattr(torch.nn, name)(*args)
    x = randn(*shape)
    e_out, t_out = e_mod(ember.tensor(x)), t_mod(torch.tensor(x))
    assert type(e_mod).__name__ == type(t_mod).__name__ and repr(e_mod) == repr(t_mod)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    assert [(k, tuple(p.shape)) for k, p in e_mod.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in t_mod.named_parameters()]


@pytest.mark.parametrize("make,shape", [
    (lambda lib: lib.nn.LazyConv2d(4, 3), (2, 3)),
    (lambda lib: lib.nn.LazyConv1d(4, 3, groups=2), (1, 3, 5)),
])
def test_lazy_conv_errors_match_torch(make, shape):
    x = randn(*shape)
    with pytest.raises(Exception) as t_err:
        make(torch)(torch.tensor(x))
    with pytest.raises(Exception) as e_err:
        make(ember)(ember.tensor(x))
    assert type(e_err.value) is type(t_err.value)
    assert str(e_err.value).replace("ember.Size", "torch.Size") == str(t_err.value)


@pytest.mark.parametrize("make", [lambda lib: lib.nn.Conv2d(2, 2, 3, groups=0),
                                  lambda lib: lib.nn.Conv2d(2, 2, 3, padding="same",
                                                            stride=(1, 2))])
def test_constructor_errors_match_torch(make):
    with pytest.raises(ValueError) as t_err:
        make(torch)
    with pytest.raises(ValueError) as e_err:
        make(ember)
    assert str(e_err.value) == str(t_err.value)


def test_unpickled_conv_without_padding_mode_gets_zeros():
    import pickle

    conv = ember.nn.Conv1d(2, 3, 3)
    del conv.__dict__["padding_mode"]
    clone = pickle.loads(pickle.dumps(conv))
    assert clone.padding_mode == "zeros"
    x = ember.randn(1, 2, 5)
    np.testing.assert_array_equal(clone(x).detach().numpy(), conv.__class__.forward(
        clone, x).detach().numpy())
