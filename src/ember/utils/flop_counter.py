"""``torch.utils.flop_counter``: count the FLOPs of matrix products, convolutions and
attention, per module, forward and backward.

PyTorch counts at its dispatcher: every ATen op that runs (backward ones too) passes a
``TorchDispatchMode``, and the ops with a formula (``aten.mm``, ``aten.convolution``,
``aten.convolution_backward``, ...) are counted. ember has no dispatcher, so the counter
sits where every ember op passes: ``Function.apply``'s ``trace_hook`` slot (one list read
per op when no counter is active, the check that slot already costs; nothing is added to
the hot path). While a counter is active:

- an ember op that PyTorch runs as counted ATen ops (``Matmul`` -> ``aten.mm`` or
  ``aten.bmm`` following ``torch.matmul``'s folding rules, ``Linear`` -> ``aten.addmm``,
  ``_Conv`` -> ``aten.convolution``, ``Einsum`` -> ``aten.bmm``, ...) is translated into
  the ATen calls PyTorch would make, with their shapes, and each is priced by the formula
  registered for its packet (so ``register_flop_formula`` and ``custom_mapping`` apply);
- the graph node it records gets a pre-hook that prices PyTorch's backward of those ATen
  calls (``mm`` twice for a ``mm`` whose operands both need grad, ``convolution_backward``
  with its ``output_mask``) when the engine reaches it, and mutes counting while ember's
  own backward formula runs (its GEMMs are an implementation detail);
- other ops run as usual; a user Function's backward built from ember ops is counted op
  by op, as PyTorch's dispatcher would see it;
- a custom operator (``ember.library``) is priced by its registered formula, if any, and
  what its kernel runs inside is not counted, as in PyTorch.

Modules are tracked as ``torch.utils.module_tracker.ModuleTracker`` does: forward hooks on
every module, and multi-grad hooks on their inputs and outputs for the backward pass.

Example::

    >>> with FlopCounterMode(display=False) as counter:
    ...     model(x).sum().backward()
    >>> counter.get_total_flops()
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from math import prod
from typing import Any

from .. import ops as _ops_mod
from .._tensor import Size, Tensor
from ..autograd import engine as _engine
from ..autograd import function as _function
from ..autograd.grad_mode import _grad_enabled

__all__ = ["FlopCounterMode", "register_flop_formula"]

aten = _ops_mod.aten


def _convolution_backward(grad_output, input, weight, bias_sizes, stride, padding,
                          dilation, transposed, output_padding, groups, output_mask):
    """``aten.convolution_backward``: the gradients of ``aten.convolution`` for the
    outputs ``output_mask`` asks for, through ember's autograd."""
    import ember

    with ember.enable_grad():
        x = input.detach().requires_grad_(bool(output_mask[0]))
        w = weight.detach().requires_grad_(bool(output_mask[1]))
        b = None
        if bias_sizes is not None:
            b = ember.zeros(tuple(bias_sizes), dtype=weight.dtype, device=weight.device)
            b.requires_grad_(bool(output_mask[2]))
        out = aten.convolution.default(x, w, b, stride, padding, dilation, transposed,
                                       output_padding, groups)
        wanted = [t for t, m in zip((x, w, b), output_mask) if m and t is not None]
        grads = iter(ember.autograd.grad(out, wanted, grad_output) if wanted else ())
    return tuple(next(grads) if m and t is not None else None
                 for t, m in zip((x, w, b), output_mask))


def _sdpa_flash_cpu(query, key, value, dropout_p=0.0, is_causal=False, *, attn_mask=None,
                    scale=None):
    """``aten._scaled_dot_product_flash_attention_for_cpu``: (output, logsumexp of the
    scaled scores over the keys), through ember's attention."""
    import ember

    F = ember.nn.functional
    output = F.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p,
                                            is_causal, scale)
    factor = 1.0 / query.size(-1) ** 0.5 if scale is None else scale
    scores = (query * factor).matmul(key.transpose(-2, -1))
    if is_causal:
        keep = ember.ones(scores.shape[-2:], dtype=ember.bool, device=query.device).tril()
        scores = scores.masked_fill(keep.logical_not(), float("-inf"))
    elif attn_mask is not None:
        scores = (scores.masked_fill(attn_mask.logical_not(), float("-inf"))
                  if attn_mask.dtype == ember.bool else scores + attn_mask)
    return output, scores.logsumexp(-1)


def _sdpa_flash_cpu_backward(grad_out, query, key, value, out, logsumexp, dropout_p,
                             is_causal, *, attn_mask=None, scale=None):
    """Its backward: (grad_query, grad_key, grad_value), through ember's autograd."""
    import ember

    with ember.enable_grad():
        inputs = [t.detach().requires_grad_() for t in (query, key, value)]
        output = ember.nn.functional.scaled_dot_product_attention(
            *inputs, attn_mask, dropout_p, is_causal, scale)
        return tuple(ember.autograd.grad(output, inputs, grad_out))


for _name, _impl in [("convolution_backward", _convolution_backward),
                     ("_scaled_dot_product_flash_attention_for_cpu", _sdpa_flash_cpu),
                     ("_scaled_dot_product_flash_attention_for_cpu_backward",
                      _sdpa_flash_cpu_backward)]:
    if _name not in aten.__dict__["_packets"]:
        _ops_mod._register("aten", _name, "default", _impl)


# -- formulas -------------------------------------------------------------------------------


def get_shape(i):
    """A Tensor's shape; anything else unchanged."""
    return i.shape if isinstance(i, Tensor) else i


def _map_shapes(value):
    if isinstance(value, Tensor):
        return value.shape
    if type(value) in (list, tuple):
        return type(value)(_map_shapes(v) for v in value)
    if isinstance(value, dict):
        return {k: _map_shapes(v) for k, v in value.items()}
    return value


def shape_wrapper(f):
    """Call ``f`` with every Tensor argument (and ``out_val``) replaced by its shape:
    formulas only need shapes, so they also run on the shapes of translated calls."""

    @wraps(f)
    def nf(*args, out_val=None, **kwargs):
        args, kwargs, out_shape = _map_shapes((args, kwargs, out_val))
        return f(*args, out_shape=out_shape, **kwargs)

    return nf


flop_registry: dict[Any, Any] = {}


def register_flop_formula(targets, get_raw=False) -> Callable[[Callable], Callable]:
    """Decorator: ``formula(*shapes, out_shape=..., **kwargs) -> int`` prices every call of
    the operator packet(s) ``targets`` (``ember.ops.mylib.foo``). With ``get_raw=True`` the
    formula receives the Tensors themselves and ``out_val``."""

    def register_fun(flop_formula):
        if not get_raw:
            flop_formula = shape_wrapper(flop_formula)

        def register(target):
            if not isinstance(target, _ops_mod.OpOverloadPacket):
                raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError
                    f"register_flop_formula(targets): expected each target to be "
                    f"OpOverloadPacket (i.e. torch.ops.mylib.foo), JitFunction, "
                    f"or HigherOrderOperator, got {target} which is of type {type(target)}")
            if target in flop_registry:
                raise RuntimeError(f"duplicate registrations for {target}")
            flop_registry[target] = flop_formula

        for target in (targets if isinstance(targets, (list, tuple)) else [targets]):
            register(target)
        return flop_formula

    return register_fun


@register_flop_formula(aten.mm)
def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """(m, k) @ (k, n): one multiply and one add per term, 2 * m * n * k."""
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"matmul: inner dimensions must match (k == k2), got {k} and {k2}")
    return m * n * 2 * k


@register_flop_formula(aten.addmm)
def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """The product's FLOPs; the bias add is not counted."""
    return mm_flop(a_shape, b_shape)


@register_flop_formula(aten.bmm)
def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """(b, m, k) @ (b, k, n): 2 * b * m * n * k."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2:
        raise AssertionError(f"bmm: batch dimensions must match (b == b2), got {b} and {b2}")
    if k != k2:
        raise AssertionError(f"bmm: inner dimensions must match (k == k2), got {k} and {k2}")
    return b * m * n * 2 * k


@register_flop_formula(aten.baddbmm)
def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """The batched product's FLOPs."""
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """Multiplies and adds of a convolution, bias ignored: every output position (every
    input position for a transposed one) meets the whole filter of every channel pair."""
    batch_size = x_shape[0]
    conv_shape = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *filter_size = w_shape
    return prod(conv_shape) * prod(filter_size) * batch_size * c_out * c_in * 2


@register_flop_formula(aten.convolution)
def conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args,
              out_shape=None, **kwargs) -> int:
    """``aten.convolution``'s FLOPs."""
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


def _swap01(shape):
    return [shape[1], shape[0]] + list(shape[2:])


@register_flop_formula(aten.convolution_backward)
def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation,
                       transposed, _output_padding, _groups, output_mask, out_shape,
                       **kwargs) -> int:
    """The input gradient is the transposed convolution of grad_out with the weight; the
    weight gradient is a convolution of input and grad_out with batch and channels
    swapped. Only the outputs in ``output_mask`` are priced."""
    flop = 0
    if output_mask[0]:
        flop += conv_flop_count(grad_out_shape, w_shape, get_shape(out_shape[0]), not transposed)
    if output_mask[1]:
        grad_weight_shape = _swap01(get_shape(out_shape[1]))
        if transposed:
            flop += conv_flop_count(_swap01(grad_out_shape), _swap01(x_shape), grad_weight_shape)
        else:
            flop += conv_flop_count(_swap01(x_shape), _swap01(grad_out_shape), grad_weight_shape)
    return flop


def sdpa_flop_count(query_shape, key_shape, value_shape) -> int:
    """Attention's two batched products (scores, then weights @ value); key/value may have
    fewer heads than the query (grouped-query attention)."""
    b, h_q, s_q, d_q = query_shape
    b2, h_kv, s_k, d2 = key_shape
    b3, h3, s3, d_v = value_shape
    if not (b == b2 == b3 and h_kv == h3 and d_q == d2 and s_k == s3):
        raise AssertionError(
            f"sdpa_flop_count: query/key/value shapes are incompatible: "
            f"q={query_shape}, k={key_shape}, v={value_shape}")
    if h_q < h_kv or h_q % h_kv != 0:
        raise AssertionError(f"sdpa_flop_count: query heads ({h_q}) must be a multiple of "
                             f"key/value heads ({h_kv})")
    return (bmm_flop((b * h_q, s_q, d_q), (b * h_q, d_q, s_k))
            + bmm_flop((b * h_q, s_q, s_k), (b * h_q, s_k, d_v)))


def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """A fused attention kernel's forward FLOPs (causal masking not discounted)."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape) -> int:
    """A fused attention backward: the scores are recomputed (one product), then two
    products through weights @ value and two through query @ key^T."""
    b, h_q, s_q, d_q = query_shape
    b2, h_kv, s_k, d2 = key_shape
    b3, h3, s3, d_v = value_shape
    b4, h4, s4, d4 = grad_out_shape
    if not (b == b2 == b3 == b4 and h_kv == h3 and h_q == h4):
        raise AssertionError("sdpa_backward_flop_count: batch/heads mismatch among tensors")
    if h_q < h_kv or h_q % h_kv != 0:
        raise AssertionError(f"sdpa_backward_flop_count: query heads ({h_q}) must be a "
                             f"multiple of key/value heads ({h_kv})")
    if not (d_q == d2 and d_v == d4 and s_k == s3 and s_q == s4):
        raise AssertionError(
            "sdpa_backward_flop_count: grad_out/value/key/query shapes are incompatible")
    bh = b * h_q
    return (bmm_flop((bh, s_q, d_q), (bh, d_q, s_k)) + bmm_flop((bh, s_q, d_v), (bh, d_v, s_k))
            + bmm_flop((bh, s_k, s_q), (bh, s_q, d_v)) + bmm_flop((bh, s_q, s_k), (bh, s_k, d_q))
            + bmm_flop((bh, d_q, s_q), (bh, s_q, s_k)))


def sdpa_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args,
                       out_shape=None, **kwargs) -> int:
    """A fused attention kernel's backward FLOPs."""
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


# -- the table ------------------------------------------------------------------------------

suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number) -> str:
    """The unit for ``number``: one step later than the digits say (1001M, not 1.001B)."""
    index = max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))
    return suffixes[index]


def convert_num_with_suffix(number, suffix) -> str:
    index = suffixes.index(suffix)
    return f"{number / 1000 ** index:.3f}" + suffixes[index]


def convert_to_percent_str(num, denom) -> str:
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


def _as_number(text):
    """The float a table cell parses as, or None (tabulate reformats numeric columns)."""
    try:
        return float(text)
    except ValueError:
        return None


def _tabulate(rows, headers, colalign):
    """tabulate's "simple" format as PyTorch's table comes out of it: cells stripped (the
    indentation PyTorch asks to keep is lost in tabulate, so it is here too), columns two
    spaces apart, each at least two wider than its header, dashes under the header; an
    all-numeric column is rendered as tabulate does (ints as is, floats "g")."""
    columns = [[cell.strip() for cell in col] for col in zip(*rows)]
    for index, col in enumerate(columns):
        if all(isinstance(v, str) and v.strip().lstrip("-").isdigit() for v in col):
            columns[index] = [str(int(v)) for v in col]
        elif all(_as_number(v) is not None for v in col):
            columns[index] = [format(_as_number(v), "g") for v in col]
    widths = [max([len(h) + 2] + [len(v) for v in col]) for h, col in zip(headers, columns)]

    def line(cells):
        parts = [c.ljust(w) if a == "left" else c.rjust(w)
                 for c, w, a in zip(cells, widths, colalign)]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(cells) for cells in zip(*columns)]
    return "\n".join(out)


# -- module tracking ------------------------------------------------------------------------


class _ModuleTracker:
    """Which modules are running: their forward (global module hooks), or their backward
    (multi-grad hooks on their outputs add a module, on their inputs remove it).
    ``parents`` always holds "Global"; after a backward pass it is reset to that."""

    def __init__(self) -> None:
        self.parents = {"Global"}
        self._known_modules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._seen_modules: weakref.WeakSet = weakref.WeakSet()
        self._bw_task = None
        self._hooks: list = []

    def sync(self) -> None:
        """Reset after the backward pass that added modules has finished (PyTorch queues
        an engine callback for this)."""
        if self._bw_task is not None and all(t[0] != self._bw_task
                                             for t in _engine._graph_tasks):
            self.parents = {"Global"}
            self._bw_task = None

    def _name(self, mod) -> str:
        if mod not in self._known_modules:
            self._known_modules[mod] = type(mod).__name__
        name = self._known_modules[mod]
        if mod not in self._seen_modules:
            for child_name, child in mod.named_children():
                self._known_modules[child] = f"{name}.{child_name}"
                self._name(child)
            self._seen_modules.add(mod)
        return name

    def _append(self, name, is_bw):
        def fn(*args):
            if is_bw:
                self.sync()
                tasks = _engine._graph_tasks
                self._bw_task = tasks[-1][0] if tasks else None
            self.parents.add(name)
        return fn

    def _pop(self, name):
        def fn(*args):
            self.parents.discard(name)
        return fn

    def _grad_tensors(self, value):
        from ._pytree import tree_flatten

        return [a for a in tree_flatten(value)[0] if isinstance(a, Tensor) and a.requires_grad]

    def _fw_pre_hook(self, mod, args):
        from ..autograd.graph import register_multi_grad_hook

        self.sync()
        name = self._name(mod)
        self._append(name, False)()
        tensors = self._grad_tensors(args)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._pop(name)))

    def _fw_post_hook(self, mod, args, output):
        from ..autograd.graph import register_multi_grad_hook

        name = self._name(mod)
        self._pop(name)()
        tensors = self._grad_tensors(output)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._append(name, True)))

    def __enter__(self):
        from ..nn.modules._hooks import (
            register_module_forward_hook,
            register_module_forward_pre_hook,
        )

        self._pre_handle = register_module_forward_pre_hook(self._fw_pre_hook)
        self._post_handle = register_module_forward_hook(self._fw_post_hook)
        return self

    def __exit__(self, *args):
        self._pre_handle.remove()
        self._post_handle.remove()
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()


# -- the counter ----------------------------------------------------------------------------


class FlopCounterMode:
    """Context manager counting the FLOPs run inside it, per module.

    Args:
        mods: ignored (kept for PyTorch's signature; modules are found by hooks).
        depth: deepest module level the printed table shows.
        display: print the table on exit.
        custom_mapping: ``{packet: formula}`` added to (or overriding) the registry.

    Example::

        >>> with FlopCounterMode(model) as counter:
        ...     model(x).sum().backward()
    """

    def __init__(self, mods=None, depth: int = 2, display: bool = True,
                 custom_mapping: dict[Any, Any] | None = None) -> None:
        self.flop_counts: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.mode = None
        if custom_mapping is None:
            custom_mapping = {}
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it",
                          stacklevel=2)
        self.flop_registry = {
            **flop_registry,
            **{k: v if getattr(v, "_get_raw", False) else shape_wrapper(v)
               for k, v in custom_mapping.items()},
        }
        self.mod_tracker = _ModuleTracker()

    def get_total_flops(self) -> int:
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict[str, dict[Any, int]]:
        """``{module name: {op packet: flops}}``, "Global" holding everything."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth=None) -> str:
        """The per-module table PyTorch prints: modules sorted by name down to ``depth``,
        each followed by its ops; a "Global" row only when some FLOPs ran outside every
        module."""
        if depth is None:
            depth = self.depth
        if depth is None:
            depth = 999999
        global_flops = self.get_total_flops()
        global_suffix = get_suffix_str(global_flops)
        subsumed = False

        def rows_of(mod_name, level):
            nonlocal subsumed
            total = sum(self.flop_counts[mod_name].values())
            subsumed |= total >= global_flops
            pad = " " * level
            rows = [[pad + mod_name, convert_num_with_suffix(total, global_suffix),
                     convert_to_percent_str(total, global_flops)]]
            for op, flops in self.flop_counts[mod_name].items():
                rows.append([pad + " - " + str(op), convert_num_with_suffix(flops, global_suffix),
                             convert_to_percent_str(flops, global_flops)])
            return rows

        values = []
        for mod in sorted(self.flop_counts.keys()):
            if mod == "Global":
                continue
            mod_depth = mod.count(".") + 1
            if mod_depth > depth:
                continue
            values.extend(rows_of(mod, mod_depth - 1))
        if "Global" in self.flop_counts and not subsumed:
            for row in values:
                row[0] = " " + row[0]
            values = rows_of("Global", 0) + values
        if not values:
            values = [["Global", "0", "0%"]]
        return _tabulate(values, ["Module", "FLOP", "% Total"], ("left", "right", "right"))

    # NB: not reentrant, as PyTorch's
    def __enter__(self):
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self.mode = _Hooks(self)
        self.mode.install()
        return self

    def __exit__(self, *args):
        if self.mode is None:
            raise AssertionError(
                "Internal error: FlopCounter.__exit__ called but mode is None")
        self.mode.uninstall()
        self.mode = None
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))
        return False

    def _count(self, packet, args, kwargs, out):
        """Price one ATen call (real or translated) and add it to every running module."""
        formula = self.flop_registry.get(packet)
        if formula is None:
            return
        if getattr(formula, "__wrapped__", None) is None:  # a raw formula wants Tensors
            args = tuple(_meta(a) for a in args)
            out = _meta(out) if isinstance(out, _Shape) else out
        flops = formula(*args, **kwargs, out_val=out)
        self.mod_tracker.sync()
        for parent in set(self.mod_tracker.parents):
            self.flop_counts[parent][packet] += flops


class _Shape(Size):
    """The shape of a Tensor argument of a translated call (a raw formula gets a meta
    Tensor of it)."""


def _meta(value):
    if isinstance(value, _Shape):
        import ember

        return ember.empty(tuple(value), device="meta")
    if type(value) in (list, tuple):
        return type(value)(_meta(v) for v in value)
    return value


from ._flop_translate import translate  # after _Shape: it imports it


class _Hooks:
    """The counter's taps: ``Function.apply``'s trace hook, the custom-operator call hook
    and, per counted node, a backward pre-hook and post-hook."""

    def __init__(self, counter: FlopCounterMode) -> None:
        self.counter = counter
        self.muted = 0
        self.handles: list = []

    def install(self):
        self.prev_trace = _function.trace_hook[0]
        self.prev_call = _ops_mod._CALL_HOOK[0]
        _function.trace_hook[0] = self.on_apply
        _ops_mod._CALL_HOOK[0] = self.on_call

    def uninstall(self):
        _function.trace_hook[0] = self.prev_trace
        _ops_mod._CALL_HOOK[0] = self.prev_call
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _run(self, cls, args, kwargs):
        """The op itself, with this hook out of the way (the previous one, if any, runs)."""
        _function.trace_hook[0] = self.prev_trace
        try:
            return cls.apply(*args, **kwargs)
        finally:
            _function.trace_hook[0] = self.on_apply

    def on_apply(self, cls, args, kwargs):
        if self.muted and not _grad_enabled[0]:
            return self._run(cls, args, kwargs)
        calls = translate(cls, args, kwargs, sys._getframe(2))
        out = self._run(cls, args, kwargs)
        if calls is None:
            return out
        forward, backward = calls
        # Muted with grad on: a backward formula run with create_graph. Its products were
        # priced as PyTorch's backward call; their own backward (double backward) is not.
        for packet, call_args, call_kwargs, out_shape in (() if self.muted else forward):
            self.counter._count(packet, call_args, call_kwargs, out_shape)
        first = out[0] if type(out) is tuple else out
        node = getattr(first, "grad_fn", None)
        if backward and node is not None and isinstance(node, cls):
            self.handles.append(node.register_prehook(self._backward_pre(backward, node)))
            self.handles.append(node.register_hook(self._backward_post))
        return out

    def _backward_pre(self, backward, node):
        def hook(grad_outputs):
            if self.counter.mode is self:
                tasks = _engine._graph_tasks
                needed = tasks[-1][2] if tasks else None
                mask = [edge is not None and (needed is None or edge[0] in needed)
                        for edge in node.next_functions]
                for packet, call_args, call_kwargs, out_shape in backward(mask):
                    self.counter._count(packet, call_args, call_kwargs, out_shape)
                self.muted += 1
        return hook

    def _backward_post(self, grad_inputs, grad_outputs):
        if self.counter.mode is self and self.muted:
            self.muted -= 1

    def on_call(self, op, args, kwargs):
        """A custom operator: priced as a whole by its formula; its kernel uncounted."""
        _ops_mod._CALL_HOOK[0] = self.prev_call
        try:
            if op.namespace == "aten" or self.muted:
                return op(*args, **kwargs)
            self.muted += 1
            try:
                out = op(*args, **kwargs)
            finally:
                self.muted -= 1
            self.counter._count(op.overloadpacket, args, kwargs, out)
            return out
        finally:
            _ops_mod._CALL_HOOK[0] = self.on_call
