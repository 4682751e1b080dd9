"""Compare MaskedTensors across ember and torch: same class, same mask, same data where
the mask is True (masked-out data is unspecified), same dtype and shape."""

import numpy as np
import torch

import ember
from oracle import as_numpy, assert_same, to_ember, to_torch


def masked(lib, data, mask, requires_grad=False):
    """``lib.masked.masked_tensor`` from NumPy arrays."""
    convert = to_torch if lib is torch else to_ember
    return lib.masked.masked_tensor(convert(data), convert(mask), requires_grad=requires_grad)


def assert_same_masked(e, t, what="output", rtol=None, atol=None):
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), what
        for i, (ei, ti) in enumerate(zip(e, t)):
            assert_same_masked(ei, ti, f"{what}[{i}]", rtol, atol)
        return
    if not isinstance(t, torch.masked.MaskedTensor):
        assert not isinstance(e, ember.masked.MaskedTensor), f"{what}: a MaskedTensor"
        assert_same(e, t, rtol, atol, what)
        return
    assert isinstance(e, ember.masked.MaskedTensor), f"{what}: {type(e).__name__}"
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {t.shape}"
    assert str(e.dtype) == str(t.dtype), f"{what}: dtype {e.dtype} != {t.dtype}"
    e_mask, t_mask = as_numpy(e.get_mask()), as_numpy(t.get_mask())
    assert e_mask.dtype == np.bool_
    fill = False if t.dtype == torch.bool else 0
    np.testing.assert_array_equal(e_mask, t_mask, err_msg=f"{what}: mask")
    assert_same(e.to_tensor(fill), t.to_tensor(fill), rtol, atol, f"{what}: data")


def both(fn, *arrays, **kw):
    """``fn(lib, *arrays)`` for ember and torch, compared as MaskedTensors."""
    e = fn(ember, *arrays)
    t = fn(torch, *arrays)
    assert_same_masked(e, t, **kw)
    return e, t
