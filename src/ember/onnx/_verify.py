"""``export(..., verify=True)``: run the written file in onnxruntime and compare it with
the model, on the example inputs and on fresh random ones of the same shapes.

The second run is what catches a trace that replays instead of computing: a value the
exporter could not follow (an op under no_grad, a result read with ``.item()`` and fed
back, Python control flow on tensor values) is baked into the file as a constant, and
only differs once the inputs do.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _make
from .errors import OnnxExporterError


def _host(tensor):
    data = tensor.detach()._data
    return data.get() if hasattr(data, "get") else np.asarray(data)


def _flatten(result):
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in _flatten(item)]
    if isinstance(result, dict):
        return [t for item in result.values() for t in _flatten(item)]
    return []


def _fresh_like(tensor, rng):
    """New values of the same shape and dtype (integer inputs, indices, are kept)."""
    data = _host(tensor)
    if data.dtype.kind != "f":
        return tensor
    scale = float(np.std(data)) or 1.0
    values = (rng.standard_normal(data.shape) * scale + float(np.mean(data))).astype(data.dtype)
    fresh = _make(values)
    return fresh.to(tensor.device) if hasattr(tensor._data, "get") else fresh


def verify(model, args, kwargs, data: bytes, input_count: int, params: dict,
           rtol: float = 1e-3, atol: float = 1e-5):
    """Raise OnnxExporterError when onnxruntime's outputs for ``data`` differ from the
    model's, on ``args`` and on fresh inputs of the same shapes."""
    import onnxruntime

    from ..autograd.grad_mode import no_grad

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    rng = np.random.default_rng(0)
    for attempt in ("the example inputs", "fresh inputs of the same shapes"):
        if attempt != "the example inputs":
            args = tuple(_fresh_like(a, rng) if isinstance(a, Tensor) else a for a in args)
            kwargs = {k: _fresh_like(v, rng) if isinstance(v, Tensor) else v
                      for k, v in kwargs.items()}
        tensors = [a for a in args if isinstance(a, Tensor)]
        tensors += [v for v in kwargs.values() if isinstance(v, Tensor)]
        feed = dict(zip(names[:input_count], (_host(t) for t in tensors)))
        feed.update({name: _host(params[name]) for name in names[input_count:]
                     if name in params})
        with no_grad():
            expected = [_host(t) for t in _flatten(model(*args, **kwargs))]
        got = session.run(None, feed)
        for index, (mine, theirs) in enumerate(zip(got, expected)):
            if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=rtol,
                                                             atol=atol, equal_nan=True):
                worst = (np.abs(mine.astype(np.float64) - theirs).max()
                         if mine.shape == theirs.shape else "shapes differ")
                raise OnnxExporterError(
                    f"verify: output {index} ({session.get_outputs()[index].name}) of the "
                    f"exported file differs from the model's on {attempt} (largest "
                    f"difference {worst}, shapes {list(mine.shape)} and "
                    f"{list(theirs.shape)}). A value the trace could not follow was "
                    "exported as a constant, or the forward branches on tensor values.")
