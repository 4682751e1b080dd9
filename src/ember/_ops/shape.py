"""Shape ops. Views (view, reshape when possible, transpose, permute, expand, squeeze,
unsqueeze, ...) share memory and the version counter with their base, as in PyTorch."""

from __future__ import annotations

from ..autograd.function import Function
from ._util import Tensor, normalize_dims, shape_str, wrap_dim, xp_of


def view_of(out: Tensor, base: Tensor) -> Tensor:
    """Mark ``out`` as a view of ``base``: same version counter, same root base."""
    out._vc = base._vc
    out._base = base._base if base._base is not None else base
    return out


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
        out = x.view()
        try:
            out.shape = shape
        except AttributeError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape), None


class Transpose(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        return xp_of(x).swapaxes(x, dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.dims), None, None


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
    def forward(ctx, x, shape):
        return xp_of(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast dims back


def view(self, *shape):
    from .._backend import dtypes as _dt

    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        from .index import view_dtype

        return view_dtype(self, shape[0])
    shape = _infer_shape(_shape_arg(shape), self._data.size)
    return view_of(View.apply(self, shape), self)


def _can_view(array, shape):
    probe = array.view()
    try:
        probe.shape = shape
    except AttributeError:
        return False
    return True


def reshape(input, *shape):
    shape = _infer_shape(_shape_arg(shape), input._data.size)
    if _can_view(input._data, shape):
        return view_of(View.apply(input, shape), input)
    return View.apply(input.contiguous(), shape)


def transpose(input, dim0, dim1):
    ndim = input._data.ndim
    d0, d1 = wrap_dim(dim0, ndim), wrap_dim(dim1, ndim)
    return view_of(Transpose.apply(input, d0, d1), input)


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    if input._data.ndim < 2:
        return view_of(View.apply(input, input._data.shape), input)
    return transpose(input, 0, 1)


def permute(input, *dims):
    dims = _shape_arg(dims)
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


def expand(self, *sizes):
    sizes = _shape_arg(sizes)
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{shape_str(shape)}}}, size={shape_str(sizes)}): the number "
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
    return view_of(Expand.apply(self, tuple(target)), self)


def squeeze(input, dim=None):
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = normalize_dims(dim, len(shape)) if len(shape) else ()
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return view_of(View.apply(input, new), input)


def unsqueeze(input, dim):
    shape = list(input._data.shape)
    dim = wrap_dim(dim, len(shape) + 1)
    shape.insert(dim, 1)
    return view_of(View.apply(input, tuple(shape)), input)


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


__all__ = ["reshape", "transpose", "t", "permute", "squeeze", "unsqueeze", "flatten"]

TENSOR_METHODS = {
    "view": view, "reshape": reshape, "transpose": transpose, "t": t, "permute": permute,
    "expand": expand, "squeeze": squeeze, "unsqueeze": unsqueeze, "flatten": flatten,
    "T": property(lambda self: permute(self, *reversed(range(self._data.ndim)))),
    "mT": property(lambda self: transpose(self, -2, -1)),
}
