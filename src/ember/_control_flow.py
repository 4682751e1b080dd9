"""``torch.cond`` and ``torch.while_loop`` in eager mode: structured control flow with
PyTorch's contracts checked.

PyTorch runs both with Dynamo, which traces every branch before running one: a
mismatch between the branches' outputs, a branch that returns (a view of) its input, or
one that writes its input in place is an error even on the branch not taken. ember has
no tracer of that kind, so it keeps the contract like this:

* the branch taken runs for real (autograd records it as any eager code);
* the branch not taken runs on ``meta`` copies of the operands (shapes and dtypes only,
  no arithmetic, under ``no_grad``); when it cannot (it mixes in real tensors it closes
  over, such as a module's weights, or reads values), it runs on detached copies
  instead, under ``no_grad`` and with the random-number state put back. PyTorch's
  contract forbids a branch to mutate state it captures, so a valid branch leaves no
  trace; the price is that branch's arithmetic, paid once per call;
* the outputs are then compared as Dynamo compares them, with its messages.

A Python bool as ``pred`` is taken as it is, without checks, as PyTorch does.
"""

from __future__ import annotations

from ._backend.dtypes import bool_ as _bool
from ._tensor import Tensor
from .utils import _pytree as pytree

__all__ = ["cond", "while_loop"]

_HINT = ("\n  Hint: Your code may result in an error when running in eager. Please double check "
         "that your code doesn't contain a similar error when actually running "
         "eager/uncompiled.")


def _unsupported(title, explanation, op):
    return RuntimeError(
        "This higher order operator doesn't work unless it is captured completely with "
        f"torch.compile. Got graph break/error:\n\n{title}\n  Higher Order Operator: {op}\n"
        f"  Explanation: {explanation}{_HINT}")


def _aliasing_error(op):
    return _unsupported(
        "Encountered aliasing during higher order op tracing",
        "Higher order ops do not support aliasing.\n  Hint: Replace `return input` with "
        "`return input.clone()` to avoid aliasing.", op)


def _mutation_error(op):
    return _unsupported(
        "Encountered input mutation during higher order op tracing",
        "Higher order ops do not support input mutation.", op)


# ---------------------------------------------------------------------------
# Running a branch: for real, or as a shape-only shadow
# ---------------------------------------------------------------------------


def _call_checked(fn, args, flat_inputs, op, check_alias):
    """``fn(*args)``; with ``check_alias``, PyTorch's input-mutation and aliasing errors."""
    versions = [t._version for t in flat_inputs if isinstance(t, Tensor)]
    out = fn(*args)
    if check_alias:
        tensors = [t for t in flat_inputs if isinstance(t, Tensor)]
        if [t._version for t in tensors] != versions:
            raise _mutation_error(op)
        _check_no_alias(pytree.tree_leaves(out), tensors, op)
    return out


def _shares(a, b):
    """Whether tensors ``a`` and ``b`` may overlap in memory (the same tensor, or views)."""
    if a is b or (a._base if a._base is not None else a) is (
            b._base if b._base is not None else b):
        return True
    if a.device != b.device or a.device.type == "meta":
        return False
    from ._ops._util import xp_of

    return bool(xp_of(a._data).may_share_memory(a._data, b._data))


def _check_no_alias(outputs, inputs, op):
    tensors = [t for t in outputs if isinstance(t, Tensor)]
    for index, out in enumerate(tensors):
        if any(_shares(out, t) for t in inputs) or any(_shares(out, t)
                                                      for t in tensors[index + 1:]):
            raise _aliasing_error(op)


def _shadow_call(fn, args, op, check_alias):
    """``fn(*args)`` for its output's structure and metadata only: on meta copies, else on
    detached copies (no graph, random state restored). ``check_alias`` as
    ``_call_checked``'s, on the copies (on meta ones, returning an input itself counts)."""
    from . import random
    from .autograd import no_grad

    def to_meta(leaf):
        return leaf.detach().to("meta") if isinstance(leaf, Tensor) else leaf

    def to_copy(leaf):
        return leaf.detach().clone() if isinstance(leaf, Tensor) else leaf

    with no_grad():
        with random.fork_rng(devices=[]):
            shadow_args = pytree.tree_map(to_meta, args)
            try:
                out = fn(*shadow_args)
            except Exception:  # noqa: BLE001 - real tensors mixed in, or values read
                shadow_args = None
        if shadow_args is None:
            with random.fork_rng(devices=[]):
                shadow_args = pytree.tree_map(to_copy, args)
                out = fn(*shadow_args)
        if check_alias:
            inputs = [t for t in pytree.tree_leaves(shadow_args) if isinstance(t, Tensor)]
            _check_no_alias(pytree.tree_leaves(out), inputs, op)
        return out


# ---------------------------------------------------------------------------
# cond
# ---------------------------------------------------------------------------


def _check_branch_leaves(leaves):
    for leaf in leaves:
        if leaf is None or isinstance(leaf, str):
            raise _unsupported("torch.cond: unsupported branch return type (constant non-int)",
                               "Constants returned from branches must be ints.", "torch.cond")
        if not isinstance(leaf, (Tensor, int)):
            raise _unsupported(
                "HOP body output unsupported",
                "HigherOrderOperator body's output must consist of tensors or ints/bools only "
                f"but got {type(leaf)}.", "torch.cond")


def _merge_check(true_out, false_out):
    """Dynamo's checks that both branches return the same kind of thing."""
    true_leaves, true_spec = pytree.tree_flatten(true_out)
    false_leaves, false_spec = pytree.tree_flatten(false_out)
    _check_branch_leaves(true_leaves)
    _check_branch_leaves(false_leaves)
    if len(true_leaves) != len(false_leaves):
        raise RuntimeError(f"Unmatched output spec from torch.cond branches: true branch "
                           f"tree_spec {true_spec} vs false branch tree_spec {false_spec}.")
    if true_spec != false_spec:
        raise _unsupported("torch.cond: differing branch outputs",
                           "Expected branches to return the same pytree structure.",
                           "torch.cond")
    prefix = "When merging two branches' output in torch.cond, "
    for a, b in zip(true_leaves, false_leaves):
        if isinstance(a, Tensor) != isinstance(b, Tensor):
            kinds = ["FakeTensor" if isinstance(v, Tensor) else type(v).__name__ for v in (a, b)]
            raise RuntimeError(f"expected both a and b to be FakeTensor, got a={kinds[0]}, "
                               f"b={kinds[1]}")
        if not isinstance(a, Tensor):
            continue
        checks = [("dtype", a.dtype, b.dtype), ("dim", a.dim(), b.dim())]
        if "meta" not in (a.device.type, b.device.type):
            checks.append(("device", a.device, b.device))
        for name, left, right in checks:
            if left != right:
                raise RuntimeError(f"{prefix} expected same {name} but got {left} and {right}.")


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``, with the branches
    held to one output structure, dtype and rank (PyTorch's ``torch.cond``).

    Args:
        pred: a bool, or a one-element tensor.
        true_fn, false_fn: callables taking ``*operands``, returning tensors or ints
            (possibly nested in tuples, lists and dicts), the same kind from both.
        operands: a tuple or list of tensors (possibly nested).

    Example::

        >>> ember.cond(x.sum() > 0, lambda x: x.sin(), lambda x: x.cos(), (x,))
    """
    if isinstance(pred, (bool, int, float)):  # a constant: just the branch it picks
        return true_fn(*operands) if pred else false_fn(*operands)
    from ._sym import SymBool

    if not isinstance(pred, (Tensor, SymBool)):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if isinstance(pred, Tensor) and pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)) or any(
            not isinstance(leaf, Tensor) for leaf in pytree.tree_leaves(operands)):
        raise RuntimeError("Expect operands to be a tuple of possibly nested dict/list/tuple "
                           f"that only consists of tensor leaves, but got {operands}.")
    from .autograd import grad_mode

    taken = bool(pred)
    chosen, other = (true_fn, false_fn) if taken else (false_fn, true_fn)
    flat_operands = pytree.tree_leaves(operands)
    # with autograd on, a branch may neither write nor return its inputs (it may in no_grad)
    out = _call_checked(chosen, operands, flat_operands, "torch.cond",
                        grad_mode.is_grad_enabled())
    shadow = _shadow_call(other, operands, "torch.cond", grad_mode.is_grad_enabled())
    _merge_check(*((out, shadow) if taken else (shadow, out)))
    return out


# ---------------------------------------------------------------------------
# while_loop
# ---------------------------------------------------------------------------


def _describe(leaf):
    if isinstance(leaf, Tensor):
        return f"Tensor(size={tuple(leaf.shape)}, dtype={leaf.dtype})"
    return repr(leaf)


def _check_carry(outputs, inputs):
    """Each body output must look like the carried input it replaces."""
    if len(outputs) != len(inputs):
        raise RuntimeError(
            "Expected body_fn_output and carried_inputs to have same number of outputs but "
            f"got lhs:[{', '.join(map(_describe, outputs))}] and "
            f"rhs:[{', '.join(map(_describe, inputs))}]")
    for index, (out, carried) in enumerate(zip(outputs, inputs)):
        if isinstance(out, Tensor) != isinstance(carried, Tensor) or (
                not isinstance(out, Tensor) and not isinstance(out, int)):
            diffs = [f"type: {_describe(out)} vs {_describe(carried)}"]
        elif isinstance(out, Tensor):
            diffs = [f"'{name}: {a} vs {b}'" for name, a, b in (
                ("dtype", out.dtype, carried.dtype), ("shape", out.shape, carried.shape),
                ("stride", out.stride(), carried.stride()))
                if a != b and not (name == "stride" and out.device.type == "meta")]
        else:
            diffs = []
        if diffs:
            raise RuntimeError(
                "Expected body_fn_output and carried_inputs to have same metadata but found:\n"
                f"pair[{index}] differ in {', '.join(diffs)}, where lhs is {_describe(out)} "
                f"and rhs is {_describe(carried)}")


def _check_pred(pred):
    if isinstance(pred, bool):
        return pred
    if isinstance(pred, Tensor) and pred.dim() == 0 and pred.dtype == _bool:
        return bool(pred)
    raise RuntimeError(
        f"cond_fn must return a boolean scalar tensor or a boolean but got {pred}")


def while_loop(cond_fn, body_fn, carried_inputs):
    """``while cond_fn(*val): val = body_fn(*val)``, starting from ``carried_inputs``
    (PyTorch's ``torch.while_loop``): the body must give back values of the carried
    inputs' kind (same dtypes, shapes and strides; ints stay ints), and neither function
    may write or return its inputs.

    Example::

        >>> ember.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x.sin()), (0, x))
    """
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list but got "
                           f"{type(carried_inputs)}")
    flat, in_spec = pytree.tree_flatten(carried_inputs)
    allowed = (Tensor, int)
    if not all(isinstance(leaf, allowed) for leaf in flat):
        raise AssertionError(f"{flat} can only be of (<class 'torch.Tensor'>, <class 'int'>, "
                             "<class 'torch.SymInt'>) but got "
                             f"{tuple(type(leaf) for leaf in flat)}")
    op = "torch.while_loop"
    args = carried_inputs
    out = None
    while _check_pred(_call_checked(cond_fn, args, flat, op, True)):
        out = _call_checked(body_fn, args, flat, op, True)
        out_flat, _ = pytree.tree_flatten(out)
        _check_carry(out_flat, flat)
        flat = out_flat
        args = pytree.tree_unflatten(flat, in_spec)
    if out is not None:
        return out
    # no iteration: the body's output structure (from a shadow run), holding copies of the
    # inputs, as PyTorch returns
    shadow = _shadow_call(body_fn, carried_inputs, op, True)
    shadow_flat, out_spec = pytree.tree_flatten(shadow)
    _check_carry(shadow_flat, flat)
    copies = [leaf.clone() if isinstance(leaf, Tensor) else leaf for leaf in flat]
    return pytree.tree_unflatten(copies, out_spec)
