"""Function forms on compressed tensors: ``torch.sum(csr)``, ``torch.abs(csr)``,
``torch.add(dense, csr, alpha=2)``, ``torch.t(csr)``...

The methods live on ``SparseCompressedTensor`` (``_compressed_methods.py``). The function
forms reach them through ember's ``__torch_function__`` protocol, attached to the class
and installed the first time a compressed tensor is built (so programs that never build
one pay nothing, as with NestedTensor). Functions without a handler run as they are
(the products dispatch to the sparse family themselves; the rest refuse a compressed
operand as PyTorch does).
"""

from __future__ import annotations

from . import _compressed_math as cmath
from ._compressed import SparseCompressedTensor

_HANDLERS: dict = {}


def _method(name):
    def call(input, *args, **kwargs):
        kwargs.pop("out", None)
        return getattr(input, name)(*args, **kwargs)

    return call


def _binary(op):
    def call(input, other, *, alpha=1, out=None):
        if op is cmath.mul:
            return cmath.mul(input, other)
        return op(input, other, alpha=alpha)

    return call


def _linear(input, weight, bias=None):
    """``F.linear`` with a compressed weight (a pruned layer): ``input @ weight.t()``, the
    product of a dense matrix and a compressed one, plus the bias."""
    if not isinstance(weight, SparseCompressedTensor):
        from .._C import DisableTorchFunctionSubclass
        from ..nn import functional

        with DisableTorchFunctionSubclass():
            return functional.linear(input, weight, bias)
    leading = tuple(input.shape[:-1])
    flat = input.reshape(-1, input.shape[-1])
    if bias is None:
        out = cmath.mm(flat, weight.t())
    else:
        out = cmath.addmm(bias, flat, weight.t())
    return out.reshape(leading + (weight.shape[0],))


def _handlers():
    import ember

    functional = ember.nn.functional
    table = {
        ember.add: _binary(cmath.add), ember.sub: _binary(cmath.sub),
        ember.subtract: _binary(cmath.sub), ember.mul: _binary(cmath.mul),
        ember.multiply: _binary(cmath.mul),
        ember.sum: _method("sum"), ember.t: _method("t"), ember.transpose: _method("transpose"),
        ember.neg: _method("neg"), ember.negative: _method("neg"),
        functional.linear: _linear,
    }
    # A dense subclass on the left (a Parameter) is asked first: its operators land here.
    tensor = ember.Tensor
    table.update({
        tensor.__add__: _binary(cmath.add), tensor.add: _binary(cmath.add),
        tensor.__radd__: lambda input, other: cmath.add(other, input),
        tensor.__sub__: _binary(cmath.sub), tensor.sub: _binary(cmath.sub),
        tensor.__rsub__: lambda input, other: cmath.sub(other, input),
        tensor.__mul__: _binary(cmath.mul), tensor.mul: _binary(cmath.mul),
        tensor.__rmul__: _binary(cmath.mul),
    })
    for name in cmath.ZERO_PRESERVING:
        for owner in (ember, functional):
            fn = getattr(owner, name, None)
            if fn is not None:
                table[fn] = _method(name)
    return table


def _torch_function(cls, func, types, args=(), kwargs=None):
    if not _HANDLERS:
        _HANDLERS.update(_handlers())
    handler = _HANDLERS.get(func)
    if handler is not None:
        return handler(*args, **(kwargs or {}))
    from .._C import DisableTorchFunctionSubclass

    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


def enable_dispatch():
    """Attach ``__torch_function__`` and install the protocol (again, if a test took it
    out); returns ``overrides._INSTALLED``, which says whether it is still in."""
    from .. import overrides

    SparseCompressedTensor.__torch_function__ = classmethod(_torch_function)
    if not overrides._INSTALLED[0]:
        overrides._install()
    return overrides._INSTALLED
