"""Weight-only quantized Embedding / EmbeddingBag (quantize_dynamic with quint8) against
PyTorch's: the same quint8 rows with float scales and zero points, and lookups through
fbgemm's fused multiply-add, which ember emulates exactly (measured bit for bit; compared
with assert_close's float32 defaults)."""

import io

import numpy as np
import pytest
import torch
from oracle import host_errors_alike

import ember
import ember.ao.quantization as eq

pytestmark = [pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions"),
              pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated"),
              pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")]
RNG = np.random.default_rng(5)


def _close(e, t):
    torch.testing.assert_close(torch.from_numpy(e.detach().numpy()), t.detach())


def _pair(kind, rows=30, dim=8, **kwargs):
    """The same float embedding in both libraries, its rows of very different ranges
    (each row gets its own scale and zero point)."""
    t = getattr(torch.nn, kind)(rows, dim, **kwargs)
    with torch.no_grad():
        t.weight.mul_(torch.tensor(RNG.uniform(0.05, 20.0, (rows, 1)), dtype=torch.float32))
    e = getattr(ember.nn, kind)(rows, dim, **kwargs)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t, e


def _quantized(kind, **kwargs):
    t, e = _pair(kind, **kwargs)
    tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(t), dtype=torch.quint8)
    eqm = eq.quantize_dynamic(ember.nn.Sequential(e), dtype=ember.quint8)
    return tq, eqm


@pytest.mark.parametrize("kind", ["Embedding", "EmbeddingBag"])
def test_quint8_default_spec_quantizes_rows_like_torch(kind):
    tq, eqm = _quantized(kind)
    assert repr(eqm) == repr(tq)
    tw, ew = tq[0].weight(), eqm[0].weight()
    assert repr(ew.qscheme()) == repr(tw.qscheme()) == "torch.per_channel_affine_float_qparams"
    np.testing.assert_array_equal(ew.int_repr().numpy(), tw.int_repr().numpy())
    np.testing.assert_array_equal(ew.q_per_channel_scales().numpy(),
                                  tw.q_per_channel_scales().numpy())
    np.testing.assert_array_equal(ew.q_per_channel_zero_points().numpy(),
                                  tw.q_per_channel_zero_points().numpy())
    # the quint8 default leaves other kinds in float, as PyTorch's
    mixed = eq.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(2, 2)), dtype=ember.quint8)
    assert type(mixed[0]) is ember.nn.Linear


@pytest.mark.parametrize("shape", [(12,), (4, 5)])
def test_embedding_lookup_matches_torch(shape):
    tq, eqm = _quantized("Embedding")
    for dtype in (np.int64, np.int32):
        idx = RNG.integers(0, 30, shape).astype(dtype)
        _close(eqm(ember.tensor(idx)), tq(torch.tensor(idx)))


BAGS = {
    "offsets": dict(offsets=[0, 2, 2, 7], weights=False),
    "weighted": dict(offsets=[0, 4, 5, 5], weights=True),
    "last_offset": dict(offsets=[0, 3, 9, 12], weights=True, include_last_offset=True),
    "mean_mode_sums": dict(offsets=[0, 6], weights=False, mode="mean"),
    "two_dimensional": dict(offsets=None, weights=True),
}


@pytest.mark.parametrize("case", list(BAGS))
def test_embedding_bag_matches_torch(case):
    """Sums in order, per-sample weights scaling scale and bias first; PyTorch's quantized
    bag sums whatever its recorded mode."""
    spec = dict(BAGS[case])
    offsets, weighted = spec.pop("offsets"), spec.pop("weights")
    tq, eqm = _quantized("EmbeddingBag", **spec)
    idx = RNG.integers(0, 30, (12,) if offsets is not None else (3, 4))
    psw = RNG.uniform(-2, 2, idx.shape).astype(np.float32) if weighted else None
    t_args = [torch.tensor(idx), None if offsets is None else torch.tensor(offsets),
              None if psw is None else torch.tensor(psw)]
    e_args = [ember.tensor(idx), None if offsets is None else ember.tensor(offsets),
              None if psw is None else ember.tensor(psw)]
    _close(eqm[0](*e_args), tq[0](*t_args))


def _module(lib, kind):
    float_module = getattr(lib.nn, kind)(10, 3)
    return lib.ao.quantization.quantize_dynamic(lib.nn.Sequential(float_module),
                                                dtype=lib.quint8)[0]


def _with_qconfig(lib, module, qconfig_name):
    module.qconfig = getattr(lib.ao.quantization, qconfig_name)
    return module


ERRORS = {
    "bag_2d_with_offsets": lambda lib: _module(lib, "EmbeddingBag")(
        lib.tensor([[1, 2]]), lib.tensor([0])),
    "bag_1d_without_offsets": lambda lib: _module(lib, "EmbeddingBag")(lib.tensor([1, 2])),
    "index_out_of_range": lambda lib: _module(lib, "Embedding")(lib.tensor([3, 10])),
    "negative_index": lambda lib: _module(lib, "EmbeddingBag")(lib.tensor([-1]),
                                                               lib.tensor([0])),
    "float_indices": lambda lib: _module(lib, "Embedding")(lib.tensor([1.0])),
    "three_dimensional": lambda lib: _module(lib, "Embedding")(lib.zeros(1, 1, 1)),
    "bag_scalar": lambda lib: _module(lib, "EmbeddingBag")(lib.tensor(1)),
    "not_an_embedding": lambda lib: lib.ao.nn.quantized.Embedding.from_float(
        _with_qconfig(lib, lib.nn.Linear(2, 2), "float_qparams_weight_only_qconfig")),
    "no_qconfig": lambda lib: lib.ao.nn.quantized.EmbeddingBag.from_float(
        lib.nn.EmbeddingBag(4, 2)),
    "int8_qconfig": lambda lib: lib.ao.nn.quantized.Embedding.from_float(
        _with_qconfig(lib, lib.nn.Embedding(4, 2), "default_dynamic_qconfig")),
    "weight_shape": lambda lib: lib.ao.nn.quantized.Embedding(
        4, 2, _weight=lib.quantize_per_channel(lib.zeros(3, 2), lib.ones(3), lib.zeros(3),
                                               0, lib.quint8)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    host_errors_alike(ERRORS[name])


def test_state_dict_travels_between_ember_and_torch():
    """The packed rows are saved as PyTorch saves them (``_packed_params._packed_weight``
    and its dtype) and load into the other library's module with the same lookups."""
    tq, eqm = _quantized("EmbeddingBag")
    saved = io.BytesIO()
    ember.save(eqm.state_dict(), saved)
    saved.seek(0)
    fresh_t = torch.ao.quantization.quantize_dynamic(
        torch.nn.Sequential(torch.nn.EmbeddingBag(30, 8)), dtype=torch.quint8)
    t_sd = torch.load(saved)
    assert list(t_sd) == list(tq.state_dict())
    fresh_t.load_state_dict(t_sd)
    idx, offsets = RNG.integers(0, 30, (9,)), np.array([0, 4])
    expected = tq[0](torch.tensor(idx), torch.tensor(offsets))
    _close(eqm[0](ember.tensor(idx), ember.tensor(offsets)), expected)
    torch.testing.assert_close(fresh_t[0](torch.tensor(idx), torch.tensor(offsets)), expected)
    saved = io.BytesIO()
    torch.save(tq.state_dict(), saved)
    saved.seek(0)
    fresh_e = eq.quantize_dynamic(ember.nn.Sequential(ember.nn.EmbeddingBag(30, 8)),
                                  dtype=ember.quint8)
    fresh_e.load_state_dict(ember.load(saved))
    _close(fresh_e[0](ember.tensor(idx), ember.tensor(offsets)), expected)
