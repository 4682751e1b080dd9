"""Every pipelining case on 2 ranks in one launch (test_pipelining.py starts it and
compares with single-process PyTorch): a 4-layer MLP trained a few SGD steps under each
schedule, then the error paths. Prints ``PIPE_RESULT {json}`` per rank."""

import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.distributed.pipelining import (
    PipelineStage, Schedule1F1B, ScheduleGPipe, ScheduleInterleaved1F1B,
    ScheduleInterleavedZeroBubble, ScheduleLoopedBFS, SplitPoint, pipe_split, pipeline,
)

SIZES = (6, 10, 10, 10, 3)   # a 4-layer MLP
BATCH, MICROBATCHES, STEPS, LR = 8, 4, 3, 0.1


def initial_weights():
    """Shared with the test: the MLP's parameters, by layer."""
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((n_out, n_in)) * 0.4, rng.standard_normal(n_out) * 0.1)
            for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]


def data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((BATCH, SIZES[0])), rng.standard_normal((BATCH, SIZES[-1]))


def linear(index):
    weight, bias = initial_weights()[index]
    layer = nn.Linear(weight.shape[1], weight.shape[0], dtype=ember.float64)
    with ember.no_grad():
        layer.weight.copy_(ember.tensor(weight))
        layer.bias.copy_(ember.tensor(bias))
    return layer


def layers(first, last):
    """Linear layers first..last-1, each but the model's last followed by tanh."""
    parts = []
    for index in range(first, last):
        parts.append(linear(index))
        if index < len(SIZES) - 2:
            parts.append(nn.Tanh())
    return nn.Sequential(*parts)


class SplitMLP(nn.Module):
    """The MLP with explicit pipe_split() calls between its layers."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([layers(i, i + 1) for i in range(4)])

    def forward(self, x):
        x = self.blocks[0](x)
        x = self.blocks[1](x)
        pipe_split()
        x = self.blocks[2](x)
        x = self.blocks[3](x)
        return x


def mse(output, target):
    return ((output - target) ** 2).mean()


def train(schedule, stage_modules, rank):
    """STEPS SGD steps; returns the microbatch losses (last stage's rank) and the weights
    by global layer index. ``stage_modules``: stage index -> (module, its first layer)."""
    x, y = (ember.tensor(a) for a in data())
    parameters = [p for m, _ in stage_modules.values() for p in m.parameters()]
    optimizer = ember.optim.SGD(parameters, lr=LR)
    step_losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        losses = []
        if rank == 0:
            schedule.step(x, target=y, losses=losses)
        else:
            schedule.step(target=y, losses=losses)
        step_losses.append([loss.item() for loss in losses])
        optimizer.step()
    weights = {}
    for module, first_layer in stage_modules.values():
        found = [m for m in module.modules() if isinstance(m, nn.Linear)]
        for offset, layer in enumerate(found):
            weights[first_layer + offset] = [layer.weight.tolist(), layer.bias.tolist()]
    return {"losses": step_losses, "weights": weights}


def single_stage_case(schedule_class, rank):
    stage_module = layers(0, 2) if rank == 0 else layers(2, 4)
    stage = PipelineStage(stage_module, rank, 2, "cpu")
    schedule = schedule_class(stage, MICROBATCHES, loss_fn=mse)
    return train(schedule, {rank: (stage_module, 2 * rank)}, rank)


def looped_case(schedule_class, rank):
    """4 stages, 2 per rank: stage i on rank i % 2."""
    modules = {index: layers(index, index + 1) for index in (rank, rank + 2)}
    stages = [PipelineStage(m, index, 4, "cpu") for index, m in modules.items()]
    schedule = schedule_class(stages, MICROBATCHES, loss_fn=mse)
    return train(schedule, {i: (m, i) for i, m in modules.items()}, rank)


def traced_case(rank):
    """pipeline() with split_spec, then GPipe; eval() afterwards."""
    model = layers(0, 4)
    x, _ = data()
    pipe = pipeline(model, (ember.tensor(x[:2]),), split_spec={"4": SplitPoint.BEGINNING})
    stage = pipe.build_stage(rank, "cpu")
    schedule = ScheduleGPipe(stage, MICROBATCHES, loss_fn=mse)
    result = train(schedule, {rank: (stage.submod, 2 * rank)}, rank)
    result["num_stages"] = pipe.num_stages
    result["pipe_output"] = [o.tolist() for o in pipe(ember.tensor(x))]
    result["split_gm_children"] = [name for name, _ in pipe.split_gm.named_children()]
    y = ember.tensor(data()[1])
    evaluated = schedule.eval(ember.tensor(x)) if rank == 0 else schedule.eval(target=y)
    result["eval"] = None if evaluated is None else evaluated.tolist()
    return result


def pipe_split_case(rank):
    """pipeline() at pipe_split() calls, 1F1B; the second stage is given its input shape,
    the first infers its own (the two kinds of stage mix)."""
    model = SplitMLP()
    x, _ = data()
    chunk = ember.tensor(x[:BATCH // MICROBATCHES])
    pipe = pipeline(model, (chunk,))
    module = pipe.get_stage_module(rank)
    if rank == 0:
        stage = PipelineStage(module, 0, 2, "cpu")
    else:
        example = ember.zeros(BATCH // MICROBATCHES, SIZES[2], dtype=ember.float64)
        stage = PipelineStage(module, 1, 2, "cpu", input_args=(example,))
    schedule = Schedule1F1B(stage, MICROBATCHES, loss_fn=mse)
    return train(schedule, {rank: (module, 2 * rank)}, rank)


def error(call):
    try:
        call()
    except Exception as caught:  # noqa: BLE001 - the test compares the type and message
        return [type(caught).__name__, str(caught)]
    return None


def error_cases(rank):
    stage = PipelineStage(layers(0, 2) if rank == 0 else layers(2, 4), rank, 2, "cpu")
    looped = [PipelineStage(layers(i, i + 1), i, 4, "cpu") for i in (rank, rank + 2)]
    gpipe = ScheduleGPipe(stage, MICROBATCHES, loss_fn=mse)
    x, y = (ember.tensor(a) for a in data())

    def under_no_grad():
        with ember.no_grad():
            gpipe.step(x, target=y)

    model = layers(0, 4)
    results = {}
    # shapes given, so nothing is exchanged: the check fails before sending. (PyTorch
    # checks only under its runtime validation and would send the wrong shape on.)
    if rank == 0 and ember.__name__ == "ember":
        first = PipelineStage(layers(0, 2), 0, 2, "cpu", input_args=(x[:2],))
        wrong_batch = ember.zeros(12, SIZES[0], dtype=ember.float64)
        results["shape_mismatch"] = error(
            lambda: ScheduleGPipe(first, MICROBATCHES, loss_fn=mse).step(wrong_batch))
        results["dtype_mismatch"] = error(
            lambda: ScheduleGPipe(first, MICROBATCHES, loss_fn=mse).step(x.float()))
    return results | {
        "too_few_microbatches": error(lambda: Schedule1F1B(stage, 1, loss_fn=mse)),
        "interleaved_rounds": error(lambda: ScheduleInterleaved1F1B(looped, 5, loss_fn=mse)),
        "no_grad": error(under_no_grad),
        "short_batch": error(lambda: gpipe.step(x[:3], target=y)),
        "mbs_count": error(lambda: gpipe._step_microbatches([(x,)] * 3)),
        "losses_type": error(lambda: gpipe.step(x, target=y, losses=())),
        "both_specs": error(lambda: pipeline(model, (x,), split_spec={"0": SplitPoint.END},
                                             split_policy=lambda gm: gm)),
        "missing_module": error(lambda: pipeline(model, (x,),
                                                 split_spec={"9": SplitPoint.END})),
        "stage_index": error(lambda: pipeline(
            model, (x,), split_spec={"2": SplitPoint.END}).get_stage_module(5)),
    }


def main():
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    results = {"errors": error_cases(rank)}
    results["gpipe"] = single_stage_case(ScheduleGPipe, rank)
    results["1f1b"] = single_stage_case(Schedule1F1B, rank)
    results["traced_gpipe"] = traced_case(rank)
    results["pipe_split_1f1b"] = pipe_split_case(rank)
    results["interleaved_1f1b"] = looped_case(ScheduleInterleaved1F1B, rank)
    results["looped_bfs"] = looped_case(ScheduleLoopedBFS, rank)
    results["interleaved_zb"] = looped_case(ScheduleInterleavedZeroBubble, rank)
    from script_common import report  # here: the tests import this file as a module
    report("PIPE_RESULT", rank, results)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
