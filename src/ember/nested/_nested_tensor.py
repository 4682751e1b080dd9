"""NestedTensor: a batch of tensors whose dim 1 (the ragged one) differs per entry.

ember keeps the entries as a list of ordinary ember tensors; every operation is applied
entry by entry through ember's ops, so autograd works without new backward formulas (a
gradient reaches each entry, and from there the tensors the entries came from). Two
layouts, as PyTorch's: ``ember.strided`` (the older C++ NestedTensor, whose ``size()``
only answers for regular dims) and ``jagged`` (packed ``values()`` plus
``offsets()``, ragged dim 1, and a wider set of ops). Where the two differ in what they
accept, the checks below follow each one's PyTorch behaviour and error text.

``__torch_function__`` lets ``F.linear``, ``F.softmax``, ``ember.matmul``... take a
NestedTensor. It is attached after the class statement and the protocol is installed only
when the first NestedTensor is built, so importing ember.nested does not route every
ember call through the dispatch trampolines.
"""

from __future__ import annotations

import ember

from ..sparse._layout import layout as _layout

jagged = _layout("jagged")  # ``torch.jagged``; ember.jagged is this object

_UNARY = ("relu", "sigmoid", "tanh", "exp", "log", "abs", "neg", "sin", "cos", "sqrt",
          "square", "gelu", "silu")


class NestedTensor:
    """A list of same-rank tensors batched along a new dim 0 (see the module docstring)."""

    __slots__ = ("_entries", "_offsets", "_values", "_lengths", "layout")

    def __init__(self, entries, layout, values=None, offsets=None, lengths=None):
        self._entries = list(entries)
        self.layout = layout
        self._values = values
        self._offsets = offsets
        self._lengths = lengths  # set when entries leave holes in values (nested.narrow)
        _enable_dispatch()

    # -- what a tensor answers ------------------------------------------------------------

    is_nested = True

    @property
    def dtype(self):
        return self._entries[0].dtype if self._entries else ember.get_default_dtype()

    @property
    def device(self):
        return self._entries[0].device if self._entries else ember.device("cpu")

    @property
    def requires_grad(self) -> bool:
        return any(t.requires_grad for t in self._entries)

    @property
    def is_leaf(self) -> bool:
        return all(t.is_leaf for t in self._entries)

    @property
    def grad(self):
        grads = [t.grad for t in self._entries]
        if any(g is None for g in grads):
            return None
        return NestedTensor(grads, self.layout)

    def dim(self) -> int:
        return self._entries[0].dim() + 1 if self._entries else 1

    ndim = property(dim)

    def _wrap_dim(self, dim: int) -> int:
        ndim = self.dim()
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {dim})")
        return dim % ndim

    def size(self, dim=None):
        """Regular dims only: dim 0 (the batch) and every dim the entries agree on."""
        if dim is None:
            if self.layout is ember.strided:
                raise RuntimeError("Internal error: NestedTensorImpl doesn't support sizes. "
                                   "Please file an issue.")
            raise RuntimeError("size(): the ragged dimension 1 has no integer size in ember "
                               "(PyTorch answers a symbolic j1)")
        dim = self._wrap_dim(dim)
        if dim == 0:
            return len(self._entries)
        sizes = {t.shape[dim - 1] for t in self._entries}
        if len(sizes) != 1:
            raise RuntimeError(f"Given dimension {dim} is irregular and does not have a size.")
        return sizes.pop()

    @property
    def shape(self):
        return self.size()

    def unbind(self, dim: int = 0):
        if self._wrap_dim(dim) != 0:
            raise RuntimeError("unbind(): nested tensor can only be unbound along dim=0")
        return tuple(self._entries)

    def is_contiguous(self) -> bool:
        return self._lengths is None

    def lengths(self):
        """Each entry's length when the entries leave holes in ``values()``, else None."""
        return self._lengths

    def values(self):
        """The entries packed along their dim 0 (jagged layout)."""
        if self._values is None:
            self._values = ember.cat(self._entries, 0)
        return self._values

    def offsets(self):
        """Where each entry starts in ``values()``, plus the end (jagged layout)."""
        if self._offsets is None:
            bounds = [0]
            for t in self._entries:
                bounds.append(bounds[-1] + t.shape[0])
            self._offsets = ember.tensor(bounds, dtype=ember.int64, device=self.device)
        return self._offsets

    def detach(self):
        return NestedTensor([t.detach() for t in self._entries], self.layout)

    def to_padded_tensor(self, padding: float, output_size=None):
        return to_padded_tensor(self, padding, output_size)

    def __repr__(self) -> str:
        if self.layout is jagged:
            sizes = [len(self._entries), "j1"] + [str(s) for s in self._entries[0].shape[1:]]
            return (f"NestedTensor(size=({', '.join(map(str, sizes))}), "
                    f"offsets={self.offsets()!r}, contiguous={self.is_contiguous()})")
        body = ",\n".join("  " + repr(t).replace("\n", "\n  ") for t in self._entries)
        return f"nested_tensor([\n{body}\n])"

    # -- ops ------------------------------------------------------------------------------

    def _map(self, fn):
        return NestedTensor([fn(t) for t in self._entries], self.layout)

    def _binary(self, other, fn, name):
        if isinstance(other, NestedTensor):
            same = len(other._entries) == len(self._entries) and all(
                a.shape == b.shape for a, b in zip(self._entries, other._entries))
            if not same:
                if self.layout is jagged:
                    raise RuntimeError(
                        f"cannot call binary pointwise function {name}.Tensor with inputs of "
                        f"shapes {_jagged_str(self)} and {_jagged_str(other, 2)}")
                raise RuntimeError(f"{name} does not support broadcasting when given a "
                                   "NestedTensor")
            return NestedTensor([fn(a, b) for a, b in zip(self._entries, other._entries)],
                                self.layout)
        if isinstance(other, ember.Tensor) and self.layout is ember.strided and other.dim():
            raise RuntimeError("Expected both self and other to be nested, but got a nested "
                               "self and non-nested other")
        return self._map(lambda t: fn(t, other))

    def __add__(self, other):
        return self._binary(other, lambda a, b: a + b, "add")

    def __sub__(self, other):
        return self._binary(other, lambda a, b: a - b, "sub")

    def __mul__(self, other):
        return self._binary(other, lambda a, b: a * b, "mul")

    def __truediv__(self, other):
        return self._binary(other, lambda a, b: a / b, "div")

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return self._map(lambda t: other - t)

    def __neg__(self):
        return self._map(lambda t: -t)

    def matmul(self, other):
        if isinstance(other, NestedTensor):
            return self._binary(other, lambda a, b: a @ b, "matmul")
        if self.layout is ember.strided:
            raise RuntimeError("Expected both to be nested, but got a nested self and "
                               "non-nested other")
        return self._map(lambda t: t @ other)

    __matmul__ = matmul

    def softmax(self, dim, dtype=None):
        dim = self._wrap_dim(dim)
        if dim == 0:
            if self.layout is jagged:
                raise RuntimeError("softmax(): not supported when reducing across the batch "
                                   "dimension for NestedTensor")
            raise RuntimeError("Cannot apply softmax across nested dimension 0")
        return self._map(lambda t: t.softmax(dim - 1, dtype=dtype))

    def sum(self, dim=None, keepdim=False, dtype=None):
        """Over the last dim (both layouts), or over the ragged dim 1 (jagged: a dense
        result, one row per entry)."""
        if dim is None:
            return ember.stack([t.sum(dtype=dtype) for t in self._entries]).sum()
        dims = [self._wrap_dim(d) for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
        if self.layout is ember.strided:
            if dims != [self.dim() - 1]:
                raise RuntimeError(f"NestedTensor can only be reduced across the last dimension "
                                   f"for now got dimension {dims[0]} instead.")
            if not keepdim:
                raise RuntimeError("NestedTensor always requires keepdim=True for now.")
        if 0 in dims:
            raise RuntimeError("sum(): reducing along the batch dimension but not the ragged "
                               "dimension is not supported for nested tensors")
        if 1 in dims:
            rest = [d - 1 for d in dims]
            return ember.stack([t.sum(rest, keepdim=keepdim, dtype=dtype)
                                for t in self._entries])
        return self._map(lambda t: t.sum([d - 1 for d in dims], keepdim=keepdim, dtype=dtype))

    def narrow(self, dim, start, length):
        dim = self._wrap_dim(dim)
        if self.layout is ember.strided:
            if dim != 0:
                raise RuntimeError(f"narrow(): only dim=0 supported for nested tensors, but "
                                   f"got: {dim}")
            return NestedTensor(self._entries[start:start + length], self.layout)
        if dim == 0:
            raise RuntimeError("narrow(): not supported for NestedTensor on dim=0")
        if dim == 1:
            raise RuntimeError("narrow(): not supported for NestedTensor on ragged dim")
        return self._map(lambda t: t.narrow(dim - 1, start, length))


def _jagged_str(nt, ragged_id=1):
    rest = ", ".join(str(s) for s in nt._entries[0].shape[1:]) if nt._entries else ""
    return f"({len(nt._entries)}, j{ragged_id}{', ' + rest if rest else ''})"


def _make_unary(name):
    def method(self, *args, **kwargs):
        return self._map(lambda t: getattr(t, name)(*args, **kwargs))
    method.__name__ = name
    method.__doc__ = f"``{name}`` of every entry."
    return method


for _name in _UNARY:
    if _name not in ("gelu", "silu", "neg"):
        setattr(NestedTensor, _name, _make_unary(_name))


# -- functions taking a NestedTensor ------------------------------------------------------


def _linear(input, weight, bias=None):
    last = input._entries[0].shape[-1]
    if input.layout is ember.strided and last != weight.shape[-1]:
        raise RuntimeError(
            "Shape mismatch for NestedTensor Linear: Expected input's (a nested tensor) "
            f"'last_dim' to equal 'weight.size(1), but got: last_dim = {last}, and "
            f"weight.size(1) = {weight.shape[-1]}")
    if input.layout is jagged and last != weight.shape[-1]:
        rows = sum(t.shape[0] for t in input._entries)
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{last} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    return input._map(lambda t: ember.nn.functional.linear(t, weight, bias))


def _entrywise(fn):
    def handler(x, *args, **kwargs):
        return x._map(lambda t: fn(t, *args, **kwargs))
    return handler


def _handlers():
    F = ember.nn.functional
    table = {
        F.linear: _linear,
        F.softmax: lambda x, dim=None, _stacklevel=3, dtype=None: x.softmax(dim, dtype),
        ember.softmax: lambda x, dim, dtype=None: x.softmax(dim, dtype),
        ember.matmul: lambda a, b: a.matmul(b),
        ember.sum: lambda x, *args, **kwargs: x.sum(*args, **kwargs),
        ember.narrow: lambda x, dim, start, length: x.narrow(dim, start, length),
        ember.unbind: lambda x, dim=0: x.unbind(dim),
        F.dropout: lambda x, p=0.5, training=True, inplace=False:
            x._map(lambda t: F.dropout(t, p, training)),
    }
    for name in _UNARY:
        for owner in (ember, F):
            fn = getattr(owner, name, None)
            if fn is not None:
                table[fn] = _entrywise(fn)
    return table


_HANDLERS: dict = {}


def _torch_function(cls, func, types, args=(), kwargs=None):
    if not _HANDLERS:
        _HANDLERS.update(_handlers())
    handler = _HANDLERS.get(func)
    if handler is None or not isinstance(args[0] if args else None, NestedTensor):
        raise NotImplementedError(
            f"{getattr(func, '__name__', func)}(): not supported for NestedTensor in ember")
    return handler(*args, **(kwargs or {}))


_DISPATCH_ON = [False]


def _enable_dispatch():
    """Attach ``__torch_function__`` and install the protocol, once, on first use."""
    if _DISPATCH_ON[0]:
        return
    _DISPATCH_ON[0] = True
    NestedTensor.__torch_function__ = classmethod(_torch_function)
    from .. import overrides

    overrides._install()


# -- constructors ---------------------------------------------------------------------------


def _check_entries(tensors):
    if not tensors:
        return
    first = tensors[0].dim()
    for index, t in enumerate(tensors):
        if t.dim() != first:
            raise RuntimeError(
                f"All Tensors given to nested_tensor must have the same dimension. Found "
                f"dimension {t.dim()} for Tensor at index {index} and dimension {first} for "
                f"Tensor at index 0.")


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """A NestedTensor of copies of ``tensor_list`` (a leaf: gradients stop here)."""
    layout = ember.strided if layout is None else layout
    tensors = [t if isinstance(t, ember.Tensor) else ember.tensor(t) for t in tensor_list]
    _check_entries(tensors)
    entries = []
    for t in tensors:
        copy = t.detach().to(device=device, dtype=dtype).clone()
        entries.append(copy.requires_grad_(requires_grad))
    return NestedTensor(entries, layout)


def as_nested_tensor(ts, dtype=None, device=None, layout=None):
    """A NestedTensor of ``ts`` (a list, or a tensor's dim-0 slices) that stays connected
    to them: gradients flow back into ``ts``."""
    layout = ember.strided if layout is None else layout
    tensors = list(ts.unbind(0)) if isinstance(ts, ember.Tensor) else list(ts)
    _check_entries(tensors)
    if dtype is not None or device is not None:
        tensors = [t.to(device=device, dtype=dtype) for t in tensors]
    return NestedTensor(tensors, layout)


def nested_tensor_from_jagged(values, offsets=None, lengths=None, jagged_dim=None,
                              min_seqlen=None, max_seqlen=None):
    """A jagged NestedTensor viewing ``values`` split at ``offsets``."""
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged(): At least one of offsets or "
                               "lengths is required.")
        offsets = ember.cat([ember.zeros(1, dtype=lengths.dtype), lengths.cumsum(0)])
    bounds = offsets.tolist()
    entries = [values[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
    return NestedTensor(entries, jagged, values=values, offsets=offsets)


def to_padded_tensor(input, padding: float, output_size=None):
    """A dense (B, max_len, ...) tensor: entries padded with ``padding`` at the end of
    every dim (strided: to ``output_size`` if given). Differentiable."""
    if not isinstance(input, NestedTensor):
        raise NotImplementedError("Could not run 'aten::to_padded_tensor' with arguments "
                                  "from the 'CPU' backend.")
    if input._lengths is not None:
        raise RuntimeError("to_padded_tensor(): not supported for nested tensors with holes")
    entries = input._entries
    ndim = entries[0].dim()
    target = [max(t.shape[d] for t in entries) for d in range(ndim)]
    if output_size is not None:
        if input.layout is ember.strided:
            target = list(output_size)[1:]
        else:
            target[0] = output_size[1]
    rows = []
    F = ember.nn.functional
    for t in entries:
        pad = []
        for d in reversed(range(ndim)):
            pad += [0, target[d] - t.shape[d]]
        rows.append(F.pad(t, pad, value=padding))
    return ember.stack(rows)
