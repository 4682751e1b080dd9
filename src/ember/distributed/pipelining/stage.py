"""One pipeline stage: a submodule on this rank, its forward and backward per
microbatch, and the point-to-point traffic with its neighbour stages, as
``torch.distributed.pipelining.stage.PipelineStage``.

Stage ``i`` lives on group rank ``stage_index_to_group_rank[i]`` (round robin,
``i % group_size``, unless a schedule sets the mapping). Activations go to the next
stage and gradients to the previous one with ``isend``; receives block right before the
microbatch needs them. Each message's tag names the receiving stage and the direction,
and messages of one tag arrive in the order they were sent, which every schedule keeps.

Shapes: without ``input_args`` the first ``step`` infers them: the first stage runs its
module (under ``no_grad``) on the first microbatch and sends the output's shapes and
dtypes to the next stage, which runs on zeros of those shapes, and so on. PyTorch runs
that pass on the meta device; ember runs it on real (small) tensors, with the same
result. Later microbatches must keep those shapes (checked before anything is sent).
"""

import ember
import ember.distributed as dist
from ember.autograd import backward as _autograd_backward

from ._utils import validate_tensors_metadata

__all__ = ["PipelineStage", "build_stage"]

_FORWARD, _BACKWARD = 0, 1


def _as_tuple(value) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def _meta(values) -> list:
    return [(tuple(t.shape), t.dtype) for t in values]


class _PipelineStageBase:
    """What every stage kind shares: placement, communication and the per-microbatch
    bookkeeping schedules drive."""

    def __init__(self, submodule, stage_index: int, num_stages: int, device=None,
                 group=None):
        if stage_index >= num_stages:
            raise ValueError(f"Stage index {stage_index} is out of range of {num_stages}")
        self.submod = submodule
        self.stage_index = stage_index
        self.num_stages = num_stages
        self.device = ember.device(device) if device is not None else ember.device("cpu")
        self.group = group
        self.group_rank = dist.get_rank(group)
        self.group_size = dist.get_world_size(group)
        if self.group_size > self.num_stages:
            raise RuntimeError(f"Pipeline group size {self.group_size} cannot be larger than "
                               f"number of stages {self.num_stages}")
        self.stage_index_to_group_rank = {i: i % self.group_size for i in range(num_stages)}
        self.has_backward = False
        self.inputs_meta = None
        self.outputs_meta = None
        self._infra_ready = False
        self._local_mail = None  # set by a schedule holding several stages of this rank
        self.clear_runtime_states()

    @property
    def is_first(self) -> bool:
        return self.stage_index == 0

    @property
    def is_last(self) -> bool:
        return self.stage_index == self.num_stages - 1

    def __repr__(self):
        return (f"{type(self).__name__}(stage_index={self.stage_index}, "
                f"num_stages={self.num_stages}, group_rank={self.group_rank})")

    def clear_runtime_states(self) -> None:
        """Forget the previous step's microbatches (called at each ``step``)."""
        self.fwd_cache = {}      # mb -> (outputs, inputs needing grad)
        self.output_chunks = []
        self._sends = []

    # -- communication -------------------------------------------------------------------

    def _peer(self, stage_index: int) -> int:
        return self.stage_index_to_group_rank[stage_index]

    def _send(self, tensors, stage_index: int, direction: int) -> None:
        peer = self._peer(stage_index)
        tag = 2 * stage_index + direction
        if peer == self.group_rank:  # a later stage of this same rank
            self._local_mail.setdefault(tag, []).append([t.detach() for t in tensors])
            return
        for tensor in tensors:
            tensor = tensor.detach().contiguous()
            if self.group is None:
                work = dist.isend(tensor, dst=peer, tag=tag)
            else:
                work = dist.isend(tensor, group=self.group, group_dst=peer, tag=tag)
            self._sends.append(work)

    def _recv(self, meta, stage_index: int, direction: int) -> list:
        peer = self._peer(stage_index)
        tag = 2 * self.stage_index + direction
        if peer == self.group_rank:
            return [t.clone() for t in self._local_mail[tag].pop(0)]
        received = []
        for shape, dtype in meta:
            buffer = ember.empty(shape, dtype=dtype, device=self.device)
            if self.group is None:
                dist.recv(buffer, src=peer, tag=tag)
            else:
                dist.recv(buffer, group=self.group, group_src=peer, tag=tag)
            received.append(buffer)
        return received

    def _wait_sends(self) -> None:
        for work in self._sends:
            work.wait()
        self._sends = []

    # -- shapes --------------------------------------------------------------------------

    def _prepare_forward_infra(self, args: tuple, kwargs: dict) -> None:
        """Agree on the shapes once, at the first step (see the module docstring). Every
        stage passes its output shapes on, also when they were given, so stages built
        with and without ``input_args`` can be mixed; given input shapes are checked
        against what the previous stage will send."""
        if self._infra_ready:
            return
        if self.is_first:
            example = args
            if self.inputs_meta is None:
                self.inputs_meta = _meta([a for a in args if isinstance(a, ember.Tensor)])
            else:  # before anything is sent
                validate_tensors_metadata(f"Stage {self.stage_index} forward inputs",
                                          self.inputs_meta,
                                          [a for a in args if isinstance(a, ember.Tensor)])
        else:
            objects = [None]
            peer = self._peer(self.stage_index - 1)
            if peer == self.group_rank:
                objects[0] = self._local_mail.pop(("meta", self.stage_index))
            elif self.group is None:
                dist.recv_object_list(objects, src=peer)
            else:
                dist.recv_object_list(objects, group=self.group, group_src=peer)
            example = tuple(ember.zeros(shape, dtype=dtype, device=self.device)
                            for shape, dtype in objects[0])
            if self.inputs_meta is not None:
                validate_tensors_metadata(f"Stage {self.stage_index} forward inputs",
                                          self.inputs_meta, example)
            self.inputs_meta = objects[0]
        if self.outputs_meta is None:
            with ember.no_grad():
                self.outputs_meta = _meta(_as_tuple(self.submod(*example, **kwargs)))
        if not self.is_last:
            peer = self._peer(self.stage_index + 1)
            if peer == self.group_rank:
                self._local_mail[("meta", self.stage_index + 1)] = self.outputs_meta
            elif self.group is None:
                dist.send_object_list([self.outputs_meta], dst=peer)
            else:
                dist.send_object_list([self.outputs_meta], group=self.group, group_dst=peer)
        self._infra_ready = True

    # -- compute -------------------------------------------------------------------------

    def forward_one_chunk(self, mb_index: int, args: tuple = (), kwargs: dict | None = None):
        """Run microbatch ``mb_index``: the first stage on ``args``, the others on what the
        previous stage sent; the output goes to the next stage. Returns the output."""
        kwargs = kwargs or {}
        if self.is_first:
            # a batch of another shape than the stages were set up for would be sent
            # into buffers of the old shape: stop here instead (PyTorch's check)
            validate_tensors_metadata(f"Stage {self.stage_index} forward inputs",
                                      self.inputs_meta,
                                      [a for a in args if isinstance(a, ember.Tensor)])
        else:
            args = tuple(self._recv(self.inputs_meta, self.stage_index - 1, _FORWARD))
            if self.has_backward:
                for tensor in args:
                    if tensor.is_floating_point():
                        tensor.requires_grad_(True)
        output = self.submod(*args, **kwargs)
        outputs = _as_tuple(output)
        if self.has_backward:
            needs_grad = [a for a in args if isinstance(a, ember.Tensor) and a.requires_grad]
            self.fwd_cache[mb_index] = (outputs, needs_grad)
        if self.is_last:
            self.output_chunks.append(output)
        else:
            validate_tensors_metadata(f"Stage {self.stage_index} forward outputs",
                                      self.outputs_meta, outputs)
            self._send(outputs, self.stage_index + 1, _FORWARD)
        return output

    def backward_one_chunk(self, mb_index: int, loss=None) -> None:
        """Backpropagate microbatch ``mb_index`` from ``loss`` (last stage) or from the
        gradients the next stage sent; gradients accumulate in ``.grad`` of the
        parameters, and the input gradients go to the previous stage."""
        outputs, inputs = self.fwd_cache.pop(mb_index)
        if self.is_last:
            _autograd_backward(loss)
        else:
            grads = self._recv(self.outputs_meta, self.stage_index + 1, _BACKWARD)
            pairs = [(o, g) for o, g in zip(outputs, grads) if o.requires_grad]
            if pairs:
                _autograd_backward([o for o, _ in pairs], [g for _, g in pairs])
        if not self.is_first:
            input_grads = [a.grad if a.grad is not None else ember.zeros_like(a)
                           for a in inputs]
            self._send(input_grads, self.stage_index - 1, _BACKWARD)

    def scale_grads(self, grad_scale_factor: int) -> None:
        """Divide the accumulated parameter gradients by the microbatch count, so a
        per-microbatch mean loss gives the full batch's mean gradient."""
        if grad_scale_factor != 1:
            with ember.no_grad():
                for parameter in self.submod.parameters():
                    if parameter.grad is not None:
                        parameter.grad.div_(grad_scale_factor)


class PipelineStage(_PipelineStageBase):
    """A manually split stage: ``submodule`` is this rank's part of the model.

    Args:
        submodule: the layers of stage ``stage_index``.
        stage_index: its position in the pipeline.
        num_stages: how many stages the pipeline has.
        device: where its tensors live.
        input_args: an example microbatch input of this stage (shapes are inferred at the
            first step when left out).
        output_args: an example output (computed from ``input_args`` when left out).
        group: the pipeline's process group (the world by default).

    Example::

        stage = PipelineStage(layers_of_this_rank, rank, world_size, "cpu")
        schedule = ScheduleGPipe(stage, n_microbatches=4, loss_fn=loss_fn)
        schedule.step(x, target=y) if rank == 0 else schedule.step(target=y)
    """

    def __init__(self, submodule, stage_index: int, num_stages: int, device=None,
                 input_args=None, output_args=None, group=None, dw_builder=None):
        super().__init__(submodule, stage_index, num_stages, device, group)
        if input_args is not None:
            inputs = _as_tuple(input_args)
            self.inputs_meta = _meta(inputs)
            if output_args is None:
                with ember.no_grad():
                    output_args = submodule(*inputs)
        if output_args is not None:
            self.outputs_meta = _meta(_as_tuple(output_args))


def build_stage(stage_module, stage_index: int, pipe_info, device=None, group=None):
    """A stage for ``stage_module``, a submodule of a ``Pipe`` described by ``pipe_info``."""
    return PipelineStage(stage_module, stage_index, pipe_info.num_stages, device, group=group)
