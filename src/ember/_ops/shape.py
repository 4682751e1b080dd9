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
        lead = len(shape) - x.ndim
        strides = (0,) * lead + tuple(
            0 if have == 1 and want != 1 else stride
            for have, want, stride in zip(x.shape, shape[lead:], x.strides)
        )
        # writable like PyTorch's expanded tensors (NumPy's broadcast_to is read-only)
        return xp_of(x).lib.stride_tricks.as_strided(x, shape, strides)

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



def _strided_view(array, shape, byte_strides):
    """A writable view of ``array``'s memory from its first element (byte strides)."""
    return xp_of(array).lib.stride_tricks.as_strided(array, shape, byte_strides)


def _diagonal_view(x, offset, dim1, dim2):
    """The diagonal of dims (dim1, dim2) as a strided view, moved to the last dim."""
    shape, strides = x.shape, x.strides
    n1, n2 = shape[dim1], shape[dim2]
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
        start_dim, start = dim2, min(offset, n2)
    else:
        length = max(0, min(n1 + offset, n2))
        start_dim, start = dim1, min(-offset, n1)
    if length:  # slice so the view's first element is the diagonal's first element
        x = x[(slice(None),) * start_dim + (slice(start, None),)]
    keep = [i for i in range(len(shape)) if i not in (dim1, dim2)]
    new_shape = tuple(shape[i] for i in keep) + (length,)
    new_strides = tuple(strides[i] for i in keep) + (strides[dim1] + strides[dim2],)
    return _strided_view(x, new_shape, new_strides)


class Diagonal(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.meta = (x.shape, offset, dim1, dim2)
        return _diagonal_view(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        shape, offset, dim1, dim2 = ctx.meta
        return DiagonalScatter.apply(grad, shape, offset, dim1, dim2), None, None, None


class DiagonalScatter(Function):
    """zeros(shape) with ``src`` written on a diagonal (diagonal's backward, diag_embed)."""

    _array_io = True

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        ctx.meta = (offset, dim1, dim2)
        out = xp_of(src).zeros(shape, src.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = src
        return out

    @staticmethod
    def backward(ctx, grad):
        offset, dim1, dim2 = ctx.meta
        return Diagonal.apply(grad, offset, dim1, dim2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    ndim = input._data.ndim
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return view_of(Diagonal.apply(input, int(offset), d1, d2), input)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    ndim = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    size = input._data.shape[-1] + abs(int(offset)) if input._data.ndim else 1 + abs(int(offset))
    rest = list(input._data.shape[:-1])
    shape = [0] * ndim
    others = iter(rest)
    for i in range(ndim):
        shape[i] = size if i in (d1, d2) else next(others)
    source = input if input._data.ndim else input.reshape(1)
    return DiagonalScatter.apply(source, tuple(shape), int(offset), d1, d2)


def diag(input, diagonal=0):
    ndim = input._data.ndim
    if ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if ndim == 2:
        return Copy.apply(globals()["diagonal"](input, diagonal, 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {ndim}D")


def trace(input):
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    from .reduce import sum as _sum

    return _sum(diagonal(input))


class Copy(Function):
    """A contiguous copy (the ops that return new memory in PyTorch)."""

    _array_io = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).ascontiguousarray(x).copy() if x.flags.c_contiguous else \
            xp_of(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


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


# -- select, narrow and the splitting family: basic-index views ------------------------------


def _slice_dim(input, dim, index):
    """input[..., index, ...] at ``dim`` through basic indexing (a view)."""
    from .index import getitem

    return getitem(input, (slice(None),) * dim + (index,))


def select(input, dim, index):
    ndim = input._data.ndim
    if ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, ndim)
    size = input._data.shape[dim]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size "
            f"{shape_str(input._data.shape)} at dimension {dim}"
        )
    return _slice_dim(input, dim, index % size if size else index)


def narrow(input, dim, start, length):
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({size})."
        )
    return _slice_dim(input, dim, slice(start, start + length))


def split(tensor, split_size_or_sections, dim=0):
    dim = wrap_dim(dim, tensor._data.ndim)
    size = tensor._data.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and size == 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        bounds = list(range(0, size, step)) if step else [0]
        sections = [min(step, size - b) for b in bounds]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if sum(sections) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sections}"
            )
    outs, start = [], 0
    for length in sections:
        outs.append(_slice_dim(tensor, dim, slice(start, start + length)))
        start += length
    return tuple(outs)


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    step = -(-size // chunks) if size else 1
    return split(input, step, dim) if size else split(input, [0] * 1, dim)


def tensor_split(input, indices_or_sections, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[dim]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(
                f"number of sections must be larger than 0, got {n}"
            )
        base, extra = divmod(size, n)
        bounds, start = [], 0
        for i in range(n):
            stop = start + base + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        cuts = [0] + [int(i) for i in indices_or_sections] + [size]
        bounds = [(max(0, min(a, size)), max(0, min(max(a, b), size))) for a, b in zip(cuts, cuts[1:])]
    return tuple(_slice_dim(input, dim, slice(a, b)) for a, b in bounds)


def _sections_split(fn_name, input, indices_or_sections, dim, min_ndim):
    if input._data.ndim < min_ndim:
        raise RuntimeError(
            f"torch.{fn_name} requires a tensor with at least {min_ndim} dimension, but got a "
            f"tensor with {input._data.ndim} dimensions!"
        )
    if isinstance(indices_or_sections, int):
        size = input._data.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(
                f"torch.{fn_name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {indices_or_sections}!"
            )
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    dim = 0 if input._data.ndim == 1 else 1
    return _sections_split("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input, indices_or_sections):
    return _sections_split("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    return _sections_split("dsplit", input, indices_or_sections, 2, 3)


def unbind(input, dim=0):
    dim = wrap_dim(dim, input._data.ndim)
    return tuple(_slice_dim(input, dim, i) for i in range(input._data.shape[dim]))


class Unfold(Function):
    """``Tensor.unfold(dim, size, step)``: sliding windows as a strided view."""

    _array_io = True

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.meta = (x.shape, dim, size, step)
        count = (x.shape[dim] - size) // step + 1
        shape = x.shape[:dim] + (count,) + x.shape[dim + 1:] + (size,)
        strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1:] + (x.strides[dim],)
        return _strided_view(x, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, size, step = ctx.meta
        return UnfoldBackward.apply(grad, shape, dim, size, step), None, None, None


class UnfoldBackward(Function):
    _array_io = True

    @staticmethod
    def forward(ctx, grad, shape, dim, size, step):
        ctx.meta = (dim, size, step)
        xp = xp_of(grad)
        out = xp.zeros(shape, grad.dtype)
        count = grad.shape[dim]
        # windows may overlap: add each window offset separately (size iterations, not elements)
        moved = xp.moveaxis(grad, -1, dim + 1)
        target = xp.moveaxis(out, dim, -1)
        for k in range(size):
            piece = xp.moveaxis(moved[(slice(None),) * (dim + 1) + (k,)], dim, -1)
            target[..., k:k + step * (count - 1) + 1:step] += piece
        return out

    @staticmethod
    def backward(ctx, grad):
        dim, size, step = ctx.meta
        return Unfold.apply(grad, dim, size, step), None, None, None, None


def unfold(self, dimension, size, step):
    ndim = self._data.ndim
    dim = wrap_dim(dimension, ndim) if ndim else 0
    length = self._data.shape[dim] if ndim else 1
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {dim} is {length} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    source = self if ndim else self.reshape(1)
    return view_of(Unfold.apply(source, dim, int(size), int(step)), self)


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
    return transpose(input, -2, -1)


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


def _conj(tensor):
    return tensor.conj() if tensor._data.dtype.kind == "c" else tensor
