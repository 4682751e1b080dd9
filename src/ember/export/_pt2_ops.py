"""The ember operators behind the ATen targets of a loaded ``.pt2`` graph.

Most ``torch.ops.aten.<op>.<overload>`` targets are the ``ember.ops.aten`` operators
ember's own export registers (``_aten``), which take ATen's argument order. The ones
PyTorch's export records and ember's export never does (``max_pool2d_with_indices``,
``lift_fresh_copy``, ``_assert_tensor_metadata``, ...) are defined here, each as a
composition of ember functions.
"""

from __future__ import annotations

from .. import ops as _ops
from ._aten import register_aten_op


def aten_op(name: str, overload: str):
    """``ember.ops.aten.<name>.<overload>``, or None when ember has no such operator."""
    packets = _ops._namespace("aten").__dict__["_packets"]
    packet = packets.get(name)
    if packet is not None and overload in packet._overloads:
        return packet._overloads[overload]
    impl = _IMPLS.get(f"{name}.{overload}") or _IMPLS.get(name)
    if impl is not None:
        return _ops._register("aten", name, overload, impl)
    try:
        return register_aten_op(name, overload)
    except AttributeError:
        return None


_IMPLS: dict = {}


def _assert_tensor_metadata(a, size=None, stride=None, dtype=None, *, device=None,
                            layout=None):
    """PyTorch's export checks ``.to()``'s input here; the same check, ember's message."""
    if dtype is not None and a.dtype != dtype:
        raise RuntimeError(f"Tensor dtype mismatch! Expected: {dtype}, Got: {a.dtype}")
    if size is not None and tuple(a.shape) != tuple(size):
        raise RuntimeError(f"Tensor sizes mismatch! Expected: {list(size)}, "
                           f"Got: {list(a.shape)}")


def _max_pool_with_indices(function):
    def impl(x, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return tuple(function(x, kernel_size, stride or None, padding, dilation,
                              ceil_mode=ceil_mode, return_indices=True))
    return impl


def _register_impls() -> None:
    import ember
    import ember.nn.functional as F

    _IMPLS.update({
        "lift_fresh_copy": lambda x: x.clone(),
        "lift_fresh": lambda x: x,
        "detach_": lambda x: x.detach_(),
        "_assert_tensor_metadata": _assert_tensor_metadata,
        "max_pool1d_with_indices": _max_pool_with_indices(F.max_pool1d),
        "max_pool2d_with_indices": _max_pool_with_indices(F.max_pool2d),
        "max_pool3d_with_indices": _max_pool_with_indices(F.max_pool3d),
        "_assert_scalar": lambda condition, message: None,
        "sym_constrain_range_for_size": lambda size, *, min=None, max=None: None,
        "empty.memory_format": lambda size, *, dtype=None, layout=None, device=None,
        pin_memory=None, memory_format=None: ember.empty(size, dtype=dtype, device=device),
    })


_register_impls()
