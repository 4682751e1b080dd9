"""``ember.utils.checkpoint`` (PyTorch's activation checkpointing API).

``checkpoint(function, *args)`` returns what ``function(*args)`` returns, with the same
gradients, while keeping fewer activations: they are recomputed in backward.

- ``use_reentrant=False`` (recommended): ``function`` runs under saved-tensor hooks that
  keep a small placeholder instead of each tensor an op saves for backward. The first
  unpack in a backward pass re-runs ``function`` (same RNG state and autocast state) under
  hooks that collect the recomputed tensors in the same order, stopping as soon as all
  are there (early stop). Mismatches raise ``CheckpointError``. ``context_fn`` gives the
  forward and recompute contexts; ``create_selective_checkpoint_contexts`` makes a pair
  that keeps chosen ops' outputs instead of recomputing them (``_checkpoint_sac``).
- ``use_reentrant=True``: ``CheckpointFunction`` runs ``function`` without grad and, in
  backward, again with grad on detached inputs, then back-propagates through that.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
import weakref
from collections import defaultdict

import ember

from ._checkpoint_sac import (
    CheckpointPolicy,
    SelectiveCheckpointContext,
    create_selective_checkpoint_contexts,
    op_scopes,
)

__all__ = [  # noqa: F822 - SAC_IGNORED_OPS and CheckpointFunction come from __getattr__
    "SAC_IGNORED_OPS", "CheckpointError", "CheckpointFunction", "CheckpointPolicy",
    "DefaultDeviceType", "GraphExecGroup", "SelectiveCheckpointContext",
    "check_backward_validity", "checkpoint",
    "checkpoint_sequential", "create_selective_checkpoint_contexts", "detach_variable",
    "get_device_states", "noop_context_fn", "set_checkpoint_debug_enabled",
    "set_checkpoint_early_stop", "set_device_states",
]

_checkpoint_debug_enabled: bool | None = None
_enable_checkpoint_early_stop: bool | None = None
_USE_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
    "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
    "exception. use_reentrant=False is recommended, but if you need to preserve the current "
    "default behavior, you can pass use_reentrant=True. Refer to docs for more details on "
    "the differences between the two variants.")
_DEBUG_TIP = ("\nTip: To see a more detailed error message, either pass `debug=True` to\n"
              "`torch.utils.checkpoint.checkpoint(...)` or wrap the code block\n"
              "with `with torch.utils.checkpoint.set_checkpoint_debug_enabled(True):` to\n"
              "enable checkpoint-debug mode globally.\n")


class CheckpointError(RuntimeError):
    """The recomputation did not reproduce what the forward saved."""


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None):
    """Override every checkpoint's ``debug`` flag inside the block (``None``: defer)."""
    global _checkpoint_debug_enabled
    previous = _checkpoint_debug_enabled
    _checkpoint_debug_enabled = enabled
    try:
        yield
    finally:
        _checkpoint_debug_enabled = previous


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Whether checkpoints made inside the block stop recomputing once every needed
    tensor is back (their backward may run outside the block)."""
    global _enable_checkpoint_early_stop
    previous = _enable_checkpoint_early_stop
    _enable_checkpoint_early_stop = enable
    try:
        yield
    finally:
        _enable_checkpoint_early_stop = previous


def detach_variable(inputs: tuple) -> tuple:
    """The tuple with each tensor detached, keeping its ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for item in inputs:
        if isinstance(item, ember.Tensor):
            detached = item.detach()
            detached.requires_grad = item.requires_grad
            item = detached
        out.append(item)
    return tuple(out)


def check_backward_validity(inputs) -> None:
    """Warn when no input requires grad: the checkpointed outputs then have no gradient."""
    if not any(t.requires_grad for t in inputs if isinstance(t, ember.Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)


class DefaultDeviceType:
    """The device type whose RNG state checkpoints stash when no argument is on an
    accelerator: the current accelerator's, else ``"cpu"``, unless set."""

    _default_device_type: str | None = None

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        if not DefaultDeviceType._default_device_type:
            accelerator = ember.accelerator.current_accelerator(True)
            DefaultDeviceType._default_device_type = accelerator.type if accelerator else "cpu"
        return DefaultDeviceType._default_device_type


def _tensors_in(args) -> list:
    from ._pytree import tree_leaves

    return [leaf for leaf in tree_leaves(args) if isinstance(leaf, ember.Tensor)]


def _infer_device_type(*args) -> str:
    types = [t.device.type for t in _tensors_in(args) if t.device.type != "cpu"]
    if len(set(types)) > 1:
        warnings.warn(
            "Tensor arguments, excluding CPU tensors, are detected on at least two types of "
            "devices. Device state will only be saved for devices of a single device type, "
            "and the remaining devices will be ignored. Consequently, if any checkpointed "
            "functions involve randomness, this may result in incorrect gradients. (Note that "
            "if CUDA devices are among the devices detected, it will be prioritized; "
            "otherwise, the first device encountered will be selected.)\nDevice types: "
            f"{sorted(set(types))} first device type: {types[0]}", stacklevel=2)
    if not types:
        return DefaultDeviceType.get_device_type()
    return "cuda" if "cuda" in types else types[0]


def _device_module(device_type: str):
    return getattr(ember, device_type, None)


def get_device_states(*args) -> tuple[list, list]:
    """The ids and RNG states of the accelerator devices the tensor arguments live on."""
    ids = [t.get_device() for t in _tensors_in(args) if t.device.type not in ("cpu", "meta")]
    module = _device_module(_infer_device_type(*args))
    states = []
    for device_id in ids:
        with module.device(device_id):
            states.append(module.get_rng_state())
    return ids, states


def set_device_states(devices, states, *, device_type=None) -> None:
    """Set the RNG state of each device in ``devices`` (of ``device_type``)."""
    device_type = device_type or DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    module = _device_module(device_type)
    for device, state in zip(devices, states):
        with module.device(device):
            module.set_rng_state(state)


def _autocast_kwargs(device_type: str):
    def state(kind):
        return {"enabled": ember.is_autocast_enabled(kind),
                "dtype": ember.get_autocast_dtype(kind),
                "cache_enabled": ember.is_autocast_cache_enabled()}

    device = state(device_type) if device_type != "cpu" and \
        ember.amp.is_autocast_available(device_type) else None
    return device, state("cpu")


class _RNGSnapshot:
    """The CPU (and, if initialised, device) RNG state at forward, to replay it."""

    def __init__(self, preserve: bool, device_type: str, args) -> None:
        self.preserve, self.device_type = preserve, device_type
        self.devices, self.states = [], []
        if preserve:
            self.cpu_state = ember.get_rng_state()
            module = _device_module(device_type)
            if getattr(module, "_initialized", False):
                self.devices, self.states = get_device_states(*args)

    @contextlib.contextmanager
    def replay(self):
        with ember.random.fork_rng(devices=self.devices, enabled=self.preserve,
                                   device_type=self.device_type):
            if self.preserve:
                ember.set_rng_state(self.cpu_state)
                if self.devices:
                    set_device_states(self.devices, self.states, device_type=self.device_type)
            yield


def _autocast_contexts(device_type: str, kwargs) -> contextlib.ExitStack:
    device_kwargs, cpu_kwargs = kwargs
    stack = contextlib.ExitStack()
    if device_kwargs is not None:
        stack.enter_context(ember.autocast(device_type=device_type, **device_kwargs))
    stack.enter_context(ember.autocast(device_type="cpu", **cpu_kwargs))
    return stack


def _graph_tasks() -> list:
    """The engine's running backward passes (imported late: autograd imports ember.utils)."""
    from ..autograd import engine

    return engine._graph_tasks


def _is_checkpoint_valid() -> bool:
    """False inside ``autograd.grad`` or ``backward(inputs=...)``, where a reentrant
    checkpoint's inner backward would accumulate into the wrong tensors."""
    tasks = _graph_tasks()
    if not tasks:
        return True
    task = tasks[-1]
    return bool(task[4]) and task[2] is None


class _CheckpointFunction:
    """The reentrant checkpoint: ``apply(run_function, preserve_rng_state, *args)``. Made
    an ``autograd.Function`` on first use (``CheckpointFunction``): autograd imports this
    package before its Function exists."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.device_type = _infer_device_type(*args)
        ctx.autocast = _autocast_kwargs(ctx.device_type)
        ctx.rng = _RNGSnapshot(preserve_rng_state, ctx.device_type, args)
        ctx.inputs = [None if isinstance(a, ember.Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, ember.Tensor)]
        ctx.save_for_backward(*[a for a in args if isinstance(a, ember.Tensor)])
        with ember.no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if not _is_checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() "
                "or passing an `inputs` parameter to .backward(). To resolve this error, you "
                "can either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
        inputs = list(ctx.inputs)
        for index, tensor in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[index] = tensor
        with ctx.rng.replay():
            detached = detach_variable(tuple(inputs))
            with ember.enable_grad(), _autocast_contexts(ctx.device_type, ctx.autocast):
                outputs = ctx.run_function(*detached)
        if isinstance(outputs, ember.Tensor):
            outputs = (outputs,)
        pairs = [(out, grad) for out, grad in zip(outputs, grads)
                 if isinstance(out, ember.Tensor) and out.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        ember.autograd.backward([p[0] for p in pairs], [p[1] for p in pairs])
        return (None, None) + tuple(t.grad if isinstance(t, ember.Tensor) else None
                                    for t in detached)


def __getattr__(name):
    if name == "CheckpointFunction":
        cls = type("CheckpointFunction", (ember.autograd.Function,),
                   {"forward": _CheckpointFunction.forward,
                    "backward": _CheckpointFunction.backward,
                    "__doc__": _CheckpointFunction.__doc__, "__module__": __name__})
        globals()["CheckpointFunction"] = cls
        return cls
    if name == "SAC_IGNORED_OPS":
        from ._checkpoint_sac import _ignored_ops

        return _ignored_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def noop_context_fn():
    """The default ``context_fn``: no context around forward or recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


# -- non-reentrant checkpoint -----------------------------------------------------------


class _Holder:
    """What the graph keeps in place of a saved tensor: per backward pass (graph task) the
    recomputed tensor, or, for an op selective checkpointing saves, the tensor itself."""

    __slots__ = ("__weakref__", "flags", "handles", "index", "kept")

    def __init__(self, flags: list, index: int) -> None:
        self.handles: dict = {}
        self.kept = None
        self.flags, self.index = flags, index  # the frame's record of kept positions

    def keep(self, tensor) -> None:
        self.kept = tensor
        self.flags[self.index] = True


class _StopRecomputation(Exception):
    pass


def _default_metadata(x) -> dict:
    return {"shape": x.shape, "dtype": x.dtype, "device": x.device}


_DETERMINISM_CHECKS = {"default": _default_metadata, "none": None}
_temporary_ids = itertools.count(-2, -1)
_exec_group: list = [None]


class GraphExecGroup:
    """Backward calls under one instance recompute each checkpointed region at most once
    (they must use disjoint saved activations). Affects ``use_reentrant=False`` only."""

    def __enter__(self) -> GraphExecGroup:
        if _exec_group[0] is not None:
            raise RuntimeError("GraphExecGroup contexts cannot be nested. Already inside group "
                               f"{_exec_group[0]}")
        _exec_group[0] = self
        return self

    def __exit__(self, *args) -> None:
        _exec_group[0] = None

    @classmethod
    def _get_current_group(cls):
        return _exec_group[0]


def _graph_task_id():
    if _exec_group[0] is not None:  # one recomputation for the whole group
        return _exec_group[0]
    tasks = _graph_tasks()
    return tasks[-1][0] if tasks else next(_temporary_ids)  # outside backward: a fresh pass


class _Frame:
    """One checkpoint call: its placeholders in save order and their recomputations."""

    def __init__(self, recompute_fn, early_stop, metadata_fn, args, kwargs) -> None:
        self.recompute_fn, self.early_stop, self.metadata_fn = recompute_fn, early_stop, metadata_fn
        self.args, self.kwargs = args, kwargs
        self.holders: list = []
        self.kept: list = []  # per position: kept by SAC (outlives the holder's death)
        self.metadata: list = []
        self.counter: dict = defaultdict(int)
        self.recomputed: set = set()
        self.forward_completed = False
        self.ignore_mismatch = False
        self.debug_log = None

    def needed(self) -> list:
        """Positions of the placeholders recomputation fills (not those kept by SAC)."""
        return [i for i, kept in enumerate(self.kept) if not kept]

    def pack(self, x):
        holder = _Holder(self.kept, len(self.holders))
        self.kept.append(False)
        self.holders.append(weakref.ref(holder))
        if self.metadata_fn is not None:
            self.metadata.append(self.metadata_fn(x))
        if op_scopes:
            op_scopes[-1].append((holder, x))
        return holder

    def unpack(self, holder):
        if holder.kept is not None:
            return holder.kept
        gid = _graph_task_id()
        if gid not in self.recomputed:
            self._recompute(gid)
        value = holder.handles.get(gid)
        if value is None:
            extra = ("Performing two backward calls that overlap (i.e. require the same saved "
                     "activation in order to compute gradients) is not allowed while under the "
                     "torch.utils.checkpoint.GraphExecGroup context. "
                     if _exec_group[0] is not None else "")
            raise CheckpointError(
                "torch.utils.checkpoint: Unpack is being triggered for a tensor that was "
                f"already unpacked once. {extra}If you are calling ctx.saved_tensors in "
                "backward, make sure to do so only once. Otherwise please open an issue with "
                "details on your use case.")
        holder.handles[gid] = None
        return value

    def _recompute(self, gid) -> None:
        needed = self.needed()

        def pack(x):
            x = x.detach() if x.requires_grad else x
            k = self.counter[gid]
            self.counter[gid] += 1
            if k >= len(needed):
                if not self.forward_completed:  # a backward inside the checkpointed function
                    self.ignore_mismatch = True
                    return x
                raise CheckpointError("torch.utils.checkpoint: trying to save more tensors "
                                      "during recomputation than during the original forward "
                                      f"pass.\n{_DEBUG_TIP}")
            holder = self.holders[needed[k]]()
            if holder is not None:
                holder.handles[gid] = x
            if self.early_stop and k + 1 == len(needed):
                raise _StopRecomputation
            return x

        try:
            hooks = ember.autograd.graph.saved_tensors_hooks(pack, lambda x: x)
            with hooks, ember.enable_grad():
                self.recompute_fn(*self.args)
        except _StopRecomputation:
            pass
        self.recomputed.add(gid)
        self._check(gid, needed)

    def _check(self, gid, needed) -> None:
        if self.ignore_mismatch:
            return
        if self.counter[gid] != len(needed):
            self._fail(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                f"original forward and recomputation.\nNumber of tensors saved during forward: "
                f"{len(needed)}\nNumber of tensors saved during recomputation: "
                f"{self.counter[gid]}.\n{_DEBUG_TIP}")
        if self.metadata_fn is None:
            return
        different = []
        for position in needed:
            holder = self.holders[position]()
            if holder is None or gid not in holder.handles:
                continue
            recomputed = self.metadata_fn(holder.handles[gid])
            if self.metadata[position] != recomputed:
                different.append(f"tensor at position {position}:\nsaved metadata: "
                                 f"{self.metadata[position]}\nrecomputed metadata: {recomputed}\n")
        if different:
            self._fail("torch.utils.checkpoint: Recomputed values for the following tensors have "
                       f"different metadata than during the forward pass.\n{''.join(different)}."
                       f"\n{_DEBUG_TIP}")

    def _fail(self, message: str) -> None:
        if self.debug_log is not None:
            forward, recompute = self.debug_log
            message = ("An error happened while unpacking tensors; dumping logs of latest "
                       "computation because you passed `debug=True` to "
                       "`torch.utils.checkpoint.checkpoint()`.\n\nOperations executed during "
                       "the original forward:\n\n" + "\n".join(forward) + "\n\nOperations "
                       "executed during recomputation:\n\n" + "\n".join(recompute) + "\n\n"
                       + message)
        raise CheckpointError(message)


def _debug_contexts(frame: _Frame):
    """``debug=True``: log the ops of the forward and of the recomputation by name."""
    from ._checkpoint_sac import _HookContext, _op_of

    class _Logger(_HookContext):
        def __init__(self, log: list, reset: bool) -> None:
            self.log, self.reset = log, reset

        def __enter__(self):
            if self.reset:
                self.log.clear()
            return super().__enter__()

        def _on_op(self, cls, args, kwargs):
            out = self._run(cls, args, kwargs)
            self.log.append(str(_op_of(cls, out)))
            return out

    forward, recompute = [], []
    frame.debug_log = (forward, recompute)
    return _Logger(forward, False), _Logger(recompute, True)


def _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, determinism_check,
                                  debug, early_stop, args, kwargs):
    debug = _checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug
    if debug and context_fn is not noop_context_fn:
        raise ValueError("debug=True is incompatible with non-default context_fn")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, "
                         f"but got {determinism_check}")
    device_type = _infer_device_type(*args)
    frame = _Frame(None, early_stop if _enable_checkpoint_early_stop is None
                   else _enable_checkpoint_early_stop,
                   _DETERMINISM_CHECKS[determinism_check], args, kwargs)
    if debug:
        forward_context, recompute_context = _debug_contexts(frame)
    else:
        forward_context, recompute_context = context_fn()
    autocast = _autocast_kwargs(device_type)
    rng = _RNGSnapshot(preserve_rng_state, device_type, args)

    def recompute_fn(*inputs):
        with rng.replay(), _autocast_contexts(device_type, autocast), recompute_context:
            function(*inputs, **kwargs)

    frame.recompute_fn = recompute_fn
    if not ember.is_grad_enabled():
        return function(*args, **kwargs)
    completed = False
    with ember.autograd.graph.saved_tensors_hooks(frame.pack, frame.unpack), forward_context:
        result = function(*args, **kwargs)
        completed = True
    if not completed:
        raise RuntimeError(
            "torch.utils.checkpoint: the forward context provided by context_fn suppressed an "
            "exception raised during the checkpointed forward. This is not supported because "
            "checkpoint cannot return a value for a failed forward.")
    frame.forward_completed = True
    return result


def checkpoint(function, *args, use_reentrant: bool | None = None,
               context_fn=noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, **kwargs):
    """Run ``function(*args, **kwargs)`` keeping fewer activations; backward recomputes
    them (see the module docstring). ``preserve_rng_state`` (default True) replays the
    RNG state of the forward during recomputation."""
    if use_reentrant is None:
        warnings.warn(_USE_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return __getattr__("CheckpointFunction").apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check,
                                         debug, early_stop, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or list of modules) in ``segments`` chunks, checkpointing all but
    the last."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve "
            "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    if isinstance(functions, ember.nn.Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
