"""ember.nn.attention.sdpa_kernel and the backends.cuda switches against PyTorch's: which
switches each block leaves on, when scaled_dot_product_attention refuses to run (on the
cpu), and the deprecated spellings' warnings."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention as torch_attention

import ember
import ember.nn.attention as ember_attention

BACKENDS = ["MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION",
            "OVERRIDEABLE"]
CASES = [[name] for name in BACKENDS] + [["EFFICIENT_ATTENTION", "MATH"], [],
                                         ["CUDNN_ATTENTION", "FLASH_ATTENTION"]]
SWITCHES = ["flash_sdp_enabled", "math_sdp_enabled", "mem_efficient_sdp_enabled",
            "cudnn_sdp_enabled"]


def _run(lib, attention, names, single):
    backends = [getattr(attention.SDPBackend, name) for name in names]
    arg = backends[0] if single else backends
    q = lib.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype("float32"))
    with attention.sdpa_kernel(arg):
        flags = [getattr(lib.backends.cuda, switch)() for switch in SWITCHES]
        try:
            out = lib.nn.functional.scaled_dot_product_attention(q, q, q).numpy()
        except RuntimeError as exc:
            out = str(exc)
    after = [getattr(lib.backends.cuda, switch)() for switch in SWITCHES]
    return flags, out, after


@pytest.mark.parametrize("names", CASES, ids=["+".join(c) or "none" for c in CASES])
def test_switches_and_availability_on_cpu(names):
    for single in ([True, False] if len(names) == 1 else [False]):
        ours = _run(ember, ember_attention, names, single)
        theirs = _run(torch, torch_attention, names, single)
        assert ours[0] == theirs[0] and ours[2] == theirs[2] == [True] * 4
        if isinstance(theirs[1], str):
            assert ours[1] == theirs[1]
        else:
            np.testing.assert_allclose(ours[1], theirs[1], rtol=1.3e-6, atol=1e-5)


def test_enum_and_nesting():
    for name in BACKENDS + ["ERROR"]:
        ours, theirs = getattr(ember_attention.SDPBackend, name), getattr(
            torch_attention.SDPBackend, name)
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
        assert ours.value == theirs.value and ours.name == theirs.name
    sdp = ember_attention.SDPBackend
    with ember_attention.sdpa_kernel(sdp.MATH):
        with ember_attention.sdpa_kernel(sdp.FLASH_ATTENTION):
            assert not ember.backends.cuda.math_sdp_enabled()
        assert ember.backends.cuda.math_sdp_enabled()
        assert not ember.backends.cuda.flash_sdp_enabled()
    with pytest.raises(ValueError), ember_attention.sdpa_kernel([sdp.MATH]):
        raise ValueError("restored after an error")
    assert ember.backends.cuda.mem_efficient_sdp_enabled()


def test_bad_backend_argument():
    for bad in (3, (ember_attention.SDPBackend.MATH,)):
        torch_bad = bad if bad == 3 else (torch_attention.SDPBackend.MATH,)
        with pytest.raises(AssertionError) as theirs, torch_attention.sdpa_kernel(torch_bad):
            pass
        with pytest.raises(AssertionError) as ours, ember_attention.sdpa_kernel(bad):
            pass
        assert str(ours.value) == str(theirs.value)


def test_deprecated_backends_cuda_sdp_kernel():
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with lib.backends.cuda.sdp_kernel(enable_flash=False, enable_math=False):
                inside = [getattr(lib.backends.cuda, switch)() for switch in SWITCHES]
        return inside, [(w.category, str(w.message)) for w in caught]

    assert run(ember) == run(torch)
    assert ember.backends.cuda.math_sdp_enabled()


def test_stateless_functional_call_is_the_deprecated_spelling():
    model = ember.nn.Linear(2, 2)
    weight = ember.zeros(2, 2)
    with pytest.warns(FutureWarning, match="torch.func.functional_call"):
        out = ember.nn.utils.stateless.functional_call(model, {"weight": weight},
                                                       (ember.ones(1, 2),))
    assert out.tolist() == [model.bias.tolist()]
    assert model.weight is not weight
