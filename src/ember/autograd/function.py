"""``autograd.Function``: the one mechanism behind built-in ops and user-defined ones.

An applied Function instance is both the ``ctx`` its forward and backward receive and the
graph node (``tensor.grad_fn``). Built-in ops set ``_array_io = True``: their forward
receives backend arrays (NumPy or CuPy) and returns arrays, so the forward pass pays no
Tensor wrapping; their backward receives and returns Tensors, written with Tensor ops so
``create_graph=True`` gives higher-order gradients. User Functions keep PyTorch's
contract: Tensors in and out of both.

Saved tensors follow PyTorch's SavedVariable: an input is kept as the Tensor itself, an
output only as its array plus version counter and is rebuilt with ``grad_fn=ctx`` when
unpacked, so no reference cycle forms; each records the version it had when saved.
"""

from __future__ import annotations

import functools
import itertools
import weakref

from .._backend import autocast_state
from .._backend.device import check_same_device, host_scalars_to_device
from .._tensor import Tensor, _make
from ..utils.hooks import _list_handle as _RemovableHandle
from ._saved import (  # noqa: F401 - saved_arrays and _legacy_type are imported from here
    _FREED,
    _legacy_type,
    _Packed,
    _raise_modified,
    _resolve_saved,
    _resolve_saved_single,
    _SavedOutput,
    _Unpacked,
    saved_arrays,
    saved_properties,
)
from .grad_mode import _grad_enabled

_sequence = itertools.count()
_autocast = autocast_state.ACTIVE
# ``trace_hook[0]``: None, or while ember.onnx traces a model a callable
# ``hook(cls, args, kwargs)`` that runs the op (with the hook cleared) and records it.
# One list index per op when off, the same price as the autocast check.
trace_hook: list = [None]

_DIFFERENTIABLE_KINDS = frozenset("fcV")  # float, complex, ml_dtypes bfloat16
_NO_GRADS = tuple((False,) * n for n in range(8))  # needs_input_grad when nothing records
_ONE_GRAD = (True,)
_new = object.__new__


class QuantizedArgument(Exception):
    """Raised by ``QuantizedTensor._plain_dispatch`` while ``apply`` unwraps arguments:
    the op goes to ``_ops._quantized_dispatch`` instead (Tensor's attribute is True, so
    plain Tensors never read it and Parameters read one class attribute)."""


class Function:
    """Subclass and define ``forward(ctx, ...)`` and ``backward(ctx, *grads)``; call
    ``apply``. The ctx API: ``save_for_backward``, ``saved_tensors``,
    ``needs_input_grad``, ``mark_dirty``, ``mark_non_differentiable``,
    ``set_materialize_grads``.
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_input_meta",
        "_num_outputs",
        "_saved",
        "_seq",
        "_to_save",
        "needs_input_grad",
        "next_functions",
    )
    # Rarely-set node state lives on the class until a hook or flag is set on an instance
    # (then in the instance __dict__): recording an op pays for none of it.
    _hooks = None
    _pre_hooks = None
    _tensor_pre_hooks = None
    _retain_hooks = None
    _materialize = True
    _output_meta = None
    _non_diff = None  # set by mark_non_differentiable
    _dirty = None  # set by mark_dirty
    _array_io = False
    # Optional ``_array_backward(ctx, grad_array)``: the same formula as ``backward`` on
    # backend arrays, which the engine uses when no graph is built (create_graph=False)
    # and the gradient is a real float array; it returns a tuple with one array or None
    # per forward argument, or NotImplemented to fall back to ``backward`` (mixed dtypes).
    _array_backward = None
    _op_name = "Function"
    _node_name = "FunctionBackward"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The class's own name, kept for what keys on the op (autocast's op lists, operator
        # slot names) before a built-in op's class takes its node's name below.
        cls._op_name = cls.__name__
        node_name = cls.__dict__.get("_node_name")
        if node_name is None:
            node_name = cls.__name__ + ("Backward0" if cls._array_io else "Backward")
            cls._node_name = node_name
        if cls._array_io and cls.name is Function.name:
            # PyTorch's node types are named as their nodes (type(y.grad_fn).__name__ ==
            # "MulBackward0"; CopySlices for torch::autograd::CopySlices): so are built-in
            # ops whose node name is static. __qualname__ keeps the class's own name, so the
            # class still pickles and imports by it. User Functions keep their name (the
            # class is theirs), their nodes read "<Name>Backward" through name().
            cls.__name__ = node_name.rsplit("::", 1)[-1]

    # -- the ctx API -------------------------------------------------------------------

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if getattr(self, "_to_save", None) is not None:  # forward not finished
                return tuple(self._to_save)
            raise RuntimeError(_FREED)
        return tuple(self._unpack(entry) for entry in saved)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Override to use PyTorch 2's style: forward(*inputs) takes no ctx, and this
        saves what backward needs from ``inputs`` and ``output``."""
        raise NotImplementedError("setup_context is not implemented.")

    def save_for_forward(self, *tensors):
        """Keep tensors for a forward-mode rule (``jvp``). ember computes forward-mode
        products by the double-backward trick (autograd.functional.jvp), so these are only
        stored, as ``saved_for_forward``."""
        for tensor in tensors:
            if tensor is not None and not isinstance(tensor, Tensor):
                raise AssertionError(
                    "save_for_forward expects all arguments to be tensors; you should "
                    "save non-tensors as attributes on ctx."
                )
        self.__dict__["saved_for_forward"] = tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *outputs):
        self._non_diff = outputs

    def set_materialize_grads(self, value: bool):
        self._materialize = bool(value)

    # -- graph-node API ------------------------------------------------------------------

    def name(self) -> str:
        return self._node_name

    def __repr__(self):
        return f"<{self.name().rsplit('::', 1)[-1]} object at {id(self):#x}>"

    def register_hook(self, hook):
        """Run ``hook(grad_inputs, grad_outputs)`` after this node's backward."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)

    def register_prehook(self, hook):
        """Run ``hook(grad_outputs)`` before this node's backward; may replace them."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(hook)
        return _RemovableHandle(self._pre_hooks, hook)

    @property
    def metadata(self):
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self.__dict__["_metadata"] = {}
        return meta

    # -- apply ---------------------------------------------------------------------------

    @classmethod
    def apply(cls, *args, **kwargs):
        if trace_hook[0] is not None:
            return trace_hook[0](cls, args, kwargs)
        if _autocast[0] is not None:
            args = autocast_state.cast(cls, args)
        ctx = _new(cls)
        if cls._array_io:
            # One pass: unwrap Tensors to arrays and, when grad mode is on, collect the
            # graph edges of inputs that require grad (with their shape, dtype and array
            # type only: the arrays themselves may be large).
            try:  # free unless raised (3.11): QuantizedTensor._plain_dispatch raises
                forward_args = []
                edges = metas = None
                if _grad_enabled[0]:
                    index = 0
                    for arg in args:
                        if type(arg) is Tensor or isinstance(arg, Tensor) and arg._plain_dispatch:
                            array = arg._data
                            forward_args.append(array)
                            if arg._base is not None and arg._vc[0] != arg._view_vc:
                                refresh_view(arg)  # may start requiring grad: see refresh_view
                            if arg._requires_grad:
                                if edges is None:
                                    edges = [None] * len(args)
                                    metas = [None] * len(args)
                                fn = arg.grad_fn
                                edges[index] = ((fn, arg._output_nr) if fn is not None
                                                else (accumulator_of(arg), 0)
                                                if arg._base is None else _leaf_view_edge(arg))
                                metas[index] = (array.shape, array.dtype, type(array))
                        else:
                            forward_args.append(arg)
                        index += 1  # noqa: SIM113 - a counter, not a tuple per argument (hot path)
                else:
                    for arg in args:
                        if type(arg) is Tensor or isinstance(arg, Tensor) and arg._plain_dispatch:
                            forward_args.append(arg._data)
                        else:
                            forward_args.append(arg)
            except QuantizedArgument:
                from .._ops._quantized_dispatch import quantized_apply

                return quantized_apply(cls, args, kwargs)
            if edges is None:
                n = len(args)
                ctx.needs_input_grad = _NO_GRADS[n] if n < 8 else (False,) * n
                try:
                    out = cls.forward(ctx, *forward_args, **kwargs)
                except (TypeError, ValueError) as exc:  # TypeError: CuPy refusing a host array
                    out = _forward_again(cls, ctx, exc, forward_args, kwargs)
                if type(out) is tuple:
                    return tuple(_make(o) if o is not None else None for o in out)
                return _make(out)
            # Record, inline for the common case (one output, nothing non-differentiable).
            ctx._seq = next(_sequence)
            ctx._to_save = None
            ctx.next_functions = tuple(edges)
            if len(metas) == 2:
                ctx.needs_input_grad = (metas[0] is not None, metas[1] is not None)
            else:
                ctx.needs_input_grad = tuple([meta is not None for meta in metas])
            ctx._input_meta = tuple(metas)
            try:
                out = cls.forward(ctx, *forward_args, **kwargs)
            except (TypeError, ValueError) as exc:  # TypeError: CuPy refusing a host array
                out = _forward_again(cls, ctx, exc, forward_args, kwargs)
            return _finish_output(cls, ctx, args, forward_args, out)
        record = False
        if _grad_enabled[0]:
            for arg in args:
                if isinstance(arg, Tensor):
                    if arg._base is not None and arg._vc[0] != arg._view_vc:
                        refresh_view(arg)
                    if arg._requires_grad:
                        record = True
                        break
        if not record:
            ctx.needs_input_grad = (False,) * len(args)
            from .grad_mode import no_grad

            with no_grad():
                out = _user_forward(cls, ctx, args, kwargs)
            return _wrap_user_plain(ctx, args, out)
        return _apply_recording(cls, ctx, args, args, kwargs)

    def _unpack(self, entry):
        if entry is None:
            return None
        if type(entry) is tuple:
            tensor, version = entry
            if tensor._vc[0] != version:
                fn = tensor.grad_fn
                _raise_modified(fn, tensor.shape, tensor._data.dtype,
                                None if fn is None else tensor._output_nr, tensor._vc[0], version)
            return tensor
        if type(entry) is _SavedOutput:
            if entry.vc[0] != entry.version:
                _raise_modified(
                    self, entry.array.shape, entry.array.dtype, entry.index, entry.vc[0], entry.version
                )
            out = _make(entry.array, True, self, entry.index)
            out._vc = entry.vc
            return out
        if type(entry) is _Packed:
            return entry.unpack(self)
        if type(entry) is _Unpacked:
            return entry.value
        if hasattr(entry, "dtype"):
            return _make(entry)  # an intermediate array saved by a built-in op
        return entry

    def _release(self):
        self._saved = None


# ``grad_fn._saved_<name>`` / ``_raw_saved_<name>`` as PyTorch's nodes expose them:
# properties (not a ``__getattr__``, which would slow every attribute read of a node).
for _attr, _prop in saved_properties().items():
    setattr(Function, _attr, _prop)


def refresh_view(view):
    """Called when ``view``'s base was written in place after the view's history was
    recorded (the shared version counter moved). If the base's history changed, the view's
    recorded one is stale: re-derive it from the base's, as PyTorch regenerates a view's
    grad_fn. A leaf base written under no_grad (an optimizer step) keeps its history, and
    so does the view. A view of a base that gained a history by the write (``a.add_(w)``
    with ``w`` requiring grad) starts requiring grad here, as PyTorch's."""
    if view._view_creation is not None:  # made under no_grad: no history to regenerate
        from .._ops.shape import check_view_rebased

        check_view_rebased(view)
    view._view_vc = view._vc[0]
    if view._base.grad_fn is not None and _grad_enabled[0]:
        from .._ops.index import reread_view

        reread_view(view)


def refresh_stale_view(view):
    """``refresh_view`` for a view read outside an op (``requires_grad``): only in grad
    mode, where an op would refresh it too."""
    if _grad_enabled[0]:
        refresh_view(view)


def apply_binary(cls, a, b):
    """``cls.apply(a, b)`` for a one-output array-io op with two operands (Tensors or
    numbers), as the arithmetic operator slots call it: the same steps as ``apply``
    without the per-argument loops and lists."""
    if _autocast[0] is not None or trace_hook[0] is not None:
        return cls.apply(a, b)
    try:  # free unless raised: a QuantizedTensor operand goes through apply's dispatch
        a_tensor = type(a) is Tensor or isinstance(a, Tensor) and a._plain_dispatch
        b_tensor = type(b) is Tensor or isinstance(b, Tensor) and b._plain_dispatch
    except QuantizedArgument:
        return cls.apply(a, b)
    x = a._data if a_tensor else a
    y = b._data if b_tensor else b
    ctx = _new(cls)
    a_grad = a_tensor and a._requires_grad
    b_grad = b_tensor and b._requires_grad
    if not ((a_grad or b_grad) and _grad_enabled[0]):
        if _grad_enabled[0] and (
                (a_tensor and a._base is not None and a._vc[0] != a._view_vc)
                or (b_tensor and b._base is not None and b._vc[0] != b._view_vc)):
            return cls.apply(a, b)  # a view whose base was written since: apply refreshes it
        ctx.needs_input_grad = _NO_GRADS[2]
        try:
            out = cls.forward(ctx, x, y)
        except (TypeError, ValueError) as exc:  # TypeError: CuPy refusing a host array
            out = _forward_again(cls, ctx, exc, [x, y], {})
        if type(out) is tuple:
            return tuple(_make(o) if o is not None else None for o in out)
        return _make(out)
    ctx._seq = next(_sequence)
    ctx._to_save = None
    if a_grad:
        if a._base is not None and a._vc[0] != a._view_vc:
            refresh_view(a)
        fn = a.grad_fn
        a_edge = ((fn, a._output_nr) if fn is not None else (accumulator_of(a), 0)
                  if a._base is None else _leaf_view_edge(a))
        a_meta = (x.shape, x.dtype, type(x))
    elif a_tensor and a._base is not None and a._vc[0] != a._view_vc:
        return cls.apply(a, b)  # a view whose base was written since: apply refreshes it
    else:
        a_edge = a_meta = None
    if b_grad:
        if b._base is not None and b._vc[0] != b._view_vc:
            refresh_view(b)
        fn = b.grad_fn
        b_edge = ((fn, b._output_nr) if fn is not None else (accumulator_of(b), 0)
                  if b._base is None else _leaf_view_edge(b))
        b_meta = (y.shape, y.dtype, type(y))
    elif b_tensor and b._base is not None and b._vc[0] != b._view_vc:
        return cls.apply(a, b)  # a view whose base was written since: apply refreshes it
    else:
        b_edge = b_meta = None
    ctx.next_functions = (a_edge, b_edge)
    ctx.needs_input_grad = (a_grad, b_grad)
    ctx._input_meta = (a_meta, b_meta)
    try:
        out = cls.forward(ctx, x, y)
    except (TypeError, ValueError) as exc:  # TypeError: CuPy refusing a host array
        out = _forward_again(cls, ctx, exc, [x, y], {})
    return _finish_output(cls, ctx, (a, b), [x, y], out)


def apply_unary(cls, a):
    """``cls.apply(a)`` for a one-output array-io op of one Tensor (the unary math
    functions): the same steps as ``apply`` without the per-argument loops and lists."""
    if (_autocast[0] is not None or trace_hook[0] is not None
            or not (type(a) is Tensor or isinstance(a, Tensor) and not a.is_quantized)):
        return cls.apply(a)  # a QuantizedTensor too: apply hands it to _quantized_dispatch
    x = a._data
    ctx = _new(cls)
    if not (a._requires_grad and _grad_enabled[0]):
        if _grad_enabled[0] and a._base is not None and a._vc[0] != a._view_vc:
            return cls.apply(a)  # a view whose base was written since: apply refreshes it
        ctx.needs_input_grad = _NO_GRADS[1]
        return _make(cls.forward(ctx, x))
    ctx._seq = next(_sequence)
    ctx._to_save = None
    if a._base is not None and a._vc[0] != a._view_vc:
        refresh_view(a)
    fn = a.grad_fn
    ctx.next_functions = ((fn, a._output_nr) if fn is not None else (accumulator_of(a), 0)
                          if a._base is None else _leaf_view_edge(a),)
    ctx.needs_input_grad = _ONE_GRAD
    ctx._input_meta = ((x.shape, x.dtype, type(x)),)
    out = cls.forward(ctx, x)
    return _finish_output(cls, ctx, (a,), [x], out)


def _finish_output(cls, ctx, args, forward_args, out):
    """Wrap a recorded forward's result: the one-output case inline (the common one),
    anything else through ``_finish_recording``. Shared by apply and its fast paths."""
    if type(out) is tuple or ctx._non_diff is not None:
        return _finish_recording(cls, ctx, args, forward_args, out)
    ctx._num_outputs = 1
    if out.dtype.kind in _DIFFERENTIABLE_KINDS:
        result = _make(out, True, ctx, 0)
    else:
        result = _make(out)
    to_save = ctx._to_save
    if to_save:
        ctx._to_save = None
        _resolve_saved_single(ctx, to_save, args, forward_args, result, out)
    else:
        ctx._saved = ()
    return result


def same_float(grad, *operands):
    """Whether array math on ``grad`` and ``operands`` (arrays, Python numbers or None)
    stays in grad's dtype exactly as the Tensor ops would: same-dtype arrays and weak
    Python scalars only."""
    dtype = grad.dtype
    for operand in operands:
        kind = type(operand)
        if operand is None or kind is float or kind is int:
            continue
        operand_dtype = getattr(operand, "dtype", None)
        if operand_dtype is not dtype and operand_dtype != dtype:
            return False
    return True


def _forward_again(cls, ctx, exc, arrays, kwargs):
    """After ``cls.forward`` raised ``exc``: PyTorch's error for arrays on two devices;
    else, for CuPy refusing a 0-d host array (a 0-d cpu tensor, which PyTorch mixes into
    cuda ops as a scalar), the forward again with those arrays uploaded to the op's GPU;
    else the error as PyTorch words it (``_reraise_broadcast``)."""
    check_same_device(arrays)
    moved = host_scalars_to_device(arrays) if isinstance(exc, TypeError) else None
    if moved is None:
        _reraise_broadcast(exc, arrays)
    return cls.forward(ctx, *moved, **kwargs)


def _reraise_broadcast(exc, arrays):
    """NumPy's broadcast failure (ValueError) as PyTorch's RuntimeError, naming the
    sizes and the dimension; any other ValueError propagates unchanged."""
    check_same_device(arrays)
    if not isinstance(exc, ValueError) or not str(exc).startswith(
        "operands could not be broadcast"
    ):
        raise exc
    shapes = [a.shape for a in arrays if hasattr(a, "shape")][:2]
    if len(shapes) == 2:
        a, b = shapes
        ndim = max(len(a), len(b))
        a = (1,) * (ndim - len(a)) + tuple(a)
        b = (1,) * (ndim - len(b)) + tuple(b)
        for dim in range(ndim - 1, -1, -1):
            if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
                raise RuntimeError(
                    f"The size of tensor a ({a[dim]}) must match the size of tensor b "
                    f"({b[dim]}) at non-singleton dimension {dim}"
                ) from None
    raise RuntimeError(str(exc)) from None


def _user_forward(cls, ctx, args, kwargs):
    """PyTorch 2's split style: ``forward(*args)`` without ctx plus
    ``setup_context(ctx, inputs, output)``, used when a subclass defines setup_context."""
    if cls.setup_context is Function.setup_context:
        return cls.forward(ctx, *args, **kwargs)
    out = cls.forward(*args, **kwargs)
    cls.setup_context(ctx, args, out)
    return out


def _wrap_user_plain(ctx, args, out):
    """Outputs of a user Function when nothing is recorded: detached, but an in-place
    (dirty) input comes back as itself."""
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    wrapped = []
    for o in outs:
        if isinstance(o, Tensor) and not any(o is a for a in args):
            o = _make(o._data) if o._requires_grad else o
        wrapped.append(o)
    return wrapped[0] if single else tuple(wrapped)


def _apply_recording(cls, ctx, args, forward_args, kwargs):
    """Record a user Function (array-io ops record inline in ``apply``)."""
    ctx._seq = next(_sequence)
    ctx._to_save = None
    edges = []
    metas = []
    for arg in args:
        if isinstance(arg, Tensor) and arg._requires_grad:
            if arg._base is not None and arg._vc[0] != arg._view_vc:
                refresh_view(arg)
            fn = arg.grad_fn
            edges.append((fn, arg._output_nr) if fn is not None else (accumulator_of(arg), 0)
                         if arg._base is None else _leaf_view_edge(arg))
            array = arg._data
            metas.append((array.shape, array.dtype, type(array)))
        else:
            edges.append(None)
            metas.append(None)
    ctx.next_functions = tuple(edges)
    ctx.needs_input_grad = tuple([meta is not None for meta in metas])
    ctx._input_meta = tuple(metas)
    from .grad_mode import no_grad

    with no_grad():
        out = _user_forward(cls, ctx, args, kwargs)
    return _finish_recording(cls, ctx, args, forward_args, out)


def _finish_recording(cls, ctx, args, forward_args, out):
    """Wrap the outputs of a recorded forward (any number of them) and resolve what it
    saved."""
    if cls._array_io:
        single = type(out) is not tuple
        out_arrays = (out,) if single else out
        outputs = _wrap_outputs_array(ctx, out_arrays)
    else:
        single = not isinstance(out, tuple)
        outputs = _wrap_outputs_user(ctx, args, (out,) if single else out)
        out_arrays = tuple(o._data if isinstance(o, Tensor) else None for o in outputs)
    ctx._num_outputs = len(outputs)
    if len(out_arrays) > 1:
        # Only multi-output nodes can run with a missing output gradient to materialise.
        ctx._output_meta = tuple(
            None if a is None else (a.shape, a.dtype, type(a)) for a in out_arrays
        )
    to_save = ctx._to_save
    ctx._to_save = None
    if to_save:
        _resolve_saved(ctx, to_save, args, forward_args, outputs, out_arrays)
    else:
        ctx._saved = ()
    return outputs[0] if single else tuple(outputs)


def _wrap_outputs_array(ctx, out_arrays):
    non_diff = ctx._non_diff
    outputs = []
    for index, array in enumerate(out_arrays):
        if array is None:
            outputs.append(None)
        elif array.dtype.kind in _DIFFERENTIABLE_KINDS and (
            non_diff is None or not any(array is n for n in non_diff)
        ):
            outputs.append(_make(array, True, ctx, index))
        else:
            outputs.append(_make(array))
    return outputs


def _wrap_outputs_user(ctx, args, outs):
    non_diff = ctx._non_diff or ()
    dirty = ctx._dirty or ()
    outputs = []
    for index, out in enumerate(outs):
        if not isinstance(out, Tensor):
            outputs.append(out)
            continue
        differentiable = out._data.dtype.kind in _DIFFERENTIABLE_KINDS and not any(
            out is n for n in non_diff
        )
        if any(out is d for d in dirty):
            out._vc[0] += 1
            if differentiable:
                out._requires_grad = True
                out.grad_fn = ctx
                out._output_nr = index
            outputs.append(out)
        elif differentiable:
            outputs.append(_make(out._data, True, ctx, index))
        else:
            outputs.append(_make(out._data))
    return outputs


def once_differentiable(backward):
    """Mark a backward as not differentiable: it runs under no_grad even when the graph
    is being built with create_graph=True."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        from .grad_mode import no_grad

        with no_grad():
            return backward(ctx, *grads)

    return wrapper


class AccumulateGrad:
    """The node at a leaf: adds the incoming gradient into ``variable.grad``."""

    __slots__ = (
        "__weakref__",
        "_hooks",
        "_pre_hooks",
        "_seq",
        "_tensor_pre_hooks",
        "next_functions",
        "variable",
    )

    _num_outputs = 1
    _retain_hooks = None

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()
        self._hooks = None
        self._pre_hooks = None
        self._tensor_pre_hooks = None
        self._seq = -1

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"

    register_hook = Function.register_hook
    register_prehook = Function.register_prehook


def _leaf_view_edge(tensor):
    """The edge to a view that requires grad and has no history: none for a view made
    under no_grad (PyTorch gives it no gradient accumulator: ops on it record, backward
    leaves it alone), its AccumulateGrad otherwise (``detach()``-then-view leaves)."""
    if tensor._view_creation is not None:
        return None
    return accumulator_of(tensor), 0


def accumulator_of(tensor):
    """The leaf's AccumulateGrad node: one per leaf while the graph holds it, so hooks see
    the summed gradient once (the tensor keeps only a weak reference, so no cycle)."""
    ref = tensor._acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._acc = weakref.ref(node)
    return node


class FunctionCtx:
    """Kept for code that names the ctx type in annotations."""


BackwardCFunction = Function
