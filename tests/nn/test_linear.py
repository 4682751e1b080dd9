"""Linear, Bilinear, LazyLinear, Identity, Flatten, Unflatten and the distance modules
against PyTorch with parameters copied across."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module, copy_state  # noqa: E402
from oracle import check, check_raises, randn  # noqa: E402

import ember  # noqa: E402

MODULE_CASES = [
    ("linear", lambda lib: lib.nn.Linear(3, 5), [randn(4, 3)]),
    ("linear_nobias", lambda lib: lib.nn.Linear(3, 5, bias=False), [randn(4, 3)]),
    ("linear_3d", lambda lib: lib.nn.Linear(3, 2), [randn(2, 4, 3)]),
    ("linear_1d", lambda lib: lib.nn.Linear(3, 2), [randn(3)]),
    ("linear_f64", lambda lib: lib.nn.Linear(3, 2, dtype=lib.float64),
     [randn(4, 3, dtype=np.float64)]),
    ("linear_empty", lambda lib: lib.nn.Linear(3, 2), [randn(0, 3)]),
    ("bilinear", lambda lib: lib.nn.Bilinear(3, 4, 2), [randn(5, 3), randn(5, 4)]),
    ("bilinear_nobias_3d", lambda lib: lib.nn.Bilinear(3, 4, 2, bias=False),
     [randn(2, 5, 3), randn(2, 5, 4)]),
    ("identity", lambda lib: lib.nn.Identity(54, unused="x"), [randn(2, 3)]),
    ("flatten", lambda lib: lib.nn.Flatten(), [randn(2, 3, 4, 5)]),
    ("flatten_0_2", lambda lib: lib.nn.Flatten(0, 2), [randn(2, 3, 4, 5)]),
    ("unflatten", lambda lib: lib.nn.Unflatten(1, (2, 5)), [randn(3, 10, 2)]),
    ("unflatten_neg", lambda lib: lib.nn.Unflatten(-1, (2, -1)), [randn(3, 10)]),
    ("pairwise", lambda lib: lib.nn.PairwiseDistance(), [randn(4, 5), randn(4, 5)]),
    ("pairwise_p1_keep", lambda lib: lib.nn.PairwiseDistance(p=1.0, keepdim=True),
     [randn(4, 5), randn(4, 5)]),
    ("pairwise_inf", lambda lib: lib.nn.PairwiseDistance(p=math.inf), [randn(4, 5), randn(5)]),
    ("pairwise_p3", lambda lib: lib.nn.PairwiseDistance(p=3.0), [randn(4, 5), randn(4, 5)]),
    ("cosine", lambda lib: lib.nn.CosineSimilarity(), [randn(4, 5), randn(4, 5)]),
    ("cosine_dim0", lambda lib: lib.nn.CosineSimilarity(dim=0, eps=1e-6),
     [randn(4, 5), randn(1, 5)]),
    ("mlp", lambda lib: lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.Identity(),
                                          lib.nn.Linear(8, 3)), [randn(7, 6)]),
]


@pytest.mark.parametrize("name,make,inputs", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
@pytest.mark.parametrize("train", [True, False])
def test_module_matches_torch(name, make, inputs, train):
    check_module(make, *inputs, train=train, rtol=1e-5, atol=1e-5)


FUNCTIONAL_CASES = [
    ("linear", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
     [randn(4, 3), randn(2, 3), randn(2)]),
    ("linear_vec_weight", lambda lib, x, w: lib.nn.functional.linear(x, w),
     [randn(4, 3), randn(3)]),
    ("linear_batched", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
     [randn(2, 3, 4), randn(5, 4), randn(5)]),
    ("linear_f64", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
     [randn(4, 3, dtype=np.float64), randn(2, 3, dtype=np.float64), randn(2, dtype=np.float64)]),
    ("bilinear", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
     [randn(3, 2), randn(3, 4), randn(5, 2, 4)]),
    ("normalize", lambda lib, x: lib.nn.functional.normalize(x), [randn(3, 4)]),
    ("normalize_p1", lambda lib, x: lib.nn.functional.normalize(x, p=1, dim=0), [randn(3, 4)]),
    ("normalize_p3", lambda lib, x: lib.nn.functional.normalize(x, p=3, dim=-1), [randn(3, 4)]),
    ("normalize_inf", lambda lib, x: lib.nn.functional.normalize(x, p=math.inf),
     [randn(3, 4)]),
    ("normalize_zeros", lambda lib, x: lib.nn.functional.normalize(x),
     [np.zeros((2, 3), np.float32)]),
    ("cosine_zero", lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b),
     [np.zeros((2, 3), np.float32), randn(2, 3)]),
    ("pairwise_1d", lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b),
     [randn(5), randn(5)]),
]


@pytest.mark.parametrize("name,fn,inputs", FUNCTIONAL_CASES, ids=[c[0] for c in FUNCTIONAL_CASES])
def test_functional_matches_torch(name, fn, inputs):
    check(fn, *inputs, rtol=1e-5, atol=1e-5)


def test_linear_gradcheck_float64():
    x = ember.tensor(randn(3, 4, dtype=np.float64), requires_grad=True)
    w = ember.tensor(randn(2, 4, dtype=np.float64), requires_grad=True)
    b = ember.tensor(randn(2, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(ember.nn.functional.linear, (x, w, b))
    assert ember.autograd.gradgradcheck(ember.nn.functional.linear, (x, w, b))


def test_bilinear_and_distances_gradcheck():
    F = ember.nn.functional
    a = ember.tensor(randn(3, 2, dtype=np.float64), requires_grad=True)
    b = ember.tensor(randn(3, 4, dtype=np.float64), requires_grad=True)
    w = ember.tensor(randn(5, 2, 4, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(F.bilinear, (a, b, w))
    c = ember.tensor(randn(3, 2, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(F.cosine_similarity, (a, c))
    assert ember.autograd.gradcheck(lambda x, y: F.pairwise_distance(x, y, p=3), (a, c))
    assert ember.autograd.gradcheck(lambda x: F.normalize(x, dim=0), (a,))


ERROR_CASES = [
    ("mat_shapes", lambda lib, x, w: lib.nn.functional.linear(x, w), [randn(4, 3), randn(2, 5)],
     r"mat1 and mat2 shapes cannot be multiplied \(4x3 and 5x2\)"),
    ("mat_shapes_3d", lambda lib, x, w: lib.nn.functional.linear(x, w),
     [randn(2, 4, 3), randn(2, 5)], r"mat1 and mat2 shapes cannot be multiplied \(8x3 and 5x2\)"),
    ("module", lambda lib, x: _seeded_linear(lib, 5, 2)(x), [randn(4, 3)],
     r"mat1 and mat2 shapes cannot be multiplied \(4x3 and 5x2\)"),
    ("zero_dim", lambda lib, x, w: lib.nn.functional.linear(x, w), [randn(), randn(2, 3)],
     "both arguments to linear need to be at least 1D, but they are 0D and 2D"),
    ("dtype", lambda lib, x, w: lib.nn.functional.linear(x, w),
     [randn(4, 3, dtype=np.float64), randn(2, 3)],
     "expected m1 and m2 to have the same dtype, but got: double != float"),
    ("bilinear_batch", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
     [randn(4, 3), randn(5, 4), randn(2, 3, 4)],
     "bilinear\\(\\): input batch dimensions do not match at dim 0: got 4 and 5"),
    ("bilinear_in2", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
     [randn(4, 3), randn(4, 5), randn(2, 3, 4)],
     "input2 size does not match weight size: got 5 but expected 4"),
    ("bilinear_in1", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
     [randn(4, 2), randn(4, 4), randn(2, 3, 4)],
     "input1 size does not match weight size: got 2 but expected 3"),
    ("bilinear_bias", lambda lib, a, b, w, c: lib.nn.functional.bilinear(a, b, w, c),
     [randn(4, 3), randn(4, 4), randn(2, 3, 4), randn(3)],
     "bias size does not match weight size: got 3 but expected 2"),
    ("bilinear_ndim", lambda lib, a, b, w: lib.nn.functional.bilinear(a, b, w),
     [randn(2, 4, 3), randn(4, 4), randn(2, 3, 4)],
     "input dimensions do not match: got 3 and 2"),
    ("cosine_broadcast", lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b),
     [randn(2, 3), randn(2, 4)],
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton "
     r"dimension 1"),
    ("pairwise_broadcast", lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b),
     [randn(2, 3), randn(2, 4)], r"The size of tensor a \(3\) must match"),
    ("cosine_dim", lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim=2),
     [randn(2, 3), randn(2, 3)], r"Dimension out of range \(expected to be in range of "
                                 r"\[-2, 1\], but got 2\)"),
    ("normalize_dim", lambda lib, a: lib.nn.functional.normalize(a, dim=-3), [randn(2, 3)],
     r"Dimension out of range"),
    ("dtype_long", lambda lib, x, w: lib.nn.functional.linear(x, w),
     [np.ones((4, 3), np.int64), randn(2, 3)],
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("dtype_with_bias", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
     [randn(2, 4, 3, dtype=np.float64), randn(2, 3), randn(2)],
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    ("unflatten_bad_size", lambda lib, x: lib.nn.Unflatten(1, (3, 3))(x), [randn(2, 10)], None),
]


def _seeded_linear(lib, i, o):
    return lib.nn.Linear(i, o)


@pytest.mark.parametrize("name,fn,inputs,match", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, fn, inputs, match):
    check_raises(fn, *inputs, match=match)


def test_unflatten_argument_errors():
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found "
                                            "element of type float at pos 1"):
            lib.nn.Unflatten(1, (2, 2.0))


def test_default_init_bounds_and_spread():
    ember.manual_seed(3)
    lin = ember.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = lin.weight.detach().numpy()
    b = lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(w.mean()) < 0.01 * bound
    bil = ember.nn.Bilinear(20, 30, 40)
    assert np.abs(bil.weight.detach().numpy()).max() <= 1 / math.sqrt(20)
    assert lin.weight.requires_grad and type(lin.weight) is ember.nn.Parameter


def test_linear_attributes_and_repr_match_torch():
    for args in [(3, 4), (3, 4, False)]:
        t, e = torch.nn.Linear(*args), ember.nn.Linear(*args)
        assert repr(e) == repr(t)
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert repr(ember.nn.Bilinear(2, 3, 4)) == repr(torch.nn.Bilinear(2, 3, 4))
    assert repr(ember.nn.Flatten(0, 2)) == repr(torch.nn.Flatten(0, 2))
    assert repr(ember.nn.Unflatten(1, (2, 5))) == repr(torch.nn.Unflatten(1, (2, 5)))
    assert repr(ember.nn.Identity()) == repr(torch.nn.Identity())
    assert repr(ember.nn.CosineSimilarity()) == repr(torch.nn.CosineSimilarity())
    assert repr(ember.nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())


def test_lazy_linear_becomes_linear():
    e, t = ember.nn.LazyLinear(3), torch.nn.LazyLinear(3)
    assert repr(e) == repr(t)
    assert isinstance(e.weight, ember.nn.UninitializedParameter)
    out = e(ember.randn(2, 7))
    assert out.shape == (2, 3)
    assert type(e) is ember.nn.Linear and type(e.weight) is ember.nn.Parameter
    assert e.in_features == 7 and tuple(e.weight.shape) == (3, 7)
    assert np.abs(e.weight.detach().numpy()).max() <= 1 / math.sqrt(7)
    assert not e._forward_pre_hooks
    t(torch.randn(2, 7))
    assert repr(e) == repr(t)


def test_lazy_linear_loads_state_dict():
    t = torch.nn.Linear(6, 2)
    e = ember.nn.LazyLinear(2)
    copy_state(t, e)
    assert tuple(e.weight.shape) == (2, 6)
    x = randn(3, 6)
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(),
                               t(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_module_paths():
    from ember.nn.modules.distance import CosineSimilarity, PairwiseDistance
    from ember.nn.modules.flatten import Flatten, Unflatten
    from ember.nn.modules.linear import Bilinear, Identity, LazyLinear, Linear

    assert ember.nn.Linear is Linear and ember.nn.Bilinear is Bilinear
    assert ember.nn.LazyLinear is LazyLinear and ember.nn.Identity is Identity
    assert ember.nn.Flatten is Flatten and ember.nn.Unflatten is Unflatten
    assert ember.nn.CosineSimilarity is CosineSimilarity
    assert ember.nn.PairwiseDistance is PairwiseDistance


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, False),
                                   (False, False, True), (True, False, True)])
def test_linear_partial_requires_grad(needs):
    arrays = [randn(4, 3), randn(2, 3), randn(2)]
    upstream = randn(4, 2)
    grads = []
    for lib in (torch, ember):
        tensors = [lib.tensor(a).requires_grad_(n) for a, n in zip(arrays, needs)]
        lib.nn.functional.linear(*tensors).backward(lib.tensor(upstream))
        grads.append([t.grad for t in tensors])
    for t_grad, e_grad in zip(*grads):
        assert (t_grad is None) == (e_grad is None)
        if t_grad is not None:
            np.testing.assert_allclose(e_grad.numpy(), t_grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(4,), (2, 4), (5, 2, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_node_names_as_torch(shape, bias):
    import torch

    names = []
    for lib in (ember, torch):
        weight = lib.randn(3, 4, requires_grad=True)
        b = lib.randn(3, requires_grad=True) if bias else None
        names.append(lib.nn.functional.linear(lib.randn(*shape), weight, b).grad_fn.name())
    assert names[0] == names[1]


def test_lazy_linear_without_bias_and_zero_fan_in_match_torch():
    """LazyLinear(bias=False) materialises only the weight; Linear(0, n) draws nothing
    for the weight and gives the bias U(0, 0), as PyTorch."""
    import warnings

    def run(lib):
        lazy = lib.nn.LazyLinear(2, bias=False)
        lazy(lib.ones(3, 5))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Initializing zero-element tensors is a no-op"
            empty_in = lib.nn.Linear(0, 3)
        return (type(lazy).__name__, lazy.bias, sorted(lazy.state_dict()),
                tuple(lazy.weight.shape), empty_in.bias.detach().numpy().tolist())

    assert run(ember) == run(torch)
