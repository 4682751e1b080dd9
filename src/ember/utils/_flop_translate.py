"""Which counted ATen calls PyTorch makes for one ember op, forward and backward.

``translate(cls, args, kwargs, frame)`` answers for the ember ops whose PyTorch
counterparts reach a FLOP formula: a list of forward calls and a list of backward calls,
each ``(packet, args, kwargs, out_shape)`` with shapes (``_Shape``) in place of Tensors.
It returns None for every other op. The rules follow ATen's decompositions:
``matmul`` folds a batched operand into one ``mm`` (always when an operand requires grad,
else only when that costs no copy) or broadcasts to ``bmm``, 1-D cases are ``mv``/``dot``
(uncounted); ``linear`` is ``addmm`` with a bias, ``mm`` without; ``einsum`` sums away
indices used once, then contracts left to right with ``bmm`` (``mul`` when nothing is
contracted); each ``mm``/``bmm`` backward is one product per operand needing grad.
"""

from __future__ import annotations

from math import prod

from .. import ops as _ops_mod
from ..autograd.grad_mode import _grad_enabled
from .flop_counter import _Shape

aten = _ops_mod.aten
_HANDLERS: dict = {}


def _forward_needs(tensor) -> bool:
    """Whether the op records a gradient edge for ``tensor``."""
    return tensor is not None and _grad_enabled[0] and tensor.requires_grad


def _callers(frame, depth=4):
    """{name: frame} of the ember functions on the stack just above the op (bilinear,
    addbmm, tensordot and attention share an op class with differently counted ATen
    ops)."""
    names = {}
    while frame is not None and depth:
        if "ember" in frame.f_code.co_filename:
            names.setdefault(frame.f_code.co_name, frame)
        frame = frame.f_back
        depth -= 1
    return names


def _sdpa_flash_cpu(frame, needs):
    """ATen on CPU runs attention as ``_scaled_dot_product_flash_attention_for_cpu`` (one
    op, with no FLOP formula in PyTorch's registry) for 4-D inputs whose head dims agree
    and without dropout, and as two bmm otherwise. For the flash case: the op's forward
    and backward calls, attached to the first of ember's two products; None otherwise."""
    local = frame.f_locals
    query, key, value = local["query"], local["key"], local["value"]
    if local.get("dropout_p", 0.0) > 0.0 or query.dim() != 4 or not (
            query.shape[-1] == key.shape[-1] == value.shape[-1]):
        return None
    if "weights" not in local:  # the first product: priced with the second, whose node
        return [], []  # exists whenever any input needs grad
    out = tuple(query.shape[:-1]) + (value.shape[-1],)
    shapes = (_Shape(query.shape), _Shape(key.shape), _Shape(value.shape))
    kwargs = {"attn_mask": local.get("attn_mask"), "scale": local.get("scale")}
    fwd = [(aten._scaled_dot_product_flash_attention_for_cpu,
            shapes + (0.0, bool(local.get("is_causal"))), kwargs,
            (_Shape(out), _Shape(out[:-1])))]
    if not any(needs(t) for t in (query, key, value)):
        return fwd, []
    bwd = [(aten._scaled_dot_product_flash_attention_for_cpu_backward,
            (_Shape(out),) + shapes + (_Shape(out), _Shape(out[:-1]), 0.0,
                                       bool(local.get("is_causal"))),
            kwargs, shapes)]
    return fwd, bwd


def _product(packet, a, b, out):
    return (packet, (_Shape(a), _Shape(b)), {}, _Shape(out))


def _product_backward(packet, a, b, need_a, need_b):
    """ATen's mm/bmm backward: grad @ b^T for a, a^T @ grad for b."""
    calls = []
    batch = a[:-2]
    m, k, n = a[-2], a[-1], b[-1]
    if need_a:
        calls.append(_product(packet, batch + (m, n), batch + (n, k), batch + (m, k)))
    if need_b:
        calls.append(_product(packet, batch + (k, m), batch + (m, n), batch + (k, n)))
    return calls


def _should_fold(a, b) -> bool:
    """ATen's matmul: fold the larger operand into a matrix (one mm) when it has 3+ dims
    and the other at most 2, if the smaller one requires grad (its gradient then needs no
    batch-sized temporary) or the fold costs no copy."""
    larger_first = a.ndim >= b.ndim
    dim_t1 = a.ndim if larger_first else b.ndim
    dim_t2 = b.ndim if larger_first else a.ndim
    if not (dim_t1 >= 3 and dim_t2 <= 2):
        return False
    if (b if larger_first else a).requires_grad:
        return True
    if a.ndim == 2:
        return False
    shape = tuple(a.shape) if larger_first else tuple(b.shape[:-2]) + (b.shape[-1], b.shape[-2])
    strides = a.stride() if larger_first else tuple(b.stride()[:-2]) + (
        b.stride()[-1], b.stride()[-2])
    if prod(shape) == 0:
        return True
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(dim_t1 - 1))


def _broadcast(x, y):
    out = []
    for i in range(1, max(len(x), len(y)) + 1):
        dx = x[-i] if i <= len(x) else 1
        dy = y[-i] if i <= len(y) else 1
        out.append(dx if dy == 1 else dy)
    return tuple(reversed(out))


def _matmul_products(a, b, needs):
    """[(packet, a_shape, b_shape, need_a, need_b)] of ``torch.matmul(a, b)``."""
    na, nb = needs(a), needs(b)
    da, db = a.ndim, b.ndim
    sa, sb = tuple(a.shape), tuple(b.shape)
    if db == 1 and da <= 2 or da == 1 and db == 1:
        return []  # dot, mv
    if da == 1 and db == 2:
        return [(aten.mm, (1, sa[0]), sb, na, nb)]
    if da == 2 and db == 2:
        return [(aten.mm, sa, sb, na, nb)]
    if _should_fold(a, b):
        if da >= db:
            if db == 1:
                return []  # mv
            return [(aten.mm, (prod(sa[:-1]), sa[-1]), sb, na, nb)]
        if da == 1:
            return []  # mv on the transposed fold
        rows = prod(sb[:-2]) * sb[-1]
        return [(aten.mm, (rows, sb[-2]), (sa[1], sa[0]), nb, na)]
    batch = prod(_broadcast(sa[:-2] if da > 1 else (), sb[:-2] if db > 1 else ()))
    n = sa[-2] if da > 1 else 1
    m = sb[-1] if db > 1 else 1
    k = sa[-1]
    return [(aten.bmm, (batch, n, k), (batch, k, m), na, nb)]


def _calls_of(products, forward=True):
    fwd, bwd = [], []
    for packet, sa, sb, na, nb in products:
        out = sa[:-1] + sb[-1:]
        if forward:
            fwd.append(_product(packet, sa, sb, out))
        bwd += _product_backward(packet, sa, sb, na, nb)
    return fwd, bwd


def _matmul(args, kwargs, callers, needs):
    if "bilinear" in callers:
        return None  # aten._trilinear: not counted
    if "scaled_dot_product_attention" in callers:
        flash = _sdpa_flash_cpu(callers["scaled_dot_product_attention"], needs)
        if flash is not None:
            return flash
    fwd, bwd = _calls_of(_matmul_products(*args[:2], needs), forward="addbmm" not in callers)
    return fwd, bwd


def _addbmm(args, kwargs, callers, needs):
    """torch counts no forward for addbmm and two bmm in its backward."""
    bias, a, b = args[:3]
    _, bwd = _calls_of([(aten.bmm, tuple(a.shape), tuple(b.shape), needs(a), needs(b))])
    return [], bwd


def _bmm(args, kwargs, callers, needs):
    a, b = args[:2]
    return _calls_of([(aten.bmm, tuple(a.shape), tuple(b.shape), needs(a), needs(b))])


def _add_product(packet, grad_packet):
    def handler(args, kwargs, callers, needs):
        bias, a, b = args[:3]
        sa, sb = tuple(a.shape), tuple(b.shape)
        out = sa[:-1] + sb[-1:]
        fwd = [(packet, (_Shape(bias.shape), _Shape(sa), _Shape(sb)), {}, _Shape(out))]
        return fwd, _product_backward(grad_packet, sa, sb, needs(a), needs(b))
    return handler


def _linear(args, kwargs, callers, needs):
    x, weight = args[:2]
    bias = args[2] if len(args) > 2 else None
    rows, inner, outer = prod(x.shape[:-1]), weight.shape[1], weight.shape[0]
    if bias is not None:
        fwd = [(aten.addmm, (_Shape(bias.shape), _Shape((rows, inner)),
                             _Shape((inner, outer))), {}, _Shape((rows, outer)))]
    else:
        fwd = [_product(aten.mm, (rows, inner), (inner, outer), (rows, outer))]
    bwd = _product_backward(aten.mm, (rows, inner), (inner, outer), needs(x), needs(weight))
    return fwd, bwd


def _conv_calls(x, weight, bias, geo, transposed, out_shape, output_padding, needs):
    stride, padding, dilation = list(geo.stride), list(geo.pad_lo), list(geo.dilation)
    bias_shape = _Shape(bias.shape) if bias is not None else None
    conv_args = (_Shape(x.shape), _Shape(weight.shape), bias_shape, stride, padding, dilation,
                 transposed, output_padding, geo.groups)
    fwd = [(aten.convolution, conv_args, {}, _Shape(out_shape))]
    mask = [needs(x), needs(weight), needs(bias)]
    if not any(mask):
        return fwd, []
    grads = (_Shape(x.shape) if mask[0] else None, _Shape(weight.shape) if mask[1] else None,
             _Shape(bias.shape) if mask[2] else None)
    bwd_args = (_Shape(out_shape), _Shape(x.shape), _Shape(weight.shape),
                list(bias.shape) if bias is not None else None, stride, padding, dilation,
                transposed, output_padding, geo.groups, mask)
    return fwd, [(aten.convolution_backward, bwd_args, {}, grads)]


def _conv(args, kwargs, callers, needs):
    x, weight, bias, geo = args[:4]
    out = (x.shape[0], weight.shape[0]) + tuple(geo.out_spatial)
    return _conv_calls(x, weight, bias, geo, False, out, [0] * len(geo.kernel), needs)


def _conv_transpose(args, kwargs, callers, needs):
    x, weight, bias, geo = args[:4]
    out = (x.shape[0], weight.shape[1] * geo.groups) + tuple(geo.in_spatial)
    output_padding = [
        o - ((i - 1) * s - 2 * p + d * (k - 1) + 1)
        for o, i, s, p, d, k in zip(geo.in_spatial, x.shape[2:], geo.stride, geo.pad_lo,
                                    geo.dilation, geo.kernel)]
    return _conv_calls(x, weight, bias, geo, True, out, output_padding, needs)


def _einsum(args, kwargs, callers, needs):
    terms, output = args[0], args[1]
    operands = args[2:]
    sizes = {}
    for term, operand in zip(terms, operands):
        sizes.update(zip(term, operand.shape))
    if "tensordot" in callers and len(operands) == 2:
        a_term, b_term = terms
        shared = set(a_term) & set(b_term)
        m = prod(sizes[c] for c in a_term if c not in shared)
        k = prod(sizes[c] for c in shared)
        n = prod(sizes[c] for c in b_term if c not in shared)
        return _calls_of([(aten.mm, (m, k), (k, n), needs(operands[0]), needs(operands[1]))])
    keep_out = set(output)
    left = None
    need_left = False
    products = []
    for i, (term, operand) in enumerate(zip(terms, operands)):
        later = set("".join(terms[i + 1:])) | keep_out
        if left is None:
            left = {c for c in term if c in later}
            need_left = needs(operand)
            continue
        right = {c for c in term if c in later or c in left}
        shared = left & right
        contracted = shared - later
        need_right = needs(operand)
        if contracted:
            batch = prod(sizes[c] for c in shared - contracted)
            m = prod(sizes[c] for c in left - right)
            k = prod(sizes[c] for c in contracted)
            n = prod(sizes[c] for c in right - left)
            products.append((aten.bmm, (batch, m, k), (batch, k, n), need_left, need_right))
        left = (left | right) - contracted
        need_left = need_left or need_right
    return _calls_of(products)


def translate(cls, args, kwargs, frame):
    """(forward calls, ``backward(mask)``) for ``cls.apply(*args)``, or None.

    ``backward(mask)`` gives the backward calls once the engine reaches the op's node:
    ``mask[i]`` says whether this backward pass wants argument i's gradient (PyTorch's
    formulas compute only those: ``autograd.grad(out, [x])`` skips the weight's)."""
    if not _HANDLERS:
        _load_handlers()
    handler = _HANDLERS.get(cls)
    if handler is None:
        return None
    callers = _callers(frame)
    calls = handler(args, kwargs, callers, _forward_needs)
    if calls is None:
        return None

    def backward(mask):
        wanted = {id(a): m for a, m in zip(args, mask) if a is not None}

        def needs(tensor):
            return tensor is not None and wanted.get(id(tensor), False)

        return handler(args, kwargs, callers, needs)[1]

    return calls[0], (backward if calls[1] else None)


def _load_handlers():
    from .._ops import conv, einsum, linalg
    from ..nn import _functional

    _HANDLERS.update({
        linalg.Matmul: _matmul,
        linalg._Bmm: _bmm,
        linalg._Addmm: _add_product(aten.addmm, aten.mm),
        linalg._Baddbmm: _add_product(aten.baddbmm, aten.bmm),
        linalg._Addbmm: _addbmm,
        _functional.Linear: _linear,
        conv._Conv: _conv,
        conv._ConvInputGrad: _conv_transpose,
        einsum.Einsum: _einsum,
    })
