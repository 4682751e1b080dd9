"""Quantized tensors through torch's function forms and methods, against torch 2.13.

Each case runs the same expression on ember and torch: a quantized result must match in
quantizer (dtype, scheme, scale, zero point), shape and integers; a refused op must raise
torch's exception type with the same first sentence.
"""

import warnings

import numpy as np
import pytest
import torch

import ember

warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")

X = np.linspace(-1, 1, 2 * 4 * 3 * 3, dtype=np.float32).reshape(2, 4, 3, 3)
Y = np.linspace(0.9, -0.7, 2 * 4 * 3 * 3, dtype=np.float32).reshape(2, 4, 3, 3)


def _inputs(lib, qdtype="quint8", zero_point=10):
    dtype = getattr(lib, qdtype)
    zp = zero_point if qdtype == "quint8" else zero_point - 128
    q = lib.quantize_per_tensor(lib.tensor(X), 0.02, zp, dtype)
    q2 = lib.quantize_per_tensor(lib.tensor(Y), 0.03, zp // 2, dtype)
    return q, q2


CASES = {
    # views and element moves: the quantizer is kept
    "chunk": lambda L, q, q2: q.chunk(2, 1),
    "chunk_fn": lambda L, q, q2: L.chunk(q, 2, 1),
    "split": lambda L, q, q2: q.split(2, 1),
    "split_fn": lambda L, q, q2: L.split(q, [1, 3], 1),
    "unbind": lambda L, q, q2: q.unbind(0),
    "unbind_fn": lambda L, q, q2: L.unbind(q, 1),
    "flatten": lambda L, q, q2: q.flatten(1),
    "flatten_fn": lambda L, q, q2: L.flatten(q, 1),
    "flatten_fn_t": lambda L, q, q2: L.flatten(q.transpose(1, 2), 1),
    "reshape_fn": lambda L, q, q2: L.reshape(q, (2, -1)),
    "reshape_copy": lambda L, q, q2: L.reshape(q.transpose(1, 3), (-1,)),
    "view": lambda L, q, q2: q.view(2, 4, 9),
    "permute_fn": lambda L, q, q2: L.permute(q, (0, 2, 3, 1)),
    "transpose_fn": lambda L, q, q2: L.transpose(q, 1, 2),
    "squeeze": lambda L, q, q2: q[:1].squeeze(0),
    "squeeze_fn": lambda L, q, q2: L.squeeze(q[:1]),
    "unsqueeze_fn": lambda L, q, q2: L.unsqueeze(q, 1),
    "unsqueeze": lambda L, q, q2: q.unsqueeze(-1),
    "select": lambda L, q, q2: q[0, 1],
    "slice": lambda L, q, q2: q[:, 1:3, ::2],
    "narrow": lambda L, q, q2: q.narrow(1, 1, 2),
    "expand": lambda L, q, q2: q[:, :1].expand(2, 4, 3, 3),
    "flip": lambda L, q, q2: q.flip(0),
    "index_select": lambda L, q, q2: q.index_select(1, L.tensor([0, 2])),
    "repeat": lambda L, q, q2: q.repeat(1, 2, 1, 1),
    "clone": lambda L, q, q2: L.clone(q),
    "contiguous": lambda L, q, q2: q.transpose(1, 2).contiguous(),
    "max": lambda L, q, q2: q.max(),
    "max_dim": lambda L, q, q2: q.max(1),
    "topk": lambda L, q, q2: q.topk(2),
    "sort": lambda L, q, q2: q.sort(1),
    # function forms whose no-grad fast paths skip Function.apply
    "flip_fn": lambda L, q, q2: L.flip(q, [1, 3]),
    "narrow_fn": lambda L, q, q2: L.narrow(q, 1, 1, 2),
    "select_fn": lambda L, q, q2: L.select(q, 2, -1),
    "index_select_fn": lambda L, q, q2: L.index_select(q, 1, L.tensor([3, 0, 3])),
    "max_fn": lambda L, q, q2: L.max(q),
    "min_fn": lambda L, q, q2: L.min(q),
    "max_dim_fn": lambda L, q, q2: L.max(q, 1),
    "min_dim_fn": lambda L, q, q2: L.min(q, 2, keepdim=True),
    "topk_fn": lambda L, q, q2: L.topk(q[1:], 2, 1, largest=False),  # no ties: torch's order
    "sort_fn": lambda L, q, q2: L.sort(q, 1, descending=True),
    "repeat_interleave_fn": lambda L, q, q2: L.repeat_interleave(q, 2, 1),
    "repeat_interleave_flat": lambda L, q, q2: L.repeat_interleave(q, 2),
    "pixel_shuffle": lambda L, q, q2: L.nn.functional.pixel_shuffle(q, 2),
    "channel_shuffle": lambda L, q, q2: L.nn.functional.channel_shuffle(q, 2),
    # activations and pooling: torch's quantized kernels
    "relu_fn": lambda L, q, q2: L.relu(q),
    "F_relu": lambda L, q, q2: L.nn.functional.relu(q),
    "relu_m": lambda L, q, q2: q.relu(),
    "relu6": lambda L, q, q2: L.nn.functional.relu6(q),
    "hardtanh": lambda L, q, q2: L.nn.functional.hardtanh(q, -0.3, 0.4),
    "clamp": lambda L, q, q2: q.clamp(-0.1, 0.5),
    "sigmoid": lambda L, q, q2: L.sigmoid(q),
    "tanh": lambda L, q, q2: L.tanh(q),
    "max_pool2d": lambda L, q, q2: L.nn.functional.max_pool2d(q, 2),
    "max_pool2d_pad": lambda L, q, q2: L.nn.functional.max_pool2d(q, 3, 1, 1),
    "avg_pool2d": lambda L, q, q2: L.nn.functional.avg_pool2d(q, 2),
    "avg_pool2d_s1": lambda L, q, q2: L.nn.functional.avg_pool2d(q, 2, 1),
    "aap1": lambda L, q, q2: L.nn.functional.adaptive_avg_pool2d(q, 1),
    "aap2": lambda L, q, q2: L.nn.functional.adaptive_avg_pool2d(q, 2),
    "mean": lambda L, q, q2: q.mean((2, 3)),
    "mean_fn": lambda L, q, q2: L.mean(q, 1, keepdim=True),
    "mean_all": lambda L, q, q2: q.mean(),
    "interp_nearest": lambda L, q, q2: L.nn.functional.interpolate(q, scale_factor=2),
    "interp_bilinear": lambda L, q, q2: L.nn.functional.interpolate(
        q, scale_factor=2, mode="bilinear", align_corners=False),
    "pad": lambda L, q, q2: L.nn.functional.pad(q, (1, 1)),
    "cat_same": lambda L, q, q2: L.cat([q, q], 1),
    "cat_diff": lambda L, q, q2: L.cat([q, q2], 1),
    "stack": lambda L, q, q2: L.stack([q, q2], 1),
    "dropout_eval": lambda L, q, q2: L.nn.functional.dropout(q, training=False),
    "unfold": lambda L, q, q2: q.unfold(2, 2, 1),
    "item": lambda L, q, q2: L.tensor(q[0, 1, 2, 0].item()),
    # refused by torch
    "adaptive_max_pool2d": lambda L, q, q2: L.nn.functional.adaptive_max_pool2d(q, 2),
    "maximum": lambda L, q, q2: L.maximum(q, q2),
    "where": lambda L, q, q2: L.where(q.int_repr() > 20, q, q2),
    "mul": lambda L, q, q2: q * q2,
    "add": lambda L, q, q2: q + q2,
    "add_fn": lambda L, q, q2: L.add(q, q2),
    "add_scalar": lambda L, q, q2: q + 1,
    "mul_scalar": lambda L, q, q2: q * 2,
    "sum": lambda L, q, q2: q.sum(),
    "sum_fn": lambda L, q, q2: L.sum(q, 1),
    "exp": lambda L, q, q2: q.exp(),
    "exp_fn": lambda L, q, q2: L.exp(q),
    "matmul": lambda L, q, q2: q @ q2,
    "roll": lambda L, q, q2: q.roll(1, 0),
    "tolist": lambda L, q, q2: q.tolist(),
}


def _describe(value):
    """What must agree: a quantizer and integers, or a plain tensor's values."""
    if isinstance(value, (tuple, list)):
        return [_describe(v) for v in value]
    if value.is_quantized:
        return ("q", str(value.dtype), value.q_scale(), value.q_zero_point(),
                tuple(value.shape), value.int_repr().tolist())
    return ("plain", str(value.dtype), tuple(value.shape), value.tolist())


def _run(lib, fn, qdtype):
    q, q2 = _inputs(lib, qdtype)
    try:
        return "ok", _describe(fn(lib, q, q2))
    except Exception as exc:  # noqa: BLE001 - compared with torch's below
        return "raise", type(exc).__name__, str(exc).split(". ")[0]


@pytest.mark.parametrize("qdtype", ["quint8", "qint8"])
@pytest.mark.parametrize("name", list(CASES))
def test_function_forms_match_torch(name, qdtype):
    fn = CASES[name]
    ours, theirs = _run(ember, fn, qdtype), _run(torch, fn, qdtype)
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "raise":
        assert ours[1:] == theirs[1:]
    else:
        assert ours[1] == theirs[1]


PER_CHANNEL = {
    "relu": lambda L, q: L.relu(q),
    "max_pool2d": lambda L, q: L.nn.functional.max_pool2d(q, 2),
    "flatten": lambda L, q: q.flatten(2),
    "flatten_fn": lambda L, q: L.flatten(q, 2),
    "reshape": lambda L, q: q.reshape(2, 4, 9),
    "clone": lambda L, q: q.clone(),
    "permute": lambda L, q: q.permute(0, 2, 3, 1),
    "transpose_fn": lambda L, q: L.transpose(q, 0, 1),
    "cat": lambda L, q: L.cat([q, q], 1),
    "sum": lambda L, q: q.sum(),
    "avg_pool2d": lambda L, q: L.nn.functional.avg_pool2d(q, 2),
    "unsqueeze0": lambda L, q: q.unsqueeze(0),
    "unsqueeze2": lambda L, q: q.unsqueeze(2),
    "unsqueeze_last": lambda L, q: q.unsqueeze(-1),
    "select0": lambda L, q: q.select(0, 1),
    "narrow2": lambda L, q: q.narrow(2, 0, 2),
    "squeeze0": lambda L, q: q.narrow(0, 0, 1).squeeze(0),
}


@pytest.mark.parametrize("name", list(PER_CHANNEL))
def test_per_channel_as_torch(name):
    """Per-channel tensors: torch keeps the axis through reshapes and clone, refuses the
    per-tensor kernels (relu, pooling, cat) and strided views, with these errors."""
    def run(lib):
        q = lib.quantize_per_channel(lib.tensor(X), lib.tensor([0.01, 0.02, 0.03, 0.04]),
                                     lib.tensor([0, 1, 2, 3]), 1, lib.quint8)
        try:
            out = PER_CHANNEL[name](lib, q)
        except Exception as exc:  # noqa: BLE001 - compared with torch's below
            return "raise", type(exc).__name__, str(exc).split(". ")[0][:80]
        return ("ok", str(out.qscheme()), out.q_per_channel_axis(), tuple(out.shape),
                out.int_repr().tolist(), out.q_per_channel_scales().tolist())

    assert run(ember) == run(torch)


def test_float_and_parameter_paths_unchanged():
    """Parameters reach apply's subclass branch: one class attribute, then as before."""
    w = ember.nn.Parameter(ember.ones(2, 3))
    y = (w * 2).sum()
    y.backward()
    assert w.grad.tolist() == [[2.0] * 3] * 2
    assert ember.relu(ember.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


AVERAGING = ["avg_pool2d", "avg_pool2d_s1", "aap1", "aap2", "interp_bilinear", "mean", "mean_fn"]


@pytest.mark.parametrize("zero_point", [11, 3])
@pytest.mark.parametrize("name", AVERAGING)
def test_averaging_rounds_ties_as_torch_with_odd_zero_points(name, zero_point):
    """torch's kernels add the zero point before rounding half to even: with an odd zero
    point the ties of an average go the other way than rounding the centred value."""
    def run(lib):
        q = lib.quantize_per_tensor(lib.tensor(X), 0.02, zero_point, lib.quint8)
        return _describe(CASES[name](lib, q, q))

    assert run(ember) == run(torch)


def _per_channel(lib):
    scales = lib.tensor([0.01, 0.02, 0.03, 0.04], dtype=lib.float64)
    return lib.quantize_per_channel(lib.tensor(X), scales, lib.tensor([1, 2, 3, 4]), 1,
                                    lib.quint8)


def _describe_per_channel(value):
    if isinstance(value, (tuple, list)):
        value = value[0]
    return (value.q_per_channel_axis(), value.q_per_channel_scales().tolist(),
            value.q_per_channel_zero_points().tolist(), value.int_repr().tolist())


PER_CHANNEL = {
    "flip_fn": lambda L, q: L.flip(q, [1]),
    "select_axis": lambda L, q: L.select(q, 1, 2),
    "select_before": lambda L, q: L.select(q, 0, 1),
    "narrow_axis": lambda L, q: L.narrow(q, 1, -3, 2),
    "narrow_axis_m": lambda L, q: q.narrow(1, 1, 2),
    "narrow_other": lambda L, q: L.narrow(q, 0, 1, 1),
    "index_select_fn": lambda L, q: L.index_select(q, 1, L.tensor([0])),
    "max_fn": lambda L, q: L.max(q),
    "max_dim_fn": lambda L, q: L.max(q, 1),
    "min_m": lambda L, q: q.min(),
    "topk_fn": lambda L, q: L.topk(q, 2),
    "sort_fn": lambda L, q: L.sort(q, 1),
}


@pytest.mark.parametrize("name", list(PER_CHANNEL))
def test_per_channel_function_forms_match_torch(name):
    """Per-channel inputs: torch keeps the axis (and slices its scales along it) or
    raises its own per-op message."""
    results = []
    for lib in (ember, torch):
        try:
            results.append(("ok", _describe_per_channel(PER_CHANNEL[name](lib, _per_channel(lib)))))
        except RuntimeError as exc:
            results.append(("raise", str(exc).split("\n")[0]))
    assert results[0] == results[1]
