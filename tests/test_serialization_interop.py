"""Checkpoint interop with real PyTorch for whole model families, and fuzzing of the
reader with hypothesis (thousands of corrupted files: clean exceptions only)."""

import io
import pickle

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from oracle import as_numpy


def _torch_models():
    torch.manual_seed(0)
    return {
        "conv": torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                    torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1, bias=False)),
        "lstm": torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, proj_size=3),
        "transformer": torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), num_layers=2),
    }


def _ember_twin(name):
    if name == "conv":
        return ember.nn.Sequential(ember.nn.Conv2d(3, 4, 3), ember.nn.BatchNorm2d(4),
                                   ember.nn.ReLU(), ember.nn.Conv2d(4, 2, 1, bias=False))
    if name == "lstm":
        return ember.nn.LSTM(5, 7, num_layers=2, bidirectional=True, proj_size=3)
    return ember.nn.TransformerEncoder(
        ember.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), num_layers=2)


_INPUTS = {"conv": (2, 3, 6, 6), "lstm": (4, 2, 5), "transformer": (2, 5, 8)}


@pytest.mark.parametrize("name", ["conv", "lstm", "transformer"])
def test_torch_checkpoint_loads_into_ember_model_and_back(tmp_path, name):
    tmodel = _torch_models()[name].eval()
    torch.save(tmodel.state_dict(), tmp_path / "t.pt")
    emodel = _ember_twin(name).eval()
    missing = emodel.load_state_dict(ember.load(tmp_path / "t.pt"))
    assert not missing.missing_keys and not missing.unexpected_keys
    x = np.random.default_rng(0).standard_normal(_INPUTS[name]).astype(np.float32)
    with torch.no_grad():
        t_out = tmodel(torch.tensor(x))
    with ember.no_grad():
        e_out = emodel(ember.tensor(x))
    if isinstance(t_out, tuple):
        t_out, e_out = t_out[0], e_out[0]
    np.testing.assert_allclose(as_numpy(e_out), t_out.numpy(), rtol=1e-4, atol=1e-5)

    ember.save(emodel.state_dict(), tmp_path / "e.pt")
    back = torch.load(tmp_path / "e.pt", weights_only=True)
    assert list(back) == list(tmodel.state_dict())
    for key, value in tmodel.state_dict().items():
        assert back[key].dtype == value.dtype and torch.equal(back[key], value), key


def _valid_checkpoint():
    buffer = io.BytesIO()
    torch.save({"w": torch.randn(3, 3), "i": torch.arange(4), "nested": [torch.ones(2)]},
               buffer)
    return buffer.getvalue()


_DATA = _valid_checkpoint()
_CLEAN = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError)


@settings(max_examples=1500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_DATA) - 1), st.integers(0, 255)),
                min_size=1, max_size=6),
       st.integers(0, len(_DATA)))
def test_fuzzed_checkpoints_raise_clean_exceptions(flips, cut):
    data = bytearray(_DATA)
    for position, value in flips:
        data[position] = value
    try:
        ember.load(io.BytesIO(bytes(data[:cut])))
    except _CLEAN:
        pass
