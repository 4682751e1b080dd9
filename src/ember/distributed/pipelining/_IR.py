"""Splitting one model into pipeline stages by tracing, as
``torch.distributed.pipelining.pipeline``.

The model is traced with ``ember.fx`` (PyTorch uses ``torch.export``); a split happens at
each ``pipe_split()`` call in ``forward`` and before or after each submodule named in
``split_spec``. Stage ``k`` becomes ``submod_pp_k`` of ``Pipe.split_gm``: a GraphModule whose
inputs are the values computed before it and used from it on, and whose outputs are
those the next stage needs, so a value skipping stages is passed through the ones in
between (stages talk only to their neighbours). Stage modules share the original
model's parameter tensors.
"""

from dataclasses import dataclass
from enum import Enum

import ember
from ember import fx, nn

from .stage import PipelineStage

__all__ = ["Pipe", "PipeInfo", "SplitPoint", "pipe_split", "pipeline"]

PP_SUBMOD_PREFIX = "submod_pp"


class SplitPoint(Enum):
    """Where ``split_spec`` splits around a submodule: BEGINNING (before it runs) or END
    (after it)."""

    BEGINNING = 1
    END = 2


_active_tracer = []  # the _SplitTracer tracing now, if any


def pipe_split():
    """Mark a stage boundary in a ``forward`` traced by ``pipeline``; does nothing when the
    model runs normally. (It takes no arguments, so fx's wrapping, which records calls
    given a Proxy, cannot see it: the splitting tracer registers itself instead.)

    Example::

        def forward(self, x):
            x = self.layer0(x)
            pipe_split()
            return self.layer1(x)
    """
    if _active_tracer:
        _active_tracer[-1].create_proxy("call_function", pipe_split, (), {})


@dataclass
class PipeInfo:
    """What a stage needs to know about the whole pipe."""

    graph: fx.Graph
    num_stages: int
    has_loss_and_backward: bool


class _SplitTracer(fx.Tracer):
    """Records ``pipe_split`` calls, adding one around each module of ``split_spec``."""

    def __init__(self, split_spec: dict):
        super().__init__()
        self.split_spec = split_spec

    def trace(self, root, concrete_args=None):
        _active_tracer.append(self)
        try:
            return super().trace(root, concrete_args)
        finally:
            _active_tracer.pop()

    def call_module(self, m, forward, args, kwargs):
        split = self.split_spec.get(self.path_of_module(m))
        if split is SplitPoint.BEGINNING:
            self.create_proxy("call_function", pipe_split, (), {})
        result = super().call_module(m, forward, args, kwargs)
        if split is SplitPoint.END:
            self.create_proxy("call_function", pipe_split, (), {})
        return result


def _check_split_spec(module, split_spec: dict) -> None:
    """PyTorch's checks: a missing parent module is named, a missing last one raises the
    plain attribute error."""
    for qualname, split_type in split_spec.items():
        owner = module
        atoms = qualname.split(".")
        for i, atom in enumerate(atoms[:-1]):
            try:
                owner = getattr(owner, atom)
            except AttributeError as missing:
                raise AttributeError(f"Specified target {qualname} referenced nonexistent "
                                     f"module {'.'.join(atoms[:i + 1])}") from missing
        getattr(owner, atoms[-1])
        if not isinstance(split_type, SplitPoint):
            raise ValueError("Unknown split point type.")


def _used_by(node) -> set:
    found = set()
    fx.map_arg((node.args, node.kwargs), lambda n: found.add(n))
    return found


def _split_graph(module, graph: fx.Graph):
    """The stages' GraphModules and the graph of the parent calling them in turn."""
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    output_node = next(n for n in graph.nodes if n.op == "output")
    stages, stage_of = [[]], {}
    for node in graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        if node.op == "call_function" and node.target is pipe_split:
            stages.append([])
            continue
        stage_of[node] = len(stages) - 1
        stages[-1].append(node)
    if any(not nodes for nodes in stages):
        raise RuntimeError("A pipeline stage has no operations: a split point sits at the "
                           "very beginning or end of the model, or two coincide")
    last_use = {}
    for node in graph.nodes:
        for used in _used_by(node):
            index = len(stages) - 1 if node is output_node else stage_of[node]
            last_use[used] = max(last_use.get(used, -1), index)
    defined_by = {n: -1 for n in placeholders} | stage_of

    def live_into(k):  # values made before stage k and read at stage k or later
        return [n for n in graph.nodes if n in last_use and defined_by.get(n, k) < k
                and last_use[n] >= k]

    submodules, boundaries = [], [placeholders]
    for k in range(1, len(stages)):
        boundaries.append(live_into(k))
    for k, nodes in enumerate(stages):
        stage_graph = fx.Graph()
        env = {n: stage_graph.placeholder(n.name) for n in boundaries[k]}
        for node in nodes:
            env[node] = stage_graph.node_copy(node, lambda n: env[n])
        if k + 1 < len(stages):
            results = [env[n] for n in boundaries[k + 1]]
            stage_graph.output(results[0] if len(results) == 1 else tuple(results))
        else:
            stage_graph.output(fx.map_arg(output_node.args[0], lambda n: env[n]))
        submodules.append(fx.GraphModule(module, stage_graph))
    parent_graph = fx.Graph()
    env = {n: parent_graph.placeholder(n.name) for n in placeholders}
    for k in range(len(stages)):
        call = parent_graph.call_module(f"{PP_SUBMOD_PREFIX}_{k}",
                                        tuple(env[n] for n in boundaries[k]))
        if k + 1 < len(stages):
            following = boundaries[k + 1]
            if len(following) == 1:
                env[following[0]] = call
            else:
                for i, node in enumerate(following):
                    env[node] = parent_graph.call_function(_getitem, (call, i))
        elif isinstance(output_node.args[0], (tuple, list)):
            parent_graph.output(call)
        else:  # as PyTorch's exported graph, the Pipe returns its outputs as a tuple
            parent_graph.output((call,))
    return submodules, parent_graph


def _getitem(values, index):
    return values[index]


class Pipe(nn.Module):
    """A model split into stages: ``split_gm`` holds ``submod_pp_0`` ... and runs them in
    turn; ``Pipe(x)`` is the original model's output, in a tuple as PyTorch's."""

    def __init__(self, split_gm, num_stages: int, has_loss_and_backward: bool = False,
                 loss_spec=None):
        super().__init__()
        self.split_gm = split_gm
        self.num_stages = num_stages
        self.has_loss_and_backward = has_loss_and_backward
        self.loss_spec = loss_spec

    def forward(self, *args, **kwargs):
        return self.split_gm(*args, **kwargs)

    def get_stage_module(self, stage_idx: int) -> nn.Module:
        """The module of stage ``stage_idx``."""
        if stage_idx < 0 or stage_idx >= self.num_stages:
            raise ValueError(f"Invalid stage index {stage_idx}!")
        return getattr(self.split_gm, f"{PP_SUBMOD_PREFIX}_{stage_idx}")

    def info(self) -> PipeInfo:
        return PipeInfo(self.split_gm.graph, self.num_stages, self.has_loss_and_backward)

    def build_stage(self, stage_index: int, device, group=None) -> PipelineStage:
        """A ``PipelineStage`` running stage ``stage_index`` of this pipe."""
        return PipelineStage(self.get_stage_module(stage_index), stage_index, self.num_stages,
                             device, group=group)

    @staticmethod
    def from_tracing(mod: nn.Module, example_args: tuple, example_kwargs: dict | None = None,
                     split_policy=None, split_spec: dict | None = None) -> "Pipe":
        graph = _SplitTracer(split_spec or {}).trace(mod)
        if split_policy is not None:
            graph = split_policy(fx.GraphModule(mod, graph)).graph
        submodules, parent_graph = _split_graph(mod, graph)
        root = nn.Module()
        for k, submodule in enumerate(submodules):
            root.add_module(f"{PP_SUBMOD_PREFIX}_{k}", submodule)
        return Pipe(fx.GraphModule(root, parent_graph), len(submodules))

    def __repr__(self):
        return repr(self.split_gm)


def pipeline(module: nn.Module, mb_args: tuple, mb_kwargs: dict | None = None,
             split_spec: dict | None = None, split_policy=None) -> Pipe:
    """Split ``module`` into a ``Pipe`` at its ``pipe_split()`` calls or at the submodules
    of ``split_spec`` (``{"layers.2": SplitPoint.BEGINNING}``); ``mb_args`` is one
    microbatch of example input.

    Example::

        pipe = pipeline(model, (x_chunk,), split_spec={"layer2": SplitPoint.BEGINNING})
        stage = pipe.build_stage(rank, device)
    """
    if split_spec is not None and split_policy is not None:
        raise ValueError("Cannot specify both `split_spec` and `split_policy`. Please use "
                         "only one of them.")
    if split_spec is not None:
        _check_split_spec(module, split_spec)
    with ember.no_grad():
        pipe = Pipe.from_tracing(module, mb_args, mb_kwargs, split_policy, split_spec)
    return pipe
