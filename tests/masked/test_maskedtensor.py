"""MaskedTensor itself against torch.masked: construction and its errors, accessors,
repr, conversions and autograd (gradients as MaskedTensors)."""

import warnings

import numpy as np
import pytest
import torch

import ember
from masked._mt_oracle import assert_same_masked, both, masked
from oracle import RNG, randn, to_ember, to_torch

DATA = randn(2, 3)
MASK = np.array([[True, False, True], [False, False, True]])


def test_construction_copies_and_warns():
    data, mask = ember.tensor(DATA), ember.tensor(MASK)
    with pytest.warns(UserWarning, match="prototype stage"):
        mt = ember.masked.masked_tensor(data, mask)
    assert isinstance(mt, ember.Tensor) and ember.masked.is_masked_tensor(mt)
    assert not ember.masked.is_masked_tensor(data)
    data[0, 0] = 100.0
    mask[0, 0] = False
    assert mt.get_data()[0, 0].item() == DATA[0, 0] and bool(mt.get_mask()[0, 0])
    assert mt.is_leaf and not mt.requires_grad and mt.shape == (2, 3) and mt.dim() == 2
    assert mt.dtype == ember.float32 and len(mt) == 2 and mt.numel() == 6
    assert not mt.is_sparse and not mt.is_sparse_coo() and not mt.is_sparse_csr()
    with pytest.warns(UserWarning, match="not recommended"):
        ember.masked.MaskedTensor(ember.ones(2, requires_grad=True), ember.tensor([True, False]))


CONSTRUCTION_ERRORS = [
    ("data not tensor", lambda lib: lib.masked.masked_tensor([1.0, 2.0], lib.tensor([True, True]))),
    ("mask not tensor", lambda lib: lib.masked.masked_tensor(lib.ones(2), [True, True])),
    ("mask dtype", lambda lib: lib.masked.masked_tensor(lib.ones(2), lib.ones(2))),
    ("data dtype", lambda lib: lib.masked.masked_tensor(lib.ones(2, dtype=lib.uint8),
                                                        lib.ones(2, dtype=lib.bool))),
    ("dims", lambda lib: lib.masked.masked_tensor(lib.ones(2, 2), lib.ones(2, dtype=lib.bool))),
    ("size", lambda lib: lib.masked.masked_tensor(lib.ones(2, 2), lib.ones(2, 3, dtype=lib.bool))),
    ("nested", lambda lib: lib.masked.masked_tensor(
        lib.masked.masked_tensor(lib.ones(2), lib.ones(2, dtype=lib.bool)),
        lib.ones(2, dtype=lib.bool))),
]


@pytest.mark.parametrize("fn", [r[1] for r in CONSTRUCTION_ERRORS],
                         ids=[r[0] for r in CONSTRUCTION_ERRORS])
def test_construction_errors_match_torch(fn):
    with pytest.raises(Exception) as t_info:
        fn(torch)
    with pytest.raises(type(t_info.value)) as e_info:
        fn(ember)
    assert str(e_info.value) == str(t_info.value)


def test_accessors_match_torch():
    both(lambda lib, d, m: masked(lib, d, m).get_data(), DATA, MASK)
    both(lambda lib, d, m: masked(lib, d, m).get_mask(), DATA, MASK)
    both(lambda lib, d, m: masked(lib, d, m).to_tensor(-1.5), DATA, MASK)
    both(lambda lib, d, m: masked(lib, d, m).to_tensor(float("nan")), DATA, MASK)
    e = masked(ember, DATA, MASK)
    assert type(e.get_data()) is ember.Tensor and type(e.to_tensor(0)) is ember.Tensor


REPRS = [
    ("2d float", DATA, MASK),
    ("1d float", randn(5) * 100, RNG.uniform(size=5) < 0.5),
    ("3d", randn(2, 2, 3), RNG.uniform(size=(2, 2, 3)) < 0.5),
    ("ints", RNG.integers(-100, 100, size=(2, 4)), RNG.uniform(size=(2, 4)) < 0.5),
    ("bools", RNG.uniform(size=(3,)) < 0.5, np.array([True, False, True])),
    ("0-d specified", np.array(2.5, np.float32), np.array(True)),
    ("0-d masked out", np.array(2.5, np.float32), np.array(False)),
    ("0-d int", np.array(7), np.array(True)),
    ("nan and inf", np.array([np.nan, np.inf, -np.inf, 1e6], np.float32),
     np.array([True, True, True, True])),
]


@pytest.mark.parametrize("data, mask", [r[1:] for r in REPRS], ids=[r[0] for r in REPRS])
def test_repr_matches_torch(data, mask):
    e, t = masked(ember, data, mask), masked(torch, data, mask)
    assert repr(e) == repr(t)
    assert str(e) == str(t)


CONVERSIONS = [
    ("double", lambda mt: mt.double()),
    ("half", lambda mt: mt.half()),
    ("int", lambda mt: mt.int()),
    ("clone", lambda mt: mt.clone()),
    ("detach", lambda mt: mt.detach()),
    ("contiguous", lambda mt: mt.t().contiguous()),
]


@pytest.mark.parametrize("fn", [r[1] for r in CONVERSIONS], ids=[r[0] for r in CONVERSIONS])
def test_conversions_match_torch(fn):
    both(lambda lib, d, m: fn(masked(lib, d, m)), DATA, MASK)


def test_to_with_dtype_and_device_match_torch():
    both(lambda lib, d, m: masked(lib, d, m).to(lib.float64), DATA, MASK)
    both(lambda lib, d, m: masked(lib, d, m).to("cpu"), DATA, MASK)
    both(lambda lib, d, m: lib.ones_like(masked(lib, d, m)), DATA, MASK)
    e = masked(ember, DATA, MASK)
    assert e.clone().get_mask() is not e.get_mask()


def test_item_matches_torch():
    for lib in (ember, torch):
        mt = masked(lib, DATA, MASK)
        assert mt[0, 0].item() == pytest.approx(float(DATA[0, 0]))
        with pytest.raises(ValueError, match="expected a mask tensor"):
            mt[0, 1].item()


def test_python_scalars_and_lists_match_torch():
    for lib in (ember, torch):
        specified = masked(lib, np.array(2.5, np.float32), np.array(True))
        hidden = masked(lib, np.array(2.5, np.float32), np.array(False))
        assert (bool(specified), float(specified), int(specified)) == (True, 2.5, 2)
        for convert in (bool, float, int):
            with pytest.raises(ValueError, match="expected a mask tensor"):
                convert(hidden)
        with pytest.raises(RuntimeError, match="tolist.. is not supported for tensor subclass"):
            specified.tolist()
        with pytest.raises(RuntimeError, match="numpy.. is not supported for tensor subclass"):
            specified.numpy()


# -- autograd -------------------------------------------------------------------------------

def _grads(lib, fn, data, mask, upstream):
    mt = masked(lib, data, mask, requires_grad=True)
    out = fn(mt)
    grad_out = (to_torch if lib is torch else to_ember)(upstream)
    (out * grad_out).sum().backward()  # a MaskedTensor output: masks flow back in both
    return mt.grad


GRAD_ROWS = [
    ("exp", lambda mt: mt.exp()),
    ("mul self", lambda mt: mt * mt),
    ("add plain", lambda mt: (mt + 1.0).sin()),
    ("sum dim", lambda mt: mt.sum(1)),
    ("mean dim", lambda mt: mt.mean(0)),
    ("amax dim", lambda mt: mt.amax(1)),
    ("softmax", lambda mt: mt.softmax(1)),
    ("view", lambda mt: mt.view(3, 2) * 2),
    ("transpose", lambda mt: mt.transpose(0, 1).exp()),
    ("index", lambda mt: mt[1:, 1:] * 3),
    ("select", lambda mt: mt[1] * 2),
    ("expand", lambda mt: mt[:1].expand(2, 3) * 2),
]


@pytest.mark.parametrize("fn", [r[1] for r in GRAD_ROWS], ids=[r[0] for r in GRAD_ROWS])
def test_gradients_are_masked_tensors_matching_torch(fn):
    data = randn(2, 3)
    mask = np.array([[True, False, True], [True, True, True]])
    with torch.no_grad():
        shape = tuple(fn(masked(torch, data, mask)).shape)
    upstream = randn(*shape)
    e = _grads(ember, fn, data, mask, upstream)
    t = _grads(torch, fn, data, mask, upstream)
    assert_same_masked(e, t, "grad")


def test_gradient_masks_where_torchs_backward_fails():
    # torch's MaskedTensor backward raises for these (new_zeros, unequal masks while
    # accumulating, a non-bool split mask); ember carries the masks back the same way
    mask = np.array([[True, False, True], [True, True, True]])
    cases = [
        (lambda mt: mt[:, [2, 0]], [[True, False, True], [True, False, True]]),
        (lambda mt: ember.cat([mt[:, :1], mt], 1), mask.tolist()),
        (lambda mt: mt.split(2, 1)[0], [[True, False, False], [True, True, False]]),
        (lambda mt: ember.where(to_ember(np.array([True, False, True])), mt, 0.0),
         [[True, False, True], [True, False, True]]),
    ]
    for fn, expected in cases:
        mt = masked(ember, DATA, mask, requires_grad=True)
        fn(mt).sum().backward()
        assert mt.grad.get_mask().tolist() == expected


def test_gradient_masks_accumulate_and_reset():
    mt = masked(ember, DATA, np.ones((2, 3), bool), requires_grad=True)
    mt[0].sum().backward()
    assert mt.grad.get_mask().tolist() == [[True] * 3, [False] * 3]
    mt[1, :2].sum().backward()
    assert mt.grad.get_mask().tolist() == [[True] * 3, [True, True, False]]
    mt.grad = None
    mt[1].sum().backward()
    assert mt.grad.get_mask().tolist() == [[False] * 3, [True] * 3]
    # a backward that starts from plain data cannot carry masks: the leaf's own mask
    mt.grad = None
    mt[0].get_data().sum().backward()
    assert mt.grad.get_mask().tolist() == [[True] * 3] * 2


def test_grad_of_a_non_leaf_warns_as_torch():
    mt = masked(ember, DATA, MASK, requires_grad=True)
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert (mt * 2).grad is None


def test_backward_of_a_masked_scalar():
    for lib in (ember, torch):
        mt = masked(lib, DATA, MASK, requires_grad=True)
        (mt * 2).sum().backward()
        assert lib.masked.is_masked_tensor(mt.grad)
        assert mt.grad.to_tensor(0).tolist() == [[2.0, 0.0, 2.0], [0.0, 0.0, 2.0]]
        assert mt.grad.get_mask().tolist() == MASK.tolist()


def test_as_masked_tensor_keeps_history():
    data = ember.tensor(DATA, requires_grad=True)
    mt = ember.masked.as_masked_tensor(data * 2, ember.tensor(MASK))
    assert not mt.is_leaf and mt.requires_grad
    mt.sum().backward()
    assert data.grad.tolist() == np.where(MASK, 2.0, 0.0).tolist()


def test_get_data_is_differentiable():
    mt = masked(ember, DATA, MASK, requires_grad=True)
    (mt.get_data() * 3).sum().backward()
    assert mt.grad.get_data().tolist() == [[3.0] * 3] * 2
    mt.grad = None
    assert mt.grad is None


def test_plain_tensors_do_not_pay_for_the_protocol_before_first_use():
    import subprocess
    import sys

    code = ("import ember, ember.masked\nfrom ember import overrides\n"
            "print(overrides._INSTALLED[0])\n"
            "ember.masked.masked_tensor(ember.ones(1), ember.ones(1).bool())\n"
            "print(overrides._INSTALLED[0])\n")
    with warnings.catch_warnings():
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                             text=True, timeout=120)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_deepcopy_and_pickle_keep_data_mask_and_requires_grad():
    import copy
    import pickle

    mt = masked(ember, DATA, MASK, requires_grad=True)
    for copied in (copy.deepcopy(mt), pickle.loads(pickle.dumps(mt))):
        assert ember.masked.is_masked_tensor(copied) and copied.is_leaf and copied.requires_grad
        assert repr(copied) == repr(mt)
        assert copied.get_mask() is not mt.get_mask()
