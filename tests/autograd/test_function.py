"""Custom autograd.Function with the whole ctx API, hooks, backward/grad options, grad
modes and anomaly detection: each scenario runs on ember and on torch and must agree."""

import math

import numpy as np
import pytest
import torch

import ember

LIBS = [ember, torch]


def both(scenario):
    """Run ``scenario(lib)`` for ember and torch; compare the (nested) results."""
    results = [scenario(lib) for lib in LIBS]
    _compare(results[0], results[1])
    return results


def _compare(e, t):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for ei, ti in zip(e, t):
            _compare(ei, ti)
    elif isinstance(t, torch.Tensor):
        np.testing.assert_allclose(np.asarray(e.detach().numpy()), t.detach().numpy(),
                                   rtol=1e-6, atol=1e-6)
    else:
        assert e == t, f"{e!r} != {t!r}"


def leaf(lib, values, requires_grad=True):
    return lib.tensor(values, dtype=lib.float64, requires_grad=requires_grad)


# -- custom Functions -------------------------------------------------------------------


def make_scaled_mul(lib):
    class ScaledMul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, scale):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return x * y * scale

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            ctx.seen_needs = ctx.needs_input_grad
            grad_x = grad * y * ctx.scale if ctx.needs_input_grad[0] else None
            grad_y = grad * x * ctx.scale if ctx.needs_input_grad[1] else None
            return grad_x, grad_y, None

    return ScaledMul


def test_save_for_backward_and_needs_input_grad():
    def scenario(lib):
        fn = make_scaled_mul(lib)
        x = leaf(lib, [1.0, 2.0])
        y = leaf(lib, [3.0, 4.0], requires_grad=False)
        out = fn.apply(x, y, 2.0)
        node = out.grad_fn
        out.sum().backward()
        return x.grad, y.grad is None, node.seen_needs, out.requires_grad

    both(scenario)


def test_custom_function_double_backward_and_gradcheck():
    def scenario(lib):
        fn = make_scaled_mul(lib)
        x = leaf(lib, [1.0, 2.0])
        y = leaf(lib, [3.0, 4.0])
        (gx,) = lib.autograd.grad(fn.apply(x, x * y, 3.0).sum(), x, create_graph=True)
        (ggx,) = lib.autograd.grad(gx.sum(), x)
        return gx, ggx

    both(scenario)
    fn = make_scaled_mul(ember)
    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    y = ember.tensor([3.0, -1.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: fn.apply(a, b, 1.5), (x, y))
    assert ember.autograd.gradgradcheck(lambda a, b: fn.apply(a, b, 1.5), (x, y))


def test_saved_tensors_freed_after_backward():
    for lib in LIBS:
        fn = make_scaled_mul(lib)
        out = fn.apply(leaf(lib, [1.0]), leaf(lib, [2.0]), 1.0)
        node = out.grad_fn
        out.sum().backward()
        with pytest.raises(RuntimeError, match="freed"):
            node.saved_tensors


def test_saved_input_modified_in_place_raises():
    for lib in LIBS:
        fn = make_scaled_mul(lib)
        x = leaf(lib, [1.0, 2.0])
        y = x * 1
        out = fn.apply(y, x, 1.0)
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


def test_mark_dirty():
    def scenario(lib):
        class AddOneInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

        a = leaf(lib, [1.0, 2.0])
        b = a.clone()
        out = AddOneInPlace.apply(b)
        same = out is b
        out.sum().backward()
        return a.grad, same, b._version if lib is torch else b._version

    both(scenario)


def test_mark_non_differentiable():
    def scenario(lib):
        class SortWithIndices(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                order = np.argsort(x.detach().numpy(), kind="stable")
                index = lib.tensor(order)
                values = x[index]
                ctx.mark_non_differentiable(index)
                ctx.save_for_backward(index)
                return values, index

            @staticmethod
            def backward(ctx, grad_values, grad_index):
                (index,) = ctx.saved_tensors
                grad = lib.zeros(grad_values.shape, dtype=grad_values.dtype)
                grad[index] = grad_values
                return grad

        x = leaf(lib, [3.0, 1.0, 2.0])
        values, index = SortWithIndices.apply(x)
        (values * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        return values, index.requires_grad, values.requires_grad, x.grad

    both(scenario)


def test_set_materialize_grads_false_passes_none():
    def scenario(lib):
        seen = []

        class TwoOutputs(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, grad_a, grad_b):
                seen.append((grad_a is None, grad_b is None))
                return grad_a * 2 if grad_a is not None else None

        x = leaf(lib, [1.0])
        a, _ = TwoOutputs.apply(x)
        a.sum().backward()
        return seen, x.grad

    both(scenario)


def test_materialized_grads_are_zeros():
    def scenario(lib):
        class TwoOutputs(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, grad_a, grad_b):
                return grad_a * 2 + grad_b * 3

        x = leaf(lib, [1.0, 5.0])
        a, _ = TwoOutputs.apply(x)
        a.sum().backward()
        return x.grad

    both(scenario)


def test_once_differentiable_blocks_double_backward():
    for lib in LIBS:
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @lib.autograd.function.once_differentiable
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * 2 * x

        x = leaf(lib, [3.0])
        (g,) = lib.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
        assert g.item() == 6.0
        with pytest.raises(RuntimeError):
            lib.autograd.grad(g.sum(), x)


def test_wrong_number_of_gradients_raises():
    for lib in LIBS:
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x + y

            @staticmethod
            def backward(ctx, grad):
                return grad

        out = Bad.apply(leaf(lib, [1.0]), leaf(lib, [2.0]))
        with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                               r"\(expected 2, got 1\)"):
            out.sum().backward()


def test_save_for_forward_and_non_tensor_outputs():
    def scenario(lib):
        class WithExtras(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_forward(x)
                return x * 2, 7

            @staticmethod
            def backward(ctx, grad, _):
                return grad * 2

        x = leaf(lib, [1.0, 2.0])
        out, extra = WithExtras.apply(x)
        out.sum().backward()
        return x.grad, extra

    both(scenario)


# -- hooks ------------------------------------------------------------------------------


def test_tensor_hooks_replace_and_observe_gradients():
    def scenario(lib):
        seen = []
        x = leaf(lib, [1.0, 2.0])
        x.register_hook(lambda g: g * 10)
        y = x * 3
        y.register_hook(lambda g: seen.append(g.clone()))
        z = y * y
        handle = z.register_hook(lambda g: g + 1)
        handle.remove()
        z.sum().backward()
        return x.grad, seen

    both(scenario)


def test_retain_grad_and_post_accumulate_hook():
    def scenario(lib):
        calls = []
        x = leaf(lib, [1.0, 2.0])
        x.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.clone()))
        y = x * x
        y.retain_grad()
        (y * 3).sum().backward()
        return y.grad, y.retains_grad, x.grad, calls

    both(scenario)


def test_hook_on_tensor_without_grad_raises():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_hook(lambda g: g)


def test_node_hooks():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0])
        y = x * 2
        y.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0] * 5,))
        seen = []
        y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(
            grad_inputs[0].clone()))
        y.sum().backward()
        return x.grad, seen

    both(scenario)


# -- backward and grad options ----------------------------------------------------------


def test_backward_inputs_only_accumulates_there():
    def scenario(lib):
        a, b = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0])
        (a * b).sum().backward(inputs=[a])
        return a.grad, b.grad is None

    both(scenario)


def test_backward_with_gradient_and_retain_graph():
    def scenario(lib):
        a = leaf(lib, [1.0, 2.0])
        y = a * a
        y.backward(lib.tensor([1.0, 0.5], dtype=lib.float64), retain_graph=True)
        y.backward(lib.tensor([1.0, 1.0], dtype=lib.float64))
        return a.grad

    both(scenario)


def test_grad_options():
    def scenario(lib):
        a, b, unused = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0]), leaf(lib, [0.0])
        y = a * b
        ga, gu = lib.autograd.grad(y, (a, unused), grad_outputs=lib.tensor(
            [1.0, 2.0], dtype=lib.float64), allow_unused=True, retain_graph=True)
        (gm,) = lib.autograd.grad(y.sum(), unused, allow_unused=True, materialize_grads=True,
                                  retain_graph=True)
        (g2,) = lib.autograd.grad((a ** 3).sum(), a, create_graph=True)
        (gg,) = lib.autograd.grad(g2.sum(), a)
        return ga, gu is None, gm, g2, gg, a.grad is None

    both(scenario)


GRAD_ERRORS = [
    ("unused", lambda lib, a, b: lib.autograd.grad((a * 2).sum(), (a, b)),
     "The differentiated Tensor at index 1 appears to not have been used in the graph"),
    ("non_scalar", lambda lib, a, b: lib.autograd.grad(a * 2, a),
     "grad can be implicitly created only for scalar outputs"),
    ("no_grad_output", lambda lib, a, b: lib.autograd.grad(a.detach().sum(), a),
     "element 0 of tensors does not require grad and does not have a grad_fn"),
    ("shape", lambda lib, a, b: lib.autograd.grad(a * 2, a, grad_outputs=lib.ones(3)),
     "Mismatch in shape"),
    ("twice", lambda lib, a, b: [(lambda y: (y.backward(), y.backward()))((a * a).sum())],
     "Trying to backward through the graph a second time"),
]


@pytest.mark.parametrize("name,fn,match", GRAD_ERRORS, ids=[g[0] for g in GRAD_ERRORS])
def test_grad_errors(name, fn, match):
    for lib in LIBS:
        with pytest.raises(RuntimeError, match=match):
            fn(lib, leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0]))


# -- grad modes -------------------------------------------------------------------------


def test_grad_modes_as_context_managers():
    def scenario(lib):
        x = leaf(lib, [1.0])
        flags = []
        with lib.no_grad():
            flags.append((x * 2).requires_grad)
            with lib.enable_grad():
                flags.append((x * 2).requires_grad)
            flags.append(lib.is_grad_enabled())
        with lib.set_grad_enabled(False):
            flags.append((x * 2).requires_grad)
        with lib.inference_mode():
            flags.append((x * 2).requires_grad)
            flags.append(lib.is_inference_mode_enabled())
        with lib.inference_mode(False):
            flags.append((x * 2).requires_grad)
        flags.append(lib.is_grad_enabled())
        return flags

    both(scenario)


def test_grad_modes_as_decorators():
    def scenario(lib):
        x = leaf(lib, [1.0])

        @lib.no_grad()
        def no_grad_call():
            return (x * 2).requires_grad

        @lib.no_grad
        def bare_no_grad():
            return (x * 2).requires_grad

        @lib.enable_grad()
        def enabled():
            return (x * 2).requires_grad

        @lib.inference_mode()
        def inference():
            return (x * 2).requires_grad

        @lib.set_grad_enabled(False)
        def disabled():
            return (x * 2).requires_grad

        lib.set_grad_enabled(True)

        @lib.no_grad()
        def generator():
            yield (x * 2).requires_grad

        with lib.no_grad():
            inside = enabled()
        return [no_grad_call(), bare_no_grad(), inside, inference(), disabled(),
                list(generator()), lib.is_grad_enabled()]

    both(scenario)


def test_set_grad_enabled_as_function():
    for lib in LIBS:
        lib.set_grad_enabled(False)
        assert not lib.is_grad_enabled()
        lib.set_grad_enabled(True)
        assert lib.is_grad_enabled()


# -- anomaly detection ------------------------------------------------------------------


def test_detect_anomaly_names_the_node_that_produced_nan():
    for lib in LIBS:
        class MakesNan(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1

            @staticmethod
            def backward(ctx, grad):
                return grad * float("nan")

        x = leaf(lib, [1.0])
        with pytest.warns(UserWarning) if lib is torch else _nothing():
            with lib.autograd.detect_anomaly():
                out = MakesNan.apply(x)
                with pytest.raises(RuntimeError,
                                   match="Function 'MakesNanBackward' returned nan values in "
                                         "its 0th output."):
                    out.sum().backward()


def test_detect_anomaly_off_lets_nan_through():
    x = ember.tensor([0.0], requires_grad=True)
    (x.sqrt() * 0).sum().backward()
    assert ember.autograd.is_anomaly_enabled() is False


def test_anomaly_state_at_top_level_like_torch():
    for lib in LIBS:
        states = [lib.is_anomaly_enabled()]
        with lib.autograd.set_detect_anomaly(True):
            states.append(lib.is_anomaly_enabled())
        states.append(lib.is_anomaly_enabled())
        assert states == [False, True, False], lib.__name__


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -- engine semantics around hooks and inputs= -------------------------------------------


def _nonleaf_inputs(lib):
    a = leaf(lib, [1.0, 2.0])
    h = a * 3
    (h * h).sum().backward(inputs=[h])
    return h.grad, a.grad is None


def _leaf_hook_in_grad(lib):
    a = leaf(lib, [1.0, 2.0])
    seen = []
    a.register_hook(lambda g: seen.append(g.clone()))
    (g,) = lib.autograd.grad((a * a).sum(), a)
    return seen, g


def _leaf_hook_modifies_grad(lib):
    a = leaf(lib, [1.0, 2.0])
    a.register_hook(lambda g: g * 2)
    (g,) = lib.autograd.grad((a * a).sum(), a)
    return g


def _nonleaf_hook_changes_flow(lib):
    a = leaf(lib, [1.0, 2.0])
    b = a * 1
    b.register_hook(lambda g: g * 10)
    (b * b).sum().backward()
    return a.grad


def _retain_grad_then_hook(lib):
    a = leaf(lib, [1.0, 2.0])
    b = a * 2
    b.retain_grad()
    b.register_hook(lambda g: g * 3)
    b.sum().backward()
    return b.grad, a.grad


def _retain_grad_accumulates(lib):
    a = leaf(lib, [1.0, 2.0])
    b = a * 2
    b.retain_grad()
    b.sum().backward(retain_graph=True)
    b.sum().backward()
    return b.grad


def _create_graph_grad_has_history(lib):
    a = leaf(lib, [1.0, 2.0])
    (a * a).sum().backward(create_graph=True)
    return a.grad.requires_grad, a.grad.grad_fn is not None


def _post_hook_not_called_by_grad(lib):
    a = leaf(lib, [1.0, 2.0])
    calls = []
    a.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    lib.autograd.grad((a * a).sum(), a)
    return calls


def _grad_outputs_with_none_entry(lib):
    a = leaf(lib, [1.0, 2.0])
    (g,) = lib.autograd.grad([(a * a).sum(), (a * 3).sum()], a,
                             grad_outputs=[None, lib.tensor(2.0, dtype=lib.float64)])
    return g


def _autograd_backward_list(lib):
    a = leaf(lib, [1.0, 2.0])
    lib.autograd.backward([(a * a).sum(), (a * 2).sum()])
    return a.grad


SEMANTICS = [
    _nonleaf_inputs, _leaf_hook_in_grad, _leaf_hook_modifies_grad, _nonleaf_hook_changes_flow,
    _retain_grad_then_hook, _retain_grad_accumulates, _create_graph_grad_has_history,
    _post_hook_not_called_by_grad, _grad_outputs_with_none_entry, _autograd_backward_list,
]


@pytest.mark.parametrize("scenario", SEMANTICS, ids=[s.__name__.strip("_") for s in SEMANTICS])
def test_engine_semantics_match_torch(scenario):
    both(scenario)


def test_setup_context_style_function():
    def scenario(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x ** 3 * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, k = inputs
                ctx.save_for_backward(x)
                ctx.k = k

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * 3 * x ** 2 * ctx.k, None

        x = leaf(lib, [1.0, 2.0])
        y = Cube.apply(x, 2.0)
        y.sum().backward()
        with lib.no_grad():
            plain = Cube.apply(x, 1.0)
        return y, x.grad, plain, plain.requires_grad

    both(scenario)


def test_grad_is_grads_batched():
    def scenario(lib):
        x = leaf(lib, [1.0, 2.0, 3.0])
        y = x * x
        (g,) = lib.autograd.grad(y, x, lib.eye(3, dtype=lib.float64), is_grads_batched=True)
        return g

    both(scenario)


def test_set_detect_anomaly_as_function_and_context_manager():
    for lib in LIBS:
        lib.autograd.set_detect_anomaly(True)
        assert lib.is_anomaly_enabled() if lib is torch else lib.autograd.is_anomaly_enabled()
        lib.autograd.set_detect_anomaly(False)
        with lib.autograd.set_detect_anomaly(True):
            enabled = (torch.is_anomaly_enabled() if lib is torch
                       else lib.autograd.is_anomaly_enabled())
            assert enabled
        assert not (torch.is_anomaly_enabled() if lib is torch
                    else lib.autograd.is_anomaly_enabled())


def test_saving_the_returned_tensor_keeps_its_history_for_double_backward():
    """The "Double Backward with Custom Functions" tutorial's Exp: forward saves the very
    tensor it returns; backward must see it as the output (with its graph), as PyTorch's
    saved-output handling does, so the second derivative is exp(x), not 0."""

    class Exp(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            result = ember.exp(x)
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    x = ember.tensor(0.5, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(Exp.apply, x)
    (first,) = ember.autograd.grad(Exp.apply(x), x, create_graph=True)
    (second,) = ember.autograd.grad(first, x)
    assert abs(second.item() - math.exp(0.5)) < 1e-12
