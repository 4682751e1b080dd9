"""FSDP2 (``torch.distributed.fsdp.fully_shard``): each parameter becomes a ``Shard(0)``
DTensor over a 1-D mesh; before a module's forward its parameters are all-gathered, and in
backward their gradients are reduce-scattered (averaged over the ranks, as PyTorch's
default) into the sharded parameters' ``.grad``.

How it is built on ember's DTensor: unsharding a parameter is ``param.redistribute(
Replicate()).to_local(grad_placements=[Partial("avg")])`` (cast by the mixed-precision
policy first). Its backward reads the arriving local gradient as a per-rank term of an
average, all-reduces it and keeps this rank's ``torch.chunk`` piece: the reduce-scatter.
While the module runs, the registered parameters are the gathered tensors; ``reshard``
puts the sharded DTensor parameters back (after forward, or after backward when
``reshard_after_forward=False``). The gathered tensors stay alive until backward has used
them, as autograd saves what it needs: ember saves no memory by resharding, it keeps the
semantics (what ``module.weight`` is, where gradients land, the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

from ember import Tensor, nn

from .fully_sharded_data_parallel import _cast_floats

# ember.distributed.tensor is imported when first used: defining DTensor turns on the
# __torch_function__ protocol (ember.overrides), which importing ember.distributed.fsdp
# for FSDP1 should not do

__all__ = ["FSDPModule", "MixedPrecisionPolicy", "fully_shard"]


@dataclass(frozen=True)
class MixedPrecisionPolicy:
    """``param_dtype``: the dtype parameters are gathered to and forward runs in;
    ``reduce_dtype``: the dtype gradients are reduced in (default ``param_dtype``);
    ``output_dtype``: floating outputs cast to it; ``cast_forward_inputs``: floating
    inputs cast to ``param_dtype``."""

    param_dtype: object = None
    reduce_dtype: object = None
    output_dtype: object = None
    cast_forward_inputs: bool = True


class _FSDPState:
    """The parameters one ``fully_shard`` call manages and whether they are gathered."""

    def __init__(self, module, mesh, reshard_after_forward, mp_policy, entries):
        self.module, self.mesh, self.mp_policy = module, mesh, mp_policy
        self.reshard_after_forward = reshard_after_forward
        self.entries = entries  # [(owner module, attribute name, sharded DTensor param)]
        self.unsharded = False
        self.root = False
        self.requires_gradient_sync = True
        self.pending_grads = 0

    def _gather(self, param):
        from ..tensor import Partial, Replicate

        policy = self.mp_policy
        compute_dtype = policy.param_dtype or param.dtype
        reduce_dtype = policy.reduce_dtype or compute_dtype
        source = param.to(reduce_dtype) if reduce_dtype != param.dtype else param
        whole = source.redistribute(self.mesh, [Replicate()]).to_local(
            grad_placements=[Partial("avg")])
        return whole.to(compute_dtype) if compute_dtype != whole.dtype else whole

    def unshard(self, again: bool = False):
        """Gather the parameters (``again``: even if gathered, for a forward that must
        record a fresh graph)."""
        if self.unsharded and not again:
            return
        self.pending_grads = 0
        for owner, name, param in self.entries:
            whole = self._gather(param)
            if whole.requires_grad:
                self.pending_grads += 1
                whole.register_hook(self._grad_arrived)
            if type(whole) is Tensor:
                # shown as PyTorch's unsharded parameter is (an nn.Parameter); it stays a
                # node of the graph that reduce-scatters into the sharded one
                whole.__class__ = nn.Parameter
            owner._parameters[name] = whole
        self.unsharded = True

    def _grad_arrived(self, grad):
        """A gathered parameter's gradient was computed: once all were, reshard (the
        post-backward reshard)."""
        self.pending_grads -= 1
        if self.pending_grads == 0:
            self.reshard()
        return grad

    def reshard(self):
        for owner, name, param in self.entries:
            owner._parameters[name] = param
        self.unsharded = False


class FSDPModule:
    """The class a ``fully_shard``-ed module gains (``FSDP<ClassName>``): its own
    ``unshard``/``reshard``."""

    def unshard(self, async_op: bool = False):
        """Gather this module's parameters now (ember's gather is synchronous: with
        ``async_op`` the returned handle's ``wait()`` has nothing left to do)."""
        self._fsdp_state.unshard()
        return _DoneHandle() if async_op else None

    def reshard(self):
        """Put the sharded parameters back."""
        self._fsdp_state.reshard()

    def set_requires_gradient_sync(self, requires_gradient_sync: bool, *,
                                   recurse: bool = True) -> None:
        """PyTorch skips the reduce-scatter while this is off and reduces the accumulated
        unsharded gradient on the next synced backward. ember reduces every backward:
        averaging over ranks is linear, so the accumulated sharded gradient is the same
        (only the traffic differs). The flag is kept for code that reads it back."""
        modules = self.modules() if recurse else [self]
        for module in modules:
            if isinstance(module, FSDPModule):
                module._fsdp_state.requires_gradient_sync = bool(requires_gradient_sync)

    def set_reshard_after_forward(self, reshard_after_forward: bool, recurse: bool = True):
        modules = self.modules() if recurse else [self]
        for module in modules:
            if isinstance(module, FSDPModule):
                module._fsdp_state.reshard_after_forward = bool(reshard_after_forward)


class _DoneHandle:
    def wait(self):
        return None


_CLASSES: dict = {}
# how many fully_shard forwards are running: the first one to start is the root's
_RUNNING = [0]


def _fsdp_class(cls):
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"FSDP{cls.__name__}", (FSDPModule, cls), {})
    return _CLASSES[cls]


def _managed_params(module, ignored):
    """(owner, name, param) of the parameters under ``module`` that no inner fully_shard
    already manages."""
    from ..tensor import DTensor

    found, seen = [], set()
    stack = [module]
    while stack:
        current = stack.pop(0)
        for name, param in current._parameters.items():
            if param is None or id(param) in seen or param in ignored:
                continue
            seen.add(id(param))
            if isinstance(param, DTensor):
                continue  # an inner fully_shard's (or a TP layout): not ours
            found.append((current, name, param))
        for child in current._modules.values():
            if child is not None and not isinstance(child, FSDPModule):
                stack.append(child)
    return found


def fully_shard(module, *, mesh=None, reshard_after_forward=None, shard_placement_fn=None,
                mp_policy: MixedPrecisionPolicy = MixedPrecisionPolicy(),
                ignored_params=None):
    """Shard ``module``'s parameters (those no inner ``fully_shard`` took) as ``Shard(0)``
    DTensors over ``mesh`` (1-D; default: the whole world), gather them around its
    forward and reduce-scatter their gradients. Returns the module, whose class is now
    ``FSDP<ClassName>`` (an ``FSDPModule``). ``shard_placement_fn(param)`` may pick
    another ``Shard(dim)`` per parameter."""
    from ..tensor import Shard, distribute_tensor
    from ..tensor._api import _mesh_or_default

    if isinstance(module, (nn.ModuleList, nn.ModuleDict)):
        raise ValueError(f"fully_shard does not support containers that do not implement "
                         f"forward: {module}")
    if mesh is None:  # PyTorch's default: the whole world
        from .. import _group
        from ..device_mesh import init_device_mesh
        mesh = init_device_mesh("cpu", (_group.get_world_size(),))
    mesh = _mesh_or_default(mesh)
    if mesh.ndim != 1:
        raise NotImplementedError("ember's fully_shard shards over a 1-D mesh (HSDP's 2-D "
                                  "mesh is not supported)")
    ignored = set(ignored_params or ())
    entries = []
    for owner, name, param in _managed_params(module, ignored):
        placement = shard_placement_fn(param) if shard_placement_fn is not None else None
        placement = placement or Shard(0)
        if param.dim() == 0:
            raise ValueError(f"fully_shard cannot shard the 0-d parameter {name!r}")
        sharded = nn.Parameter(distribute_tensor(param.detach(), mesh, [placement],
                                                 src_data_rank=None),
                               requires_grad=param.requires_grad)
        owner._parameters[name] = sharded
        entries.append((owner, name, sharded))
    state = _FSDPState(module, mesh, reshard_after_forward, mp_policy, entries)
    module._fsdp_state = state

    def before_forward(mod, args, kwargs):
        state.root = _RUNNING[0] == 0
        _RUNNING[0] += 1
        state.unshard(again=True)
        policy = state.mp_policy
        if policy.param_dtype is not None and policy.cast_forward_inputs:
            args = _cast_floats(args, policy.param_dtype)
            kwargs = _cast_floats(kwargs, policy.param_dtype)
        return args, kwargs

    def after_forward(mod, args, output):
        _RUNNING[0] -= 1
        reshard = state.reshard_after_forward
        if reshard is None:  # PyTorch's default: the root keeps them for its backward
            reshard = not state.root
        if reshard:
            state.reshard()
        if state.mp_policy.output_dtype is not None:
            output = _cast_floats(output, state.mp_policy.output_dtype)
        return output

    module.register_forward_pre_hook(before_forward, with_kwargs=True)
    module.register_forward_hook(after_forward)
    module.__class__ = _fsdp_class(type(module))
    return module
