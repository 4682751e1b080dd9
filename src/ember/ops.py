"""``torch.ops``: operators by namespace, ``ember.ops.<ns>.<name>.<overload>``.

Two kinds of operators live here. Custom operators (``ember.library.custom_op``,
``Library.define``) register an ``OpOverload`` with a schema and per-device kernels; calling
it checks the arguments against the schema, picks the kernel for the inputs' device and
applies the registered autograd formula. ``aten`` operators are the names ``ember.export``
prints in its graphs (``torch.ops.aten.linear.default``); each one calls the ember function
that computes it, so an exported graph runs on ember.

This module is the namespace object itself: ``ember.ops.mylib`` is looked up through the
module's ``__getattr__``, as ``torch.ops.mylib`` is an attribute of torch's ``_Ops`` module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["OpOverload", "OpOverloadPacket"]


# set by ember.export while it traces: (op, args, kwargs) -> result
_CALL_HOOK: list = [None]


class OpOverload:
    """One overload of an operator (``mylib.foo.default``): callable, with its schema.

    ``__module__`` and ``__name__`` are set per instance as PyTorch's
    (``torch._ops.aten`` / ``relu.default``): graph printing names the target from them.
    """

    def __init__(self, packet: OpOverloadPacket, overload_name: str,
                 call: Callable, schema=None) -> None:
        self._overloadpacket = packet
        self._overloadname = overload_name
        self._call = call
        self._schema = schema
        self.__module__ = f"torch._ops.{packet._namespace}"
        self.__name__ = f"{packet._name}.{overload_name}"
        self.__qualname__ = self.__name__

    @property
    def overloadpacket(self) -> OpOverloadPacket:
        return self._overloadpacket

    @property
    def namespace(self) -> str:
        return self._overloadpacket._namespace

    @property
    def _opname(self) -> str:
        return self._overloadpacket._name

    def name(self) -> str:
        """``ns::name`` (``ns::name.overload`` for a named overload), as the dispatcher
        knows it."""
        base = f"{self.namespace}::{self._opname}"
        return base if self._overloadname == "default" else f"{base}.{self._overloadname}"

    def __call__(self, *args, **kwargs):
        hook = _CALL_HOOK[0]
        if hook is not None:  # an ember.export trace records the call
            return hook(self, args, kwargs)
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<OpOverload(op='{self.namespace}.{self._opname}', overload='{self._overloadname}')>"

    def __str__(self) -> str:
        return f"{self.namespace}.{self._opname}.{self._overloadname}"

    def __reduce__(self):
        # pickled by name: the loading process looks the operator up again
        return (_lookup_overload, (self.namespace, self._opname, self._overloadname))


# overload names ember's ATen ops answer to (the ones its exported graphs use)
_ATEN_OVERLOADS = {"default", "Tensor", "Scalar", "dim", "dim_IntList", "int", "using_ints",
                   "Tensor_Scalar", "Tensor_Tensor", "Tensor_mode", "dtype", "sizes", "dims",
                   "other", "vec", "input", "src", "value", "two", "ScalarOpt_dim",
                   "Tensor_float", "float_Tensor", "comp_plain_value_size"}


class OpOverloadPacket:
    """All overloads of one operator name (``mylib.foo``); calling it calls the default
    overload (or the only one)."""

    def __init__(self, namespace: str, name: str) -> None:
        self._namespace = namespace
        self._name = name
        self._overloads: dict[str, OpOverload] = {}
        self.__module__ = f"torch._ops.{namespace}"
        self.__name__ = name

    def overloads(self) -> list[str]:
        return list(self._overloads)

    def __getattr__(self, overload: str) -> OpOverload:
        overloads = self.__dict__.get("_overloads", {})
        if overload in overloads:
            return overloads[overload]
        if self.__dict__.get("_namespace") == "aten" and overload in _ATEN_OVERLOADS:
            from .export._aten import register_aten_op

            return register_aten_op(self._name, overload)
        raise AttributeError(f"The underlying op of '{self._namespace}.{self._name}' has no "
                             f"overload name '{overload}'")

    def __call__(self, *args, **kwargs):
        if "default" in self._overloads:
            return self._overloads["default"](*args, **kwargs)
        if len(self._overloads) == 1:
            return next(iter(self._overloads.values()))(*args, **kwargs)
        raise RuntimeError(f"{self._namespace}::{self._name}: no overload matched the "
                           "call; name one (op.<overload>)")

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self._namespace}.{self._name}')>"

    def __str__(self) -> str:
        return f"{self._namespace}.{self._name}"


class _OpNamespace:
    """``ember.ops.<ns>``: the operators registered in one namespace."""

    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name
        self.__dict__["_packets"] = {}

    def __getattr__(self, op_name: str) -> OpOverloadPacket:
        packets = self.__dict__["_packets"]
        if op_name not in packets and self._name == "aten":
            _aten_loader()(op_name)
        if op_name in packets:
            return packets[op_name]
        raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute "
                             f"'{op_name}'")

    def __dir__(self):
        return sorted(self.__dict__["_packets"])

    def __repr__(self) -> str:
        return f"<module 'torch.ops.{self._name}' from 'torch.ops'>"


_NAMESPACES: dict[str, _OpNamespace] = {}


def _namespace(name: str) -> _OpNamespace:
    if name not in _NAMESPACES:
        _NAMESPACES[name] = _OpNamespace(name)
    return _NAMESPACES[name]


def _register(namespace: str, name: str, overload: str, call: Callable,
              schema=None) -> OpOverload:
    """Add (or replace) ``namespace::name.overload``; returns the OpOverload."""
    space = _namespace(namespace)
    packets = space.__dict__["_packets"]
    if name not in packets:
        packets[name] = OpOverloadPacket(namespace, name)
    op = OpOverload(packets[name], overload, call, schema)
    packets[name]._overloads[overload] = op
    return op


def _unregister(namespace: str, name: str, overload: str) -> None:
    packets = _namespace(namespace).__dict__["_packets"]
    packet = packets.get(name)
    if packet is None:
        return
    packet._overloads.pop(overload, None)
    if not packet._overloads:
        del packets[name]


def _lookup_overload(namespace: str, name: str, overload: str) -> OpOverload:
    return getattr(getattr(_namespace(namespace), name), overload)


def _aten_loader() -> Callable[[str], Any]:
    from .export._aten import register_aten_op

    return register_aten_op


def __getattr__(name: str) -> _OpNamespace:
    if name.startswith("__"):
        raise AttributeError(name)
    return _namespace(name)
