"""DTensor (``torch.distributed.tensor.DTensor``): a global tensor laid out over a
DeviceMesh, one placement per mesh dimension.

How it is built: a DTensor *is* its local piece. It is an ember Tensor subclass whose
array and autograd fields are those of this rank's local tensor, plus a spec (mesh,
placements, global shape and stride) in its ``__dict__``. ``shape``/``size``/``numel``
and friends answer for the global tensor. Ops reach ``DTensor.__torch_function__``
(ember.overrides), which picks placements for the inputs from a sharding rule
(``_dispatch``), moves them (``_redistribute``, recorded by autograd), runs the ordinary
op on plain local tensors, and wraps the result. Backward runs on local tensors only, so
the engine, ``.grad`` accumulation and optimizers that work on arrays need nothing
special; ``.grad`` of a DTensor reads back as a DTensor with its owner's placements.
"""

from __future__ import annotations

import math

import ember
from ember._C import DisableTorchFunction
from ember._tensor import Size, Tensor

from .. import _collectives
from ..device_mesh import DeviceMesh
from . import _redistribute as _rd
from .placement_types import Placement, Replicate, Shard

__all__ = ["DTensor", "distribute_tensor", "distribute_module", "empty", "full", "ones",
           "rand", "randn", "zeros"]


class _Spec:
    """What a DTensor knows beyond its local piece."""

    __slots__ = ("mesh", "placements", "shape", "stride")

    def __init__(self, mesh, placements, shape, stride=None):
        self.mesh, self.placements, self.shape = mesh, tuple(placements), tuple(shape)
        self.stride = tuple(stride) if stride is not None else _contiguous_stride(shape)


def _contiguous_stride(shape) -> tuple:
    stride, step = [], 1
    for size in reversed(tuple(shape)):
        stride.append(step)
        step *= max(size, 1)
    return tuple(reversed(stride))


def normalize_placements(placements, ndim: int, mesh, length_error=ValueError) -> tuple:
    """Placements as a tuple of one per mesh dimension, ``Shard`` dims made non-negative
    (a wrong count raises ``length_error``: PyTorch's from_local fails on an index)."""
    if placements is None:
        placements = [Replicate()] * mesh.ndim
    placements = list(placements)
    if len(placements) != mesh.ndim:
        raise length_error(f"`placements` must have the same length as `device_mesh.ndim`! "
                         f"Found placements length: {len(placements)}, and device_mesh.ndim: "
                         f"{mesh.ndim}.")
    for index, placement in enumerate(placements):
        if not isinstance(placement, Placement):
            raise TypeError(f"placements must be Placement objects, got {placement!r}")
        if isinstance(placement, Shard) and placement.dim < 0:
            if ndim == 0 or placement.dim < -ndim:
                raise IndexError(f"Shard(dim={placement.dim}) is out of range for a tensor "
                                 f"of {ndim} dimensions")
            placements[index] = Shard(placement.dim + ndim)
        elif isinstance(placement, Shard) and placement.dim > ndim:
            # PyTorch's types: an assertion past the end, chunk's IndexError at it
            raise AssertionError(f"Sharding dim {placement.dim} greater than tensor ndim "
                                 f"{ndim}")
        elif isinstance(placement, Shard) and placement.dim == ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {ndim})")
    return tuple(placements)


def local_alias(tensor: Tensor) -> Tensor:
    """A plain Tensor aliasing a DTensor's local piece (autograd flows into the DTensor)."""
    with DisableTorchFunction():
        return Tensor.__getitem__(tensor, Ellipsis)


def wrap_local(local: Tensor, mesh, placements, shape, stride=None) -> DTensor:
    """A fresh plain result tensor turned into a DTensor (same object, class changed)."""
    local.__class__ = DTensor
    local.__dict__["_spec"] = _Spec(mesh, placements, shape, stride)
    return local


def _mesh_or_default(mesh):
    """The mesh given; PyTorch's default is the mesh of an enclosing ``with mesh:``, which
    ember's DeviceMesh does not open, so none is active."""
    if mesh is None:
        raise RuntimeError("No device mesh is currently active!")
    if not isinstance(mesh, DeviceMesh):
        raise TypeError(f"device_mesh must be a DeviceMesh, got {type(mesh).__name__}")
    return mesh


class DTensor(Tensor):
    """A tensor distributed over a DeviceMesh. Build one with ``distribute_tensor`` or
    ``DTensor.from_local``; ``to_local()`` gives this rank's piece, ``full_tensor()`` the
    whole, ``redistribute(mesh, placements)`` another layout."""

    # -- dispatch ---------------------------------------------------------------------------

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        from ._dispatch import dispatch

        return dispatch(func, args, kwargs or {})

    # -- the global view --------------------------------------------------------------------

    @property
    def _spec(self) -> _Spec:
        return self.__dict__["_spec"]

    @property
    def device_mesh(self) -> DeviceMesh:
        return self.__dict__["_spec"].mesh

    @property
    def placements(self) -> tuple:
        return self.__dict__["_spec"].placements

    @property
    def shape(self) -> Size:
        return Size(self.__dict__["_spec"].shape)

    def size(self, dim=None):
        shape = self.__dict__["_spec"].shape
        if dim is None:
            return Size(shape)
        if not -len(shape) <= dim < max(len(shape), 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-len(shape)}, {len(shape) - 1}], but got {dim})")
        return shape[dim]

    def dim(self) -> int:
        return len(self.__dict__["_spec"].shape)

    ndimension = dim

    @property
    def ndim(self) -> int:
        return len(self.__dict__["_spec"].shape)

    def numel(self) -> int:
        return math.prod(self.__dict__["_spec"].shape)

    nelement = numel

    def stride(self, dim=None):
        stride = self.__dict__["_spec"].stride
        return stride if dim is None else stride[dim]

    def __len__(self):
        shape = self.__dict__["_spec"].shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __repr__(self, *, tensor_contents=None):
        with DisableTorchFunction():
            shown = Tensor.detach(self)
            if self.requires_grad and self.grad_fn is None:
                Tensor.requires_grad_(shown, True)  # a leaf's piece shows as one
            local = Tensor.__repr__(shown)
        return (f"DTensor(local_tensor={local}, device_mesh={self.device_mesh}, "
                f"placements={self.placements})")

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        raise RuntimeError("pickling a DTensor is not supported; save full_tensor() or "
                           "to_local() instead")

    # -- gradients: the local gradient read back with this DTensor's placements -------------

    @property
    def grad(self):
        grad = self._grad
        if grad is None or type(grad) is DTensor:
            return grad
        spec = self.__dict__["_spec"]
        return wrap_local(grad, spec.mesh, _rd.as_gradient_placements(spec.placements),
                          spec.shape, spec.stride)

    @grad.setter
    def grad(self, value):
        """A DTensor of this global size, or (the autograd engine's writes) a plain
        tensor holding the local piece of the gradient."""
        if isinstance(value, DTensor) and value.shape != self.shape:
            raise RuntimeError("assigned grad has data of a different size")
        if value is not None and not isinstance(value, Tensor):
            raise TypeError("assigned grad expected to be a Tensor or None but got grad of "
                            f"type {type(value).__name__}")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    # -- conversions --------------------------------------------------------------------------

    @staticmethod
    def from_local(local_tensor, device_mesh=None, placements=None, *, run_check=False,
                   shape=None, stride=None) -> DTensor:
        """Every rank's ``local_tensor`` as the pieces of one DTensor. Without ``shape``
        the global shape assumes even shards (local size times the mesh size along each
        sharding mesh dimension). ``run_check`` broadcasts replicated pieces from the
        first rank of their mesh dimension, as PyTorch does."""
        mesh = _mesh_or_default(device_mesh)
        placements = normalize_placements(placements, local_tensor.ndim, mesh, IndexError)
        if shape is None:
            global_shape = list(local_tensor.shape)
            for mesh_dim, placement in enumerate(placements):
                if isinstance(placement, Shard):
                    global_shape[placement.dim] *= mesh.size(mesh_dim)
            shape = tuple(global_shape)
        if run_check:
            for mesh_dim, placement in enumerate(placements):
                if placement.is_replicate():
                    with ember.no_grad():
                        received = local_tensor.detach().contiguous().clone()
                        _collectives.broadcast(received, group=mesh.get_group(mesh_dim),
                                               group_src=0)
                        local_tensor.detach().copy_(received)
        alias = local_alias(local_tensor)
        return wrap_local(alias, mesh, placements, shape, stride)

    def to_local(self, *, grad_placements=None) -> Tensor:
        """This rank's piece as a plain Tensor (autograd flows back into the DTensor;
        ``grad_placements`` says how the gradient arriving there is laid out)."""
        local = local_alias(self)
        if grad_placements is not None:
            spec = self._spec
            wanted = normalize_placements(grad_placements, len(spec.shape), spec.mesh)
            local = _rd.regrad_local(local, spec.mesh, spec.placements, wanted, spec.shape)
        return local

    def redistribute(self, device_mesh=None, placements=None, *, async_op=False,
                     forward_dtype=None, backward_dtype=None) -> DTensor:
        """The same global tensor with ``placements`` (all moves among Shard, Replicate
        and Partial; to Partial a value is split as PyTorch's ``_partition_value``)."""
        spec = self._spec
        mesh = spec.mesh if device_mesh is None else device_mesh
        if mesh != spec.mesh:
            raise NotImplementedError("Cross device mesh comm not supported yet!")
        if placements is None:
            raise RuntimeError("placements is needed for redistribute!")
        target = normalize_placements(placements, len(spec.shape), mesh)
        for source, placement in zip(spec.placements, target):
            if placement.is_partial() and source != placement:
                raise RuntimeError("Can not redistribute to Partial, redistributing to "
                                   "Partial is for internal use only!")
        local = local_alias(self)
        if forward_dtype is not None:
            local = local.to(forward_dtype)
        moved = _rd.redistribute_local(local, mesh, spec.placements, target, spec.shape)
        if moved is local:
            moved = local_alias(local)
        return wrap_local(moved, mesh, target, spec.shape)

    def full_tensor(self, *, grad_placements=None) -> Tensor:
        """The whole global tensor on every rank, as a plain Tensor."""
        spec = self._spec
        whole = self.redistribute(spec.mesh, [Replicate()] * spec.mesh.ndim)
        return whole.to_local(grad_placements=grad_placements)


# -- building DTensors --------------------------------------------------------------------------

def _broadcast_from_origin(tensor, mesh):
    """Every rank gets the mesh origin rank's ``tensor`` (a broadcast per mesh dimension,
    from its first rank)."""
    for mesh_dim in range(mesh.ndim):
        _collectives.broadcast(tensor, group=mesh.get_group(mesh_dim), group_src=0)
    return tensor


def distribute_tensor(tensor, device_mesh=None, placements=None, *, src_data_rank=0):
    """A leaf DTensor holding ``tensor`` (the mesh origin rank's values, as PyTorch's
    ``src_data_rank=0``; ``None`` keeps each rank's own) laid out as ``placements``."""
    mesh = _mesh_or_default(device_mesh)
    if isinstance(tensor, DTensor):
        if tensor.device_mesh != mesh:
            raise ValueError(f"Cannot distribute a DTensor with device mesh "
                             f"{tensor.device_mesh} to a different device mesh {mesh}.")
        if tuple(tensor.placements) != tuple(normalize_placements(placements, tensor.ndim,
                                                                   mesh)):
            raise ValueError(f"Cannot distribute a DTensor with placements "
                             f"{tensor.placements} to a different placements {placements}. "
                             f"do you want to call `redistribute` instead?")
        return tensor
    placements = normalize_placements(placements, tensor.ndim, mesh)
    with ember.no_grad():
        whole = tensor.detach().contiguous().clone()
        if src_data_rank is not None:
            _broadcast_from_origin(whole, mesh)
        local = _rd.transform(whole, mesh, (Replicate(),) * mesh.ndim, placements,
                              tuple(tensor.shape))
        local = local.contiguous().detach()
    out = wrap_local(local, mesh, placements, tuple(tensor.shape))
    if tensor.requires_grad:
        Tensor.requires_grad_(out, True)
    return out


def _factory(make, size, kwargs):
    """A DTensor made by ``make(local_shape)`` for the local piece of ``size``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    mesh = _mesh_or_default(kwargs.pop("device_mesh", None))
    placements = normalize_placements(kwargs.pop("placements", None), len(size), mesh)
    for placement in placements:
        if placement.is_partial():
            raise ValueError("Partial placements are not supported for factory functions")
    requires_grad = kwargs.pop("requires_grad", False)
    local_shape, _ = _rd.local_shape_and_offset(size, mesh, placements)
    local = make(tuple(size), local_shape, kwargs)
    out = wrap_local(local, mesh, placements, tuple(size))
    if requires_grad:
        Tensor.requires_grad_(out, True)
    return out


def _fill_factory(fill):
    def make(_size, local_shape, kwargs):
        return fill(local_shape, **kwargs)
    return make


def empty(*size, **kwargs) -> DTensor:
    """``torch.distributed.tensor.empty``: uninitialised pieces (``device_mesh=``,
    ``placements=``, ``dtype=``, ``requires_grad=`` as keywords)."""
    return _factory(_fill_factory(ember.empty), size, kwargs)


def zeros(*size, **kwargs) -> DTensor:
    return _factory(_fill_factory(ember.zeros), size, kwargs)


def ones(*size, **kwargs) -> DTensor:
    return _factory(_fill_factory(ember.ones), size, kwargs)


def full(size, fill_value, **kwargs) -> DTensor:
    def make(_size, local_shape, options):
        return ember.full(local_shape, fill_value, **options)
    return _factory(make, (tuple(size),), kwargs)


def _random(draw, size, kwargs):
    """Random pieces that together are what ``draw(global size)`` gives under the current
    seed on every rank (each rank draws the whole and keeps its piece). PyTorch's own
    sharded RNG (an offset-based Philox tracker) draws other numbers; ember gives the
    layout-independent values instead: the same tensor whatever the placements."""
    mesh = _mesh_or_default(kwargs.get("device_mesh"))
    kwargs["device_mesh"] = mesh

    def make(global_size, _local_shape, options):
        whole = draw(global_size, **options)
        placements = normalize_placements(kwargs_placements, len(global_size), mesh)
        return _rd.transform(whole, mesh, (Replicate(),) * mesh.ndim, placements,
                             tuple(whole.shape)).contiguous()
    kwargs_placements = kwargs.get("placements")
    return _factory(make, size, kwargs)


def rand(*size, **kwargs) -> DTensor:
    return _random(ember.rand, size, kwargs)


def randn(*size, **kwargs) -> DTensor:
    return _random(ember.randn, size, kwargs)


# -- modules --------------------------------------------------------------------------------

def _replicate_module_params(module, mesh):
    """The default partition: every parameter and buffer of ``module`` (its own, not its
    children's) replicated."""
    from ember import nn

    for name, param in list(module._parameters.items()):
        if param is not None and not isinstance(param, DTensor):
            module.register_parameter(name, nn.Parameter(
                distribute_tensor(param.data, mesh, [Replicate()] * mesh.ndim),
                requires_grad=param.requires_grad))
    for name, buffer in list(module._buffers.items()):
        if buffer is not None and not isinstance(buffer, DTensor):
            module._buffers[name] = distribute_tensor(buffer, mesh,
                                                      [Replicate()] * mesh.ndim)


def distribute_module(module, device_mesh=None, partition_fn=None, input_fn=None,
                      output_fn=None):
    """Distribute ``module``'s parameters by ``partition_fn(name, submodule, mesh)`` (or
    replicate them all), and wrap its forward with ``input_fn(module, inputs, mesh)`` and
    ``output_fn(module, outputs, mesh)``."""
    mesh = _mesh_or_default(device_mesh)
    if getattr(module, "_distribute_module_applied", False):
        raise RuntimeError("distribute_module should only be called once on a module, but "
                           "it has already been called on this module!")
    for name, submodule in module.named_modules():
        if partition_fn is None:
            _replicate_module_params(submodule, mesh)
        else:
            partition_fn(name, submodule, mesh)
            _replicate_module_params(submodule, mesh)
    if input_fn is not None:
        module.register_forward_pre_hook(lambda mod, inputs: input_fn(mod, inputs, mesh))
    if output_fn is not None:
        module.register_forward_hook(
            lambda mod, inputs, outputs: output_fn(mod, outputs, mesh))
    module._distribute_module_applied = True
    return module


