"""Export an ember model, check the file with onnx.checker, run it in onnxruntime and
compare with ember's own output and with PyTorch's output for the same weights."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import torch
from oracle import as_numpy

import ember


class Fn(ember.nn.Module):
    """A module whose forward is ``fn(ember, *inputs)``; ``torch_twin`` runs the same
    ``fn`` with torch."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(ember, *inputs)


class TorchFn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(torch, *inputs)


def copy_weights(ember_model, torch_model):
    """Load ember's parameters and buffers into the torch twin."""
    state = {k: torch.from_numpy(np.array(as_numpy(v.detach())))
             for k, v in ember_model.state_dict().items()}
    torch_model.load_state_dict(state)
    return torch_model


def export_bytes(model, inputs, **kwargs) -> bytes:
    buffer = io.BytesIO()
    ember.onnx.export(model, inputs, buffer, **kwargs)
    data = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    return data


def run_onnx(data: bytes, arrays, names=None):
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = names or [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, arrays)))


def _as_list(result):
    if isinstance(result, (tuple, list)):
        return [r for item in result for r in _as_list(item)]
    return [result]


def check(ember_model, torch_model, arrays, rtol=None, atol=None, **export_kwargs):
    """Export ``ember_model`` on ``arrays`` (NumPy inputs) and compare onnxruntime's
    outputs with ember's and with ``torch_model``'s (None: skip the torch comparison)."""
    ember_model.eval()
    inputs = tuple(ember.tensor(a) for a in arrays)
    data = export_bytes(ember_model, inputs, **export_kwargs)
    got = run_onnx(data, arrays)
    with ember.no_grad():
        mine = [as_numpy(t) for t in _as_list(ember_model(*inputs))]
    assert len(got) == len(mine)
    tolerance = {} if rtol is None else {"rtol": rtol, "atol": atol}
    for onnx_out, ember_out in zip(got, mine):
        assert onnx_out.dtype == ember_out.dtype
        torch.testing.assert_close(torch.from_numpy(onnx_out), torch.from_numpy(ember_out),
                                   **tolerance)
    # The graph must compute from its inputs, not replay the traced values: run it on
    # fresh inputs of the same shapes (integer inputs are kept: they index).
    fresh = [np.random.default_rng(99).standard_normal(a.shape).astype(a.dtype)
             if a.dtype.kind == "f" else a for a in arrays]
    with ember.no_grad():
        mine = [as_numpy(t) for t in _as_list(ember_model(*(ember.tensor(a) for a in fresh)))]
    for onnx_out, ember_out in zip(run_onnx(data, fresh), mine):
        torch.testing.assert_close(torch.from_numpy(onnx_out), torch.from_numpy(ember_out),
                                   **tolerance)
    if torch_model is not None:
        torch_model.eval()
        with torch.no_grad():
            expected = [as_numpy(t) for t in _as_list(
                torch_model(*(torch.from_numpy(a) for a in arrays)))]
        for onnx_out, torch_out in zip(got, expected):
            torch.testing.assert_close(torch.from_numpy(onnx_out), torch.from_numpy(torch_out),
                                       **tolerance)
    return data
