"""ember.autograd.graph against torch.autograd.graph.

Each scenario is written once as ``scenario(lib, log)`` and run with lib=torch and
lib=ember; ``log`` records what a user would observe (tensors as values, dtype,
requires_grad and node name; errors as type and message) and the two logs must agree.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import ember
from tests.oracle import as_numpy, dtype_name

RNG = np.random.default_rng(7)
A = RNG.random((2, 3)) + 0.5
B = RNG.random((2, 3)) + 0.5
W = RNG.random((4, 3)) - 0.5
BIAS = RNG.random(4) - 0.5


def leaf(lib, array, dtype="float32"):
    return lib.tensor(array, dtype=getattr(lib, dtype), requires_grad=True)


def observe(value):
    """What a user sees of ``value``, comparable between the two libraries."""
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        node = value.grad_fn
        return ("tensor", as_numpy(value.detach()), dtype_name(value), value.requires_grad,
                None if node is None else node.name().rsplit("::", 1)[-1])
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(observe(v) for v in value)
    return value


def assert_same_log(t_log, e_log):
    assert len(t_log) == len(e_log), (t_log, e_log)
    for t_item, e_item in zip(t_log, e_log):
        _assert_same(t_item, e_item)


def _assert_same(t_item, e_item):
    if isinstance(t_item, np.ndarray):
        assert isinstance(e_item, np.ndarray) and t_item.shape == e_item.shape
        np.testing.assert_allclose(e_item, t_item, rtol=1e-5, atol=1e-6)
    elif isinstance(t_item, tuple):
        assert isinstance(e_item, tuple) and len(t_item) == len(e_item), (t_item, e_item)
        for t_sub, e_sub in zip(t_item, e_item):
            _assert_same(t_sub, e_sub)
    else:
        assert t_item == e_item, (t_item, e_item)


def run_both(scenario):
    logs = []
    for lib in (torch, ember):
        log = []
        raised = []
        try:
            scenario(lib, log)
        except Exception as exc:  # noqa: BLE001 - the error is part of what must match
            raised.append(("raised", type(exc).__name__, str(exc).split("\n")[0]))
        logs.append([observe(item) for item in log] + raised)
    assert_same_log(*logs)
    return logs[1]


def hooks(lib):
    return lib.autograd.graph.saved_tensors_hooks


# -- saved_tensors_hooks ---------------------------------------------------------------


def test_pack_unpack_order_and_arguments():
    """The docs example: what pack and unpack receive, in which order."""
    def scenario(lib, log):
        a = leaf(lib, A)
        b = leaf(lib, B) * 2

        def pack(x):
            log.append(("pack", x))
            return x.detach()

        def unpack(x):
            log.append(("unpack", x))
            return x

        with hooks(lib)(pack, unpack):
            y = a * b
        y.sum().backward()
        log.append(a.grad)

    run_both(scenario)


# Ops whose saved tensors ember keeps exactly as PyTorch does: same number of packs,
# same values packed, same gradients when everything saved goes through the hooks.
PACKED_OPS = {
    "mul": lambda L, x, y: x * y,
    "mul_scalar_lhs": lambda L, x, y: 3.0 * x,
    "div": lambda L, x, y: x / y,
    "pow_tensor": lambda L, x, y: x ** y,
    "rpow": lambda L, x, y: 2.0 ** x,
    "exp": lambda L, x, y: x.exp(),
    "sin": lambda L, x, y: x.sin(),
    "cos": lambda L, x, y: x.cos(),
    "log": lambda L, x, y: x.log(),
    "tanh": lambda L, x, y: x.tanh(),
    "sigmoid": lambda L, x, y: x.sigmoid(),
    "sqrt": lambda L, x, y: x.sqrt(),
    "softmax": lambda L, x, y: x.softmax(-1),
    "abs": lambda L, x, y: x.abs(),
    "mm": lambda L, x, y: x @ y.t(),
    "addmm": lambda L, x, y: L.addmm(y[0], x.t(), y),
    "chain": lambda L, x, y: (x * y).exp().sin() / y,
    "atan2": lambda L, x, y: x.atan2(y),
    "maximum": lambda L, x, y: L.maximum(x, y * 1.1),
    "xlogy": lambda L, x, y: L.xlogy(x, y),
    "mse_loss": lambda L, x, y: L.nn.functional.mse_loss(x, y),
    "mv": lambda L, x, y: L.mv(x, y[0]),
    "dot": lambda L, x, y: L.dot(x[0], y[1]),
    "bmm": lambda L, x, y: L.bmm(x[None], y.t()[None]),
    "norm": lambda L, x, y: x.norm(),
    "unary_chain": lambda L, x, y: (x / 3).asin().tan().expm1().log2().erf().sinh(),
}


@pytest.mark.parametrize("name", sorted(PACKED_OPS))
def test_packed_tensors_and_gradients(name):
    fn = PACKED_OPS[name]

    def scenario(lib, log):
        x, y = leaf(lib, A), leaf(lib, B)

        def pack(t):
            log.append(("pack", t))
            return ("box", t.detach().clone())

        def unpack(box):
            log.append(("unpack", box[1]))
            return box[1]

        with hooks(lib)(pack, unpack):
            out = fn(lib, x, y)
        out.backward(lib.ones_like(out) * 0.5)
        log.extend([out, x.grad, y.grad])

    run_both(scenario)


# Every op here saves something ember-specific (a mask, an extra output) or nothing:
# what is packed may differ from PyTorch, but gradients through the hooks must not.
GRAD_ONLY_OPS = {
    "relu": lambda L, x, y: x.relu() * y,
    "leaky_relu": lambda L, x, y: L.nn.functional.leaky_relu(x - 1.0, 0.1),
    "gelu": lambda L, x, y: L.nn.functional.gelu(x),
    "silu": lambda L, x, y: L.nn.functional.silu(x),
    "pow_scalar": lambda L, x, y: x ** 3,
    "linear": lambda L, x, y: L.nn.functional.linear(x, y[:, :2].t().exp(), None),
    "layer_norm": lambda L, x, y: L.nn.functional.layer_norm(x, (3,)) * y,
    "log_softmax": lambda L, x, y: x.log_softmax(0) * y,
    "max": lambda L, x, y: x.max(dim=1).values,
    "conv1d": lambda L, x, y: L.nn.functional.conv1d(x[None], y[:, :, None]),
}


@pytest.mark.parametrize("name", sorted(GRAD_ONLY_OPS))
def test_gradients_through_hooks(name):
    fn = GRAD_ONLY_OPS[name]

    def scenario(lib, log):
        x, y = leaf(lib, A), leaf(lib, B)
        with hooks(lib)(lambda t: t.detach().clone(), lambda t: t):
            out = fn(lib, x, y)
        out.backward(lib.ones_like(out))
        log.extend([out, x.grad, y.grad])

    run_both(scenario)


def test_nested_hooks_innermost_applies():
    def scenario(lib, log):
        x = leaf(lib, A)
        H = hooks(lib)
        with H(lambda t: ("outer", t), lambda p: (log.append(p[0]), p[1])[1]):
            with H(lambda t: ("inner", t), lambda p: (log.append(p[0]), p[1])[1]):
                inner = x.sin()
            outer = x.cos()
        plain = x.exp()
        (inner + outer + plain).sum().backward()
        log.append(x.grad)

    assert run_both(scenario)[:2] == ["outer", "inner"]


def test_custom_function_saves_through_hooks():
    def scenario(lib, log):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a ** 3

            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return g * 3 * a * a

        x = leaf(lib, A)
        with hooks(lib)(lambda t: (log.append("pack"), t.detach())[1],
                        lambda t: (log.append("unpack"), t)[1]):
            out = Cube.apply(x)
        out.sum().backward()
        log.append(x.grad)

    run_both(scenario)


def test_double_backward_through_unpacked_tensors():
    """Unpacked tensors carry the saved ones' history (a leaf's accumulator, a non-leaf's
    node), so create_graph=True differentiates through them."""
    def scenario(lib, log):
        x, w = leaf(lib, A, "float64"), leaf(lib, B, "float64")
        with hooks(lib)(lambda t: t.detach() * 1.0, lambda t: t):
            h = x.exp()
            y = (h * w * x).sum()
        (gx,) = lib.autograd.grad(y, x, create_graph=True)
        (gx * gx).sum().backward()
        log.extend([gx, x.grad, w.grad])

    run_both(scenario)


def test_pack_hook_runs_in_no_grad_mode():
    """Work a pack hook does records nothing, so is not itself packed (no recursion)."""
    def scenario(lib, log):
        x = leaf(lib, A)

        def pack(t):
            log.append(("pack", lib.is_grad_enabled()))
            return (t * 2).sin()

        with hooks(lib)(pack, lambda t: t.asin() / 2):
            out = x.cos()
        out.sum().backward()
        log.append(x.grad)

    run_both(scenario)


def test_hooks_do_not_fire_when_nothing_is_saved():
    def scenario(lib, log):
        x = leaf(lib, A)
        with hooks(lib)(lambda t: log.append("pack") or t, lambda t: t):
            with lib.no_grad():
                x * x
            x.detach() * x.detach()
            x + x
        log.append(len(log))

    run_both(scenario)


ERROR_CASES = {
    "pack_modifies_input": lambda lib, x: _with_hooks(
        lib, lambda t: t.add_(1), lambda t: t, lambda: x.clone() * x),
    "unpack_returns_int": lambda lib, x: _with_hooks(
        lib, lambda t: t, lambda t: 3, lambda: x * x).sum().backward(),
    "pack_returns_int": lambda lib, x: _with_hooks(
        lib, lambda t: 3, lambda t: t, lambda: x.sin()).sum().backward(),
    "saved_after_backward": lambda lib, x: _freed(lib, x, hooked=False),
    "saved_after_backward_hooked": lambda lib, x: _freed(lib, x, hooked=True),
    "backward_twice_hooked": lambda lib, x: _twice(lib, x),
}


def _with_hooks(lib, pack, unpack, fn):
    with hooks(lib)(pack, unpack):
        return fn()


def _freed(lib, x, hooked):
    with hooks(lib)(lambda t: t, lambda t: t) if hooked else contextlib.nullcontext():
        y = x.exp()
    y.sum().backward()
    return y.grad_fn._saved_result


def _twice(lib, x):
    with hooks(lib)(lambda t: t.detach(), lambda t: t):
        y = (x * x).sum()
    y.backward()
    y.backward()


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors(name):
    def scenario(lib, log):
        log.append(ERROR_CASES[name](lib, leaf(lib, A)))

    log = run_both(scenario)
    assert log[-1][0] == "raised"


def test_disable_saved_tensors_hooks():
    def scenario(lib, log):
        graph = lib.autograd.graph

        def attempt(fn):
            try:
                fn()
                log.append("ok")
            except RuntimeError as exc:
                log.append(str(exc))

        def enter_hooks():
            with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass

        with graph.disable_saved_tensors_hooks("no hooks here"):
            attempt(enter_hooks)
            with graph.disable_saved_tensors_hooks("inner message"):
                attempt(enter_hooks)
            attempt(enter_hooks)
            x = leaf(lib, A)
            y = x * x  # saving itself still works
            y.grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)
            log.append(y.grad_fn._saved_self)
        attempt(enter_hooks)
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            attempt(lambda: graph.disable_saved_tensors_hooks("while set").__enter__())
        attempt(enter_hooks)

    run_both(scenario)


def test_save_on_cpu():
    def scenario(lib, log):
        x, y = leaf(lib, A), leaf(lib, B)
        with lib.autograd.graph.save_on_cpu():
            out = (x * y).exp()
        log.append(out.grad_fn._saved_result)
        out.sum().backward()
        log.extend([x.grad, y.grad])

    run_both(scenario)


# -- grad_fn._saved_<name> and _raw_saved_<name> ----------------------------------------

SAVED_CASES = [
    ("mul", lambda L, x, y, w, b: x * y, ["self", "other"]),
    ("mul_scalar", lambda L, x, y, w, b: x * 2.0, ["self", "other"]),
    ("mul_int_scalar", lambda L, x, y, w, b: x * 3, ["self", "other"]),
    ("mul_one_grad", lambda L, x, y, w, b: x * y.detach(), ["self", "other"]),
    ("div", lambda L, x, y, w, b: x / y, ["self", "other"]),
    ("pow_scalar", lambda L, x, y, w, b: x ** 2, ["self", "exponent"]),
    ("pow_tensor", lambda L, x, y, w, b: x ** y, ["self", "exponent", "result"]),
    ("rpow", lambda L, x, y, w, b: 2.0 ** x, ["self", "exponent", "result"]),
    ("exp", lambda L, x, y, w, b: x.exp(), ["result"]),
    ("sin", lambda L, x, y, w, b: x.sin(), ["self"]),
    ("cos", lambda L, x, y, w, b: x.cos(), ["self"]),
    ("log", lambda L, x, y, w, b: x.log(), ["self"]),
    ("abs", lambda L, x, y, w, b: x.abs(), ["self"]),
    ("tanh", lambda L, x, y, w, b: x.tanh(), ["result"]),
    ("sigmoid", lambda L, x, y, w, b: x.sigmoid(), ["result"]),
    ("sqrt", lambda L, x, y, w, b: x.sqrt(), ["result"]),
    ("rsqrt", lambda L, x, y, w, b: x.rsqrt(), ["result"]),
    ("reciprocal", lambda L, x, y, w, b: x.reciprocal(), ["result"]),
    ("softmax", lambda L, x, y, w, b: x.softmax(-1), ["result"]),
    ("log_softmax", lambda L, x, y, w, b: x.log_softmax(-1), ["result"]),
    ("clamp", lambda L, x, y, w, b: x.clamp(0.6, 1.2), ["self", "min", "max"]),
    ("gelu", lambda L, x, y, w, b: L.nn.functional.gelu(x), ["self"]),
    ("silu", lambda L, x, y, w, b: L.nn.functional.silu(x), ["self"]),
    ("mm", lambda L, x, y, w, b: x @ w.t(), ["self", "mat2"]),
    ("addmm", lambda L, x, y, w, b: L.addmm(b, x, w.t()), ["mat1", "mat2"]),
    ("linear", lambda L, x, y, w, b: L.nn.functional.linear(x, w, b), ["mat1", "mat2"]),
    ("linear_no_bias", lambda L, x, y, w, b: L.nn.functional.linear(x, w), ["self", "mat2"]),
    ("tan", lambda L, x, y, w, b: x.tan(), ["result"]),
    ("exp2", lambda L, x, y, w, b: x.exp2(), ["result"]),
    ("expm1", lambda L, x, y, w, b: x.expm1(), ["result"]),
    ("asin", lambda L, x, y, w, b: (x / 3).asin(), ["self"]),
    ("acos", lambda L, x, y, w, b: (x / 3).acos(), ["self"]),
    ("atan", lambda L, x, y, w, b: x.atan(), ["self"]),
    ("sinh", lambda L, x, y, w, b: x.sinh(), ["self"]),
    ("cosh", lambda L, x, y, w, b: x.cosh(), ["self"]),
    ("log2", lambda L, x, y, w, b: x.log2(), ["self"]),
    ("log10", lambda L, x, y, w, b: x.log10(), ["self"]),
    ("erf", lambda L, x, y, w, b: x.erf(), ["self"]),
    ("prod", lambda L, x, y, w, b: x.prod(), ["self"]),
    ("logsigmoid", lambda L, x, y, w, b: L.nn.functional.logsigmoid(x), ["self"]),
    ("softplus", lambda L, x, y, w, b: L.nn.functional.softplus(x), ["self"]),
    ("atan2", lambda L, x, y, w, b: x.atan2(y), ["self", "other"]),
    ("maximum", lambda L, x, y, w, b: L.maximum(x, y), ["self", "other"]),
    ("minimum", lambda L, x, y, w, b: L.minimum(x, y), ["self", "other"]),
    ("xlogy", lambda L, x, y, w, b: L.xlogy(x, y), ["self", "other"]),
    ("mse_loss", lambda L, x, y, w, b: L.nn.functional.mse_loss(x, y), ["self", "target"]),
    ("mv", lambda L, x, y, w, b: L.mv(w, x[0]), ["self", "vec"]),
    ("dot", lambda L, x, y, w, b: L.dot(x[0], y[1]), ["self", "tensor"]),
    ("bmm", lambda L, x, y, w, b: L.bmm(x[None], w.t()[None]), ["self", "mat2"]),
    ("where", lambda L, x, y, w, b: L.where(x > 1, x, y), ["condition"]),
    ("norm", lambda L, x, y, w, b: x.norm(), ["self", "result"]),
    ("var", lambda L, x, y, w, b: x.var(), ["self"]),
    ("std", lambda L, x, y, w, b: x.std(), ["self"]),
]


@pytest.mark.parametrize("case", SAVED_CASES, ids=[c[0] for c in SAVED_CASES])
def test_saved_attributes(case):
    _, fn, names = case

    def scenario(lib, log):
        inputs = [leaf(lib, a) for a in (A, B, W, BIAS)]
        out = fn(lib, *inputs)
        node = out.grad_fn
        log.append(node.name())
        for name in names:
            value = getattr(node, "_saved_" + name)
            log.append(value)
            # identity: an input comes back as itself, an output as a new tensor
            log.append(tuple(value is t for t in (*inputs, out)))
        log.append(type(node._raw_saved_self if "self" in names else None).__name__)

    run_both(scenario)


def test_saved_attribute_errors_and_freeing():
    def scenario(lib, log):
        x, y = leaf(lib, A), leaf(lib, B)
        z = x * y
        log.append(hasattr(z.grad_fn, "_saved_result"))
        try:
            log.append(z.grad_fn._saved_foo)
        except AttributeError as exc:
            log.append(str(exc))
        z.sum().backward(retain_graph=True)
        log.append(z.grad_fn._saved_self)
        z.sum().backward()
        try:
            log.append(z.grad_fn._saved_self)
        except RuntimeError as exc:
            log.append(str(exc))

    run_both(scenario)


def test_raw_saved_register_hooks():
    """The tutorial: hooks registered on one saved tensor after the forward."""
    def scenario(lib, log):
        x, y = leaf(lib, A), leaf(lib, B)
        z = x * y
        raw = z.grad_fn._raw_saved_self

        def pack(t):
            log.append(("pack", t))
            return t.detach() * 2

        def unpack(t):
            log.append(("unpack", t))
            return t / 2

        raw.register_hooks(pack, unpack)
        log.append(z.grad_fn._saved_self)
        try:
            raw.register_hooks(pack, unpack)
        except RuntimeError as exc:
            log.append(str(exc))
        try:
            raw.register_hooks(pack)
        except TypeError as exc:
            log.append(str(exc).split("\n")[0])
        z.sum().backward()
        log.extend([x.grad, y.grad])
        try:
            raw.register_hooks(pack, unpack)
        except RuntimeError as exc:
            log.append(str(exc))

    run_both(scenario)


def test_raw_saved_errors_for_none_and_wrapped_number():
    def scenario(lib, log):
        x = leaf(lib, A)
        z = x * 2.0
        try:
            z.grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)
        except RuntimeError as exc:
            log.append(str(exc))
        z.grad_fn._raw_saved_other.register_hooks(
            lambda t: (log.append(("pack", t)), t.clone())[1], lambda t: t)
        log.append(z.grad_fn._saved_other)
        z.sum().backward()
        log.append(x.grad)

    run_both(scenario)


def test_raw_saved_hooks_with_default_hooks_set():
    def scenario(lib, log):
        x = leaf(lib, A)
        with hooks(lib)(lambda t: t.detach(), lambda t: t):
            z = x.sin()
        try:
            z.grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)
        except RuntimeError as exc:
            log.append(str(exc))

    run_both(scenario)
