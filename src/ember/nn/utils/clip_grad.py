"""Gradient clipping: clip_grad_norm_, clip_grad_value_, get_total_norm.

Norms are computed per gradient with one array reduction each and combined once; the
rescale is one in-place multiply per gradient (``foreach`` is accepted: this already is
the batched path). On a GPU the 2-norm and the rescale are one kernel each over all
gradients (``_backend/multi_tensor.py``).
"""

from __future__ import annotations

import math

from ..._backend import multi_tensor
from ..._ops._util import _make, xp_of
from ..._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _array_norm(array, norm_type):
    xp = xp_of(array)
    if array.size == 0:
        return xp.zeros((), dtype=array.dtype)
    if norm_type == 2 and array.dtype.kind == "f" and array.dtype.itemsize >= 4:
        # one BLAS dot pass, no temporaries (abs and square allocated two arrays of the
        # gradient's size); NumPy's own linalg.norm computes the 2-norm this way
        flat = array.reshape(-1)
        return xp.sqrt(xp.dot(flat, flat))
    magnitude = xp.abs(array)
    if norm_type == math.inf:
        return magnitude.max()
    if norm_type == -math.inf:
        return magnitude.min()
    if norm_type == 2:
        return xp.sqrt((magnitude * magnitude).sum())
    if norm_type == 1:
        return magnitude.sum()
    if norm_type == 0:
        return (magnitude != 0).sum().astype(array.dtype)
    return (magnitude ** norm_type).sum() ** (1.0 / norm_type)


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of ``tensors`` (as if all were concatenated)."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        from ..._ops.creation import tensor as make_tensor

        return make_tensor(0.0)
    if math.isinf(norm_type) and any(t._data.size == 0 for t in tensors):
        # max/min have no identity (PyTorch's foreach kernel takes inf, not -inf)
        op = "_foreach_norm" if norm_type > 0 and foreach is not False else "linalg.vector_norm"
        name = "infinity" if op == "_foreach_norm" else f"{norm_type:g}"
        raise RuntimeError(f"{op} cannot compute the {name} norm on an empty tensor because "
                           "the operation does not have an identity")
    xp = xp_of(tensors[0]._data)
    total = multi_tensor.norm([t._data for t in tensors]) if norm_type == 2 else None
    if total is not None:  # one kernel over all tensors on a GPU
        _check_finite(xp, total, norm_type, error_if_nonfinite)
        return _make(total)
    norms = xp.stack([xp.asarray(_array_norm(t._data, norm_type)) for t in tensors])
    if len({n.dtype for n in norms}) > 1:
        norms = norms.astype(xp.result_type(*[t._data.dtype for t in tensors]))
    total = _array_norm(norms, norm_type)
    _check_finite(xp, total, norm_type, error_if_nonfinite)
    return _make(xp.asarray(total))


def _check_finite(xp, total, norm_type, error_if_nonfinite):
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))`` in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    if isinstance(total_norm, Tensor):
        # As PyTorch: the coefficient stays an array on the norm's device, so clipping
        # CUDA gradients never waits for the GPU to hand a number to the host.
        total = total_norm._data
        if multi_tensor.clip_([g._data for g in grads], float(max_norm), total):
            for g in grads:  # one kernel over all gradients on a GPU
                g._vc[0] += 1
            return
        coef = xp_of(total).minimum(float(max_norm) / (total + 1e-6), 1.0)
    else:
        total, coef = None, min(float(max_norm) / (float(total_norm) + 1e-6), 1.0)
    for g in grads:
        data = g._data
        if total is None or data.dtype.kind == "V" or type(total) is not type(data):
            factor = float(coef)
            data *= data.dtype.type(factor) if data.dtype.kind != "V" else factor
        else:
            data *= coef.astype(data.dtype, copy=False)
        g._vc[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale gradients so their total ``norm_type`` norm is at most ``max_norm``;
    returns the total norm before clipping."""
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    import warnings

    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            data = p.grad._data
            xp_of(data).clip(data, -clip_value, clip_value, out=data)
            p.grad._vc[0] += 1
