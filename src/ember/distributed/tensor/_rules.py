"""Sharding rules: for an op's DTensor arguments, the placements they must take and the
placements and global shape of the result (PyTorch's sharding propagation, written per op
family). A rule returns None when it has nothing better than gathering to Replicate.

Every rule works one mesh dimension at a time, so a 2-D mesh (dp x tp) composes the
same choices per dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._redistribute import local_shape_and_offset
from .placement_types import Partial, Replicate, Shard

__all__ = ["RULES", "Plan", "replicate_plan"]

R = Replicate()


@dataclass
class Plan:
    targets: list  # per DTensor argument (flattened order): its placements for the op
    out: tuple  # the result's placements
    shape: tuple | None = None  # the result's global shape; None: the local one (replicated)
    call: object = None  # a replacement for the op on local pieces


def replicate_plan(dtensors) -> Plan:
    mesh = dtensors[0].device_mesh
    return Plan([(R,) * mesh.ndim for _ in dtensors], (R,) * mesh.ndim)


def _broadcast_shapes(shapes) -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for index, size in enumerate(shape):
            position = ndim - len(shape) + index
            if size != 1:
                if out[position] not in (1, size):
                    return None
                out[position] = size
    return tuple(out)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, complex, bool))


# -- pointwise -------------------------------------------------------------------------------

_ADD_LIKE = frozenset({"add", "sub", "subtract", "__add__", "__sub__", "__radd__", "add_",
                       "sub_", "__iadd__", "__isub__"})
_SCALE_LIKE = frozenset({"mul", "multiply", "div", "divide", "true_divide", "__mul__",
                         "__rmul__", "__truediv__", "neg", "negative", "__neg__", "mul_",
                         "div_", "neg_", "__imul__", "__itruediv__", "__pos__", "positive"})


def _partial_survives(name, dtensors, args, kwargs, reduce_op) -> bool:
    """Whether the op is linear in its Partial arguments (so the terms may stay terms)."""
    if reduce_op not in ("sum", "avg"):
        return False
    operands = [a for a in args if a is not None]
    if name in _ADD_LIKE:
        return all(not _is_number(a) for a in operands[:2])
    if name in _SCALE_LIKE:
        if len(dtensors) != 1 or args[0] is not dtensors[0]:
            return False
        return all(_is_number(a) for a in operands[1:2])
    return False


def pointwise(name, dtensors, args, kwargs):
    shapes = [tuple(d.shape) for d in dtensors]
    out_shape = _broadcast_shapes(shapes)
    if out_shape is None:
        return None
    mesh = dtensors[0].device_mesh
    ndim = len(out_shape)
    targets = [[] for _ in dtensors]
    out = []
    for mesh_dim in range(mesh.ndim):
        shard_dim = None
        for dtensor, shape in zip(dtensors, shapes):
            placement = dtensor.placements[mesh_dim]
            if placement.is_shard() and shape[placement.dim] == out_shape[
                    placement.dim + ndim - len(shape)]:
                shard_dim = placement.dim + ndim - len(shape)
                break
        placements = [d.placements[mesh_dim] for d in dtensors]
        if shard_dim is not None:
            out.append(Shard(shard_dim))
            for index, shape in enumerate(shapes):
                own = shard_dim - (ndim - len(shape))
                fits = own >= 0 and shape[own] == out_shape[shard_dim]
                targets[index].append(Shard(own) if fits else R)
        elif all(p.is_partial() for p in placements) and len(set(placements)) == 1 and \
                _partial_survives(name, dtensors, args, kwargs, placements[0].reduce_op):
            out.append(placements[0])
            for target in targets:
                target.append(placements[0])
        else:
            out.append(R)
            for target in targets:
                target.append(R)
    return Plan([tuple(t) for t in targets], tuple(out), out_shape)


POINTWISE = (
    "add sub subtract mul multiply div divide true_divide neg negative positive abs exp "
    "exp2 expm1 log log1p log2 log10 sqrt rsqrt square pow float_power sin cos tan tanh "
    "sigmoid relu relu6 gelu silu mish elu selu celu leaky_relu hardtanh hardswish "
    "hardsigmoid softplus softsign logsigmoid tanhshrink erf erfc erfinv reciprocal sign "
    "sgn floor ceil round trunc frac clamp clip clamp_min clamp_max maximum minimum fmax "
    "fmin where lerp addcmul addcdiv eq ne lt le gt ge equal logical_and logical_or "
    "logical_not logical_xor bitwise_and bitwise_or bitwise_xor bitwise_not isnan isinf "
    "isfinite nan_to_num masked_fill remainder fmod atan2 hypot copysign xlogy "
    "threshold zeros_like ones_like empty_like full_like rand_like randn_like "
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ "
    "__floordiv__ __rfloordiv__ __pow__ __rpow__ __neg__ __pos__ __abs__ __mod__ "
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __and__ __or__ __xor__ __invert__ "
    "__iadd__ __isub__ __imul__ __itruediv__ floor_divide copy_ zero_ fill_ "
).split()


# -- reductions ------------------------------------------------------------------------------

_REDUCE_OP = {"sum": "sum", "mean": "avg", "amax": "max", "amin": "min", "max": "max",
              "min": "min", "nansum": "sum"}


def _arg(args, kwargs, position, key, default=None):
    if len(args) > position:
        return args[position]
    return kwargs.get(key, default)


def _dims(dim, ndim) -> tuple:
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(sorted(d % max(ndim, 1) for d in dim))


def reduction(name, dtensors, args, kwargs):
    source = dtensors[0]
    if args[0] is not source or len(dtensors) != 1:
        return None
    dim = _arg(args, kwargs, 1, "dim")
    if name in ("max", "min") and dim is not None:
        return None  # (values, indices): gathered
    if dim is not None and not isinstance(dim, (int, tuple, list)):
        return None  # sum(dtype) style positional
    keepdim = bool(_arg(args, kwargs, 2, "keepdim", False))
    shape = tuple(source.shape)
    dims = _dims(dim, len(shape))
    mesh = source.device_mesh
    out_shape = tuple(1 if d in dims else size for d, size in enumerate(shape)) if keepdim \
        else tuple(size for d, size in enumerate(shape) if d not in dims)
    target, out = [], []
    op = _REDUCE_OP[name]
    for mesh_dim, placement in enumerate(source.placements):
        if placement.is_shard():
            if placement.dim in dims:
                if op == "avg" and shape[placement.dim] % mesh.size(mesh_dim):
                    target.append(R)
                    out.append(R)  # a mean of uneven pieces is not the mean of means
                else:
                    target.append(placement)
                    out.append(Partial(op))
            else:
                kept = placement.dim if keepdim else \
                    placement.dim - sum(1 for d in dims if d < placement.dim)
                target.append(placement)
                out.append(Shard(kept))
        elif placement.is_partial() and (
                (op in ("sum", "avg") and placement.reduce_op in ("sum", "avg"))
                or op == placement.reduce_op):
            target.append(placement)
            out.append(placement)
        else:
            target.append(R)
            out.append(R)
    return Plan([tuple(target)], tuple(out), out_shape)


# -- matrix products ---------------------------------------------------------------------------

def _matmul_plan(a, b, b_transposed, bias, mesh):
    """Placements for ``a[..., m, k] @ B`` with B 2-D (``b`` itself, or ``b.T`` when
    ``b_transposed``: linear's weight), and a bias added to the result."""
    na = a.ndim
    k_dim_b, n_dim_b = (1, 0) if b_transposed else (0, 1)
    out_ndim = na
    targets_a, targets_b, targets_bias, out = [], [], [], []
    for mesh_dim in range(mesh.ndim):
        pa, pb = a.placements[mesh_dim], b.placements[mesh_dim]
        a_rows = pa.is_shard() and pa.dim != na - 1
        a_k = pa.is_shard(na - 1)
        b_k, b_n = pb.is_shard(k_dim_b), pb.is_shard(n_dim_b)
        if a_rows:
            ta, tb, to = pa, R, Shard(pa.dim)
        elif b_n:
            ta, tb, to = R, pb, Shard(out_ndim - 1)
        elif a_k or b_k:
            ta, tb, to = Shard(na - 1), Shard(k_dim_b), Partial("sum")
        elif pa.is_partial("sum") and pb.is_replicate():
            ta, tb, to = pa, R, pa
        elif pb.is_partial("sum") and pa.is_replicate():
            ta, tb, to = R, pb, pb
        else:
            ta, tb, to = R, R, R
        targets_a.append(ta)
        targets_b.append(tb)
        out.append(to)
        if bias is not None:
            if to.is_partial():
                targets_bias.append(Partial("sum"))
            elif to.is_shard():
                own = to.dim - (out_ndim - bias.ndim)
                fits = own >= 0 and bias.shape[own] != 1
                targets_bias.append(Shard(own) if fits else R)
            else:
                targets_bias.append(R)
    return tuple(targets_a), tuple(targets_b), tuple(targets_bias), tuple(out)


def _order(dtensors, placements_by_id):
    return [placements_by_id[id(d)] for d in dtensors]


def matmul(name, dtensors, args, kwargs):
    a, b = args[0], args[1]
    if len(dtensors) != 2 or a is not dtensors[0] or b is not dtensors[1]:
        return None
    if a.ndim < 2 or b.ndim != 2 or a is b:
        return None
    mesh = a.device_mesh
    ta, tb, _, out = _matmul_plan(a, b, False, None, mesh)
    shape = tuple(a.shape[:-1]) + (b.shape[1],)
    return Plan([ta, tb], out, shape)


def linear(name, dtensors, args, kwargs):
    x, weight = args[0], args[1]
    bias = _arg(args, kwargs, 2, "bias")
    expected = 3 if bias is not None else 2
    if len(dtensors) != expected or x is not dtensors[0] or weight is not dtensors[1]:
        return None
    if x.ndim < 2 or weight.ndim != 2:
        return None
    ta, tw, tb, out = _matmul_plan(x, weight, True, bias, x.device_mesh)
    shape = tuple(x.shape[:-1]) + (weight.shape[0],)
    targets = [ta, tw] + ([tb] if bias is not None else [])
    return Plan(targets, out, shape)


def addmm(name, dtensors, args, kwargs):
    bias, a, b = args[0], args[1], args[2]
    if len(dtensors) != 3 or [id(d) for d in dtensors] != [id(bias), id(a), id(b)]:
        return None
    if a.ndim != 2 or b.ndim != 2:
        return None
    ta, tb, tbias, out = _matmul_plan(a, b, False, bias, a.device_mesh)
    return Plan([tbias, ta, tb], out, (a.shape[0], b.shape[1]))


# -- views -------------------------------------------------------------------------------------

def _view_groups(in_shape, out_shape):
    """Pairs (input dims, output dims) whose products match, left to right."""
    groups, i, j = [], 0, 0
    while i < len(in_shape) or j < len(out_shape):
        in_dims, out_dims = [], []
        in_size = out_size = 1
        while True:
            if in_size <= out_size and i < len(in_shape):
                in_size *= in_shape[i]
                in_dims.append(i)
                i += 1
            elif j < len(out_shape):
                out_size *= out_shape[j]
                out_dims.append(j)
                j += 1
            else:
                break
            if in_size == out_size and in_dims and out_dims and not (
                    i < len(in_shape) and in_shape[i] == 1 and j >= len(out_shape)):
                break
        groups.append((in_dims, out_dims))
    return groups


def _resolve_shape(shape, numel) -> tuple:
    shape = list(shape)
    if shape.count(-1) == 1:
        known = math.prod(s for s in shape if s != -1)
        shape[shape.index(-1)] = numel // known if known else 0
    return tuple(shape)


def _view_map(in_shape, out_shape, mesh_dim_size, dim):
    """Where a Shard(dim) goes through a reshape, None where the pieces would not stay
    ``torch.chunk`` pieces."""
    for in_dims, out_dims in _view_groups(in_shape, out_shape):
        if dim in in_dims:
            if not out_dims:
                return None
            if in_dims == [dim] and len(out_dims) == 1:
                return out_dims[0]
            if in_dims[0] == dim and in_shape[dim] % mesh_dim_size == 0 \
                    and out_shape[out_dims[0]] % mesh_dim_size == 0:
                return out_dims[0]
            return None
    return None


def _mapped_plan(source, mapping, out_shape, call=None, op=None):
    """A Plan for a view whose Shard(d) becomes Shard(mapping(d)); a view never moves
    data, so a shard that cannot stay a shard is an error (as PyTorch's)."""
    mesh = source.device_mesh
    target, out = [], []
    for mesh_dim, placement in enumerate(source.placements):
        if placement.is_shard():
            moved = mapping(placement.dim, mesh.size(mesh_dim))
            if moved is None:
                raise RuntimeError(f"{op}: the shape {tuple(source.shape)} -> "
                                   f"{tuple(out_shape)} would split or merge the sharded "
                                   f"dimension {placement.dim} ({placement}) into uneven "
                                   f"pieces; redistribute it first")
            else:
                target.append(placement)
                out.append(Shard(moved))
        else:
            target.append(placement)
            out.append(placement)
    return Plan([tuple(target)], tuple(out), tuple(out_shape), call)


def reshape(name, dtensors, args, kwargs):
    source = args[0]
    if len(dtensors) != 1 or source is not dtensors[0]:
        return None
    in_shape = tuple(source.shape)
    if name == "flatten":
        start = _arg(args, kwargs, 1, "start_dim", 0) % max(len(in_shape), 1)
        end = _arg(args, kwargs, 2, "end_dim", -1) % max(len(in_shape), 1)
        wanted = in_shape[:start] + (math.prod(in_shape[start:end + 1]),) + in_shape[end + 1:]
    else:
        rest = args[1:] if len(args) > 1 else (kwargs.get("shape") or kwargs.get("size"),)
        wanted = tuple(rest[0]) if len(rest) == 1 and isinstance(rest[0], (tuple, list)) \
            else tuple(rest)
        if not all(isinstance(s, int) for s in wanted):
            return None  # view(dtype)
    out_shape = _resolve_shape(wanted, math.prod(in_shape))
    if math.prod(out_shape) != math.prod(in_shape):
        return None  # let the op raise its own error on the whole tensor
    plan = _mapped_plan(source, lambda d, n: _view_map(in_shape, out_shape, n, d), out_shape,
                        op=name)
    mesh = source.device_mesh

    def call(local, *_args, **_kwargs):
        local_shape, _ = local_shape_and_offset(out_shape, mesh, plan.out)
        return local.reshape(local_shape) if name in ("reshape", "flatten") \
            else local.view(local_shape)
    plan.call = call
    return plan


def transpose(name, dtensors, args, kwargs):
    source = args[0]
    if len(dtensors) != 1 or source is not dtensors[0]:
        return None
    ndim = source.ndim
    shape = list(source.shape)
    if name == "t":
        if ndim < 2:
            return Plan([source.placements], source.placements, tuple(shape))
        first, second = 0, 1
    else:
        first = _arg(args, kwargs, 1, "dim0") % ndim
        second = _arg(args, kwargs, 2, "dim1") % ndim
    order = list(range(ndim))
    order[first], order[second] = order[second], order[first]
    out_shape = [shape[d] for d in order]
    return _mapped_plan(source, lambda d, n: order.index(d), out_shape)


def permute(name, dtensors, args, kwargs):
    source = args[0]
    if len(dtensors) != 1 or source is not dtensors[0]:
        return None
    dims = args[1:] if len(args) > 1 else (kwargs.get("dims"),)
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) \
        else tuple(dims)
    order = [d % source.ndim for d in dims]
    out_shape = [source.shape[d] for d in order]
    return _mapped_plan(source, lambda d, n: order.index(d), out_shape)


def unsqueeze(name, dtensors, args, kwargs):
    source = args[0]
    if len(dtensors) != 1 or source is not dtensors[0]:
        return None
    dim = _arg(args, kwargs, 1, "dim") % (source.ndim + 1)
    out_shape = list(source.shape)
    out_shape.insert(dim, 1)
    return _mapped_plan(source, lambda d, n: d + (d >= dim), out_shape)


def squeeze(name, dtensors, args, kwargs):
    source = args[0]
    if len(dtensors) != 1 or source is not dtensors[0]:
        return None
    shape = list(source.shape)
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        gone = {d for d, s in enumerate(shape) if s == 1}
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        gone = {d % len(shape) for d in dims if shape[d % len(shape)] == 1}
    out_shape = [s for d, s in enumerate(shape) if d not in gone]
    return _mapped_plan(source, lambda d, n: None if d in gone else
                        d - sum(1 for g in gone if g < d), out_shape, op=name)


# -- nn ops ------------------------------------------------------------------------------------

def _last_dims_kept(source, first_free):
    """Targets keeping shards of dims < first_free, Replicate elsewhere (Partial too)."""
    target = []
    for placement in source.placements:
        target.append(placement if placement.is_shard() and placement.dim < first_free
                      else R)
    return tuple(target)


def softmax(name, dtensors, args, kwargs):
    source = args[0]
    if len(dtensors) != 1 or source is not dtensors[0]:
        return None
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        return None
    dim %= source.ndim
    target = tuple(p if p.is_shard() and p.dim != dim else R for p in source.placements)
    return Plan([target], target, tuple(source.shape))


def layer_norm(name, dtensors, args, kwargs):
    source = args[0]
    if source is not dtensors[0]:
        return None
    normalized = _arg(args, kwargs, 1, "normalized_shape")
    count = 1 if isinstance(normalized, int) else len(normalized)
    mesh = source.device_mesh
    first_free = source.ndim - count
    target = _last_dims_kept(source, first_free)
    others = [(R,) * mesh.ndim for _ in dtensors[1:]]
    return Plan([target, *others], target, tuple(source.shape))


def embedding(name, dtensors, args, kwargs):
    ids, weight = args[0], args[1]
    if len(dtensors) != 2 or ids is not dtensors[0] or weight is not dtensors[1]:
        return None
    if any(_arg(args, kwargs, i, key) is not None
           for i, key in ((2, "padding_idx"), (3, "max_norm"))):
        return None
    mesh = weight.device_mesh
    target_ids, target_w, out = [], [], []
    row_sharded = False
    for mesh_dim in range(mesh.ndim):
        pi, pw = ids.placements[mesh_dim], weight.placements[mesh_dim]
        if pw.is_shard(1):
            target_ids.append(R)
            target_w.append(pw)
            out.append(Shard(ids.ndim))
        elif pw.is_shard(0):
            target_ids.append(R)
            target_w.append(pw)
            out.append(Partial("sum"))
            row_sharded = True
        elif pi.is_shard():
            target_ids.append(pi)
            target_w.append(R)
            out.append(Shard(pi.dim))
        else:
            target_ids.append(R)
            target_w.append(R)
            out.append(R)
    shape = tuple(ids.shape) + (weight.shape[1],)
    plan = Plan([tuple(target_ids), tuple(target_w)], tuple(out), shape)
    if row_sharded:
        local_rows, offset = local_shape_and_offset(tuple(weight.shape), mesh,
                                                    plan.targets[1])

        def call(local_ids, local_weight, *rest, **options):
            """Ids outside this rank's rows look up row 0 and are zeroed: the sum over
            ranks is the lookup (PyTorch's MaskPartial)."""
            from ember.nn import functional

            start, count = offset[0], local_rows[0]
            outside = (local_ids < start) | (local_ids >= start + count)
            shifted = (local_ids - start).masked_fill(outside, 0)
            found = functional.embedding(shifted, local_weight, *rest, **options)
            return found.masked_fill(outside.unsqueeze(-1), 0.0)
        plan.call = call
    return plan


RULES = {}
for _name in POINTWISE:
    RULES[_name] = pointwise
    if not _name.startswith("__") and not _name.endswith("_"):
        RULES[_name + "_"] = pointwise
for _name in ("sum", "mean", "amax", "amin", "max", "min", "nansum"):
    RULES[_name] = reduction
for _name in ("mm", "matmul", "__matmul__"):
    RULES[_name] = matmul
RULES["linear"] = linear
RULES["addmm"] = addmm
for _name in ("view", "reshape", "flatten"):
    RULES[_name] = reshape
for _name in ("transpose", "swapaxes", "swapdims", "t"):
    RULES[_name] = transpose
RULES["permute"] = permute
RULES["unsqueeze"] = unsqueeze
RULES["squeeze"] = squeeze
for _name in ("softmax", "log_softmax"):
    RULES[_name] = softmax
RULES["layer_norm"] = layer_norm
RULES["rms_norm"] = layer_norm
RULES["embedding"] = embedding
