"""Saved tensors: what ``ctx.save_for_backward`` keeps and how backward gets it back.

An input is kept as the Tensor itself with the version it had; an output only as its
array and version counter (``_SavedOutput``), rebuilt with ``grad_fn=ctx`` when unpacked,
so no reference cycle forms. Unpacking checks the versions and raises PyTorch's
modified-by-an-inplace-operation error; ``saved_arrays`` is the same for backward
functions that work on arrays.
"""

from __future__ import annotations

from .._tensor import Tensor

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
        else:
            arrays.append(entry)
    return arrays


def _raise_modified(node, shape, np_dtype, output_nr, now, expected):
    from .._backend import from_numpy_dtype

    type_name = f"torch.{_legacy_type(from_numpy_dtype(np_dtype))}"
    dims = ", ".join(str(s) for s in shape)
    where = f", which is output {output_nr} of {node.name()}," if output_nr is not None else ""
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{type_name} [{dims}]]{where} is at version {now}; expected "
        f"version {expected} instead. Hint: the backtrace further above can point at the "
        "operation that failed to compute its gradient."
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
            index += 1
        else:
            if isinstance(item, Tensor):
                # a user Function saving the tensor it returns: the same array as the
                # output, which must come back with the output's history (double backward)
                entry = (_SavedOutput(out, 0, result._vc, result._vc[0]) if item._data is out
                         else (item, item._vc[0]))
        saved.append(entry)
    ctx._saved = tuple(saved)


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
    ctx._saved = tuple(saved)
