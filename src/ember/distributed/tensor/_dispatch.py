"""DTensor's ``__torch_function__``: a sharding rule picks the placements each DTensor
argument must have and the placements of the result; the arguments are moved there
(recorded by autograd), the ordinary op runs on the plain local pieces, and its result is
wrapped back as a DTensor.

Ops without a rule gather every argument to Replicate, compute the whole result on every
rank and return it replicated: the values are what the rule would give (PyTorch raises
for ops it has no strategy for; ember is more permissive only there).
"""

from __future__ import annotations

from ember._C import DisableTorchFunctionSubclass
from ember._tensor import Tensor
from ember.autograd.grad_mode import is_grad_enabled

from . import _redistribute as _rd
from ._api import DTensor, local_alias, wrap_local
from ._rules import RULES, Plan, replicate_plan


__all__ = ["dispatch"]

# same spec in, same spec out: local ops that keep placements, Partial included
_KEEP = frozenset({"detach", "clone", "contiguous", "to", "type", "float", "double", "half",
                   "bfloat16", "cpu", "cuda", "requires_grad_", "detach_", "pin_memory"})
# run on the local piece as it is, as PyTorch's DTensor does (a Partial's term included)
_LOCAL = frozenset({"item", "tolist", "__bool__", "__float__", "__int__", "numpy"})
_LOSS_PARALLEL = [False]


def _flatten(value, found):
    if isinstance(value, DTensor):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, found)


def _replace(value, table):
    if isinstance(value, DTensor):
        return table[id(value)]
    if isinstance(value, list):
        return [_replace(item, table) for item in value]
    if isinstance(value, tuple):
        return tuple(_replace(item, table) for item in value)
    return value


def _plain_tensors(value, found):
    if isinstance(value, Tensor) and not isinstance(value, DTensor) and value.ndim:
        found.append(value)  # 0-d tensors pass as scalars, as in PyTorch
    elif isinstance(value, (list, tuple)):
        for item in value:
            _plain_tensors(item, found)


def _property(func, args, kwargs):
    """Property reads and writes (``dtype``, ``requires_grad``, ``data`` ...) on the local
    piece; ``data`` comes back as a DTensor with the same spec."""
    owner = args[0]
    with DisableTorchFunctionSubclass():
        result = func(*args, **kwargs)
    if func.__name__ == "__get__" and func.__self__ is Tensor.__dict__["data"] \
            and isinstance(result, Tensor):
        spec = owner._spec
        return wrap_local(result, spec.mesh, spec.placements, spec.shape, spec.stride)
    return result


def _keep(func, name, args, kwargs):
    owner = args[0]
    if name in ("requires_grad_", "detach_"):
        with DisableTorchFunctionSubclass():
            func(*args, **kwargs)
        return owner
    local = local_alias(owner)
    with DisableTorchFunctionSubclass():
        result = func(local, *args[1:], **kwargs)
    if not isinstance(result, Tensor):
        return result  # x.type() and the like: an answer, not a tensor
    if result is local:
        result = local_alias(local)
    spec = owner._spec
    return wrap_local(result, spec.mesh, spec.placements, spec.shape, spec.stride)


def dispatch(func, args, kwargs):
    name = getattr(func, "__name__", "")
    if name in ("__get__", "__set__", "__delete__"):
        return _property(func, args, kwargs)
    if name in _KEEP and args and isinstance(args[0], DTensor):
        return _keep(func, name, args, kwargs)
    if name in _LOCAL and len(args) == 1 and isinstance(args[0], DTensor):
        with DisableTorchFunctionSubclass():
            return func(local_alias(args[0]))
    dtensors = []
    _flatten(args, dtensors)
    _flatten(list(kwargs.values()), dtensors)
    mesh = dtensors[0].device_mesh
    for other in dtensors[1:]:
        if other.device_mesh != mesh:
            raise NotImplementedError(f"{name}: DTensor does not support cross-mesh "
                                      f"operation yet! Got meshes: {mesh} {other.device_mesh}")
    plain = []
    _plain_tensors(args, plain)
    _plain_tensors(list(kwargs.values()), plain)
    if _LOSS_PARALLEL[0] and name == "cross_entropy":
        from .parallel.loss import sharded_cross_entropy

        result = sharded_cross_entropy(args, kwargs)
        if result is not NotImplemented:
            return result
    rule = RULES.get(name)
    if plain and not (_LOSS_PARALLEL[0] and name in ("cross_entropy", "nll_loss")):
        raise RuntimeError(f"{name} got mixed torch.Tensor and DTensor, need to convert all "
                           f"torch.Tensor to DTensor before calling distributed operators!")
    in_place = name.endswith("_") and not name.endswith("__") or name == "__setitem__"
    try:
        plan = rule(name, dtensors, args, kwargs) if rule is not None else None
    except IndexError:
        plan = None  # arguments by keyword the rule does not read: gather, as for no rule
    if plan is None:
        plan = replicate_plan(dtensors)
    if in_place:
        return _run_in_place(func, name, plan, dtensors, args, kwargs)
    return _run(func, plan, dtensors, args, kwargs)


def _move_inputs(plan: Plan, dtensors):
    """Each DTensor argument's local piece in the plan's placements, by id."""
    table = {}
    grad_on = is_grad_enabled()
    for dtensor, target in zip(dtensors, plan.targets):
        if id(dtensor) in table:
            continue
        spec = dtensor._spec
        local = local_alias(dtensor)
        local = _rd.redistribute_local(local, spec.mesh, spec.placements, target, spec.shape)
        if grad_on and local.requires_grad:
            spread = [mesh_dim for mesh_dim, placement in enumerate(target)
                      if placement.is_replicate() and not plan.out[mesh_dim].is_replicate()]
            local = _rd.grad_all_reduce(local, spec.mesh, spread)
        table[id(dtensor)] = local
    return table


def _wrap(result, plan: Plan, mesh):
    if isinstance(result, Tensor) and not isinstance(result, DTensor):
        shape = plan.shape if plan.shape is not None else tuple(result.shape)
        return wrap_local(result, mesh, plan.out, shape)
    if isinstance(result, tuple) and any(isinstance(item, Tensor) for item in result):
        wrapped = [_wrap(item, plan, mesh) for item in result]
        try:
            return type(result)(wrapped)
        except TypeError:
            return type(result)(*wrapped)
    if isinstance(result, list):
        return [_wrap(item, plan, mesh) for item in result]
    return result


def _run(func, plan: Plan, dtensors, args, kwargs):
    mesh = dtensors[0].device_mesh
    table = _move_inputs(plan, dtensors)
    local_args = _replace(args, table)
    local_kwargs = {key: _replace(value, table) for key, value in kwargs.items()}
    with DisableTorchFunctionSubclass():
        call = plan.call or func
        result = call(*local_args, **local_kwargs)
    if any(result is local for local in table.values()):
        result = local_alias(result)
    return _wrap(result, plan, mesh)


def _run_in_place(func, name, plan: Plan, dtensors, args, kwargs):
    """An in-place op writes the local piece of its first argument, which must keep its
    placements. The piece is a view of the DTensor, so under autograd the write rebases
    the DTensor's history as an in-place write through a view does (CopySlices)."""
    owner = args[0]
    if not isinstance(owner, DTensor):
        raise RuntimeError(f"{name}: the tensor written in place must be a DTensor")
    if name == "__setitem__" and not all(p.is_replicate() for d in dtensors
                                         for p in d.placements):
        raise RuntimeError("__setitem__: writing into a sharded or partial DTensor by index "
                           "is not supported by ember; redistribute it to Replicate() first")
    if tuple(plan.targets[0]) != tuple(owner.placements) or tuple(plan.out) != \
            tuple(owner.placements):
        raise RuntimeError(f"{name}: in-place op on a DTensor with placements "
                           f"{owner.placements} would need a different output placement "
                           f"{tuple(plan.out)}")
    table = _move_inputs(plan, dtensors)
    local_args = _replace(args, table)
    local_kwargs = {key: _replace(value, table) for key, value in kwargs.items()}
    with DisableTorchFunctionSubclass():
        func(*local_args, **local_kwargs)
    return owner


