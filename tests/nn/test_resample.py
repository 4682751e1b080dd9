"""interpolate (every mode, sizes and scales, align_corners, recompute_scale_factor,
antialias; hypothesis-drawn configurations), Upsample modules, pixel/channel shuffles,
grid_sample and affine_grid against PyTorch: values and every gradient, gradcheck in
float64, error texts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
import oracle
from oracle import check, check_raises, randn

import ember


def _f(lib):
    return lib.nn.functional


# --- interpolate ----------------------------------------------------------------------

INTERP = [
    ("nearest", None, (2, 3, 5), {"size": 9}),
    ("nearest", None, (2, 3, 5), {"scale_factor": 2}),
    ("nearest", None, (2, 2, 5, 4), {"size": (3, 7)}),
    ("nearest", None, (2, 2, 5, 4), {"scale_factor": 1.7}),
    ("nearest", None, (1, 2, 3, 4, 5), {"size": (5, 2, 7)}),
    ("nearest-exact", None, (2, 2, 5, 4), {"size": (3, 7)}),
    ("nearest-exact", None, (2, 3, 5), {"scale_factor": 0.6}),
    ("nearest-exact", None, (1, 2, 3, 4, 5), {"scale_factor": (1.5, 0.5, 2)}),
    ("linear", False, (2, 3, 5), {"size": 8}),
    ("linear", True, (2, 3, 5), {"size": 8}),
    ("linear", False, (2, 3, 7), {"scale_factor": 0.4}),
    ("linear", True, (2, 3, 5), {"size": 1}),
    ("bilinear", False, (2, 2, 5, 4), {"size": (8, 3)}),
    ("bilinear", True, (2, 2, 5, 4), {"size": (8, 3)}),
    ("bilinear", False, (2, 2, 5, 4), {"scale_factor": (1.3, 2.6)}),
    ("bilinear", False, (2, 2, 5, 4), {"scale_factor": 1.3, "recompute_scale_factor": True}),
    ("bicubic", False, (2, 2, 5, 4), {"size": (9, 3)}),
    ("bicubic", True, (2, 2, 5, 4), {"size": (9, 3)}),
    ("bicubic", False, (1, 2, 6, 6), {"scale_factor": 0.5}),
    ("trilinear", False, (1, 2, 3, 4, 5), {"size": (5, 2, 7)}),
    ("trilinear", True, (1, 2, 3, 4, 5), {"scale_factor": 1.5}),
    ("area", None, (2, 3, 7), {"size": 3}),
    ("area", None, (2, 2, 7, 5), {"size": (3, 4)}),
    ("area", None, (2, 2, 6, 5), {"scale_factor": 0.5}),
    ("area", None, (1, 2, 4, 5, 6), {"size": (2, 3, 4)}),
    ("area", None, (2, 2, 3, 4), {"size": (6, 9)}),
    # a scale whose floor leaves a size unchanged, or exactly doubles it: the kernels'
    # shortcuts differ between 1-d/2-d/3-d nearest and the linear family
    ("nearest", None, (1, 2, 5), {"scale_factor": 1.1}),
    ("nearest", None, (1, 2, 1, 5), {"scale_factor": (1, 1.1)}),
    ("nearest", None, (1, 2, 3), {"scale_factor": 2.2}),
    ("nearest", None, (1, 2, 2, 3), {"scale_factor": (1.5, 2.2)}),
    ("nearest", None, (1, 2, 1, 1, 3), {"scale_factor": (1, 1, 2.2)}),
    ("linear", False, (1, 2, 5), {"scale_factor": 1.1}),
    ("bilinear", False, (1, 2, 2, 4), {"scale_factor": (1.25, 0.6)}),
    ("bicubic", False, (1, 2, 2, 4), {"scale_factor": (1.5, 1.1)}),
    ("trilinear", False, (1, 2, 2, 2, 3), {"scale_factor": (1.25, 1.9, 1.2)}),
]


def _torch_grad_consistent(mode, shape, kwargs):
    """False where torch's backward kernel disagrees with its own forward: with a scale
    factor whose output size equals the input size (or doubles it), 1-d/3-d nearest and
    antialiased forwards skip no shortcut / take one that their backwards do not. There
    ember's gradient is the true one of its (torch-equal) forward: compare values only."""
    scales = kwargs.get("scale_factor")
    if scales is None or kwargs.get("recompute_scale_factor"):
        return True
    spatial = shape[2:]
    scales = scales if isinstance(scales, tuple) else (scales,) * len(spatial)
    outs = [int(np.floor(n * f)) for n, f in zip(spatial, scales)]
    if kwargs.get("antialias"):
        return all(o != n for o, n in zip(outs, spatial))
    if mode == "nearest" and len(spatial) != 2:
        return all(o not in (n, 2 * n) or f in (1.0, 2.0)
                   for o, n, f in zip(outs, spatial, scales))
    return True


def _kernels_differ(mode, shape, kwargs):
    """Whether PyTorch's CPU and CUDA kernels give different values: with a scale factor,
    the CPU ones skip each dim whose size does not change (2-d nearest also halves the
    indices of a doubled one; bicubic skips none), the CUDA ones resample every dim by
    its scale unless no size changes (then they copy; 1-d/3-d nearest and antialias
    never do)."""
    scales = kwargs.get("scale_factor")
    if scales is None or kwargs.get("recompute_scale_factor") or mode == "area":
        return False
    spatial = shape[2:]
    scales = scales if isinstance(scales, tuple) else (scales,) * len(spatial)
    outs = [int(np.floor(n * f)) for n, f in zip(spatial, scales)]
    same = [o == n and f != 1.0 for o, n, f in zip(outs, spatial, scales)]
    if kwargs.get("antialias"):
        return any(same)
    every = all(o == n for o, n in zip(outs, spatial))
    if mode.startswith("nearest"):
        if len(spatial) != 2:
            return False
        if every:
            return mode == "nearest-exact" and any(same)
        return mode == "nearest" and any(o in (n, 2 * n) and f not in (1.0, 2.0)
                                         for o, n, f in zip(outs, spatial, scales))
    if mode == "bicubic":
        return every and any(same)
    return not every and any(same)


def _cuda_formula(x, mode, align, kwargs):
    """interpolate as PyTorch's CUDA kernels compute it (float32 index math), separable:
    one (out, in) matrix per spatial dim, for the cases where its CPU kernels differ."""
    spatial = x.shape[2:]
    if "size" in kwargs:
        outs = list(np.broadcast_to(kwargs["size"], (len(spatial),)))
        scales = [o / n for o, n in zip(outs, spatial)]
    else:
        scales = kwargs["scale_factor"]
        scales = scales if isinstance(scales, tuple) else (scales,) * len(spatial)
        outs = [int(np.floor(n * f)) for n, f in zip(spatial, scales)]
        if kwargs.get("recompute_scale_factor"):
            scales = [o / n for o, n in zip(outs, spatial)]
    antialias = kwargs.get("antialias", False)
    if (all(o == n for o, n in zip(outs, spatial)) and not antialias
            and not (mode.startswith("nearest") and len(spatial) != 2)):
        return x.astype(np.float64)
    out = x.astype(np.float64)
    for axis, (n, o, f) in enumerate(zip(spatial, outs, scales)):
        step = np.float32(1.0 / f) if not align else np.float32(
            (n - 1) / (o - 1) if o > 1 else 0)
        i = np.arange(o, dtype=np.float32)
        matrix = np.zeros((o, n))
        if mode.startswith("nearest"):
            pos = (i + np.float32(0.5) if mode == "nearest-exact" else i) * step
            matrix[np.arange(o), np.minimum(np.floor(pos).astype(int), n - 1)] = 1
        elif antialias:
            cubic = mode == "bicubic"
            support = (2.0 if cubic else 1.0) * max(float(step), 1.0)
            stretch = 1.0 / float(step) if step >= 1.0 else 1.0
            for row in range(o):
                center = float(step) * (row + 0.5)
                cols = np.arange(max(int(center - support + 0.5), 0),
                                 min(int(center + support + 0.5), n))
                t = np.abs((cols - center + 0.5) * stretch)
                w = (np.where(t < 1, (1.5 * t - 2.5) * t * t + 1,
                              np.where(t < 2, ((-0.5 * t + 2.5) * t - 4) * t + 2, 0))
                     if cubic else np.maximum(1 - t, 0))
                matrix[row, cols] = w / w.sum()
        else:
            src = step * i if align else np.float32(
                np.float64(step) * (i.astype(np.float64) + 0.5) - 0.5)
            if mode != "bicubic":
                src = np.maximum(src, np.float32(0))
            base = np.floor(src).astype(int)
            t = (src - base).astype(np.float64)
            if mode == "bicubic":
                a = -0.75
                coeffs = [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                          ((a + 2) * t - (a + 3)) * t * t + 1,
                          ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                          ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a]
                for j, c in enumerate(coeffs):
                    np.add.at(matrix, (np.arange(o), np.clip(base - 1 + j, 0, n - 1)), c)
            else:
                base = np.minimum(base, n - 1)
                np.add.at(matrix, (np.arange(o), base), 1 - t)
                np.add.at(matrix, (np.arange(o), np.minimum(base + 1, n - 1)), t)
        out = np.moveaxis(np.tensordot(matrix, np.moveaxis(out, axis + 2, 0), 1), 0, axis + 2)
    return out


def _check_interpolate(mode, align, x, kwargs, grad, **tolerances):
    def interpolate(lib, t):
        return _f(lib).interpolate(t, mode=mode, align_corners=align, **kwargs)

    # torch's CPU antialias kernel repeats the first output row when the output is one
    # column wide (a PyTorch bug: rows 0.375, 0.375 for [0, 1, 2] resized to 2); ember not
    size = kwargs.get("size") or int(np.floor(x.shape[-1] * np.ravel(
        kwargs.get("scale_factor"))[-1]))
    width_one = (kwargs.get("antialias") and np.ravel(size)[-1] == 1
                 and oracle.TORCH_DEVICE == "cpu")
    if width_one or (oracle.DEVICE, oracle.TORCH_DEVICE) == ("cuda", "cpu") and (
            _kernels_differ(mode, x.shape, kwargs)):
        # ember on cuda follows PyTorch's CUDA kernels, which torch on cpu cannot run
        got = interpolate(ember, oracle.to_ember(x))
        assert got.device.type == oracle.DEVICE
        np.testing.assert_allclose(oracle.as_numpy(got), _cuda_formula(x, mode, align, kwargs),
                                   **tolerances)
        return
    check(interpolate, x, grad=grad, **tolerances)


@pytest.mark.parametrize("mode,align,shape,kwargs", INTERP,
                         ids=[f"{m}-{a}-{s}-{k}" for m, a, s, k in INTERP])
def test_interpolate(mode, align, shape, kwargs):
    _check_interpolate(mode, align, randn(*shape), kwargs,
                       _torch_grad_consistent(mode, shape, kwargs), rtol=1e-5, atol=1e-5)


ANTIALIAS = [
    ("bilinear", False, {"size": (3, 2)}), ("bilinear", True, {"size": (3, 2)}),
    ("bilinear", False, {"scale_factor": 0.3}), ("bilinear", False, {"size": (13, 4)}),
    ("bicubic", False, {"size": (3, 2)}), ("bicubic", True, {"size": (4, 5)}),
    ("bicubic", False, {"size": (12, 14)}),
]


ANTIALIAS += [("bilinear", False, {"scale_factor": (1.1, 0.5)}),
              ("bicubic", False, {"scale_factor": (0.5, 1.1)})]


@pytest.mark.parametrize("mode,align,kwargs", ANTIALIAS, ids=[str(a) for a in ANTIALIAS])
def test_interpolate_antialias(mode, align, kwargs):
    kwargs = dict(kwargs, antialias=True)
    consistent = _torch_grad_consistent(mode, (2, 2, 9, 7), kwargs)
    _check_interpolate(mode, align, randn(2, 2, 9, 7), kwargs, consistent, rtol=1e-5,
                       atol=1e-5)


_SPATIAL = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@st.composite
def _interp_config(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic",
                                 "trilinear", "area"]))
    nd = _SPATIAL.get(mode) or draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    align = draw(st.booleans()) if mode in _SPATIAL else None
    if draw(st.booleans()):
        kwargs = {"size": tuple(draw(st.integers(1, 9)) for _ in range(nd))}
    else:
        scales = [draw(st.sampled_from([0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]))
                  for _ in range(nd)]
        scales = [max(s, 1.0 / n + 1e-3) for s, n in zip(scales, shape)]  # output >= 1
        kwargs = {"scale_factor": tuple(scales)}
        if mode != "area":
            kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, True]))
    if mode in ("bilinear", "bicubic"):
        kwargs["antialias"] = draw(st.booleans())
    return mode, align, (2, 2) + shape, kwargs


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_interp_config())
def test_interpolate_hypothesis(config):
    mode, align, shape, kwargs = config
    _check_interpolate(mode, align, randn(*shape), kwargs,
                       _torch_grad_consistent(mode, shape, kwargs), rtol=1e-5, atol=1e-5)


GRADCHECK_INTERP = [
    ("linear", False, (1, 2, 4), {"size": 7}), ("bilinear", True, (1, 1, 3, 4), {"size": (5, 2)}),
    ("bicubic", False, (1, 1, 4, 3), {"size": (3, 5)}),
    ("trilinear", False, (1, 1, 2, 3, 2), {"size": (3, 2, 4)}),
    ("area", None, (1, 2, 5, 4), {"size": (2, 3)}), ("nearest", None, (1, 2, 3), {"size": 5}),
]


@pytest.mark.parametrize("mode,align,shape,kwargs", GRADCHECK_INTERP,
                         ids=[g[0] for g in GRADCHECK_INTERP])
def test_interpolate_gradcheck(mode, align, shape, kwargs):
    x = ember.tensor(randn(*shape, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda t: ember.nn.functional.interpolate(t, mode=mode, align_corners=align, **kwargs),
        [x])


TAP_PATH = [("linear", False, (1, 2, 150), {"size": 301}),
            ("linear", True, (1, 2, 131), {"size": 60}),
            ("bicubic", False, (1, 1, 3, 140), {"size": (5, 285)}),
    ("bilinear", False, (1, 2, 3, 300), {"size": (4, 601)}),
            ("bilinear", True, (2, 2, 4, 5), {"size": (7, 3)}),
            ("bicubic", False, (2, 2, 4, 5), {"scale_factor": 2.5})]


@pytest.mark.parametrize("mode,align,shape,kwargs", TAP_PATH, ids=[str(t) for t in TAP_PATH])
def test_interpolate_gather_path(mode, align, shape, kwargs, monkeypatch):
    """With the GEMM limit lowered every dim takes the gather/scatter path instead of the
    dense GEMM; it must agree with torch too."""
    from ember._ops import _resample_kernels

    monkeypatch.setattr(_resample_kernels, "_DENSE_LIMIT", 0)
    # float32 bicubic gradients over long rows: torch and ember are both ~3e-5 away from
    # the float64 gradient (which they share to 1e-15), so compare at 1e-4
    check(lambda L, x: _f(L).interpolate(x, mode=mode, align_corners=align, **kwargs),
          randn(*shape), rtol=1e-5, atol=1e-5, grad_atol=1e-4)
    if shape[-1] < 100:
        x = ember.tensor(randn(*shape, dtype=np.float64), requires_grad=True)
        assert ember.autograd.gradgradcheck(
            lambda t: _f(ember).interpolate(t, mode=mode, align_corners=align, **kwargs), [x])


def test_interpolate_integer_and_half():
    x = np.random.default_rng(0).integers(0, 255, (1, 2, 3, 4)).astype(np.uint8)
    check(lambda L, t: _f(L).interpolate(t, size=(5, 7)), x, grad=False)
    check(lambda L, t: _f(L).interpolate(t, scale_factor=2, mode="bilinear"),
          randn(1, 2, 3, 4, dtype=np.float16), rtol=2e-3, atol=2e-3)


def test_interpolate_double_and_legacy():
    check(lambda L, x: _f(L).interpolate(x, scale_factor=1.5, mode="bicubic"),
          randn(1, 2, 4, 5, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda L, x: _f(L).upsample(x, scale_factor=2, mode="bilinear"), randn(1, 2, 3, 3))
        check(lambda L, x: _f(L).upsample_nearest(x, size=(5, 4)), randn(1, 2, 3, 3))
        check(lambda L, x: _f(L).upsample_bilinear(x, scale_factor=2), randn(1, 2, 3, 3))


UPSAMPLE_MODULES = [
    ("Upsample", {"scale_factor": 2}, (1, 2, 3, 3)),
    ("Upsample", {"size": (5, 4), "mode": "bilinear"}, (1, 2, 3, 3)),
    ("Upsample", {"scale_factor": (1.5, 2.0), "mode": "bicubic", "align_corners": True},
     (1, 2, 3, 3)),
    ("Upsample", {"size": 7, "mode": "linear"}, (2, 2, 3)),
    ("UpsamplingNearest2d", {"scale_factor": 3}, (1, 2, 2, 3)),
    ("UpsamplingBilinear2d", {"size": (4, 6)}, (1, 2, 2, 3)),
]


@pytest.mark.parametrize("name,kwargs,shape", UPSAMPLE_MODULES,
                         ids=[f"{u[0]}-{u[1]}" for u in UPSAMPLE_MODULES])
def test_upsample_modules(name, kwargs, shape):
    e_mod, t_mod = getattr(ember.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(e_mod) == repr(t_mod)
    check(lambda L, x: (e_mod if L is ember else t_mod)(x), randn(*shape), rtol=1e-5)


INTERP_ERRORS = [
    ("bad-mode", (1, 1, 2, 2), {"scale_factor": 2, "mode": "bad"},
     r"Input Error: Only 3D, 4D and 5D input Tensors supported \(got 4D\) for the modes: "
     r"nearest \| linear \| bilinear \| bicubic \| trilinear \| lanczos \| area \| "
     r"nearest-exact \(got bad\)"),
    ("align-nearest", (1, 1, 2, 2), {"size": 3, "align_corners": True},
     "align_corners option can only be set with the interpolating modes"),
    ("both", (1, 1, 2, 2), {"size": 3, "scale_factor": 2},
     "only one of size or scale_factor should be defined"),
    ("neither", (1, 1, 2, 2), {}, "either size or scale_factor should be defined"),
    ("size-len", (1, 1, 2, 2), {"size": (3, 3, 3)},
     "Input and output must have the same number of spatial dimensions"),
    ("linear-4d", (1, 1, 2, 2), {"size": 3, "mode": "linear"},
     "Got 4D input, but linear mode needs 3D input"),
    ("zero-size", (1, 1, 2, 2), {"size": (0, 3)},
     r"Input and output sizes should be greater than 0, but got input \(H: 2, W: 2\) output "
     r"\(H: 0, W: 3\)"),
    ("antialias-nearest", (1, 1, 2, 2), {"size": 3, "antialias": True},
     "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes"),
    ("recompute-with-size", (1, 1, 2, 2), {"size": 3, "recompute_scale_factor": True},
     "recompute_scale_factor is not meaningful with an explicit size."),
]


@pytest.mark.parametrize("shape,kwargs,match", [e[1:] for e in INTERP_ERRORS],
                         ids=[e[0] for e in INTERP_ERRORS])
def test_interpolate_errors(shape, kwargs, match):
    check_raises(lambda L, x: _f(L).interpolate(x, **kwargs), randn(*shape), match=match)


NONCONTIGUOUS = [
    ("bilinear", lambda L, x: _f(L).interpolate(x.permute(3, 2, 1, 0), (7, 3), mode="bilinear")),
    ("bicubic", lambda L, x: _f(L).interpolate(x.permute(3, 2, 1, 0), (7, 3), mode="bicubic",
                                              align_corners=True)),
    ("area", lambda L, x: _f(L).interpolate(x.permute(3, 2, 1, 0), scale_factor=0.5,
                                           mode="area")),
    ("nearest", lambda L, x: _f(L).interpolate(x.permute(3, 2, 1, 0), scale_factor=1.5)),
    ("reflect", lambda L, x: _f(L).pad(x.permute(3, 2, 1, 0), (1, 2, 2, 1), mode="reflect")),
    ("grid", lambda L, x: _f(L).grid_sample(x.permute(3, 2, 1, 0),
                                            L.tensor(_grid(2, 4, 3, 2)), align_corners=False)),
    ("pixel_shuffle", lambda L, x: _f(L).pixel_shuffle(x.permute(3, 2, 1, 0), 2)),
]


@pytest.mark.parametrize("fn", [c[1] for c in NONCONTIGUOUS], ids=[c[0] for c in NONCONTIGUOUS])
def test_noncontiguous_input(fn):
    check(fn, randn(4, 5, 4, 2), rtol=1e-5, atol=1e-5)


# --- shuffles -------------------------------------------------------------------------

SHUFFLES = [
    ("pixel_shuffle", lambda L, x: _f(L).pixel_shuffle(x, 2), (2, 8, 3, 4)),
    ("pixel_shuffle-batchless", lambda L, x: _f(L).pixel_shuffle(x, 3), (9, 2, 2)),
    ("pixel_shuffle-5d", lambda L, x: _f(L).pixel_shuffle(x, 2), (2, 3, 4, 2, 3)),
    ("pixel_unshuffle", lambda L, x: _f(L).pixel_unshuffle(x, 2), (2, 2, 4, 6)),
    ("pixel_unshuffle-3", lambda L, x: _f(L).pixel_unshuffle(x, 3), (1, 6, 6)),
    ("channel_shuffle", lambda L, x: _f(L).channel_shuffle(x, 3), (2, 6, 4, 3)),
    ("channel_shuffle-3d", lambda L, x: _f(L).channel_shuffle(x, 2), (2, 4, 5)),
    ("PixelShuffle", lambda L, x: L.nn.PixelShuffle(2)(x), (2, 4, 3, 3)),
    ("PixelUnshuffle", lambda L, x: L.nn.PixelUnshuffle(2)(x), (2, 1, 4, 4)),
    ("ChannelShuffle", lambda L, x: L.nn.ChannelShuffle(2)(x), (2, 4, 3, 3)),
]


@pytest.mark.parametrize("fn,shape", [s[1:] for s in SHUFFLES], ids=[s[0] for s in SHUFFLES])
def test_shuffles(fn, shape):
    check(fn, randn(*shape))


def test_native_channel_shuffle():
    # torch defines no derivative for native_channel_shuffle: compare values only
    check(lambda L, x: _f(L).native_channel_shuffle(x, 2), randn(2, 4, 3, 3), grad=False)


def test_shuffle_reprs():
    for name, arg in (("PixelShuffle", 3), ("PixelUnshuffle", 2), ("ChannelShuffle", 4)):
        assert repr(getattr(ember.nn, name)(arg)) == repr(getattr(torch.nn, name)(arg))


SHUFFLE_ERRORS = [
    ("ps-channels", lambda L, x: _f(L).pixel_shuffle(x, 2), (1, 3, 2, 2),
     r"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
     r"upscale_factor, but input.size\(-3\)=3 is not divisible by 4"),
    ("ps-dims", lambda L, x: _f(L).pixel_shuffle(x, 2), (3, 2),
     "pixel_shuffle expects input to have at least 3 dimensions"),
    ("pu-height", lambda L, x: _f(L).pixel_unshuffle(x, 2), (1, 3, 3, 2),
     "pixel_unshuffle expects height to be divisible by downscale_factor"),
    ("pu-width", lambda L, x: _f(L).pixel_unshuffle(x, 2), (1, 3, 4, 3),
     "pixel_unshuffle expects width to be divisible by downscale_factor"),
    ("cs-groups", lambda L, x: _f(L).channel_shuffle(x, 2), (1, 3, 2, 2),
     "Number of channels must be divisible by groups. Got 3 channels and 2 groups."),
    ("cs-dims", lambda L, x: _f(L).channel_shuffle(x, 2), (2, 4),
     r"channel_shuffle expects input with > 2 dims, but got input with sizes \[2, 4\]"),
]


@pytest.mark.parametrize("fn,shape,match", [s[1:] for s in SHUFFLE_ERRORS],
                         ids=[s[0] for s in SHUFFLE_ERRORS])
def test_shuffle_errors(fn, shape, match):
    check_raises(fn, randn(*shape), match=match)


# --- grid_sample / affine_grid ---------------------------------------------------------

def _grid(*shape, spread=1.2):
    return np.random.default_rng(7).uniform(-spread, spread, shape).astype(np.float32)


GRID = [(mode, pad, align) for mode in ("bilinear", "bicubic")
        for pad in ("zeros", "border", "reflection") for align in (False, True)]


@pytest.mark.parametrize("mode,padding_mode,align", GRID, ids=[str(g) for g in GRID])
def test_grid_sample_2d(mode, padding_mode, align):
    check(lambda L, x, g: _f(L).grid_sample(x, g, mode, padding_mode, align),
          randn(2, 3, 4, 5), _grid(2, 3, 6, 2), rtol=1e-5, atol=1e-5, grad_atol=1e-4)


@st.composite
def _grid_config(draw):
    nd = draw(st.sampled_from([2, 2, 3]))
    mode = draw(st.sampled_from(["bilinear", "bicubic"] if nd == 2 else ["bilinear"]))
    spatial = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    out = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    padding = draw(st.sampled_from(["zeros", "border", "reflection"]))
    align = draw(st.booleans())
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 1000))
    return mode, padding, align, (batch, channels) + spatial, (batch,) + out + (nd,), seed


@settings(max_examples=30, deadline=None, derandomize=True)
@given(_grid_config())
def test_grid_sample_hypothesis(config):
    mode, padding, align, shape, grid_shape, seed = config
    grid = np.random.default_rng(seed).uniform(-1.3, 1.3, grid_shape).astype(np.float32)
    check(lambda L, x, g: _f(L).grid_sample(x, g, mode, padding, align), randn(*shape), grid,
          rtol=1e-5, atol=1e-5, grad_atol=1e-4)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample_3d(padding_mode, align):
    check(lambda L, x, g: _f(L).grid_sample(x, g, "bilinear", padding_mode, align),
          randn(2, 2, 3, 4, 5), _grid(2, 2, 3, 4, 3), rtol=1e-5, atol=1e-5, grad_atol=1e-4)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 4, 5)])
def test_grid_sample_nearest(padding_mode, shape):
    grid = _grid(shape[0], 3, 4, len(shape) - 2) if len(shape) == 4 else \
        _grid(shape[0], 2, 3, 4, 3)
    # nearest has no gradient for the grid (torch returns zeros): compare the input's only
    check(lambda L, x, g: _f(L).grid_sample(x, g.detach(), "nearest", padding_mode, False),
          randn(*shape), grid)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradcheck(mode, padding_mode):
    x = ember.tensor(randn(1, 2, 3, 4, dtype=np.float64), requires_grad=True)
    g = ember.tensor(_grid(1, 2, 3, 2, spread=0.9).astype(np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, b: ember.nn.functional.grid_sample(a, b, mode, padding_mode, False), [x, g])


@pytest.mark.parametrize("size,align", [((2, 3, 4, 5), False), ((2, 3, 4, 5), True),
                                        ((2, 1, 3, 4, 2), False), ((2, 1, 3, 4, 2), True),
                                        ((2, 1, 1, 4), False)])
def test_affine_grid(size, align):
    theta = randn(2, 2, 3) if len(size) == 4 else randn(2, 3, 4)
    check(lambda L, t: _f(L).affine_grid(t, size, align_corners=align), theta)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_exact_border_coordinates(padding_mode):
    """Grid points exactly on the borders (align_corners=True maps -1 and 1 onto the edge
    pixels): PyTorch's coordinate clipping gives the grid zero gradient there. The other
    values land between pixels, away from the kinks of the bilinear weights."""
    values = np.array([-1.0, 1.0, -0.25, 0.25, 0.75, -1.5, 1.5], np.float32)
    grid = np.random.default_rng(3).choice(values, size=(2, 3, 4, 2))
    check(lambda L, x, g: _f(L).grid_sample(x, g, "bilinear", padding_mode, True),
          randn(2, 3, 4, 5), grid, rtol=1e-5, atol=1e-5, grad_atol=1e-4)


def test_affine_grid_then_grid_sample_gradcheck():
    theta = ember.tensor(randn(1, 2, 3, dtype=np.float64) * 0.5, requires_grad=True)
    x = ember.tensor(randn(1, 1, 3, 3, dtype=np.float64), requires_grad=True)

    def warp(t, img):
        grid = ember.nn.functional.affine_grid(t, (1, 1, 4, 3), align_corners=False)
        return ember.nn.functional.grid_sample(img, grid, align_corners=False)

    assert ember.autograd.gradcheck(warp, [theta, x])


GRID_ERRORS = [
    ("bad-mode", lambda L, x, g: _f(L).grid_sample(x, g, mode="foo", align_corners=False),
     (1, 1, 2, 2), (1, 3, 3, 2), "expected mode to be 'bilinear', 'nearest' or 'bicubic'"),
    ("bad-padding", lambda L, x, g: _f(L).grid_sample(x, g, padding_mode="x", align_corners=False),
     (1, 1, 2, 2), (1, 3, 3, 2), "expected padding_mode to be 'zeros', 'border', or 'reflection'"),
    ("grid-last", lambda L, x, g: _f(L).grid_sample(x, g, align_corners=False),
     (1, 1, 2, 2), (1, 3, 3, 3), "expected grid to have size 2 in last dimension"),
    ("batch", lambda L, x, g: _f(L).grid_sample(x, g, align_corners=False),
     (1, 1, 2, 2), (2, 3, 3, 2), "expected grid and input to have same batch size"),
    ("bicubic-3d", lambda L, x, g: _f(L).grid_sample(x, g, "bicubic", align_corners=False),
     (1, 1, 2, 2, 2), (1, 3, 3, 3, 3), "bicubic interpolation only supports 4D input"),
    ("theta-shape", lambda L, x, t: _f(L).affine_grid(t, (1, 1, 2, 2), align_corners=False),
     (1,), (1, 3, 3), "Expected a batch of 2D affine matrices of shape Nx2x3"),
]


@pytest.mark.parametrize("fn,shape_a,shape_b,match", [e[1:] for e in GRID_ERRORS],
                         ids=[e[0] for e in GRID_ERRORS])
def test_grid_errors(fn, shape_a, shape_b, match):
    check_raises(fn, randn(*shape_a), randn(*shape_b), match=match)


@pytest.mark.parametrize("name, args, shape", [
    ("pixel_shuffle", (2,), (2, 8, 3, 5)), ("pixel_shuffle", (3,), (9, 2, 4)),
    ("pixel_unshuffle", (2,), (2, 3, 4, 6)), ("pixel_unshuffle", (2,), (1, 2, 3, 4, 2)),
    ("channel_shuffle", (3,), (2, 6, 3)), ("channel_shuffle", (2,), (1, 4, 2, 3)),
])
def test_shuffles_are_one_node_with_double_backward(name, args, shape):
    """pixel_shuffle/unshuffle and channel_shuffle are single nodes whose backward is the
    inverse shuffle: values, gradients and second-order gradients as PyTorch's."""
    x = np.random.default_rng(0).standard_normal(shape)
    fn = getattr(ember.nn.functional, name)
    check(lambda lib, t: getattr(lib.nn.functional, name)(t, *args), x.astype(np.float32))
    assert ember.autograd.gradgradcheck(lambda t: fn(t, *args),
                                        (ember.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.nn.functional.interpolate(x, scale_factor=2),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(7, 9), mode="bilinear"),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(6, 6), mode="bicubic"),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(2, 3), mode="area"),
    lambda lib, x: lib.nn.functional.interpolate(x, size=(2, 3), mode="bilinear", antialias=True),
    lambda lib, x: lib.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"),
    lambda lib, x: lib.nn.functional.pad(x, (1, 2, 1, 0), mode="replicate"),
    lambda lib, x: lib.nn.functional.pad(x, (1, 1, 1, 1), mode="circular"),
    lambda lib, x: lib.nn.functional.pad(x, (1, 1, 1, 1)),
], ids=["nearest", "bilinear", "bicubic", "area", "antialias", "reflect", "replicate",
        "circular", "constant"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_resampling_result_layout_like_torch(fn, channels_last):
    """Contiguous for a contiguous input (a bilinear result was transposed in memory and
    refused .view), channels-last for a channels-last one (circular padding: contiguous)."""
    strides = []
    for lib in (ember, torch):
        x = lib.arange(2 * 3 * 4 * 5, dtype=lib.float32).reshape(2, 3, 4, 5)
        if channels_last:
            x = x.to(memory_format=lib.channels_last)
        strides.append(fn(lib, x).stride())
    assert strides[0] == strides[1]


@pytest.mark.parametrize("grad", [False, True])
def test_grid_sample_result_is_contiguous_like_torch(grad):
    strides = []
    for lib in (ember, torch):
        x = lib.arange(120, dtype=lib.float32).reshape(2, 3, 4, 5).sin().requires_grad_(grad)
        grid = lib.zeros(2, 3, 3, 2)
        strides.append(lib.nn.functional.grid_sample(x, grid, align_corners=False).stride())
    assert strides[0] == strides[1]


def test_upsample_stored_factor_and_old_pickles_match_torch():
    """Factors are kept as floats (tuples of floats), 0 counts as none; a module pickled
    before recompute_scale_factor existed loads with it True."""
    import pickle

    def run(lib):
        shown = [repr(lib.nn.Upsample(scale_factor=f)) for f in (2, (1, 3), 0)]
        shown.append(lib.nn.Upsample(size=3).scale_factor)
        old = lib.nn.UpsamplingBilinear2d(scale_factor=2)
        del old.recompute_scale_factor
        restored = pickle.loads(pickle.dumps(old))
        return shown, restored.recompute_scale_factor, restored.name, restored.align_corners

    assert run(ember) == run(torch)
