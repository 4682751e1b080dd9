"""Saved tensors: what ``ctx.save_for_backward`` keeps and how backward gets it back.

An input is kept as the Tensor itself with the version it had; an output only as its
array and version counter (``_SavedOutput``), rebuilt with ``grad_fn=ctx`` when unpacked,
so no reference cycle forms. Unpacking checks the versions and raises PyTorch's
modified-by-an-inplace-operation error; ``saved_arrays`` is the same for backward
functions that work on arrays.

Under ``autograd.graph.saved_tensors_hooks`` each saved tensor is packed when saved and
unpacked when read (``_Packed``); ``grad_fn._saved_<name>`` / ``_raw_saved_<name>`` map
PyTorch's names onto the saved tuple (``saved_attribute``).
"""

from __future__ import annotations

import re
import weakref

from .._tensor import Tensor, _make
from .grad_mode import _grad_enabled

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)

class _SavedOutput:
    __slots__ = ("array", "index", "vc", "version")

    def __init__(self, array, index, vc, version):
        self.array, self.index, self.vc, self.version = array, index, vc, version


# -- saved-tensor hooks (ember.autograd.graph.saved_tensors_hooks) ----------------------

# (pack_hook, unpack_hook) pairs, innermost last. Saving pays one truth test of this list
# when no hooks are set: the whole hooks machinery sits behind it.
_default_hooks: list = []
# The error message while disable_saved_tensors_hooks is active, else None.
_hooks_disabled: list = [None]

_PACK_INPLACE = (
    "A saved tensor pack hook is modifying its input in place. Tensors provided as input to "
    "pack hook cannot be modified by in-place operations as this can lead to unexpected "
    "side-effects. Please open an issue if you need to perform in-place operations on the "
    "input to a pack hook."
)
_INPUT, _OUTPUT, _INTERMEDIATE, _NUMBER = range(4)


class _Packed:
    """A saved tensor that went through a pack hook: the packed object, its unpack hook,
    and how to reconnect the unpacked tensor to the graph. As PyTorch's SavedVariable with
    hooks: no version check on unpack, and the unpacked tensor is a new Tensor with the
    saved one's history (its node and output number, or a leaf's gradient accumulator)."""

    __slots__ = ("acc", "grad_fn", "kind", "output_nr", "packed", "requires_grad", "unpack_hook")

    def unpack(self, node):
        value = self.unpack_hook(self.packed)
        if not isinstance(value, Tensor):
            raise TypeError(
                "Output of saved tensor unpack_hook expected to be a Tensor but got result "
                f"of type {type(value).__name__}"
            )
        data = value._data
        kind = self.kind
        if kind == _OUTPUT:  # the node's own output: its history is the node (no cycle kept)
            return _make(data, True, node, self.output_nr)
        if kind == _NUMBER:
            return value.item()
        if self.grad_fn is not None:
            return _make(data, True, self.grad_fn, self.output_nr)
        out = _make(data, self.requires_grad)
        if self.acc is not None:  # a leaf: gradients still reach the saved leaf's .grad
            out._acc = weakref.ref(self.acc)
        return out


def _entry_tensor(node, entry, outputs):
    """The Tensor a pack hook receives for a saved entry, and the entry's kind; (None,
    None) for what is not packed (None, or a Python number an op keeps as is)."""
    kind = type(entry)
    if kind is tuple:
        return entry[0], _INPUT
    if kind is _SavedOutput:
        if outputs is not None:
            return outputs[entry.index], _OUTPUT
        out = _make(entry.array, True, node, entry.index)
        out._vc = entry.vc
        return out, _OUTPUT
    if isinstance(entry, Tensor):
        return entry, _INPUT
    if hasattr(entry, "dtype") and hasattr(entry, "shape"):
        return _make(entry), _INTERMEDIATE
    return None, None


def _wrapped_number(value):
    """A Python number as PyTorch's 0-d "wrapped number" tensor (float64, int64 or
    complex128: NumPy's types for Python numbers)."""
    import numpy as np

    from .._ops.creation import tensor

    return tensor(np.asarray(value))


def _pack_entry(node, entry, hooks, outputs=None, raw=False):
    """Pack one saved entry. ``raw``: through ``SavedTensor.register_hooks``, where
    PyTorch's pack hook gets the saved data without history, and a Python number as its
    wrapped-number tensor."""
    tensor, kind = _entry_tensor(node, entry, outputs)
    if tensor is None:
        if not raw or entry is None or isinstance(entry, bool):
            return entry
        tensor, kind = _wrapped_number(entry), _NUMBER
    pack_hook, unpack_hook = hooks
    version = tensor._vc[0]
    given = tensor.detach() if raw else tensor
    # The hook runs in no-grad mode, as PyTorch's: what it computes records and saves
    # nothing (no recursion into pack), and it may write a leaf's copy.
    previous = _grad_enabled[0]
    _grad_enabled[0] = False
    try:
        packed = pack_hook(given)
    finally:
        _grad_enabled[0] = previous
    if tensor._vc[0] != version:
        raise RuntimeError(_PACK_INPLACE)
    result = _Packed()
    result.packed, result.unpack_hook, result.kind = packed, unpack_hook, kind
    result.requires_grad = tensor._requires_grad
    result.grad_fn = tensor.grad_fn if kind == _INPUT else None
    result.output_nr = entry.index if kind == _OUTPUT else tensor._output_nr
    result.acc = None
    if kind == _INPUT and result.requires_grad and tensor.grad_fn is None:
        ref = tensor._acc
        result.acc = ref() if ref is not None else None
        if result.acc is None and tensor._base is None:
            from .function import accumulator_of

            result.acc = accumulator_of(tensor)
    return result


def _pack_all(ctx, saved, outputs):
    """Run the innermost pack hook on every tensor ``ctx`` saves (inputs, outputs and
    intermediate arrays alike, as PyTorch packs every SavedVariable)."""
    hooks = _default_hooks[-1]
    order = _PACK_ORDER.get(ctx.name())
    if order is None or len(order) != len(saved):
        return tuple(_pack_entry(ctx, entry, hooks, outputs) for entry in saved)
    packed = list(saved)
    for index in order:  # PyTorch's order, which pack hooks with side effects observe
        packed[index] = _pack_entry(ctx, saved[index], hooks, outputs)
    result = _OrderedSaved(packed)
    result.order, result.node_ref = order, weakref.ref(ctx)
    return result


class _Unpacked:
    """A packed entry already unpacked by ``_OrderedSaved`` (for this one read)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _OrderedSaved(tuple):
    """A node's packed saved tuple whose PyTorch counterpart unpacks in another order:
    iterating it (as ``saved_tensors`` and ``saved_arrays`` do) runs the unpack hooks in
    PyTorch's order and yields the results in ember's positions. Only built while hooks
    are set, so plain saving and unpacking never see it."""

    def __iter__(self):
        entries = list(tuple.__iter__(self))
        node = self.node_ref()
        for index in self.order:
            entry = entries[index]
            if type(entry) is _Packed:
                entries[index] = _Unpacked(entry.unpack(node))
        return iter(entries)


# Nodes whose PyTorch counterpart saves their tensors in another order than ember's
# saved tuple lists them (its generated code saves ``other`` before ``self``).
_PACK_ORDER = {
    "MulBackward0": (1, 0), "DivBackward0": (1, 0), "MmBackward0": (1, 0),
    "BmmBackward0": (1, 0), "Atan2Backward0": (1, 0), "MaximumBackward0": (1, 0),
    "MinimumBackward0": (1, 0), "XlogyBackward0": (1, 0),
    "PowBackward1": (1, 0, 2), "PowBackward2": (1, 0, 2),
}


class SavedTensor:
    """``grad_fn._raw_saved_<name>``: one saved tensor of a node, on which a pair of
    pack/unpack hooks can be set after the fact (PyTorch's
    ``torch._C._autograd.SavedTensor``)."""

    __slots__ = ("_index", "_node")

    def __init__(self, node, index):
        self._node, self._index = node, index

    def register_hooks(self, *hooks):
        """``register_hooks(pack_hook, unpack_hook)``: pack the saved tensor now with
        ``pack_hook``; backward (or ``_saved_<name>``) gets it back through
        ``unpack_hook``."""
        if len(hooks) != 2 or not all(callable(hook) for hook in hooks):
            raise TypeError(
                "register_hooks(): incompatible function arguments. The following argument "
                "types are supported:\n    1. (self: torch._C._autograd.SavedTensor, arg0: "
                "collections.abc.Callable, arg1: collections.abc.Callable) -> None"
            )
        node, index = self._node, self._index
        saved = node._saved
        if saved is None:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor after it has been freed. Saved "
                "intermediate values of the graph are freed when you call .backward() or "
                "autograd.grad(). Specify retain_graph=True if you need to backward through "
                "the graph a second time or if you need to access saved variables after "
                "calling backward."
            )
        entry = saved[index]
        if entry is None:
            raise RuntimeError("Calling register_hooks on a saved tensor with value None is forbidden")
        if type(entry) is _Packed:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor whose hooks have already been set. "
                "Hint: only one pair of hooks is allowed at a time."
            )
        packed = _pack_entry(node, entry, hooks, raw=True)
        node._saved = saved[:index] + (packed,) + saved[index + 1:]

    def __repr__(self):
        return f"<torch._C._autograd.SavedTensor object at {id(self):#x}>"



def saved_arrays(ctx):
    """``ctx.saved_tensors`` as backend arrays (no Tensor wrapping) for an
    ``_array_backward``, with the same freed-graph and version checks."""
    saved = ctx._saved
    if saved is None:
        raise RuntimeError(_FREED)
    arrays = []
    for entry in saved:
        kind = type(entry)
        if kind is tuple:
            tensor, version = entry
            if tensor._vc[0] != version:
                ctx._unpack(entry)  # raises the modified-by-inplace error
            arrays.append(tensor._data)
        elif kind is _SavedOutput:
            if entry.vc[0] != entry.version:
                ctx._unpack(entry)
            arrays.append(entry.array)
        elif kind is _Packed or kind is _Unpacked:
            value = entry.unpack(ctx) if kind is _Packed else entry.value
            arrays.append(value._data if isinstance(value, Tensor) else value)
        else:
            arrays.append(entry)
    return arrays


def _raise_modified(node, shape, np_dtype, output_nr, now, expected):
    """PyTorch's error for a saved tensor written in place since it was saved. ``node``
    produced the tensor (None for a leaf): the message names it without its
    ``Backward<N>`` suffix, as PyTorch's does."""
    from .._backend import from_numpy_dtype
    from .engine import _anomaly

    type_name = f"torch.{_legacy_type(from_numpy_dtype(np_dtype))}"
    dims = ", ".join(str(s) for s in shape)
    where = ""
    if node is not None and output_nr is not None:
        name = re.sub(r"Backward\d*$", "", node.name())
        where = f", which is output {output_nr} of {name},"
    if _anomaly[0]:
        hint = ("the backtrace further above shows the operation that failed to compute its "
                "gradient. The variable in question was changed in there or anywhere later. "
                "Good luck!")
    else:
        hint = ("enable anomaly detection to find the operation that failed to compute its "
                "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{type_name} [{dims}]]{where} is at version {now}; expected "
        f"version {expected} instead. Hint: {hint}"
    )


def _legacy_type(d):
    return {
        "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
        "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
        "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
        "bool": "BoolTensor",
    }.get(d.name, d.name)


def _resolve_saved_single(ctx, to_save, args, forward_args, result, out):
    """_resolve_saved for a one-output op (the common case), without per-output loops."""
    saved = []
    for item in to_save:
        if item is None:
            saved.append(None)
            continue
        if item is out or item is result:
            saved.append(_SavedOutput(out, 0, result._vc, 0))
            continue
        entry = item
        index = 0
        for arg in forward_args:
            if item is arg:
                tensor = args[index]
                entry = (tensor, tensor._vc[0]) if isinstance(tensor, Tensor) else tensor
                break
            index += 1  # noqa: SIM113 - a counter, not enumerate's tuple per step (hot path)
        else:
            if isinstance(item, Tensor):
                # a user Function saving the tensor it returns: the same array as the
                # output, which must come back with the output's history (double backward)
                entry = (_SavedOutput(out, 0, result._vc, result._vc[0]) if item._data is out
                         else (item, item._vc[0]))
        saved.append(entry)
    ctx._saved = tuple(saved) if not _default_hooks else _pack_all(ctx, saved, (result,))


def _resolve_saved(ctx, to_save, args, forward_args, outputs, out_arrays):
    saved = []
    for item in to_save:
        if item is None:
            saved.append(None)
            continue
        entry = None
        for index, array in enumerate(out_arrays):
            if item is array or item is outputs[index]:
                out_t = outputs[index]
                entry = _SavedOutput(array, index, out_t._vc, out_t._vc[0])
                break
        if entry is None:
            for index, arg in enumerate(forward_args):
                if item is arg:
                    tensor = args[index]
                    entry = (tensor, tensor._vc[0]) if isinstance(tensor, Tensor) else tensor
                    break
        if entry is None and isinstance(item, Tensor):
            for index, array in enumerate(out_arrays):
                if item._data is array:  # a user Function's own returned tensor
                    out_t = outputs[index]
                    entry = _SavedOutput(array, index, out_t._vc, out_t._vc[0])
                    break
            else:
                entry = (item, item._vc[0])
        if entry is None:
            entry = item
        saved.append(entry)
    ctx._saved = tuple(saved) if not _default_hooks else _pack_all(ctx, saved, outputs)


# -- grad_fn._saved_<name> / _raw_saved_<name> ------------------------------------------

# PyTorch's names for what a node saved, by node name, one per position of ember's saved
# tuple (None: a position PyTorch's node does not expose). Only nodes whose saved tuple
# holds exactly what PyTorch's holds are listed (tests/autograd/test_graph.py checks each
# against torch); "^T" marks Linear's weight, which PyTorch saves transposed.
_SAVED_NAMES = {
    "MulBackward0": ("self", "other"),
    "DivBackward0": ("self", "other"),
    "PowBackward0": ("self", "exponent", None),
    "PowBackward1": ("self", "exponent", "result"),
    "PowBackward2": ("self", "exponent", "result"),
    "MmBackward0": ("self", "mat2"),
    "AddmmBackward0": ("mat1", "mat2"),
    "ClampBackward1": ("self", "min", "max"),
    "GeluBackward0": ("self", None),
    "SiluBackward0": ("self", None),
    "SoftplusBackward0": ("self", None),
    "BmmBackward0": ("self", "mat2"),
    "MvBackward0": ("self", "vec"),
    "DotBackward0": ("self", "tensor"),
    "MseLossBackward0": ("self", "target"),
    "WhereBackward0": ("condition",),
    "LinalgVectorNormBackward0": ("self", "result"),
    "VarBackward0": ("self", None),
    "StdBackward0": ("self", None),
}
for _name in ("Exp", "Exp2", "Expm1", "Tan", "Tanh", "Sigmoid", "Sqrt", "Rsqrt", "Reciprocal",
              "Softmax", "LogSoftmax"):
    _SAVED_NAMES[_name + "Backward0"] = ("result",)
for _name in ("Sin", "Cos", "Log", "Log2", "Log10", "Log1p", "Log1P", "Abs", "Asin", "Acos", "Atan",
              "Sinh", "Cosh", "Erf", "Prod", "LogSigmoid"):
    _SAVED_NAMES[_name + "Backward0"] = ("self",)
for _name in ("Atan2", "Maximum", "Minimum", "Xlogy"):
    _SAVED_NAMES[_name + "Backward0"] = ("self", "other")
_LINEAR_NAMES = {"AddmmBackward0": ("mat1", "mat2^T"), "MmBackward0": ("self", "mat2^T")}
# Saved Scalars (not tensors): PyTorch gives them no ``_raw_saved_<name>``.
_SCALARS = frozenset({("PowBackward0", "exponent"), ("PowBackward2", "self"),
                      ("ClampBackward1", "min"), ("ClampBackward1", "max")})
# Nodes whose Python-number operands PyTorch keeps as 0-d "wrapped number" tensors.
_WRAPPED = frozenset({"MulBackward0", "DivBackward0"})


def _saved_position(node, name):
    node_name = node.name()
    names = (_LINEAR_NAMES if type(node)._op_name == "Linear" else _SAVED_NAMES).get(node_name)
    if names is not None:
        for index, saved_name in enumerate(names):
            if saved_name is not None and saved_name.split("^")[0] == name:
                return index, saved_name.endswith("^T")
    return None, False


def saved_properties():
    """``{attribute: property}`` for every ``_saved_<name>`` / ``_raw_saved_<name>`` some
    node has; each raises AttributeError on nodes without that name. A value a user
    Function stores under such a name on its ctx is kept and read back as set."""
    names = {name.split("^")[0] for table in (_SAVED_NAMES, _LINEAR_NAMES)
             for entry in table.values() for name in entry if name is not None}
    properties = {}
    for name in sorted(names):
        for attr in ("_saved_" + name, "_raw_saved_" + name):
            properties[attr] = property(*_accessors(attr))
    return properties


def _accessors(attr):
    def get(node):
        stored = node.__dict__
        if attr in stored:
            return stored[attr]
        return saved_attribute(node, attr)

    def assign(node, value):
        node.__dict__[attr] = value

    def delete(node):
        try:
            del node.__dict__[attr]
        except KeyError:
            raise AttributeError(attr) from None

    return get, assign, delete


def saved_attribute(node, attr):
    """``node._saved_<name>`` (the unpacked value, as backward would read it) and
    ``node._raw_saved_<name>`` (a SavedTensor); AttributeError for anything else."""
    raw = attr.startswith("_raw_saved_")
    if raw or attr.startswith("_saved_"):
        name = attr[11:] if raw else attr[7:]
        index, transposed = _saved_position(node, name)
        if index is not None and not (raw and (node.name(), name) in _SCALARS):
            if raw:
                return SavedTensor(node, index)
            saved = node._saved
            if saved is None:
                raise RuntimeError(_FREED)
            if index >= len(saved):
                return None
            value = node._unpack(saved[index])
            if type(value) in (int, float, complex) and node.name() in _WRAPPED:
                return _wrapped_number(value)
            return value.t() if transposed else value
    raise AttributeError(f"'{type(node).__name__}' object has no attribute '{attr}'")
