"""nn.utils against PyTorch: gradient clipping, parameter/vector conversion, parametrize,
weight_norm / spectral_norm (both generations), DataParallel."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from module_oracle import check_module, copy_state  # noqa: E402
from oracle import as_numpy, assert_same, randn  # noqa: E402

import ember  # noqa: E402

GRADS = [randn(3, 4), randn(5), randn(2, 2, 2)]


def _params_with_grads(lib, grads, scale=1.0):
    params = []
    for g in grads:
        p = lib.nn.Parameter(lib.zeros(*g.shape))
        p.grad = lib.tensor(g * scale)
        params.append(p)
    return params


CLIP_CASES = [(max_norm, norm_type, scale) for max_norm, norm_type, scale in [
    (1.0, 2.0, 1.0), (100.0, 2.0, 1.0), (0.5, 1, 1.0), (0.3, math.inf, 1.0), (2.0, 3.0, 1.0),
    (0.1, 0.5, 1.0), (1.0, 2, 1e-8)]]


@pytest.mark.parametrize("max_norm,norm_type,scale", CLIP_CASES)
def test_clip_grad_norm_matches_torch(max_norm, norm_type, scale):
    t_params = _params_with_grads(torch, GRADS, scale)
    e_params = _params_with_grads(ember, GRADS, scale)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    e_norm = ember.nn.utils.clip_grad_norm_(e_params, max_norm, norm_type)
    assert_same(e_norm, t_norm, 1e-5, 1e-7)
    for ep, tp in zip(e_params, t_params):
        assert_same(ep.grad, tp.grad, 1e-5, 1e-7)


def test_clip_grad_norm_single_tensor_generator_and_no_grads():
    t_p = _params_with_grads(torch, GRADS[:1])[0]
    e_p = _params_with_grads(ember, GRADS[:1])[0]
    assert_same(ember.nn.utils.clip_grad_norm_(e_p, 0.1), torch.nn.utils.clip_grad_norm_(t_p, 0.1))
    e_params = _params_with_grads(ember, GRADS)
    total = ember.nn.utils.clip_grad_norm_((p for p in e_params), 1.0, foreach=True)
    assert total.shape == ()
    empty = ember.nn.utils.clip_grad_norm_([ember.nn.Parameter(ember.ones(2))], 1.0)
    assert float(empty) == 0.0 and empty.dtype == ember.float32


def test_clip_grad_norm_nonfinite():
    grads = [np.array([1.0, np.inf], np.float32)]
    t_params, e_params = _params_with_grads(torch, grads), _params_with_grads(ember, grads)
    with pytest.raises(RuntimeError) as t_info:
        torch.nn.utils.clip_grad_norm_(t_params, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as e_info:
        ember.nn.utils.clip_grad_norm_(e_params, 1.0, error_if_nonfinite=True)
    assert str(e_info.value) == str(t_info.value)
    assert_same(ember.nn.utils.clip_grad_norm_(e_params, 1.0),
                torch.nn.utils.clip_grad_norm_(t_params, 1.0))


@pytest.mark.parametrize("norm_type", [math.inf, -math.inf])
@pytest.mark.parametrize("foreach", [None, False, True])
def test_clip_grad_norm_infinity_norms_of_an_empty_gradient_raise(norm_type, foreach):
    """max/min have no identity: torch's foreach kernel (inf only) and vector_norm refuse."""
    grads = [np.zeros(0, np.float32), np.ones(3, np.float32)]
    t_params, e_params = _params_with_grads(torch, grads), _params_with_grads(ember, grads)
    with pytest.raises(RuntimeError) as t_info:
        torch.nn.utils.clip_grad_norm_(t_params, 1.0, norm_type, foreach=foreach)
    with pytest.raises(RuntimeError) as e_info:
        ember.nn.utils.clip_grad_norm_(e_params, 1.0, norm_type, foreach=foreach)
    assert str(e_info.value) == str(t_info.value)
    assert (e_params[1].grad.cpu().numpy() == 1).all()  # nothing clipped


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_dot_path_layouts(dtype):
    """The 2-norm of float32/64 gradients is one dot per gradient: a transposed
    (non-contiguous) gradient and a 0-d one give torch's norm and clipped values."""
    grads = [randn(300, 70).astype(dtype).T, np.array(3.0, dtype), randn(7).astype(dtype)]
    t_params, e_params = [], []
    for params, lib in ((t_params, torch), (e_params, ember)):
        for g in grads:
            p = lib.nn.Parameter(lib.tensor(g))
            p.grad = lib.tensor(np.ascontiguousarray(g.T)).t() if g.ndim == 2 else lib.tensor(g)
            params.append(p)
    assert not e_params[0].grad.is_contiguous()
    assert_same(ember.nn.utils.clip_grad_norm_(e_params, 0.5),
                torch.nn.utils.clip_grad_norm_(t_params, 0.5))
    for ep, tp in zip(e_params, t_params):
        assert_same(ep.grad, tp.grad)


@pytest.mark.parametrize("clip_value", [0.5, 2])
def test_clip_grad_value_matches_torch(clip_value):
    t_params, e_params = _params_with_grads(torch, GRADS), _params_with_grads(ember, GRADS)
    torch.nn.utils.clip_grad_value_(t_params, clip_value)
    ember.nn.utils.clip_grad_value_(e_params, clip_value)
    for ep, tp in zip(e_params, t_params):
        assert_same(ep.grad, tp.grad)


def test_parameters_to_vector_and_back():
    def make(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Linear(4, 2))

    t_net, e_net = make(torch), make(ember)
    copy_state(t_net, e_net)
    t_vec = torch.nn.utils.parameters_to_vector(t_net.parameters())
    e_vec = ember.nn.utils.parameters_to_vector(e_net.parameters())
    assert_same(e_vec, t_vec)
    upstream = randn(*t_vec.shape)
    t_vec.backward(torch.from_numpy(upstream))
    e_vec.backward(ember.tensor(upstream))
    for (name, tp), ep in zip(t_net.named_parameters(), e_net.parameters()):
        assert_same(ep.grad, tp.grad, what=name)
    new = randn(*t_vec.shape)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), t_net.parameters())
    ember.nn.utils.vector_to_parameters(ember.tensor(new), e_net.parameters())
    for tp, ep in zip(t_net.parameters(), e_net.parameters()):
        assert_same(ep.detach(), tp.detach())
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: numpy.ndarray"):
        ember.nn.utils.vector_to_parameters(new, e_net.parameters())


def _scale_class(lib):
    """A parametrization with a right inverse: weight = 2 * original."""

    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * 2

        def right_inverse(self, x):
            return x / 2

    return Scale


def _parametrized(lib, twice=False):
    scale = _scale_class(lib)
    m = lib.nn.Linear(3, 3)
    lib.nn.utils.parametrize.register_parametrization(m, "weight", scale())
    if twice:
        lib.nn.utils.parametrize.register_parametrization(m, "weight", scale())
    return m


@pytest.mark.parametrize("twice", [False, True])
def test_parametrize_matches_torch(twice):
    e_mod, t_mod, _, _ = check_module(lambda lib: _parametrized(lib, twice), randn(4, 3))
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(e_mod) == repr(t_mod)
    assert type(e_mod).__name__ == type(t_mod).__name__ == "ParametrizedLinear"
    P = ember.nn.utils.parametrize
    assert P.is_parametrized(e_mod) and P.is_parametrized(e_mod, "weight")
    assert not P.is_parametrized(e_mod, "bias")
    assert P.type_before_parametrizations(e_mod) is ember.nn.Linear
    assert_same(e_mod.weight, t_mod.weight)
    original = e_mod.parametrizations.weight.original
    e_mod.weight = ember.ones(3, 3) * 4
    assert e_mod.parametrizations.weight.original is original
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), 4.0)
    with P.cached():
        assert e_mod.weight is e_mod.weight
    assert e_mod.weight is not e_mod.weight
    P.remove_parametrizations(e_mod, "weight")
    assert type(e_mod) is ember.nn.Linear and "parametrizations" not in e_mod._modules
    assert e_mod.weight is original
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), 4.0)


def test_parametrize_errors_match_torch():
    for lib in (torch, ember):
        P = lib.nn.utils.parametrize
        m = lib.nn.Linear(2, 2)
        with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a "
                                             "parametrized element with name 'nope'"):
            P.register_parametrization(m, "nope", lib.nn.Identity())
        with pytest.raises(ValueError, match="does not have a parametrization on weight"):
            P.remove_parametrizations(m, "weight")

        class Shrink(lib.nn.Module):
            def forward(self, x):
                return x[0]

        with pytest.raises(ValueError, match="may not change the shape"):
            P.register_parametrization(m, "weight", Shrink())


NORM_CASES = [
    ("weight_norm", lambda lib: lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(3, 4))),
    ("weight_norm_dim1", lambda lib: lib.nn.utils.parametrizations.weight_norm(
        lib.nn.Linear(3, 4), dim=1)),
    ("weight_norm_dimNone", lambda lib: lib.nn.utils.parametrizations.weight_norm(
        lib.nn.Linear(3, 4), dim=None)),
    ("spectral_norm", lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(3, 4))),
    ("spectral_norm_3iters", lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(5, 4), n_power_iterations=3)),
    ("old_weight_norm", lambda lib: lib.nn.utils.weight_norm(lib.nn.Linear(3, 4))),
    ("old_weight_norm_dim1", lambda lib: lib.nn.utils.weight_norm(lib.nn.Linear(3, 4), dim=1)),
    ("old_spectral_norm", lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(3, 4))),
]


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("name,make", NORM_CASES, ids=[c[0] for c in NORM_CASES])
@pytest.mark.parametrize("train", [True, False])
def test_weight_and_spectral_norm_match_torch(name, make, train):
    """Keys equal torch's; with state (u, v included) copied, outputs, grads and the power
    iteration's buffer updates match."""
    e_mod, t_mod, _, _ = check_module(make, randn(6, 3 if "3iters" not in name else 5),
                                      train=train, rtol=1e-5, atol=1e-5)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    for key, value in t_mod.state_dict().items():
        assert_same(e_mod.state_dict()[key], value, 1e-5, 1e-6, what=key)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_remove_old_style_norms():
    for lib in (torch, ember):
        m = lib.nn.utils.weight_norm(lib.nn.Linear(3, 4))
        weight = m.weight.detach().clone()
        lib.nn.utils.remove_weight_norm(m)
        assert list(m.state_dict()) == ["bias", "weight"]
        np.testing.assert_allclose(m.weight.detach().numpy(), weight.numpy(), rtol=1e-6)
        s = lib.nn.utils.spectral_norm(lib.nn.Linear(3, 4))
        lib.nn.utils.remove_spectral_norm(s)
        assert list(s.state_dict()) == ["bias", "weight"]
        with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
            lib.nn.utils.remove_weight_norm(s)


def test_data_parallel_runs_module_with_prefixed_keys():
    def make(lib):
        return lib.nn.DataParallel(lib.nn.Linear(3, 2))

    e_mod, t_mod, _, _ = check_module(make, randn(4, 3))
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["module.weight",
                                                                     "module.bias"]
    assert repr(e_mod) == repr(t_mod)
    x = ember.randn(2, 3, device=e_mod.module.weight.device)
    out = ember.nn.parallel.data_parallel(e_mod.module, x)
    # with several GPUs the wrapper splits the batch: per-device GEMMs may round apart
    np.testing.assert_allclose(as_numpy(out), as_numpy(e_mod(x)), rtol=1e-6, atol=1e-7)
    from ember.nn.parallel.data_parallel import DataParallel

    assert DataParallel is ember.nn.DataParallel


ORTHOGONAL_CASES = [(shape, orth_map, triv) for shape in [(4, 4), (5, 3), (3, 5)]
                    for orth_map in [None, "matrix_exp", "cayley", "householder"]
                    for triv in [True, False]
                    if triv or orth_map in (None, "householder") and
                    (orth_map == "householder" or shape[0] != shape[1])]


@pytest.mark.parametrize("shape,orth_map,triv", ORTHOGONAL_CASES)
def test_orthogonal_parametrization_matches_torch(shape, orth_map, triv):
    """State copied from torch (base included), original moved off its initial point so
    matrix_exp / Cayley / Householder and their gradients are exercised away from zero."""
    noise = randn(*shape) * 0.3

    def make(lib):
        mod = lib.nn.Linear(shape[1], shape[0])
        lib.nn.utils.parametrizations.orthogonal(mod, orthogonal_map=orth_map,
                                                 use_trivialization=triv)
        with lib.no_grad():
            mod.parametrizations.weight.original.add_(lib.tensor(noise))
        return mod

    e_mod, t_mod, _, _ = check_module(make, randn(6, shape[1]), rtol=1e-4, atol=1e-5)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    householder = orth_map == "householder" or (orth_map is None and shape[0] != shape[1])
    if not householder:  # Householder scales columns by int(diagonal), as PyTorch does
        w = as_numpy(e_mod.weight).astype(np.float64)
        gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)


def test_orthogonal_assignment_and_matrix_exp_gradcheck():
    from ember.nn.utils._orthogonal import _MatrixExp

    a = ember.tensor(randn(4, 4, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(_MatrixExp.apply, (a,))
    import scipy.linalg

    np.testing.assert_allclose(_MatrixExp.apply(a).detach().numpy(),
                               scipy.linalg.expm(a.detach().numpy()), rtol=1e-10)
    mod = ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(3, 3))
    q = np.linalg.qr(randn(3, 3, dtype=np.float64))[0].astype(np.float32)
    mod.weight = ember.tensor(q)
    np.testing.assert_allclose(mod.weight.detach().numpy(), q, atol=1e-5)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices"):
        ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(3, 3), "bias")


def test_parametrized_module_deepcopies_and_refuses_pickle():
    import copy
    import pickle

    mod = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    clone = copy.deepcopy(mod)
    assert type(clone).__name__ == "ParametrizedLinear"
    x = ember.randn(4, 3)
    np.testing.assert_array_equal(clone(x).detach().numpy(), mod(x).detach().numpy())
    assert clone.parametrizations.weight.original0 is not mod.parametrizations.weight.original0
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules is only "
                                           "supported through state_dict"):
        pickle.dumps(mod)


def test_parametrize_buffer_unsafe_and_chain_match_torch():
    def run(lib):
        P = lib.nn.utils.parametrize

        class Double(lib.nn.Module):
            def forward(self, x):
                return x * 2

        class Stack(lib.nn.Module):
            def forward(self, x):
                return lib.cat([x, x], 0) if hasattr(lib, "cat") else x

        m = lib.nn.Linear(2, 2)
        m.register_buffer("scale", lib.ones(3))
        P.register_parametrization(m, "scale", Double())
        P.register_parametrization(m, "scale", Double())
        P.register_parametrization(m, "bias", Stack(), unsafe=True)
        keys = list(m.state_dict())
        values = (m.scale.numpy().tolist(), tuple(m.bias.shape))
        P.remove_parametrizations(m, "scale", leave_parametrized=False)
        after = (m.scale.numpy().tolist(), list(m.state_dict()), repr(m))
        return keys, values, after

    assert run(ember) == run(torch)


def test_transfer_parametrizations_and_params():
    P = ember.nn.utils.parametrize
    source = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    target = ember.nn.Linear(3, 2)
    P.transfer_parametrizations_and_params(source, target)
    assert P.is_parametrized(target, "weight")
    np.testing.assert_allclose(target.weight.detach().numpy(), source.weight.detach().numpy())


def _parametrize_failure(lib, case):
    """Each case ends in an error whose type and text must be PyTorch's."""
    P, nn = lib.nn.utils.parametrize, lib.nn

    class ToDouble(nn.Module):
        def forward(self, x):
            return x.double()

    class NotATensor(nn.Module):
        def forward(self, x):
            return 3

    class BadInverse(nn.Module):
        def forward(self, x):
            return x

        def right_inverse(self, x):
            return x.double()

    class Split(nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, x):
            return x, lib.zeros_like(x)

    m = nn.Linear(2, 2)
    if case == "dtype":
        P.register_parametrization(m, "weight", ToDouble())
    elif case == "not_tensor":
        P.register_parametrization(m, "weight", NotATensor())
    elif case == "inverse_dtype":
        P.register_parametrization(m, "weight", BadInverse())
    elif case == "no_inverse":
        P.register_parametrization(m, "weight", nn.Identity())
        m.weight = lib.ones(2, 2)
    elif case == "second_not_tensor":
        P.register_parametrization(m, "weight", nn.Identity())
        P.register_parametrization(m, "weight", NotATensor())
    elif case == "sequence_unparametrized":
        P.register_parametrization(m, "weight", Split())
        P.remove_parametrizations(m, "weight", leave_parametrized=False)


@pytest.mark.parametrize("case", ["dtype", "not_tensor", "inverse_dtype", "no_inverse",
                                  "second_not_tensor", "sequence_unparametrized"])
def test_parametrize_failures_match_torch(case):
    with pytest.raises(Exception) as theirs:
        _parametrize_failure(torch, case)
    with pytest.raises(type(theirs.value)) as ours:
        _parametrize_failure(ember, case)
    assert str(ours.value).replace("ember", "torch") == str(theirs.value)


def test_parametrize_sequence_originals_match_torch():
    """A right_inverse returning two tensors: original0/original1 keys, values, and the
    parametrized weight left behind by remove."""
    def run(lib):
        class Split(lib.nn.Module):
            def forward(self, a, b):
                return a + b

            def right_inverse(self, x):
                return x * 0.25, x * 0.75

        m = lib.nn.Linear(2, 2, bias=False)
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        lib.nn.utils.parametrize.register_parametrization(m, "weight", Split())
        state = {k: v.detach().numpy().tolist() for k, v in m.state_dict().items()}
        m.weight = lib.full((2, 2), 8.0)
        halves = m.parametrizations.weight.original1.detach().numpy().tolist()
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight")
        return state, halves, m.weight.detach().numpy().tolist(), type(m.weight).__name__

    assert run(ember) == run(torch)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_old_style_norm_hooks_refuse_twice_and_report_versions_like_torch():
    """Second registration texts, the spectral_norm version in _metadata (dropped with
    the hook), a weight_norm on dim=None, and remove_spectral_norm of a missing hook."""
    def run(lib):
        out = []
        for apply in (lib.nn.utils.weight_norm, lib.nn.utils.spectral_norm):
            m = apply(lib.nn.Linear(3, 4))
            with pytest.raises(RuntimeError) as info:
                apply(m)
            out.append(str(info.value))
        out.append(dict(m.state_dict()._metadata))
        lib.nn.utils.remove_spectral_norm(m)
        out.append((dict(m.state_dict()._metadata), type(m.weight).__name__,
                    [type(h).__name__ for h in m._forward_pre_hooks.values()]))
        with pytest.raises(ValueError) as info:
            lib.nn.utils.remove_spectral_norm(m)
        out.append(str(info.value))
        w = lib.nn.utils.weight_norm(lib.nn.Linear(2, 3), dim=None)
        out.append((tuple(w.weight_g.shape), sorted(w.state_dict())))
        return out

    assert run(ember) == run(torch)
