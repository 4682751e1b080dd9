"""One FSDP unit's parameters as a single flat, sharded parameter (PyTorch's
``FlatParamHandle``).

The unit's parameters (those of its subtree no inner unit owns) are concatenated in
``named_modules`` order into one 1-D buffer. With ``use_orig_params`` each parameter
starts on a 16-byte boundary and the total is padded to a multiple of the world size, as
PyTorch aligns them. The buffer is cut into ``world_size`` equal chunks (``torch.chunk``
sizes, the last ones zero-padded); this rank keeps its chunk as ``flat_param``, the
Parameter the optimizer steps.

Forward gathers the chunks (``all_gather_into_tensor``) into a fresh leaf tensor and hands
each submodule views of it as its parameters, so autograd sums every use of a parameter
into that leaf's gradient. A hook on the leaf then reduce-scatters the gradient (averaged
over the ranks, pre- and post-divided as PyTorch's default hook does) into
``flat_param.grad``. NO_SHARD keeps the whole buffer on every rank and all-reduces.
"""

from __future__ import annotations

import itertools
import sys
from collections import OrderedDict

import ember

from ..._tensor import Tensor, _make
from ...autograd.function import accumulator_of
from ...autograd.grad_mode import no_grad
from ...nn.parameter import Parameter
from .api import ShardingStrategy

_forward_count = itertools.count()  # the same on every rank: all run the same forwards
_ALIGNMENT_BYTES = 16  # PyTorch aligns use_orig_params parameters for TorchInductor


def _predivide_factor(world_size: int) -> int:
    """PyTorch's default-hook split of the 1/world_size average into two divisions
    (before and after the reduction) that keep low-precision sums in range."""
    factor = 1
    while world_size % factor == 0 and world_size / factor > factor:
        factor *= 2
    return factor


def _validate(params, use_orig_params) -> None:
    """PyTorch's checks on what one flat parameter may hold."""
    first = params[0]
    for tensor in params:
        if not tensor.is_floating_point() and not tensor.is_complex():
            raise ValueError("Cannot flatten integer dtype tensors")
        if tensor.dtype != first.dtype:
            raise ValueError(f"Must flatten tensors with uniform dtype but got {first.dtype} "
                             f"and {tensor.dtype}")
        if not use_orig_params and tensor.requires_grad != first.requires_grad:
            raise ValueError("Must flatten tensors with uniform `requires_grad` when "
                             "`use_orig_params=False`")
        if tensor.device != first.device:
            raise ValueError("Must flatten tensors on the same device but got both "
                             f"{first.device} and {tensor.device}")


def _broadcast_zero(array, shape=None):
    """Zeros of ``array``'s dtype and kind, shaped like it (or ``shape``), with zero
    strides: no memory."""
    shape = array.shape if shape is None else tuple(shape)
    zero = array.reshape(-1)[:1].astype(array.dtype) * 0
    import numpy as np
    if isinstance(zero, np.ndarray):
        return np.broadcast_to(zero.reshape(()) if zero.size else np.zeros((), array.dtype),
                               shape)
    import cupy
    return cupy.broadcast_to(zero.reshape(()) if zero.size else cupy.zeros((), array.dtype),
                             shape)


class _ParamInfo:
    """Where one original parameter lives: its module, attribute name, dotted name within
    the unit, shape and ``[start, end)`` in the unpadded flat buffer."""

    __slots__ = ("module", "name", "fqn", "param", "shape", "start", "end")

    def __init__(self, module, name, fqn, param, start):
        self.module, self.name, self.fqn, self.param = module, name, fqn, param
        self.shape = param.shape
        self.start, self.end = start, start + param.numel()


class FlatParamHandle:
    """The flat parameter of one FSDP unit and the moves between its sharded form and
    the unsharded views the modules compute with."""

    def __init__(self, params, fully_sharded_module, state):
        self.state = state
        self.module = fully_sharded_module
        self.strategy = state.sharding_strategy
        self.use_orig_params = state._use_orig_params
        self.rank, self.world_size = state.rank, state.world_size
        first = params[0]
        self.orig_dtype = first.dtype
        mp = state.mixed_precision
        self.param_dtype = (mp.param_dtype if mp is not None and mp.param_dtype is not None
                            else self.orig_dtype)
        self.reduce_dtype = (mp.reduce_dtype if mp is not None and mp.reduce_dtype is not None
                             else self.param_dtype)
        self.keep_low_precision_grads = mp is not None and mp.keep_low_precision_grads
        self._build_layout(params, fully_sharded_module)
        with no_grad():
            pieces = []
            for start, info in self._segments:
                if info is None:
                    pieces.append(ember.zeros(start, dtype=self.orig_dtype,
                                              device=first.device))
                else:
                    pieces.append(info.param.detach().reshape(-1))
            full = ember.cat(pieces)
            if self.sharded:
                self.chunk_numel = -(-full.numel() // self.world_size)
                padded = self.chunk_numel * self.world_size
                if padded > full.numel():
                    full = ember.cat([full, full.new_zeros(padded - full.numel())])
                lo = self.rank * self.chunk_numel
                shard = full[lo:lo + self.chunk_numel].clone()
            else:
                self.chunk_numel = full.numel()
                shard = full.clone()
        self.flat_param = Parameter(shard, requires_grad=any(i.param.requires_grad
                                                             for i in self.infos))
        self.flat_param._fsdp_flattened = True
        self.flat_param._unpadded_unsharded_size = ember.Size([self.numel])
        lo = self.rank * self.chunk_numel if self.sharded else 0
        self.flat_param._shard_numel_padded = max(0, lo + self.chunk_numel - self.numel) \
            if self.sharded else 0
        self.flat_param._fqns = tuple(info.fqn for info in self.infos)
        self._full = None  # the gathered leaf of the current forward
        self._regathered = None  # FULL_SHARD: the buffer gathered again for backward
        self._unsharded_grad = None  # gradients kept back under no_sync()
        self._param_order = {}  # submodule -> its parameter names in registration order
        self._detach_original_params()

    # -- layout -------------------------------------------------------------------------

    @property
    def sharded(self) -> bool:
        return self.strategy != ShardingStrategy.NO_SHARD and self.world_size > 1

    def _build_layout(self, params, module) -> None:
        """Place the parameters in ``named_modules`` order (shared ones once; their
        other names become aliases), with PyTorch's alignment padding."""
        _validate(params, self.use_orig_params)
        wanted = {id(p) for p in params}
        aligned = (_ALIGNMENT_BYTES // ember.empty(0, dtype=self.param_dtype).element_size()
                   if self.use_orig_params else 0)
        self.infos, self.shared, self._segments = [], [], []
        seen = {}
        total = 0
        for module_name, submodule in module.named_modules(remove_duplicate=False):
            for name, param in list(submodule._parameters.items()):
                if param is None or id(param) not in wanted:
                    continue
                fqn = f"{module_name}.{name}" if module_name else name
                if id(param) in seen:
                    self.shared.append((submodule, name, fqn, seen[id(param)]))
                    continue
                if aligned and total % aligned:
                    pad = aligned - total % aligned
                    self._segments.append((pad, None))
                    total += pad
                info = _ParamInfo(submodule, name, fqn, param, total)
                self._segments.append((param.numel(), info))
                self.infos.append(info)
                seen[id(param)] = info
                total += param.numel()
        if aligned and total % self.world_size:
            pad = self.world_size - total % self.world_size
            self._segments.append((pad, None))
            total += pad
        self.numel = total

    def _detach_original_params(self) -> None:
        """Take the original parameters off their modules: without use_orig_params they
        become plain attributes (views while unsharded); with it they stay registered,
        their data a 1-D view of this rank's piece of the shard."""
        for info in self.infos:
            names = list(info.module._parameters)
            self._param_order.setdefault(info.module, names)
        for submodule, name, _, _ in self.shared:
            self._param_order.setdefault(submodule, list(submodule._parameters))
        if self.use_orig_params:
            self.use_sharded_views()
            return
        for info in self.infos:
            info.module._parameters.pop(info.name, None)
        for submodule, name, _, _ in self.shared:
            submodule._parameters.pop(name, None)
        self.module.register_parameter("_flat_param", self.flat_param)

    # -- views --------------------------------------------------------------------------

    def _local_range(self, info) -> tuple:
        """``[start, end)`` of ``info``'s parameter inside this rank's shard."""
        if not self.sharded:
            return info.start, info.end
        lo = self.rank * self.chunk_numel
        start = min(max(info.start - lo, 0), self.chunk_numel)
        end = min(max(info.end - lo, 0), self.chunk_numel)
        return start, max(start, end)

    def use_sharded_views(self) -> None:
        """use_orig_params at rest: each original Parameter holds its piece of the shard
        (1-D, possibly empty; whole when nothing is sharded) and its gradient the same
        piece of ``flat_param.grad``."""
        data = self.flat_param._data
        grad = self.flat_param.grad
        for info in self.infos:
            start, end = self._local_range(info)
            piece = data[start:end]
            info.param._data = piece if self.sharded else piece.reshape(tuple(info.shape))
            # as PyTorch: no gradient for frozen parameters, nor for those with no
            # elements on this rank (so optimizers skip them here)
            if grad is not None and info.param.requires_grad and (end > start
                                                                  or not self.sharded):
                g = grad._data[start:end]
                info.param._grad = _make(g if self.sharded else g.reshape(tuple(info.shape)))
            info.module.__dict__.pop(info.name, None)
        for submodule, name, _, _ in self.shared:
            submodule.__dict__.pop(name, None)

    def set_unsharded_views(self, full: Tensor, as_params: bool = False) -> None:
        """Point every original parameter name at its view of ``full`` (the gathered flat
        buffer): as autograd-tracked slices for compute, or, ``as_params``, by giving the
        registered Parameters that data (state dicts, summon_full_params)."""
        views = {}
        for info in self.infos:
            if as_params:
                view = full._data[info.start:info.end].reshape(tuple(info.shape))
                views[id(info)] = view
                if self.use_orig_params:
                    info.param._data = view
                    info.module.__dict__.pop(info.name, None)
                else:
                    info.module.__dict__[info.name] = _make(view)
            else:
                view = full[info.start:info.end].view(info.shape)
                views[id(info)] = view
                info.module.__dict__[info.name] = view
        for submodule, name, _, primary in self.shared:
            if as_params and self.use_orig_params:
                continue
            view = views[id(primary)]
            submodule.__dict__[name] = _make(view) if as_params else view

    # -- unshard / reshard --------------------------------------------------------------

    def gather(self, dtype=None) -> Tensor:
        """The whole flat buffer (padded) as a new tensor, optionally cast."""
        dtype = dtype or self.orig_dtype
        with no_grad():
            shard = self.flat_param.detach()
            if dtype != shard.dtype:
                shard = shard.to(dtype)
            if not self.sharded:
                return shard.clone() if shard is not self.flat_param else shard
            out = shard.new_empty(self.chunk_numel * self.world_size)
            self.state._dist.all_gather_into_tensor(out, shard.contiguous(),
                                                    group=self.state.process_group)
        return out

    def unshard_for_compute(self, requires_grad: bool) -> Tensor:
        """Gather in the compute dtype and give the modules tracked views of it; the
        gradient of the gathered leaf comes back through ``_post_backward``."""
        self._regathered = None
        full = self.gather(self.param_dtype)
        full = _make(full._data, requires_grad=requires_grad and self.flat_param.requires_grad)
        accumulator = None
        if full.requires_grad:
            full.register_hook(self._post_backward)
            # Leaves ready together run in node order, and leaf nodes have no sequence
            # number (ties go by memory address, which differs across ranks): number them
            # in forward order, so every rank reduces the units in the same order (later
            # units first, as their gradients come first)
            accumulator = accumulator_of(full)
            accumulator._seq = sys.maxsize // 2 + next(_forward_count)
        self._full = full
        self.set_unsharded_views(full)
        del accumulator  # the views' graph holds it now
        return full

    def reshard_after_compute(self) -> None:
        """Back to rest: use_orig_params modules see their Parameters again; without it
        the plain attributes keep pointing at the last gathered values."""
        if self.use_orig_params:
            self.use_sharded_views()

    # -- gradients ----------------------------------------------------------------------

    def _post_backward(self, grad: Tensor):
        """The whole gradient of this unit for one forward: keep it (no_sync) or reduce it
        to this rank's shard and accumulate it into ``flat_param.grad``."""
        self._full = self._regathered = None
        with no_grad():
            if self._unsharded_grad is not None:
                grad = grad + self._unsharded_grad
            if not self.state._sync_gradients:
                self._unsharded_grad = grad.detach().clone()
            else:
                self._unsharded_grad = None
                self._accumulate(self._reduce(grad))
        # what autograd then accumulates into the gathered leaf (dropped with the graph):
        # zeros of its shape that take no memory, not a second copy of the gradient
        return _make(_broadcast_zero(grad._data))

    def _reduce(self, grad: Tensor) -> Tensor:
        state, dist = self.state, self.state._dist
        grad = grad.to(self.reduce_dtype)
        if state._gradient_predivide_factor > 1:
            grad = grad / state._gradient_predivide_factor
        if self.sharded:
            out = grad.new_empty(self.chunk_numel)
            dist.reduce_scatter_tensor(out, grad.contiguous(), group=state.process_group)
            if state._inter_node_pg is not None:
                dist.all_reduce(out, group=state._inter_node_pg)
        else:
            out = grad.clone()
            if state.world_size > 1:
                dist.all_reduce(out, group=state.process_group)
        if state._gradient_postdivide_factor > 1:
            out = out / state._gradient_postdivide_factor
        if not self.keep_low_precision_grads:
            out = out.to(self.flat_param.dtype)
        return out

    def _accumulate(self, shard_grad: Tensor) -> None:
        existing = self.flat_param.grad
        if self.use_orig_params:
            existing = self._grad_from_orig_params()
        if existing is None or existing.shape != shard_grad.shape:
            self.flat_param.grad = shard_grad
        else:
            self.flat_param.grad = existing + shard_grad
        if self.use_orig_params:
            self.use_sharded_views()

    def _grad_from_orig_params(self):
        """use_orig_params: the optimizer zeroes (or drops) the original parameters'
        gradients, so the flat gradient to add to is rebuilt from them."""
        grads = [info.param.grad for info in self.infos]
        if all(g is None for g in grads):
            return None
        flat = self.flat_param.new_zeros(self.chunk_numel)
        for info, g in zip(self.infos, grads):
            if g is not None:
                start, end = self._local_range(info)
                flat[start:end] = g.reshape(-1).to(flat.dtype)
        return flat

    def gather_grad(self):
        """The whole gradient (padded), or None (summon_full_params(with_grads=True))."""
        grad = self.flat_param.grad
        if grad is None:
            return None
        if not self.sharded:
            return grad.detach().clone()
        out = grad.new_empty(self.chunk_numel * self.world_size)
        self.state._dist.all_gather_into_tensor(out, grad.detach().contiguous(),
                                                group=self.state.process_group)
        return out

    def write_back(self, full: Tensor) -> None:
        """Copy this rank's chunk of ``full`` (the whole flat buffer) into the shard."""
        lo = self.rank * self.chunk_numel if self.sharded else 0
        piece = full._data.reshape(-1)[lo:lo + self.chunk_numel]
        target = self.flat_param._data
        count = min(piece.shape[0], target.shape[0])
        target[:count] = piece[:count].astype(target.dtype, copy=False)
        self.flat_param._vc[0] += 1

    def write_back_local(self, shard: Tensor) -> None:
        """Overwrite this rank's shard (a LOCAL_STATE_DICT load under use_orig_params)."""
        self.flat_param._data[...] = shard._data.astype(self.flat_param._data.dtype)
        self.flat_param._vc[0] += 1

    def restore_registration(self) -> None:
        """Undo ``register_as_params``: the submodules' parameter dicts as at rest."""
        managed = [(i.module, i.name) for i in self.infos]
        managed += [(m, n) for m, n, _, _ in self.shared]
        for submodule, name in managed:
            submodule.__dict__.pop(name, None)
        if self.use_orig_params:
            self.use_sharded_views()
            return
        for submodule, name in managed:
            param = submodule._parameters.pop(name, None)
            if param is not None:  # at rest the names read the last gathered values
                submodule.__dict__[name] = param.detach()
        self.module._parameters["_flat_param"] = self.flat_param

    def register_as_params(self, full: Tensor) -> None:
        """Make the submodules look unwrapped: every original name registered (in its
        original order) as a Parameter whose data is its view of ``full``, so a plain
        traversal (state_dict, load_state_dict) sees the original keys."""
        self.set_unsharded_views(full, as_params=True)
        if self.use_orig_params:
            return
        self.module._parameters.pop("_flat_param", None)
        by_info = {(id(i.module), i.name): i for i in self.infos}
        shared = {(id(m), n): p for m, n, _, p in self.shared}
        for submodule, names in self._param_order.items():
            ordered = OrderedDict()
            for name in names:
                key = (id(submodule), name)
                info = by_info.get(key) or shared.get(key)
                if info is None:
                    if name in submodule._parameters:
                        ordered[name] = submodule._parameters[name]
                    continue
                view = full._data[info.start:info.end].reshape(tuple(info.shape))
                param = Parameter(_make(view), requires_grad=info.param.requires_grad)
                ordered[name] = param
                submodule.__dict__.pop(name, None)
            for name, value in submodule._parameters.items():
                ordered.setdefault(name, value)
            submodule._parameters = ordered
