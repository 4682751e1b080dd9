"""ember.onnx.export, op by op: each row is a forward written once for ember and torch;
the exported file must pass onnx.checker and give ember's and PyTorch's values in
onnxruntime."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import oracle
from _onnx_harness import Fn, TorchFn, check

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


RNG = np.random.default_rng(7)


def _f(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


X = _f(2, 3, 4)
IMAGE = _f(2, 3, 5, 6)


def _pad(t, x, pad, **kwargs):
    return t.nn.functional.pad(x, pad, **kwargs)


def _resize(t, x, **kwargs):
    return t.nn.functional.interpolate(x, **kwargs)


# id -> (fn(lib, *inputs), inputs)
OPS = {
    "add": (lambda t, x, y: x + y, [X, _f(3, 4)]),
    "add_scalar": (lambda t, x: x + 2.5, [X]),
    "radd_alpha": (lambda t, x, y: t.add(x, y, alpha=2.0), [X, X]),
    "sub": (lambda t, x, y: x - y, [X, _f(4)]),
    "rsub": (lambda t, x: 1.0 - x, [X]),
    "mul": (lambda t, x, y: x * y, [X, _f(2, 1, 4)]),
    "div": (lambda t, x, y: x / (y.abs() + 1), [X, X]),
    "rdiv": (lambda t, x: 2.0 / (x.abs() + 1), [X]),
    "floor_divide": (lambda t, x: t.div(x, 0.7, rounding_mode="floor"), [X]),
    "trunc_divide": (lambda t, x: t.div(x, 0.7, rounding_mode="trunc"), [X]),
    "int_divisions": (lambda t, x: ((x * 4).long() // 3) + t.div((x * 4).long(), -3,
                                                                 rounding_mode="trunc")
                      + (x * 4).long() % 3 + t.fmod((x * 4).long(), -3), [X]),
    "float_remainder_fmod": (lambda t, x: x % 0.7 + t.fmod(x, -0.7) + t.remainder(x, -0.3),
                             [X]),
    "int_true_division": (lambda t, x: (x * 4).long() / 3, [X]),
    "pow_scalar": (lambda t, x: x ** 2, [X]),
    "pow_tensor": (lambda t, x, y: x.abs() ** y, [X, X]),
    "neg": (lambda t, x: -x, [X]),
    "exp": (lambda t, x: x.exp(), [X]),
    "log": (lambda t, x: (x.abs() + 0.5).log(), [X]),
    "log2": (lambda t, x: t.log2(x.abs() + 0.5), [X]),
    "log1p": (lambda t, x: t.log1p(x.abs()), [X]),
    "sqrt": (lambda t, x: (x.abs()).sqrt(), [X]),
    "rsqrt": (lambda t, x: (x.abs() + 0.5).rsqrt(), [X]),
    "trig": (lambda t, x: x.sin() + x.cos() * t.atan(x), [X]),
    "erf_floor_ceil": (lambda t, x: t.erf(x) + x.floor() - x.ceil() + x.trunc(), [X]),
    "sign_round": (lambda t, x: x.sign() + (x * 3).round(), [X]),
    "relu": (lambda t, x: t.relu(x), [X]),
    "relu_inplace": (lambda t, x: t.nn.functional.relu(x * 1, inplace=True) + 1, [X]),
    "leaky_relu": (lambda t, x: t.nn.functional.leaky_relu(x, 0.2), [X]),
    "gelu": (lambda t, x: t.nn.functional.gelu(x), [X]),
    "gelu_tanh": (lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), [X]),
    "silu": (lambda t, x: t.nn.functional.silu(x), [X]),
    "sigmoid_tanh": (lambda t, x: t.sigmoid(x) * t.tanh(x), [X]),
    "elu_selu_celu": (lambda t, x: t.nn.functional.elu(x, 0.7) + t.nn.functional.selu(x)
                      + t.nn.functional.celu(x, 1.3), [X]),
    "softplus": (lambda t, x: t.nn.functional.softplus(x * 10, beta=2.0, threshold=5.0), [X]),
    "hard_activations": (lambda t, x: t.nn.functional.hardtanh(x * 2) + t.nn.functional.relu6(
        x * 4) + t.nn.functional.hardsigmoid(x * 4) + t.nn.functional.hardswish(x * 4), [X]),
    "logsigmoid_mish": (lambda t, x: t.nn.functional.logsigmoid(x) + t.nn.functional.mish(x),
                        [X]),
    "glu": (lambda t, x: t.nn.functional.glu(x, -1), [X]),
    "softmax": (lambda t, x: t.softmax(x, -1), [X]),
    "softmax_dim1": (lambda t, x: t.nn.functional.softmax(x, dim=1), [X]),
    "log_softmax": (lambda t, x: t.log_softmax(x, 1), [X]),
    "clamp": (lambda t, x: x.clamp(-0.5, 0.5) + x.clamp(min=0.1), [X]),
    "where_max_min": (lambda t, x, y: t.where(x > 0, x, y) + t.maximum(x, y)
                      - t.minimum(x, y), [X, X]),
    "sum": (lambda t, x: x.sum(), [X]),
    "sum_dim": (lambda t, x: x.sum(1) + x.sum((0, 1), keepdim=True), [X]),
    "mean": (lambda t, x: x.mean(-1, keepdim=True) * x.mean(), [X]),
    "max_min_all": (lambda t, x: x.max() - x.min() + x.amax(1).sum(), [X]),
    "max_dim_values": (lambda t, x: x.max(dim=1).values + x.min(2)[0].sum(), [X]),
    "var_std": (lambda t, x: x.var(1) + x.std(-1, keepdim=True).sum(), [X]),
    "prod_logsumexp": (lambda t, x: x.prod(1) + t.logsumexp(x, 1), [X]),
    "matmul": (lambda t, x, y: x @ y, [X, _f(4, 5)]),
    "bmm": (lambda t, x, y: t.bmm(x, y), [X, _f(2, 4, 3)]),
    "addmm": (lambda t, b, x, y: t.addmm(b, x, y, beta=0.5, alpha=2.0), [_f(5), _f(3, 4),
                                                                           _f(4, 5)]),
    "addbmm": (lambda t, b, x, y: t.addbmm(b, x, y, beta=0.5, alpha=2.0), [_f(3, 5), X,
                                                                             _f(2, 4, 5)]),
    "view_flatten": (lambda t, x: x.view(2, 12) + x.flatten(1) + x.reshape(-1, 12), [X]),
    "reshape_split_dims": (lambda t, x: x.reshape(2, 3, 2, 2).sum(-1), [X]),
    "permute_transpose": (lambda t, x: x.permute(2, 0, 1).permute(1, 2, 0) * 2 + x.mT.transpose(1, 2),
                          [X]),
    "t_contiguous": (lambda t, x: x[0].t().contiguous().view(-1), [X]),
    "unsqueeze_squeeze": (lambda t, x: x.unsqueeze(1).squeeze(1).unsqueeze(-1).squeeze(), [X]),
    "squeeze_dim": (lambda t, x: x[:, :1].squeeze(1), [X]),
    "expand": (lambda t, x: x[:, :1].expand(2, 3, 4) + x.sum(1, keepdim=True).expand_as(x),
               [X]),
    "cat": (lambda t, x, y: t.cat([x, y * 2], 1), [X, X]),
    "stack": (lambda t, x: t.stack([x, x + 1], -1), [X]),
    "split_chunk": (lambda t, x: x.split(1, 1)[2] + x.chunk(3, dim=1)[0], [X]),
    "split_sizes": (lambda t, x: x.split([1, 3], dim=-1)[1].sum(-1), [X]),
    "unbind": (lambda t, x: x.unbind(1)[1] * 2, [X]),
    "slicing": (lambda t, x: x[:, 1:, ::2] + x[..., 1:3:1][:, :2, :2], [X]),
    "select_index": (lambda t, x: x[0, :, 1] + x[1][2, 3] + x[:, -1].sum(), [X]),
    "none_index": (lambda t, x: x[:, None, 1] * 2, [X]),
    "narrow_select": (lambda t, x: x.narrow(2, 1, 2).select(0, 1), [X]),
    "repeat_tril": (lambda t, x: x.repeat(1, 2, 1).tril() + x.repeat(1, 2, 1).triu(1), [X]),
    "clone_to": (lambda t, x: x.clone().to(t.float64).to(t.float32) + x.double().float(),
                 [X]),
    "masked_fill": (lambda t, x: x.masked_fill(x > 0, -1.5), [X]),
    "mask_arithmetic": (lambda t, x: x * (x > 0) + (x <= 0.5).float() - (~(x > 0)).float()
                        + (x == x.abs()).float() + t.logical_and(x > 0, x < 1).float(), [X]),
    "argmax_argmin": (lambda t, x: x.argmax(-1) + x.argmin(1).sum() + x.argmax(), [X]),
    "gather": (lambda t, x: x.gather(2, x.argmax(2, keepdim=True)), [X]),
    "index_select": (lambda t, x: x.index_select(1, t.tensor([2, 0])), [X]),
    "float_to_long": (lambda t, x: (x * 3).long().sum(-1), [X]),
    "pad_constant_and_crop": (lambda t, x: _pad(t, x, (1, 2, 0, -1), value=0.5), [IMAGE]),
    "pad_reflect": (lambda t, x: _pad(t, x, (2, 1, 1, 1), mode="reflect"), [IMAGE]),
    "pad_replicate": (lambda t, x: _pad(t, x, (2, 1, 0, 1), mode="replicate"), [IMAGE]),
    "pad_circular": (lambda t, x: _pad(t, x, (2, 1, 1, 0), mode="circular"), [IMAGE]),
    "interpolate_nearest": (lambda t, x: _resize(t, x, scale_factor=2), [IMAGE]),
    "interpolate_bilinear": (lambda t, x: _resize(t, x, size=(7, 9), mode="bilinear"),
                             [IMAGE]),
    "interpolate_bilinear_corners": (lambda t, x: _resize(t, x, scale_factor=1.5,
                                                          mode="bilinear", align_corners=True),
                                     [IMAGE]),
    "interpolate_bicubic": (lambda t, x: _resize(t, x, size=(4, 8), mode="bicubic"), [IMAGE]),
    "interpolate_area": (lambda t, x: _resize(t, x, size=(2, 3), mode="area"), [IMAGE]),
    "cumsum": (lambda t, x: x.cumsum(1) + x.cumsum(-1), [X]),
    "norms": (lambda t, x: x.norm(dim=-1) + x.norm(p=1, dim=-1) + x.norm()
              + t.linalg.vector_norm(x, ord=3, dim=(1, 2)).sum()
              + t.linalg.vector_norm(x, float("inf")), [IMAGE]),
    "normalize_cosine": (lambda t, x: t.nn.functional.normalize(x, dim=1).sum(1)
                         + t.nn.functional.cosine_similarity(x, x * 2 + 1, dim=1), [IMAGE]),
    "einsum": (lambda t, x: t.einsum("bij,bkj->bik", x, x), [X]),
    "flip": (lambda t, x: x.flip(1) + x.flip(0, 2), [X]),
    "roll": (lambda t, x: x.roll(1, 2) + x.roll((1, -1), (0, 1)) + x.roll(5), [X]),
    "topk": (lambda t, x: x.topk(2, dim=-1)[0]
             + x.topk(2, dim=1, largest=False).indices.sum(), [X]),
    "sort_argsort": (lambda t, x: x.sort(-1)[0] + x.argsort(-1)
                     + x.sort(1, descending=True).values.sum(1, keepdim=True), [X]),
    "pixel_shuffle": (lambda t, x: t.nn.functional.pixel_shuffle(x, 2), [_f(2, 8, 3, 4)]),
    "pixel_unshuffle": (lambda t, x: t.nn.functional.pixel_unshuffle(x, 2), [_f(2, 2, 4, 6)]),
    "one_hot": (lambda t, x: t.nn.functional.one_hot(x.argmax(-1), 4).float() + x, [X]),
    "addcmul_addcdiv": (lambda t, x: t.addcmul(x, x, x, value=0.5)
                        + t.addcdiv(x, x, x.abs() + 1), [X]),
    "lerp": (lambda t, x: t.lerp(x, x * 2, 0.3) + t.lerp(x, x * 2, x.sigmoid()), [X]),
    "shrinks": (lambda t, x: t.nn.functional.hardshrink(x) + t.nn.functional.softshrink(x)
                + t.nn.functional.tanhshrink(x) + t.nn.functional.softsign(x), [X]),
    "attention": (lambda t, x: t.nn.functional.scaled_dot_product_attention(
        x, x * 2, x + 1, is_causal=True), [X]),
    "pools_ceil_mode": (lambda t, x: t.nn.functional.max_pool2d(x, 3, 3, 1, ceil_mode=True)
                        + t.nn.functional.avg_pool2d(x, 3, 3, 1, ceil_mode=True)
                        + t.nn.functional.avg_pool2d(x, 3, 3, 1, ceil_mode=True,
                                                     count_include_pad=False), [_f(1, 2, 5, 5)]),
    "pools_1d_3d": (lambda t, x: t.nn.functional.avg_pool1d(x[0], 2, 1, 1).sum()
                    + t.nn.functional.max_pool1d(x[0], 2, ceil_mode=True).sum()
                    + t.nn.functional.max_pool3d(x[None], 2, ceil_mode=True).sum()
                    + t.nn.functional.avg_pool2d(x, 2, 2, 1, divisor_override=3).sum()
                    + t.nn.functional.max_pool2d(x, 2, 1, 1, dilation=2).sum(), [_f(1, 2, 5, 5)]),
    "dropout_eval": (lambda t, x: t.nn.functional.dropout(x, 0.5, training=False) + 1, [X]),
}


@pytest.mark.parametrize("name", list(OPS))
def test_op(name):
    fn, inputs = OPS[name]
    check(Fn(fn), TorchFn(fn), inputs)
