"""scatter and gather (``torch.nn.parallel.scatter_gather``): split a batch, nested in
tuples, lists, dicts and namedtuples, into one piece per CUDA device, and join the
pieces' outputs on one device, differentiably (the pieces are ``Tensor.to`` copies and a
``cat``, so gradients flow back to the whole).

As in PyTorch these are CUDA-only: a CPU target raises ``ValueError: Expected a non cpu
device`` and gathering CPU tensors ``AssertionError`` (on CPU, call the module on the
whole batch). The work itself is device-agnostic (``_scatter``/``_gather``), which is
what the tests run on the CPU.
"""

from __future__ import annotations

import warnings

from ..._backend.device import device as _device
from ..._tensor import Tensor

__all__ = ["gather", "scatter", "scatter_kwargs"]


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _accelerator(device, message="Expected a non cpu device, but got: {}"):
    """``device`` (an index, a name or a device) as a CUDA device; ValueError for CPU."""
    if isinstance(device, int) and not isinstance(device, bool):
        return _device("cuda", device)
    resolved = device if isinstance(device, _device) else _device(device)
    if resolved.type == "cpu":
        raise ValueError(message.format(device))
    return resolved


def _scatter(inputs, devices, dim=0):
    """One piece of ``inputs`` per device in ``devices`` (ember devices): tensors chunked
    along ``dim`` (fewer pieces when a tensor has fewer rows), other objects repeated."""

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return [chunk.to(device) for chunk, device in zip(obj.chunk(len(devices), dim),
                                                              devices)]
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(piece) for piece in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(piece) for piece in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in devices]

    try:
        return scatter_map(inputs)
    finally:
        scatter_map = None  # the closure refers to itself: break the cycle


def _contains_tensor(obj) -> bool:
    if isinstance(obj, Tensor):
        return True
    if isinstance(obj, (tuple, list)):
        return any(_contains_tensor(item) for item in obj)
    if isinstance(obj, dict):
        return any(_contains_tensor(item) for item in obj.values())
    return False


def scatter(inputs, target_gpus, dim=0):
    """Slice the tensors in ``inputs`` (nested in tuples, lists, dicts) into one piece
    per device of ``target_gpus``, along ``dim``; other objects are repeated.

    Example::

        >>> scatter((x, "tag"), [0, 1])     # x of 4 rows, two CUDA devices
        [(x[:2] on cuda:0, 'tag'), (x[2:] on cuda:1, 'tag')]
    """
    devices = [_accelerator(device) for device in target_gpus] if _contains_tensor(inputs) \
        else list(target_gpus)
    return _scatter(inputs, devices, dim)


def scatter_kwargs(inputs, kwargs, target_gpus, dim=0):
    """``scatter`` of the positional and the keyword arguments, padded to the same count."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) -
                                                  len(scattered_inputs)))
    elif len(scattered_kwargs) < len(scattered_inputs):
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) -
                                                  len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def _gather_tensors(tensors, target, dim):
    from ..._ops.shape_copy import cat
    if all(tensor.dim() == 0 for tensor in tensors) and dim == 0:
        warnings.warn("Was asked to gather along dimension 0, but all input tensors were "
                      "scalars; will instead unsqueeze and return a vector.", stacklevel=4)
        tensors = [tensor.reshape(1) for tensor in tensors]
    return cat([tensor.to(target) for tensor in tensors], dim)


def _gather(outputs, target, dim=0, check=None):
    """The outputs of the pieces joined on ``target`` (an ember device, or a function
    giving it, asked only once there is a tensor): tensors concatenated along ``dim``,
    containers gathered item by item."""

    def gather_map(items):
        first = items[0]
        if isinstance(first, Tensor):
            if check is not None:
                check(items)
            return _gather_tensors(items, target() if callable(target) else target, dim)
        if first is None:
            return None
        if isinstance(first, dict):
            if not all(len(first) == len(item) for item in items):
                raise ValueError("All dicts must have the same number of keys")
            return type(first)((key, gather_map([item[key] for item in items]))
                               for key in first)
        if _is_namedtuple(first):
            return type(first)._make(map(gather_map, zip(*items)))
        return type(first)(map(gather_map, zip(*items)))

    try:
        return gather_map(outputs)
    finally:
        gather_map = None


def _no_cpu_tensors(tensors):
    if any(tensor.device.type == "cpu" for tensor in tensors):
        raise AssertionError("Gather function not implemented for CPU tensors")


def gather(outputs, target_device, dim=0):
    """Join the per-device ``outputs`` (tensors, or tuples/lists/dicts of them) on
    ``target_device`` (-1: the CPU), concatenating along ``dim``."""
    def target():
        return _device("cpu") if target_device == -1 else _accelerator(target_device)
    return _gather(outputs, target, dim, check=_no_cpu_tensors)
