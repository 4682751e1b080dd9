"""ember.distributed.pipelining (PyTorch's ``torch.distributed.pipelining``): pipeline
parallelism. A model is cut into stages, each on its own rank (or several per rank for
the looped schedules); a schedule feeds microbatches through them and accumulates the
gradients over the microbatches.

Manual stages::

    stage = PipelineStage(my_layers, stage_index=rank, num_stages=2, device="cpu")

or by tracing::

    pipe = pipeline(model, (x_chunk,), split_spec={"layers.2": SplitPoint.BEGINNING})
    stage = pipe.build_stage(rank, "cpu")

then::

    schedule = Schedule1F1B(stage, n_microbatches=4, loss_fn=loss_fn)
    if rank == 0:
        schedule.step(x)
    else:
        losses = []
        output = schedule.step(target=y, losses=losses)
"""

from . import microbatch  # noqa: F401 - torch.distributed.pipelining.microbatch
from ._IR import Pipe, SplitPoint, pipe_split, pipeline
from .schedules import (
    Schedule1F1B, ScheduleGPipe, ScheduleInterleaved1F1B, ScheduleInterleavedZeroBubble,
    ScheduleLoopedBFS,
)
from .stage import PipelineStage, build_stage

__all__ = ["Pipe", "pipe_split", "SplitPoint", "pipeline", "PipelineStage", "build_stage",
           "Schedule1F1B", "ScheduleGPipe", "ScheduleInterleaved1F1B", "ScheduleLoopedBFS",
           "ScheduleInterleavedZeroBubble"]
