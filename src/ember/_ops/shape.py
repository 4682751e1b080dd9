"""Shape ops. Views (view, reshape when possible, transpose, permute, expand, squeeze,
unsqueeze, ...) share memory and the version counter with their base, as in PyTorch."""

from __future__ import annotations

import numpy as np

from .._backend.dtypes import dtype as _dtype
from .._backend.reshape_view import reshape_view
from .._backend.strided import strided_view
from ..autograd.function import Function, _legacy_type
from ..autograd.grad_mode import _grad_enabled, _inference
from ._util import Tensor, _make, inplace_check, normalize_dims, shape_str, wrap_dim, xp_of

# How a view of a tensor that requires grad was made, when that forbids later in-place use
# in grad mode (PyTorch's CreationMeta): kept in ``Tensor._view_creation`` (None: freely).
NO_GRAD_VIEW = "no_grad"
INFERENCE_VIEW = "inference"
VIEW_OF_NO_GRAD_VIEW = "view of no_grad"
MULTI_OUTPUT_VIEW = "multi-output"  # split/chunk/unbind results (and views of them)
_MULTI = (" This view is the output of a function that returns multiple views. Such "
          "functions do not allow the output views to be modified inplace. You should replace "
          "the inplace operation by an out-of-place one.")


def view_of(out: Tensor, base: Tensor) -> Tensor:
    """Mark ``out`` as a view of ``base``: same version counter, same root base. A view
    of a tensor that requires grad made under no_grad requires grad too, as PyTorch's,
    with no history (a leaf) and a mark that makes in-place use of it in grad mode an
    error; so does a view of such a view."""
    vc = out._vc = base._vc
    root = base._base
    out._base = base if root is None else root
    out._view_vc = vc[0]  # the version its history was recorded at
    if base._requires_grad:
        if not _grad_enabled[0]:
            mark_no_grad_view(out)
        elif root is not None and base._view_creation is not None:
            out._view_creation = (MULTI_OUTPUT_VIEW if base._view_creation == MULTI_OUTPUT_VIEW
                                  else VIEW_OF_NO_GRAD_VIEW)
    return out


def mark_multi_output_views(outs):
    """The recorded outputs of split/chunk/unbind: PyTorch forbids in-place ops on them
    (and on views of them) in grad mode, as one node computes them all."""
    for out in outs:
        if out.grad_fn is not None and out._view_creation is None:
            out._view_creation = MULTI_OUTPUT_VIEW
    return outs


def _op_of(view):
    """``(output number, op name)`` of a view's node, as PyTorch's messages name it."""
    op = "Function" if view.grad_fn is None else view.grad_fn.name()
    return view._output_nr, op.rsplit("::", 1)[-1].split("Backward")[0]


def mark_no_grad_view(out, check_dtype=True):
    """``out``, a view just made without recording from a base that requires grad."""
    if not check_dtype or out._data.dtype.kind in "fcV":  # not a view(dtype) as integers
        out._requires_grad = True
        out._view_creation = INFERENCE_VIEW if _inference[0] else NO_GRAD_VIEW


_CLARIFY = (
    " Given that this use case is ambiguous and error-prone, it is forbidden. You can "
    "clarify your code by moving both the view and the inplace either both inside the "
    "{block} block (if you don't want the inplace to be tracked) or both outside (if you "
    "want the inplace to be tracked)."
)


def check_view_inplace(view):
    """PyTorch's error for an in-place op in grad mode on a view made under no_grad or
    inference mode, or on a view of such a view."""
    creation = view._view_creation
    if creation is None:
        return
    if creation == INFERENCE_VIEW:
        raise RuntimeError("A view was created in inference mode and is being modified "
                           "inplace in normal mode." + _CLARIFY.format(block="inference_mode"))
    if creation == NO_GRAD_VIEW:
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace "
                           "with grad mode enabled." + _CLARIFY.format(block="no_grad"))
    nr, op = _op_of(view)
    if creation == MULTI_OUTPUT_VIEW:
        raise RuntimeError(f"Output {nr} of {op} is a view and is being modified inplace." +
                           _MULTI)
    raise RuntimeError(
        f"Output {nr} of {op} is a view of a view which was created in no_grad mode and is "
        "being modified inplace with grad mode enabled." + _CLARIFY.format(block="no_grad"))


def check_view_rebased(view):
    """PyTorch's error when a view made under no_grad (or inference mode), or a view of
    one, is used in grad mode after it, its base or another view of the base was
    modified in place: its history cannot be regenerated."""
    creation = view._view_creation
    if creation is None:
        return
    if creation == MULTI_OUTPUT_VIEW:
        nr, op = _op_of(view)
        raise RuntimeError(f"Output {nr} of {op} is a view and its base or another view of its "
                           "base has been modified inplace." + _MULTI)
    if creation == INFERENCE_VIEW:
        raise RuntimeError(
            "A view was created in inference mode and its base or another view of its base "
            "has been modified inplace in normal mode." +
            _CLARIFY.format(block="inference_mode"))
    raise RuntimeError(
        "A view was created in no_grad mode and its base or another view of its base has "
        "been modified inplace with grad mode enabled." + _CLARIFY.format(block="no_grad"))


def _infer_shape(shape, numel):
    """Resolve one -1 in ``shape``; RuntimeError naming the shape when it cannot fit."""
    shape = list(shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if unknown:
        if known == 0 and numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {shape_str(shape)} because "
                "the unspecified dimension size -1 can be any value and is ambiguous"
            )
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{shape_str(shape)}' is invalid for input of size {numel}")
        shape[unknown[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{shape_str(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


class View(Function):
    """Same memory, new shape (``view`` and the view path of ``reshape``)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        out = reshape_view(x, shape)
        if out is None:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        return out

    _adjoint = None  # the squeeze/unsqueeze that undoes a squeeze/unsqueeze

    @classmethod
    def backward(cls, ctx, grad):
        if cls._adjoint is not None:
            # Adding or dropping size-1 dims is a view of any strides: the gradient's node
            # is the inverse op, as PyTorch's (SqueezeBackward1 under an unsqueeze, ...)
            return cls._adjoint.apply(grad, ctx.input_shape), None
        return grad.reshape(ctx.input_shape), None

    @staticmethod
    def _array_backward(ctx, grad):
        return grad.reshape(ctx.input_shape), None


class Squeeze(View):
    """View under PyTorch's node name (``grad_fn=<SqueezeBackward0>``)."""


class _SqueezeDim(View):
    _node_name = "SqueezeBackward1"  # squeeze(int), as PyTorch names it


class _SqueezeDims(View):
    _node_name = "SqueezeBackward2"  # squeeze(tuple of dims)


class Unsqueeze(View):
    pass


Squeeze._adjoint = _SqueezeDim._adjoint = _SqueezeDims._adjoint = Unsqueeze
Unsqueeze._adjoint = _SqueezeDim


class UnsafeView(View):
    """The copying path of ``reshape`` (PyTorch's ``UnsafeViewBackward0``)."""


class Transpose(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        return xp_of(x).swapaxes(x, dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.dims), None, None


class T(Transpose):
    """``t()``: a transpose under PyTorch's node name (``TBackward0``)."""


class Permute(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.permute(*inverse), None


class Expand(Function):
    """Broadcast to a larger shape without copying (stride 0)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, shape):  # ctx unused: expand calls it with None when nothing records
        lead = len(shape) - x.ndim
        strides = (0,) * lead + tuple(
            0 if have == 1 and want != 1 else stride
            for have, want, stride in zip(x.shape, shape[lead:], x.strides)
        )
        if type(x) is np.ndarray and x.flags.c_contiguous:
            # the same view built directly: as_strided's Python wrapper costs ~2.5 us
            return np.ndarray(shape, x.dtype, x, 0, strides)
        # writable like PyTorch's expanded tensors (NumPy's broadcast_to is read-only)
        return strided_view(x, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast dims back


def _plain_view(tensor, shape):
    """``tensor`` viewed as ``shape`` with nothing to record, or None (a graph to record,
    or a shape the memory layout cannot give without a copy: View.apply raises then)."""
    if tensor._requires_grad and _grad_enabled[0] or tensor.is_quantized:
        return None  # a QuantizedTensor: View.apply keeps its quantizer (_quantized_dispatch)
    out = reshape_view(tensor._data, shape)
    if out is None:
        return None
    return view_of(_make(out), tensor)


def view(self, *shape, size=None, dtype=None):
    if size is not None or dtype is not None:  # the keyword spellings view(size=...)
        shape = (size if dtype is None else dtype,)
    if len(shape) == 1 and isinstance(shape[0], _dtype):
        from .index import view_dtype

        return view_dtype(self, shape[0])
    shape = _infer_shape(_shape_arg(shape), self._data.size)
    plain = _plain_view(self, shape)
    return plain if plain is not None else view_of(View.apply(self, shape), self)


def _can_view(array, shape):
    return reshape_view(array, shape) is not None


def reshape(input, *sizes, shape=None):
    shape = _infer_shape(_shape_arg(sizes if shape is None else (shape,)), input._data.size)
    plain = _plain_view(input, shape)
    if plain is not None:
        return plain
    if _can_view(input._data, shape):
        return view_of(View.apply(input, shape), input)
    return UnsafeView.apply(input.contiguous(), shape)


def transpose(input, dim0, dim1):
    ndim = input._data.ndim
    d0, d1 = wrap_dim(dim0, ndim), wrap_dim(dim1, ndim)
    return view_of(Transpose.apply(input, d0, d1), input)


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    if input._data.ndim < 2:
        return view_of(View.apply(input, input._data.shape), input)
    return view_of(T.apply(input, 0, 1), input)


def permute(input, *args, dims=None):
    dims = _shape_arg(args if dims is None else (dims,))
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not "
            f"equal to len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return view_of(Permute.apply(input, dims), input)


def expand(self, *sizes, size=None):
    sizes = _shape_arg(sizes if size is None else (size,))
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(torch.{_legacy_type(self.dtype)}{{{shape_str(shape)}}}, "
            f"size={shape_str(sizes)}): the number "
            f"of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, size in enumerate(sizes):
        if i < lead:
            if size < 0:
                raise RuntimeError(
                    f"The expanded size of the tensor ({size}) isn't allowed in a leading, "
                    "non-existing dimension 0"
                )
            target.append(size)
            continue
        have = shape[i - lead]
        if size == -1:
            size = have
        elif have != size and have != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({size}) must match the existing size ({have}) "
                f"at non-singleton dimension {i}.  Target sizes: {shape_str(sizes)}.  Tensor "
                f"sizes: {shape_str(shape)}"
            )
        target.append(size)
    target = tuple(target)
    if self._requires_grad and _grad_enabled[0]:
        return view_of(Expand.apply(self, target), self)
    return view_of(_make(Expand.forward(None, self._data, target)), self)


def squeeze(input, dim=None):
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
        node = Squeeze
    else:
        dims = normalize_dims(dim, len(shape)) if len(shape) else ()
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        node = _SqueezeDims if isinstance(dim, (tuple, list)) else _SqueezeDim
    return view_of(node.apply(input, new), input)


def unsqueeze(input, dim):
    shape = list(input._data.shape)
    dim = wrap_dim(dim, len(shape) + 1)
    shape.insert(dim, 1)
    return view_of(Unsqueeze.apply(input, tuple(shape)), input)


def flatten(input, start_dim=0, end_dim=-1):
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    start = wrap_dim(start_dim, len(shape))
    end = wrap_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    size = 1
    for s in shape[start:end + 1]:
        size *= s
    return reshape(input, shape[:start] + (size,) + shape[end + 1:])



# -- aliases and composites that stay views -------------------------------------------------


def swapaxes(input, axis0, axis1):
    return transpose(input, axis0, axis1)


def movedim(input, source, destination):
    ndim = input._data.ndim
    if isinstance(source, int) != isinstance(destination, int):
        raise TypeError(
            "movedim() received an invalid combination of arguments - got "
            f"({type(source).__name__}, {type(destination).__name__})"
        )
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    src = [wrap_dim(d, ndim) for d in src]
    dst = [wrap_dim(d, ndim) for d in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination)})")
    order = [None] * ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(ndim) if i not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, *order)


def unflatten(input, dim, sizes):
    shape = list(input._data.shape)
    dim = wrap_dim(dim, len(shape))
    sizes = list(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if -1 in sizes:
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        sizes[sizes.index(-1)] = shape[dim] // known if known else 0
    product = 1
    for s in sizes:
        product *= s
    if product != shape[dim]:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({shape[dim]}) in the input tensor"
        )
    return view(input, tuple(shape[:dim] + sizes + shape[dim + 1:]))


def view_as(self, other):
    return view(self, tuple(other._data.shape))


def reshape_as(self, other):
    return reshape(self, tuple(other._data.shape))


def expand_as(self, other):
    return expand(self, tuple(other._data.shape))


def broadcast_shapes(*shapes):
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape):
            pos = ndim - len(shape) + i
            if size == result[pos] or size == 1:
                continue
            if result[pos] == 1:
                result[pos] = size
                continue
            raise RuntimeError(
                f"Shape mismatch: objects cannot be broadcast to a single shape.  Mismatch is "
                f"between arg 0 and arg {shapes.index(shape)}."
            )
    from .._tensor import Size

    return Size(result)


def broadcast_to(input, size):
    return expand(input, tuple(size))


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _broadcast_shape_of(tensors)
    return tuple(expand(t, shape) for t in tensors)


def _broadcast_shape_of(tensors):
    ndim = max(t._data.ndim for t in tensors)
    result = [1] * ndim
    for t in tensors:
        for i, size in enumerate(t._data.shape):
            pos = ndim - t._data.ndim + i
            if size != result[pos] and size != 1:
                if result[pos] != 1:
                    raise RuntimeError(
                        f"The size of tensor a ({result[pos]}) must match the size of tensor b "
                        f"({size}) at non-singleton dimension {pos}"
                    )
                result[pos] = size
    return tuple(result)


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: " + repr(t)
            )
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t._data.shape[0] for t in flat)
    outs = []
    for i, t in enumerate(flat):
        view_shape = [1] * len(flat)
        view_shape[i] = -1
        outs.append(expand(t.view(*view_shape), shape))
    if swap:
        outs[0], outs[1] = outs[1], outs[0]
    return tuple(outs)


def _atleast(n, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    items = tensors if not (len(tensors) == 1 and isinstance(tensors[0], (list, tuple))) \
        else tuple(tensors[0])
    outs = []
    for t in items:
        shape = t._data.shape
        if len(shape) >= n:
            outs.append(t)
        elif n == 1:
            outs.append(reshape(t, (1,)))
        elif n == 2:
            outs.append(reshape(t, (1,) * (2 - len(shape)) + shape))
        elif len(shape) == 0:
            outs.append(reshape(t, (1, 1, 1)))
        elif len(shape) == 1:
            outs.append(reshape(t, (1, shape[0], 1)))
        else:
            outs.append(unsqueeze(t, -1))
    return outs[0] if single else tuple(outs)


def atleast_1d(*tensors):
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    return _atleast(3, tensors)



from .shape_slices import *  # noqa: E402,F401,F403 - slicing views: select, split, diagonal
from .shape_slices import (  # noqa: E402
    chunk, diag, diag_embed, diagonal, dsplit, hsplit, narrow, select, split, tensor_split,
    trace, unbind, unfold, vsplit,
)
from .shape_copy import *  # noqa: E402,F401,F403 - the copying half of the family
from . import shape_copy as _copy  # noqa: E402

__all__ = [
    "reshape", "transpose", "t", "permute", "squeeze", "unsqueeze", "flatten", "unflatten",
    "swapaxes", "swapdims", "movedim", "moveaxis", "broadcast_to", "broadcast_tensors",
    "broadcast_shapes", "meshgrid", "atleast_1d", "atleast_2d", "atleast_3d", "select",
    "narrow", "split", "chunk", "tensor_split", "hsplit", "vsplit", "dsplit", "unbind",
    "diagonal", "diag_embed", "diag", "trace", "adjoint",
] + _copy.__all__

swapdims = swapaxes
moveaxis = movedim


def adjoint(input):
    """The conjugate transpose of the last two dims (a plain transpose for real tensors)."""
    return _conj(transpose(input, -2, -1))


TENSOR_METHODS = {
    "view": view, "reshape": reshape, "transpose": transpose, "t": t, "permute": permute,
    "expand": expand, "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten,
    "unflatten": unflatten, "swapaxes": swapaxes, "swapdims": swapaxes, "movedim": movedim,
    "moveaxis": movedim, "view_as": view_as, "reshape_as": reshape_as, "expand_as": expand_as,
    "broadcast_to": broadcast_to, "select": select, "narrow": narrow, "split": split,
    "chunk": chunk, "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit,
    "dsplit": dsplit, "unbind": unbind, "diagonal": diagonal, "diag_embed": diag_embed,
    "diag": diag, "trace": trace, "unfold": unfold, "adjoint": adjoint,
    "T": property(lambda self: permute(self, *reversed(range(self._data.ndim)))),
    "mT": property(lambda self: transpose(self, -2, -1)),
    "H": property(lambda self: _conj(permute(self, *reversed(range(self._data.ndim))))),
    "mH": property(lambda self: _conj(transpose(self, -2, -1))),
    **_copy.TENSOR_METHODS,
}


def _inplace_view(op):
    """``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``: ``self`` takes the view's
    layout and history; the version is bumped as PyTorch does."""

    def method(self, *args, **kwargs):
        inplace_check(self)
        base = self._base
        if base is not None and base._requires_grad and base.grad_fn is None and \
                _grad_enabled[0]:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )
        result = op(self, *args, **kwargs)
        self._data = result._data
        if result._requires_grad:
            self.grad_fn = result.grad_fn
            self._output_nr = result._output_nr
        self._vc[0] += 1
        return self

    method.__name__ = op.__name__ + "_"
    return method


TENSOR_METHODS.update({
    "t_": _inplace_view(t), "transpose_": _inplace_view(transpose),
    "squeeze_": _inplace_view(squeeze), "unsqueeze_": _inplace_view(unsqueeze),
    "swapaxes_": _inplace_view(swapaxes), "swapdims_": _inplace_view(swapaxes),
})


def _conj(tensor):
    return tensor.conj() if tensor._data.dtype.kind == "c" else tensor
