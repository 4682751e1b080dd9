"""Selective activation checkpointing (SAC): which ops of a checkpointed region keep their
outputs for backward instead of being recomputed.

PyTorch's two contexts are TorchDispatchModes seeing every ATen op. ember has no
dispatcher; its ops all pass ``Function.apply``, whose ``trace_hook`` slot (the one the
flop counter and forward AD use) the contexts take while active:

- forward (``_CachingContext``): each op runs, then ``policy_fn(ctx, op, *args, **kwargs)``
  decides; a ``*_SAVE`` op's outputs are stored (per op, by call index), and the tensors
  the op itself saved for backward stay with the checkpoint instead of being dropped;
- recompute (``_CachedContext``): a stored op is not run, its stored outputs are returned;
  every other op runs again.

``op`` is the ATen overload PyTorch's dispatcher would show (``ember.ops.aten.mm.default``),
derived from the op's autograd node name; an op ember cannot name so is passed as its
``Function`` class. A custom operator (``ember.library``) is its own overload.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict


__all__ = [  # noqa: F822 - SAC_IGNORED_OPS comes from __getattr__
    "SAC_IGNORED_OPS", "CheckpointPolicy", "SelectiveCheckpointContext",
    "create_selective_checkpoint_contexts",
]


class SelectiveCheckpointContext:
    """What a policy function learns about the op besides its arguments: ``op_output``
    (the op has already run); ``is_recompute`` is always False (policies run in forward
    only, as in PyTorch 2.13, where the flag is deprecated)."""

    def __init__(self, *, is_recompute, op_output=None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


class CheckpointPolicy(enum.Enum):
    """``*_SAVE``: keep the op's output from forward; ``*_RECOMPUTE``: run it again in
    backward; ``*_CPU_OFFLOAD``: PyTorch saves and offloads (ember: recomputed, as
    PyTorch's eager SAC treats it). ``MUST_`` forbids other systems (torch.compile) to
    override the choice."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVE = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE)
_RECOMPUTE = object()
_CONSUMED = object()
_MISMATCH = ("This can happen if the operations in the checkpointed region are "
             "nondeterministic or depend on global state that changed between forward and "
             "backward.")


_ignored: set = set()


def _ignored_ops() -> set:
    """Ops SAC passes through (checkpointing adds detaches of its own); filled on first use,
    as ``ember.ops.aten`` loads after this module."""
    if not _ignored:
        from .. import ops

        _ignored.add(ops.aten.detach.default)
    return _ignored


def __getattr__(name):
    if name == "SAC_IGNORED_OPS":
        return _ignored_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _slot() -> list:
    """``Function.apply``'s trace-hook slot (imported late: autograd imports ember.utils)."""
    from ..autograd import function

    return function.trace_hook

# One list per op running under the caching context, innermost last: the checkpoint's pack
# hook adds ``(holder, tensor)`` for every tensor the op saves, so a saved op's tensors can
# stay with the checkpoint (see ember.utils.checkpoint).
op_scopes: list = []

# Node-name stems whose ATen overload is not ``default``.
_OVERLOADS = {
    "add": "Tensor", "sub": "Tensor", "mul": "Tensor", "div": "Tensor", "select": "int",
    "transpose": "int", "softmax": "int", "log_softmax": "int", "squeeze": "dim",
    "unsqueeze": "default", "eq": "Tensor", "ne": "Tensor", "lt": "Tensor", "gt": "Tensor",
    "le": "Tensor", "ge": "Tensor", "where": "self", "maximum": "default", "slice": "Tensor",
    "rsub": "Scalar", "split": "Tensor", "expand": "default", "clamp": "default",
    "xlogy": "Tensor", "masked_fill": "Scalar", "fill": "Scalar", "unbind": "int",
    "scatter_reduce": "two", "sparse_compressed_tensor": "comp_plain_value_size",
}
_NUMBERED = {("SumBackward", "1"): ("sum", "dim_IntList"), ("MeanBackward", "1"): ("mean", "dim"),
             ("PowBackward", "0"): ("pow", "Tensor_Scalar"),
             ("PowBackward", "1"): ("pow", "Tensor_Tensor"),
             ("SoftmaxBackward", "0"): ("_softmax", "default"),
             ("LogSoftmaxBackward", "0"): ("_log_softmax", "default"),
             ("PowBackward", "2"): ("pow", "Scalar"), ("LerpBackward", "0"): ("lerp", "Scalar"),
             ("LerpBackward", "1"): ("lerp", "Tensor"),
             ("ScatterBackward", "0"): ("scatter", "src"),
             ("ScatterBackward", "1"): ("scatter", "value"),
             ("NormBackward", "1"): ("norm", "ScalarOpt_dim"),
             ("NormalBackward", "1"): ("normal", "Tensor_float"),
             ("NormalBackward", "2"): ("normal", "float_Tensor"),
             ("NormalBackward", "3"): ("normal", "Tensor_Tensor")}
# Node stems whose dispatched ATen op is not their snake_case name: PyTorch's node names drop
# a private op's leading underscore (``_unsafe_view`` -> ``UnsafeViewBackward0``), and
# some composites dispatch an op of another name.
_NODE_OPS = {
    "UnsafeView": "_unsafe_view", "ToCopy": "_to_copy", "PreluKernel": "_prelu_kernel",
    "AdaptiveAvgPool2D": "_adaptive_avg_pool2d", "AdaptiveAvgPool3D": "_adaptive_avg_pool3d",
    "LogSigmoid": "log_sigmoid_forward", "GridSampler2D": "grid_sampler_2d",
    "GridSampler3D": "grid_sampler_3d", "Zero": "zero_", "SVD": "_linalg_svd",
    "QR": "linalg_qr", "FftR2C": "_fft_r2c", "FftC2R": "_fft_c2r", "FftC2C": "_fft_c2c",
    "Im2Col": "im2col", "Col2Im": "col2im", "LU": "linalg_lu",
    "LDLFactor": "linalg_ldl_factor_ex", "LDLSolve": "linalg_ldl_solve",
    "Eigh": "linalg_eigh", "Inv": "linalg_inv_ex", "Pinv": "linalg_pinv",
    "Solve": "linalg_solve_ex", "CtcLoss": "_ctc_loss",
    **{f"UpsampleNearestExact{d}D": f"_upsample_nearest_exact{d}d" for d in (1, 2, 3)},
    "UpsampleBilinear2DAa": "_upsample_bilinear2d_aa",
    "UpsampleBicubic2DAa": "_upsample_bicubic2d_aa",
    "Copy_": "copy_", "NllLoss": "nll_loss_forward", "NllLoss2D": "nll_loss2d_forward",
    "Upsample": "",  # the label of ember's resampling kernels, no ATen op of its own
}
_NODE = re.compile(r"^(\w+?)(Backward)(\d*)$")
_op_cache: dict = {}


def _snake(name: str) -> str:
    """``UpsampleNearest2D`` -> ``upsample_nearest2d``, ``Log1P`` -> ``log1p``,
    ``SmoothL1Loss`` -> ``smooth_l1_loss``: a word starts at a capital after a lower-case
    letter, or at a capital that begins a lower-case run after a capital or a digit."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])", "_", name).lower()


def _private_softmax(name: str):
    """``aten._softmax`` / ``aten._log_softmax`` (what PyTorch's dispatcher shows for
    softmax), registered on first need with ember's implementation."""
    if name not in ("_softmax", "_log_softmax"):
        return None
    import ember

    from .. import ops

    fn = ember.softmax if name == "_softmax" else ember.log_softmax
    ops._register("aten", name, "default", lambda x, dim, half_to_float=False: fn(x, dim))
    return getattr(ops.aten, name)


def _aten_for(node_name: str):
    """``ember.ops.aten.<op>.<overload>`` for an autograd node name, or None."""
    from .. import ops

    if node_name in _op_cache:
        return _op_cache[node_name]
    # PyTorch's hand-written C++ node for ``copy_`` ends in "Backwards"
    match = _NODE.match(node_name.rsplit("::", 1)[-1].replace("CopyBackwards",
                                                                "Copy_Backward"))
    op = None
    if match:
        stem, number = match.group(1), match.group(3)
        name, overload = _NUMBERED.get((stem + "Backward", number),
                                       (_NODE_OPS.get(stem, _snake(stem)), None))
        overload = overload or _OVERLOADS.get(name, "default")
        try:
            packet = getattr(ops.aten, name) if name else None
        except AttributeError:
            packet = _private_softmax(name)
        for candidate in (overload, "default"):
            try:
                op = getattr(packet, candidate) if packet is not None else None
            except AttributeError:
                continue
            break
    _op_cache[node_name] = op
    return op


def _product_of(cls, name: str, args):
    """The product behind ember's fused Linear / Matmul when their node is a view: PyTorch
    dispatches views around an ``mm``/``addmm``/``bmm`` there, and a policy that saves
    matmuls names the product (``UnsafeViewBackward0`` is the node of both)."""
    if name not in ("UnsafeViewBackward0", "ViewBackward0") or cls.__name__ not in (
            "Linear", "Matmul"):
        return None
    from .. import ops
    from .._ops.linalg import Matmul
    from ..nn._functional import Linear

    if cls is Linear:
        return ops.aten.mm.default if name == "UnsafeViewBackward0" else ops.aten.addmm.default
    if cls is Matmul and len(args) > 1 and hasattr(args[1], "ndim"):
        return ops.aten.mm.default if args[1].ndim <= 2 else ops.aten.bmm.default
    return None


def _op_of(cls, out, args=()):
    """The op a policy sees for one application of Function ``cls`` on ``args`` giving
    ``out``."""
    overload = getattr(cls, "_sac_overload", None)
    if overload is not None:
        return overload
    first = out[0] if isinstance(out, (tuple, list)) and out else out
    node = getattr(first, "grad_fn", None)
    name = node.name() if isinstance(node, cls) else cls._node_name
    if cls.__name__.startswith("GeneratedBackwardFor_"):
        return _custom_op_of(cls, cls.__name__[len("GeneratedBackwardFor_"):])
    return _product_of(cls, name, args) or _aten_for(name) or cls


def _custom_op_of(cls, label: str):
    """The custom operator (``ember.library``) behind its generated Function class, named
    ``<namespace>_<name>_<overload>``: the split that names a registered overload."""
    from .. import ops

    parts = label.split("_")
    for i in range(1, len(parts) - 1):
        for j in range(i + 1, len(parts)):
            namespace, name = "_".join(parts[:i]), "_".join(parts[i:j])
            overload = "_".join(parts[j:])
            try:
                op = getattr(getattr(getattr(ops, namespace), name), overload)
            except AttributeError:
                continue
            if getattr(op, "_custom", True):
                cls._sac_overload = op
                return op
    return cls


def _records(args) -> bool:
    import ember

    return ember.is_grad_enabled() and any(
        isinstance(a, ember.Tensor) and a.requires_grad for a in args)


def _requiring_grad(value):
    import ember

    if isinstance(value, ember.Tensor):
        if value.is_floating_point() or value.is_complex():
            return value.detach().requires_grad_()
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_requiring_grad(v) for v in value)
    return value


def _detach_tree(value):
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        return (value.detach(), value._vc[0], value._vc)
    if isinstance(value, (tuple, list)):
        return type(value)(_detach_tree(v) for v in value)
    return value


def _restore_tree(value, allow_mutation: bool):
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[2], list) \
            and hasattr(value[0], "_data"):
        tensor, version, counter = value
        if not allow_mutation and counter[0] != version:
            raise RuntimeError(
                "Tensor cached during selective activation checkpoint has been mutated")
        return tensor
    if isinstance(value, (tuple, list)):
        return type(value)(_restore_tree(v, allow_mutation) for v in value)
    return value


class _HookContext:
    """Holds ``Function.apply``'s trace hook while active, chaining to the one before."""

    def __enter__(self):
        self._previous = _slot()[0]
        _slot()[0] = self._on_op
        return self

    def __exit__(self, *exc):
        _slot()[0] = self._previous

    def _run(self, cls, args, kwargs):
        """Run the op itself (through the previous hook, if any) with ours lifted, so the
        op's inner work (a pack hook's detach, a custom op's kernel) is not seen."""
        _slot()[0] = self._previous
        try:
            return cls.apply(*args, **kwargs)
        finally:
            _slot()[0] = self._on_op


class _Storage:
    """What the two contexts share: per op, its calls' stored outputs (or the recompute
    marker) by call index, and the forward's op sequence, so the recomputation knows
    which op each call is without running it (a matmul's name depends on its shapes)."""

    def __init__(self) -> None:
        self.entries: dict = defaultdict(dict)
        self.order: list = []


class _CachingContext(_HookContext):
    """The forward context: run every op, ask the policy, store what is to be saved."""

    def __init__(self, policy_fn, storage: _Storage) -> None:
        self.policy_fn, self.storage = policy_fn, storage
        self.counter: dict = defaultdict(int)

    def _on_op(self, cls, args, kwargs):
        scope: list = []
        op_scopes.append(scope)
        try:
            out = self._run(cls, args, kwargs)
        finally:
            op_scopes.pop()
        _slot()[0] = self._previous  # the policy's own ops are not seen
        try:
            op = _op_of(cls, out, args)
            if op in _ignored_ops():
                return out
            self.storage.order.append((cls, op))
            index = self.counter[op]
            self.counter[op] += 1
            policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False,
                                                               op_output=out),
                                    op, *args, **kwargs)
            if isinstance(policy, bool):
                policy = CheckpointPolicy.MUST_SAVE if policy else \
                    CheckpointPolicy.PREFER_RECOMPUTE
            if policy in _SAVE:
                self.storage.entries[op][index] = _detach_tree(out)
                for holder, tensor in scope:  # the op's saved tensors stay with the frame
                    holder.keep(tensor.detach())
            else:
                self.storage.entries[op][index] = _RECOMPUTE
        finally:
            _slot()[0] = self._on_op
        return out


class _CachedContext(_HookContext):
    """The recompute context: stored ops hand back their forward outputs (once)."""

    def __init__(self, storage: _Storage, allow_cache_entry_mutation: bool = False) -> None:
        self.storage, self.allow_mutation = storage, allow_cache_entry_mutation
        self.counter: dict = defaultdict(int)
        self.position = 0

    def __enter__(self):
        self.counter.clear()  # each recomputation replays from the first op
        self.position = 0
        return super().__enter__()

    def _on_op(self, cls, args, kwargs):
        order, out = self.storage.order, None
        if self.position < len(order) and order[self.position][0] is cls:
            op = order[self.position][1]
        else:  # not the forward's sequence: name the op by running it
            out = self._run(cls, args, kwargs)
            _slot()[0] = self._previous
            try:
                op = _op_of(cls, out, args)
            finally:
                _slot()[0] = self._on_op
        if op in _ignored_ops():
            return out if out is not None else self._run(cls, args, kwargs)
        self.position += 1
        index = self.counter[op]
        self.counter[op] += 1
        entries = self.storage.entries.get(op)
        if entries is None:
            raise RuntimeError(f"{op} encountered during backward but not found in storage. "
                               f"{_MISMATCH}")
        entry = entries.get(index)
        if entry is None:
            raise RuntimeError(f"{op} invocation index {index} encountered during backward "
                               f"but not found in storage. {_MISMATCH}")
        if entry is _CONSUMED:
            raise RuntimeError(
                "Trying to backward an extra time. You are only allowed to backward once on "
                "any region computed under selective activation checkpoint.")
        if entry is _RECOMPUTE:
            return out if out is not None else self._run(cls, args, kwargs)
        entries[index] = _CONSUMED
        out = _restore_tree(entry, self.allow_mutation)
        if _records(args):  # as PyTorch's cache sits below autograd, the result takes part
            out = _requiring_grad(out)  # in the graph: later ops save what they need
        return out


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The ``context_fn`` pair for ``checkpoint(..., use_reentrant=False)`` that saves the
    outputs of the ops a policy picks and recomputes the rest.

    Args:
        policy_fn_or_list: ``policy_fn(ctx, op, *args, **kwargs) -> CheckpointPolicy`` (or
            bool), or a list of op overloads to save (``ember.ops.aten.mm.default``), all
            others recomputed.
        allow_cache_entry_mutation: do not raise when a saved output was modified in place
            before backward.

    Example:
        >>> ops_to_save = [ember.ops.aten.mm.default]
        >>> context_fn = functools.partial(create_selective_checkpoint_contexts, ops_to_save)
        >>> out = checkpoint(fn, x, y, use_reentrant=False, context_fn=context_fn)
    """
    from ..ops import OpOverload, OpOverloadPacket

    if isinstance(policy_fn_or_list, list):
        for op in policy_fn_or_list:
            if not isinstance(op, OpOverload):
                extra = ("Please update the OpOverloadPacket to a specific OpOverload.For "
                         "example, if you have `torch.ops.aten.mm`, change it to "
                         "`torch.ops.aten.mm.default`."
                         if isinstance(op, OpOverloadPacket) else "")
                raise ValueError(f"Expected op in `op_list` to be an OpOverload but got: {op} "
                                 f"of type {type(op)}. {extra}")
        ops_to_save = list(policy_fn_or_list)

        def policy_fn(ctx, op, *args, **kwargs):
            if op in ops_to_save:
                return CheckpointPolicy.MUST_SAVE
            return CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage = _Storage()
    return (_CachingContext(policy_fn, storage),
            _CachedContext(storage, allow_cache_entry_mutation))
