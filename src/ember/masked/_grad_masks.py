"""Which elements of a MaskedTensor's gradient are specified, as PyTorch decides them.

PyTorch runs MaskedTensor backward formulas on MaskedTensors, so a gradient's mask is
the output's mask carried back op by op: elementwise ops keep it, ``where`` splits it by
the condition, indexing and views move it (elements an output never read stay masked
out), and a reduction hands each input its own mask. ember's autograd works on the plain
data, so its gradients carry no mask; this module carries the masks instead, over a small
graph of its own: every MaskedTensor an op makes while grad mode is on records its
MaskedTensor parents and how a gradient mask maps back to them (``record``). When
backward starts from MaskedTensors, ``propagate`` walks that graph once, output to
leaves, and each leaf keeps its gradient mask for ``.grad``.
"""

from __future__ import annotations

import ember

from .._tensor import Tensor


def record(out, parents, rule) -> None:
    """Let ``out`` map a gradient mask back to ``parents`` (MaskedTensors) with
    ``rule(mask) -> [mask per parent]``; nothing is kept when no parent needs grad."""
    parents = tuple(parents)
    if parents and ember.is_grad_enabled() and any(p.requires_grad for p in parents):
        out.__dict__["_mask_rule"] = (parents, rule)


def unbroadcast(mask, shape):
    """``mask`` of a broadcast result reduced to ``shape``: specified where any of the
    elements it was broadcast to is."""
    for _ in range(mask.dim() - len(shape)):
        mask = mask.any(0)
    for dim, size in enumerate(shape):
        if size == 1 and mask.shape[dim] != 1:
            mask = mask.any(dim, keepdim=True)
    return mask


def moved_by(func, args, kwargs, slots, pick=None):
    """The rule of a shape op: run it again on float stand-ins of its MaskedTensor
    arguments (``slots``: where they sit) and back-propagate the 0/1 gradient mask; an
    element is reached where a positive gradient arrives (shape ops only copy, select
    and sum, so nothing cancels)."""
    def rule(mask):
        with ember.enable_grad():
            leaves = []
            listed = {slot[0] for slot, _ in slots if isinstance(slot, tuple)}
            call_args = [list(a) if i in listed else a for i, a in enumerate(args)]
            for slot, shape in slots:
                leaf = ember.zeros(shape, device=mask.device, requires_grad=True)
                leaves.append(leaf)
                if isinstance(slot, tuple):
                    call_args[slot[0]][slot[1]] = leaf
                else:
                    call_args[slot] = leaf
            out = func(*call_args, **kwargs)
            if pick is not None:
                out = out[pick]
            grads = ember.autograd.grad(out, leaves, mask.to(out.dtype), allow_unused=True)
        return [g > 0 if g is not None else ember.zeros(leaf.shape, dtype=ember.bool)
                for g, leaf in zip(grads, leaves)]
    return rule


def propagate(outputs, masks) -> dict:
    """Carry gradient masks from ``outputs`` back over the recorded graph; return
    {id(tensor): (tensor, mask)} for every MaskedTensor reached (leaves included)."""
    order, seen, stack = [], set(), [(out, False) for out in outputs]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        entry = node.__dict__.get("_mask_rule")
        if entry is not None:
            stack.extend((parent, False) for parent in entry[0])
    pending = {}
    for out, mask in zip(outputs, masks):
        pending[id(out)] = mask if id(out) not in pending else pending[id(out)] | mask
    reached = {}
    for node in reversed(order):
        mask = pending.pop(id(node), None)
        if mask is None:
            continue
        reached[id(node)] = (node, mask)
        entry = node.__dict__.get("_mask_rule")
        if entry is None:
            continue
        parents, rule = entry
        for parent, parent_mask in zip(parents, rule(mask)):
            if parent_mask is None:
                continue
            key = id(parent)
            pending[key] = parent_mask if key not in pending else pending[key] | parent_mask
    return reached


def before_backward(outputs, gradients) -> None:
    """Store the gradient masks backward from ``outputs`` will give its MaskedTensor
    leaves (kept in ``_grad_mask``; accumulating into an existing gradient ORs them)."""
    from ._core import is_masked_tensor

    pairs = [(out, grad._dense_mask() if is_masked_tensor(grad) else out._dense_mask())
             for out, grad in zip(outputs, gradients) if is_masked_tensor(out)]
    if not pairs:
        return
    reached = propagate([p[0] for p in pairs], [p[1] for p in pairs])
    for node, mask in reached.values():
        if not (node.is_leaf and node.requires_grad):
            continue
        previous = node.__dict__.get("_grad_mask")
        if previous is not None and node._grad is not None:
            mask = mask | previous
        node.__dict__["_grad_mask"] = mask


def as_sequence(value):
    if value is None:
        return None
    return (value,) if isinstance(value, Tensor) else tuple(value)
