"""``ember.autograd.forward_ad``: forward-mode AD with dual tensors, as
``torch.autograd.forward_ad``.

A dual tensor is an ordinary Tensor with a tangent attached at the current level. While a
level is open, every op goes through one hook (the same ``trace_hook`` slot ember.onnx
uses): an op none of whose inputs carries a tangent runs as usual; otherwise its output
tangent ``J @ t`` is computed eagerly, op by op, so a tangent exists for every
intermediate tensor and disappears with the level, as in PyTorch.

ember has no per-op forward formulas. The product comes from the op's own backward by
the double-vjp trick: backward is linear in its incoming gradient ``v``, ``g(v) = J^T v``,
so ``J t = d<g(v), t>/dv``. The op is re-run on clones of its inputs with graph recording
on (so an in-place op does not write twice, and a random op draws the same numbers: the
generator is rewound before the real run). When grad mode is on and something the tangent
depends on requires grad, the tangent keeps its graph (backward through a jvp works).
A user ``autograd.Function`` needs a ``jvp`` staticmethod, as in PyTorch.

Only one level at a time, as PyTorch. Not covered: under ``no_grad`` many ops take a
shortcut that skips the hook (reductions, views, softmax, ...) and their outputs come
back without a tangent (PyTorch propagates tangents there); a tangent written through a
view into its base (in-place on a view of a dual tensor updates only the view's tangent
here); a dual tensor whose primal requires grad prints without its
``tangent=`` part.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

from .._tensor import Tensor
from . import function as _function
from . import grad_mode

__all__ = [
    "UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual",
    "unpack_dual",
]

_current_level = -1
# id(tensor) -> (weak reference to the tensor, its tangent) at the one open level.
_tangents: dict = {}
_previous_hook: list = [None]
# ACTIVE[0]: whether a level is open (read by the in-place ops, which write arrays directly).
ACTIVE = [False]


class UnpackedDualTensor(NamedTuple):
    """``(primal, tangent)`` as returned by :func:`unpack_dual`."""

    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Open a forward-AD level (only one may be open) and return it."""
    global _current_level
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level = 0
    ACTIVE[0] = True
    _previous_hook[0] = _function.trace_hook[0]
    _function.trace_hook[0] = _propagate
    return _current_level


def exit_dual_level(*, level=None) -> None:
    """Close the level: every tangent made in it is dropped."""
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one that was created. "
            "This is not supported."
        )
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    _tangents.clear()
    for ref in list(_hidden.values()):
        tensor = ref()
        if tensor is not None:
            _reveal(tensor)
    _hidden.clear()
    if _current_level >= 0:
        _function.trace_hook[0] = _previous_hook[0]
        _previous_hook[0] = None
    ACTIVE[0] = False
    _current_level = level - 1


class dual_level:
    """``with dual_level():`` opens a level for make_dual/unpack_dual and closes it (dropping
    its tangents) on exit. Also usable as a decorator."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type, exc_value, traceback):
        exit_dual_level()

    def __call__(self, func):
        def wrapped(*args, **kwargs):
            with dual_level():
                return func(*args, **kwargs)

        wrapped.__name__ = getattr(func, "__name__", "wrapped")
        wrapped.__doc__ = func.__doc__
        return wrapped


class _HiddenGradTensor(Tensor):
    """A dual tensor whose primal does not require grad. Many ops take a shortcut past
    ``Function.apply`` (and so past the forward-AD hook) when no input requires grad; this
    class sets the internal flag that turns those shortcuts off, while ``requires_grad``
    reads False as in PyTorch. Ops on it record nothing the user sees: the hook strips
    the graph from outputs when nothing visibly requires grad. The class goes back to
    Tensor when the level closes."""

    __slots__ = ()
    _fw_hidden_grad = True

    @property
    def requires_grad(self) -> bool:
        return False

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def __repr__(self, *, tensor_contents=None):
        """Tensor's repr plus ``tangent=...``, as PyTorch prints a dual tensor."""
        self.__class__ = Tensor
        self._requires_grad = False
        try:
            text = repr(self)
        finally:
            self.__class__ = _HiddenGradTensor
            self._requires_grad = True
        tangent = _tangent_of(self)
        if tangent is None:
            return text
        return f"{text[:-1]}, tangent={tangent!r})"

    __str__ = __repr__

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad:  # the user asks for a real leaf: stop hiding
            _reveal(self)
            self._requires_grad = True
        return self


_hidden: dict = {}  # id -> weak reference, the tensors made _HiddenGradTensor at this level


def _hide(tensor, force=False):
    if type(tensor) is _HiddenGradTensor:
        return
    if tensor._requires_grad and not force:
        return  # really requires grad: ops record on it anyway
    tensor._requires_grad = True
    tensor.__class__ = _HiddenGradTensor
    _hidden[id(tensor)] = weakref.ref(tensor)


def _reveal(tensor):
    if type(tensor) is _HiddenGradTensor:
        tensor.__class__ = Tensor
        tensor._requires_grad = tensor.grad_fn is not None
        _hidden.pop(id(tensor), None)


def _attach(tensor, tangent):
    """Give ``tensor`` its tangent, hiding the internal grad flag where needed."""
    _set_tangent(tensor, tangent)
    _hide(tensor)


def _tangent_of(tensor):
    entry = _tangents.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1]


def _set_tangent(tensor, tangent):
    key = id(tensor)

    def forget(_ref, key=key):
        entry = _tangents.get(key)
        if entry is not None and entry[0]() is None:
            del _tangents[key]

    _tangents[key] = (weakref.ref(tensor, forget), tangent)


def inherit_tangent(target, result):
    """After an in-place op wrote ``result`` into ``target``: target's tangent becomes
    result's (none when result has none)."""
    tangent = _tangent_of(result)
    if tangent is not None:
        _set_tangent(target, tangent)
        # The write gave target result's grad flag: a hidden one stays hidden.
        _hide(target, force=type(result) is _HiddenGradTensor and target.grad_fn is None)
    else:
        _tangents.pop(id(target), None)
        _reveal(target)


class _hook_off:
    """Run ember ops without forward-AD propagation (inside the hook and the API)."""

    def __enter__(self):
        self.saved = _function.trace_hook[0]
        _function.trace_hook[0] = _previous_hook[0]

    def __exit__(self, *exc):
        _function.trace_hook[0] = self.saved


def make_dual(tensor: Tensor, tangent: Tensor, *, level=None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` (kept as is when its strides match
    ``tensor``'s, else copied into that layout). Backward-differentiable in ``tensor``."""
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(
            f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(
            f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tensor.shape) != tuple(tangent.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}."
        )
    if _tangent_of(tensor) is not None:
        raise RuntimeError(
            "Making a dual Tensor based on a Tensor that already has a forward gradient at "
            f"the same level {level} is not supported."
        )
    if tensor.device != tangent.device:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different device than that of the "
            f"original Tensor, this is not supported. Tensor is on {tensor.device} while the "
            f"given forward gradient is on {tangent.device}."
        )
    with _hook_off():
        dual = tensor.view_as(tensor)
        if tangent.dtype != tensor.dtype or tangent.stride() != tensor.stride():
            # A copy (differentiable in the tangent) in the primal's dtype and layout.
            tangent = tangent.to(tensor.dtype)
            tangent = tangent.contiguous() if tensor.is_contiguous() else tangent.clone()
    _attach(dual, tangent)
    return dual


def unpack_dual(tensor: Tensor, *, level=None) -> UnpackedDualTensor:
    """``(primal, tangent)``: a view of ``tensor`` without a tangent, and the tangent as
    is (None when ``tensor`` has none at this level, or no level is open)."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    with _hook_off():
        primal = tensor.view_as(tensor)
    return UnpackedDualTensor(primal, tangent)


# -- propagation ----------------------------------------------------------------------


def _tensors_in(args, kwargs):
    """Every Tensor among the arguments, one list/tuple level deep (cat, stack, einsum)."""
    found = []
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(item for item in value if isinstance(item, Tensor))
    return found


def _run(cls, args, kwargs):
    previous = _previous_hook[0]
    if previous is not None:
        return previous(cls, args, kwargs)
    return cls.apply(*args, **kwargs)


def _propagate(cls, args, kwargs):
    """The hook every op runs through while a level is open."""
    with _hook_off():
        duals = [t for t in _tensors_in(args, kwargs) if _tangent_of(t) is not None]
        if not duals:
            return _run(cls, args, kwargs)
        if getattr(cls, "_array_io", False) or cls.__module__.startswith("ember."):
            return _propagate_by_backward(cls, args, kwargs)
        return _propagate_user(cls, args, kwargs)


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


def _differentiable(value):
    return isinstance(value, Tensor) and (value.is_floating_point() or value.is_complex())


def _propagate_by_backward(cls, args, kwargs):
    """Built-in ops: ``J t`` by the double-vjp trick on a re-run over cloned inputs."""
    from .._ops.creation import zeros_like
    from .._ops.random import default_generator
    from .engine import grad

    recording = grad_mode.is_grad_enabled()
    clones = {}
    duals, dual_tangents = [], []

    def clone(value):
        if not isinstance(value, Tensor):
            return value
        copy = clones.get(id(value))
        if copy is not None:
            return copy
        tangent = _tangent_of(value)
        keep_graph = recording and value.requires_grad
        copy = value.clone() if keep_graph else value.detach().clone()
        if tangent is not None:
            if not copy.requires_grad:
                copy.requires_grad_(True)
            duals.append(copy)
            dual_tangents.append(tangent)
        clones[id(value)] = copy
        return copy

    def clone_arg(value):
        if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
            return type(value)(clone(v) for v in value)
        return clone(value)

    rerun_args = [clone_arg(a) for a in args]
    rerun_kwargs = {k: clone_arg(v) for k, v in kwargs.items()}
    rng = default_generator._rng.bit_generator
    rng_state = rng.state
    with grad_mode.enable_grad():
        rerun = _outputs(cls.apply(*rerun_args, **rerun_kwargs))
    rng.state = rng_state
    out = _run(cls, args, kwargs)

    keep_graph = recording and (
        any(t.requires_grad for t in dual_tangents)
        or any(c.requires_grad and c.grad_fn is not None for c in clones.values()))
    picked = [i for i, o in enumerate(rerun) if _differentiable(o) and o.requires_grad]
    tangents = [None] * len(rerun)
    if picked:
        with grad_mode.enable_grad():
            cotangents = [zeros_like(rerun[i]).requires_grad_(True) for i in picked]
            vjps = grad([rerun[i] for i in picked], duals, cotangents, create_graph=True,
                        allow_unused=True)
            total = None
            for vjp, tangent in zip(vjps, dual_tangents):
                if vjp is not None:
                    # The real inner product <J^T v, t>: complex numbers as pairs of reals,
                    # the view PyTorch's complex gradients take.
                    if vjp.is_complex():
                        term = (vjp.conj() * tangent).real.sum()
                    else:
                        term = (vjp * tangent).sum()
                    total = term if total is None else total + term
            if total is not None:
                if not total.requires_grad:  # J^T v is constant in v: J is zero
                    products = [zeros_like(c) for c in cotangents]
                else:
                    products = grad(total, cotangents, create_graph=keep_graph,
                                    allow_unused=True)
                for i, product in zip(picked, products):
                    if product is None:
                        product = zeros_like(rerun[i])
                    tangents[i] = product if keep_graph else product.detach()
    _settle(args, kwargs, out, tangents)
    return out


def _settle(args, kwargs, out, tangents):
    """Attach output tangents; when nothing among the inputs visibly requires grad (only
    hidden dual tensors do), drop the graph the real run recorded on new outputs."""
    inputs = _tensors_in(args, kwargs)
    visible = grad_mode.is_grad_enabled() and any(t.requires_grad for t in inputs)
    input_ids = {id(t) for t in inputs}
    for value, tangent in zip(_outputs(out), tangents):
        if not isinstance(value, Tensor):
            continue
        if not visible and id(value) not in input_ids and value.grad_fn is not None:
            value.grad_fn = None
            value._output_nr = 0
            value._requires_grad = False
        if tangent is not None:
            _attach(value, tangent)


def _propagate_user(cls, args, kwargs):
    """A user ``autograd.Function``: its ``jvp(ctx, *tangents)`` staticmethod, given the
    ctx its forward filled (zeros for a tensor input without a tangent, None for a
    non-tensor), as PyTorch calls it."""
    from .._ops.creation import zeros_like

    if getattr(cls, "jvp", None) is None:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )
    recording = grad_mode.is_grad_enabled() and any(
        isinstance(a, Tensor) and a.requires_grad for a in args)
    if recording:
        out = cls.apply(*args, **kwargs)
        first = next(o for o in _outputs(out) if isinstance(o, Tensor))
        ctx = first.grad_fn
    else:
        ctx = object.__new__(cls)
        ctx.needs_input_grad = (False,) * len(args)
        with grad_mode.no_grad():
            out = _function._user_forward(cls, ctx, args, kwargs)
        out = _function._wrap_user_plain(ctx, args, out)
    input_tangents = []
    for arg in args:
        if isinstance(arg, Tensor):
            tangent = _tangent_of(arg)
            input_tangents.append(tangent if tangent is not None else zeros_like(arg))
        else:
            input_tangents.append(None)
    with grad_mode.set_grad_enabled(recording):
        output_tangents = _call_jvp(cls, ctx, input_tangents)
    single = not isinstance(out, tuple)
    output_tangents = (output_tangents,) if single else tuple(output_tangents)
    outs = _outputs(out)
    if len(output_tangents) != len(outs):
        raise RuntimeError(
            f"jvp() function returned an incorrect number of tangents (got "
            f"{len(output_tangents)}, expected {len(outs)})"
        )
    _settle(args, kwargs, out,
            [t if _differentiable(v) else None for v, t in zip(outs, output_tangents)])
    return out


def _call_jvp(cls, ctx, input_tangents):
    """``cls.jvp`` with ``ctx.saved_tensors`` reading what ``save_for_forward`` kept (the
    backward's saves are put back afterwards)."""
    for_forward = ctx.__dict__.get("saved_for_forward")
    if for_forward is None:
        return cls.jvp(ctx, *input_tangents)
    saved, to_save = getattr(ctx, "_saved", None), getattr(ctx, "_to_save", None)
    ctx._saved, ctx._to_save = None, tuple(for_forward)
    try:
        return cls.jvp(ctx, *input_tangents)
    finally:
        ctx._saved, ctx._to_save = saved, to_save
