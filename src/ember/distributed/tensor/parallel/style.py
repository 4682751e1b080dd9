"""Tensor-parallel styles (``torch.distributed.tensor.parallel.style``): each says how a
module's parameters are laid out over a 1-D mesh and how its inputs and outputs are
converted, applied through ``distribute_module``.

- ``ColwiseParallel``: Linear weight/bias ``Shard(0)`` (Embedding weight ``Shard(1)``),
  input Replicate, output ``Shard(-1)``.
- ``RowwiseParallel``: Linear weight ``Shard(1)``, bias Replicate (Embedding weight
  ``Shard(0)``), input ``Shard(-1)``, output Partial made Replicate.
- ``SequenceParallel``: parameters replicated, activations ``Shard(sequence_dim)``.
- ``PrepareModuleInput`` / ``PrepareModuleOutput``: layout conversions only.
"""

from __future__ import annotations

import functools

from ember import nn

from .._api import DTensor, distribute_module, distribute_tensor
from ..placement_types import Placement, Replicate, Shard

__all__ = ["ColwiseParallel", "ParallelStyle", "PrepareModuleInput", "PrepareModuleOutput",
           "RowwiseParallel", "SequenceParallel"]


class ParallelStyle:
    """The base of the styles: ``_apply(module, device_mesh)`` parallelizes ``module``."""

    src_data_rank: int | None = 0

    def _apply(self, module, device_mesh):
        raise NotImplementedError


def _shard_params(module, mesh, placement_by_name, src_data_rank):
    for name, param in list(module.named_parameters(recurse=False)):
        placement = placement_by_name(name)
        module.register_parameter(name, nn.Parameter(
            distribute_tensor(param, mesh, [placement], src_data_rank=src_data_rank),
            requires_grad=param.requires_grad))


def _to_dtensor(tensor, mesh, layout):
    if isinstance(tensor, DTensor):
        return tensor
    return DTensor.from_local(tensor, mesh, (layout,), run_check=False)


def _wrapped(placements, ndim):
    """``placements`` with negative Shard dims wrapped, as a DTensor reports its own."""
    return tuple(Shard(p.dim % ndim) if p.is_shard() else p for p in placements)


class ColwiseParallel(ParallelStyle):
    """Shard a Linear's output features (weight and bias ``Shard(0)``) or an Embedding's
    embedding dimension (``Shard(1)``) over the mesh."""

    def __init__(self, *, input_layouts: Placement | None = None,
                 output_layouts: Placement | None = None, use_local_output: bool = True):
        self.input_layouts = (input_layouts or Replicate(),)
        self.output_layouts = (output_layouts or Shard(-1),)
        self.desired_input_layouts = (Replicate(),)
        self.use_local_output = use_local_output

    @staticmethod
    def _prepare_input_fn(input_layouts, desired_input_layouts, mod, inputs, device_mesh):
        tensor = inputs[0]
        if not isinstance(tensor, DTensor):
            tensor = DTensor.from_local(tensor, device_mesh, input_layouts, run_check=False)
        if input_layouts != desired_input_layouts:
            tensor = tensor.redistribute(placements=desired_input_layouts)
        return tensor

    @staticmethod
    def _prepare_output_fn(output_layouts, use_local_output, mod, outputs, device_mesh):
        if tuple(outputs.placements) != _wrapped(output_layouts, outputs.ndim):
            outputs = outputs.redistribute(placements=output_layouts)
        return outputs.to_local() if use_local_output else outputs

    def _apply(self, module, device_mesh):
        if isinstance(module, nn.Linear):
            placement = Shard(0)
        elif isinstance(module, nn.Embedding):
            placement = Shard(1)
        else:
            raise NotImplementedError("ColwiseParallel currently only support nn.Linear and "
                                      "nn.Embedding!")
        return self._distribute(module, device_mesh, lambda _: placement)

    def _distribute(self, module, device_mesh, placement_by_name):
        """``module``'s parameters sharded by ``placement_by_name``, its input and output
        converted by this style's layouts (RowwiseParallel's too)."""
        return distribute_module(
            module, device_mesh,
            lambda name, mod, mesh: _shard_params(mod, mesh, placement_by_name,
                                                  self.src_data_rank),
            functools.partial(self._prepare_input_fn, self.input_layouts,
                              self.desired_input_layouts),
            functools.partial(self._prepare_output_fn, self.output_layouts,
                              self.use_local_output))

    def __repr__(self):
        return (f"{type(self).__name__}(input_layouts={self.input_layouts}, "
                f"output_layouts={self.output_layouts}, "
                f"use_local_output={self.use_local_output})")


class RowwiseParallel(ParallelStyle):
    """Shard a Linear's input features (weight ``Shard(1)``, bias replicated; the output
    is summed across ranks) or an Embedding's rows (``Shard(0)``: each rank looks up the
    ids it holds)."""

    def __init__(self, *, input_layouts: Placement | None = None,
                 output_layouts: Placement | None = None, use_local_output: bool = True):
        self.input_layouts = (input_layouts or Shard(-1),)
        self.output_layouts = (output_layouts or Replicate(),)
        self.use_local_output = use_local_output

    @staticmethod
    def _prepare_input_fn(input_layouts, desired_input_layouts, mod, inputs, device_mesh):
        tensor = inputs[0]
        if not isinstance(tensor, DTensor):
            tensor = DTensor.from_local(tensor, device_mesh, input_layouts, run_check=False)
        if tuple(tensor.placements) != _wrapped(desired_input_layouts, tensor.ndim):
            tensor = tensor.redistribute(placements=desired_input_layouts)
        return tensor

    _prepare_output_fn = staticmethod(ColwiseParallel._prepare_output_fn)  # the same one

    def _apply(self, module, device_mesh):
        if isinstance(module, nn.Linear):
            def placement(name):
                return Shard(1) if name == "weight" else Replicate()
            self.desired_input_layouts = (Shard(-1),)
        elif isinstance(module, nn.Embedding):
            def placement(name):
                return Shard(0)
            self.desired_input_layouts = (Replicate(),)
        else:
            raise NotImplementedError("RowwiseParallel currently only support nn.Linear and "
                                      "nn.Embedding!")
        return self._distribute(module, device_mesh, placement)

    _distribute = ColwiseParallel._distribute  # the same ones, with this class's layouts
    __repr__ = ColwiseParallel.__repr__


class SequenceParallel(ParallelStyle):
    """Replicate a norm's (or dropout's) parameters and run it on activations sharded
    along ``sequence_dim``: the normalised dimensions stay whole on each rank."""

    def __init__(self, *, sequence_dim: int = 1, use_local_output: bool = False):
        self.sequence_sharding = (Shard(sequence_dim),)
        self.use_local_output = use_local_output

    @staticmethod
    def _replicate_module_fn(name, module, device_mesh):
        for param_name, param in list(module.named_parameters(recurse=False)):
            replicated = DTensor.from_local(param.detach(), device_mesh, [Replicate()],
                                            run_check=False)
            module.register_parameter(param_name, nn.Parameter(
                replicated, requires_grad=param.requires_grad))

    @staticmethod
    def _prepare_input_fn(sequence_sharding, mod, inputs, device_mesh):
        tensor = inputs[0]
        if isinstance(tensor, DTensor):
            wanted = tuple(Shard(p.dim % tensor.ndim) for p in sequence_sharding)
            if tuple(tensor.placements) != wanted:
                tensor = tensor.redistribute(placements=sequence_sharding)
            return (tensor, *inputs[1:])
        return (DTensor.from_local(tensor, device_mesh, sequence_sharding, run_check=False),
                *inputs[1:])

    @staticmethod
    def _prepare_output_fn(use_local_output, mod, outputs, device_mesh):
        return outputs.to_local() if use_local_output else outputs

    def _apply(self, module, device_mesh):
        return distribute_module(
            module, device_mesh, self._replicate_module_fn,
            functools.partial(self._prepare_input_fn, self.sequence_sharding),
            functools.partial(self._prepare_output_fn, self.use_local_output))

    def __repr__(self):
        return (f"{type(self).__name__}(sequence_dim={self.sequence_sharding[0].dim}, "
                f"use_local_output={self.use_local_output})")


def _as_tuple(layouts):
    if layouts is None or isinstance(layouts, (tuple, list)):
        return layouts if layouts is None else tuple(layouts)
    return (layouts,)


def _convert(value, layout, desired, mesh, use_local_output):
    """One input or output moved from ``layout`` to ``desired`` (None: left alone)."""
    if layout is None or not hasattr(value, "shape"):
        return value
    tensor = _to_dtensor(value, mesh, layout)
    if desired is not None and layout != desired:
        tensor = tensor.redistribute(placements=(desired,))
    return tensor.to_local() if use_local_output else tensor


class PrepareModuleInput(ParallelStyle):
    """Convert a module's positional (and keyword) inputs from ``input_layouts`` to
    ``desired_input_layouts`` before its forward (plain tensors become DTensors first)."""

    def __init__(self, *, input_layouts=None, desired_input_layouts=None,
                 input_kwarg_layouts=None, desired_input_kwarg_layouts=None,
                 use_local_output: bool = False):
        self.input_layouts = _as_tuple(input_layouts)
        self.desired_input_layouts = _as_tuple(desired_input_layouts)
        self.use_local_output = use_local_output
        if self.input_layouts is not None:
            if self.desired_input_layouts is None:
                raise AssertionError("desired module inputs should not be None!")
            if len(self.input_layouts) != len(self.desired_input_layouts):
                raise AssertionError("input_layouts and desired_input_layouts should have "
                                     "same length!")
        self.input_kwarg_layouts = input_kwarg_layouts or {}
        self.desired_input_kwarg_layouts = desired_input_kwarg_layouts or {}
        self.with_kwargs = bool(self.input_kwarg_layouts)
        if len(self.input_kwarg_layouts) != len(self.desired_input_kwarg_layouts):
            raise AssertionError("input_kwarg_layouts and desired_input_kwarg_layouts should "
                                 "have same length!")

    def _prepare_inputs(self, inputs, mesh):
        if self.input_layouts is None:
            return inputs
        if len(inputs) != len(self.input_layouts):
            raise ValueError("module inputs and input_layouts should have same length!")
        return tuple(_convert(value, layout, desired, mesh, self.use_local_output)
                     for value, layout, desired in zip(inputs, self.input_layouts,
                                                       self.desired_input_layouts))

    def _apply(self, module, device_mesh):
        if self.with_kwargs:
            def hook(mod, args, kwargs):
                converted = {key: _convert(value, self.input_kwarg_layouts.get(key),
                                           self.desired_input_kwarg_layouts.get(key),
                                           device_mesh, self.use_local_output)
                             for key, value in kwargs.items()}
                return self._prepare_inputs(args, device_mesh), converted
            module.register_forward_pre_hook(hook, with_kwargs=True)
        else:
            module.register_forward_pre_hook(
                lambda mod, args: self._prepare_inputs(args, device_mesh))
        return module


class PrepareModuleOutput(ParallelStyle):
    """Convert a module's outputs from ``output_layouts`` to ``desired_output_layouts``
    after its forward (to local tensors unless ``use_local_output=False``)."""

    def __init__(self, *, output_layouts, desired_output_layouts,
                 use_local_output: bool = True):
        self.output_layouts = _as_tuple(output_layouts)
        self.desired_output_layouts = _as_tuple(desired_output_layouts)
        self.use_local_output = use_local_output
        if len(self.output_layouts) != len(self.desired_output_layouts):
            raise AssertionError("output_layouts and desired_output_layouts should have "
                                 "same length!")

    def _prepare_outputs(self, outputs, mesh):
        single = not isinstance(outputs, tuple)
        values = (outputs,) if single else outputs
        if len(values) != len(self.output_layouts):
            raise ValueError("module outputs and output_layouts should have same length!")
        converted = tuple(_convert(value, layout, desired, mesh, self.use_local_output)
                          for value, layout, desired in zip(values, self.output_layouts,
                                                            self.desired_output_layouts))
        return converted[0] if single else converted

    def _apply(self, module, device_mesh):
        module.register_forward_hook(
            lambda mod, inputs, outputs: self._prepare_outputs(outputs, device_mesh))
        return module
