"""Memory formats (channels_last, channels_last_3d, contiguous_format, preserve_format)
against torch: strides, is_contiguous, contiguous/to/clone/empty/empty_like, modules,
values and gradients, errors."""

import pytest
import torch

import ember
from tests.oracle import assert_same, check_raises, randn, to_ember, to_torch

FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]


def _strides(t):
    return tuple(s for s, n in zip(t.stride(), t.shape) if n != 1)


def _fmt(lib, name):
    return getattr(lib, name)


@pytest.mark.parametrize("shape, name", [((2, 3, 4, 5), "channels_last"),
                                         ((2, 1, 4, 4), "channels_last"),
                                         ((1, 3, 1, 1), "channels_last"),
                                         ((2, 3, 2, 4, 5), "channels_last_3d")])
def test_conversions_strides_and_flags(shape, name):
    x = randn(*shape)
    results = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        fmt = _fmt(lib, name)
        t = convert(x)
        a = t.to(memory_format=fmt)
        b = t.contiguous(memory_format=fmt)
        c = a.clone()
        d = lib.empty_like(a)
        e = lib.empty(*shape, memory_format=fmt)
        f = a * 2 + 1
        g = a.contiguous()
        h = a.clone(memory_format=lib.contiguous_format)
        tensors = (a, b, c, d, e, f, g, h)
        results.append((
            # NumPy lays out an elementwise result's size-1 dims with other (unused) strides
            [_strides(x_) if x_ is f else x_.stride() for x_ in tensors],
            [x_.is_contiguous() for x_ in tensors],
            [x_.is_contiguous(memory_format=fmt) for x_ in tensors],
            a.to(memory_format=fmt) is a, t.is_contiguous(memory_format=fmt),
            a, g,
        ))
    (es, ec, ef, eid, et, ea, eg), (ts, tc, tf, tid, tt, ta, tg) = results
    assert es == ts
    assert ec == tc and ef == tf and eid == tid and et == tt
    assert_same(ea, ta)
    assert_same(eg, tg)


def test_module_to_and_gradients():
    """Module.to(memory_format=...) converts 4-d parameters only; conv on a channels-last
    input gives the same values and gradients."""
    w, x = randn(4, 3, 3, 3), randn(2, 3, 6, 6)
    found = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.Flatten(),
                                  lib.nn.Linear(64, 2))
        with lib.no_grad():
            model[0].weight.copy_(convert(w))
            model[0].bias.zero_()
            model[2].weight.fill_(0.1)
            model[2].bias.zero_()
        model = model.to(memory_format=lib.channels_last)
        inp = convert(x, requires_grad=True)
        out = model(inp.to(memory_format=lib.channels_last))
        out.pow(2).sum().backward()
        found.append((out, inp.grad, model[0].weight.grad, model[0].weight.stride(),
                      model[2].weight.stride(), isinstance(model[0].weight, lib.nn.Parameter)))
    e, t = found
    assert_same(e[0], t[0].detach(), rtol=1e-5, atol=1e-5)  # conv sums in another order
    assert_same(e[1], t[1], rtol=1e-5, atol=1e-5)
    assert_same(e[2], t[2], rtol=1e-5, atol=1e-5)
    assert e[3:] == t[3:]


def test_repr_and_identity():
    assert repr(ember.channels_last) == "torch.channels_last"
    assert ember.channels_last is not ember.contiguous_format
    assert isinstance(ember.preserve_format, ember.memory_format)
    t = ember.ones(2, 3, 2, 2)
    assert t.contiguous(memory_format=ember.contiguous_format) is t


@pytest.mark.parametrize("case", ["rank_to", "rank_3d", "rank_contiguous"])
def test_errors_match_torch(case):
    def run(lib, x):
        if case == "rank_to":
            return x.to(memory_format=lib.channels_last)
        if case == "rank_3d":
            return x.reshape(1, 2, 3, 4).contiguous(memory_format=lib.channels_last_3d)
        if case == "rank_contiguous":
            return x.contiguous(memory_format=lib.channels_last)
        return x.contiguous(memory_format=lib.preserve_format)

    error, expected = check_raises(run, randn(2, 3, 4))
    assert str(error) == str(expected).splitlines()[0]
