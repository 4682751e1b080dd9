"""ember.library (torch.library) and ember.ops against torch 2.13: schemas inferred from
annotations, calls, kernels per device, autograd through register_autograd, Library
define/impl, opcheck, and PyTorch's errors."""

import numpy as np
import pytest
import torch

import ember
from ember.library import custom_op as e_custom_op


def _define_sin(lib, ns):
    """The 'Custom Python Operators' tutorial's op, in ``lib`` (ember or torch)."""
    @lib.library.custom_op(f"{ns}::scaled_sin", mutates_args=())
    def scaled_sin(x: lib.Tensor, k: float = 1.0) -> lib.Tensor:
        return lib.from_numpy(np.sin(x.detach().numpy()) * k)

    @scaled_sin.register_fake
    def _(x, k=1.0):
        return lib.empty_like(x)

    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k = k

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos() * ctx.k, None

    scaled_sin.register_autograd(backward, setup_context=setup_context)
    return scaled_sin


def test_custom_op_values_grads_and_names():
    x = np.random.default_rng(0).standard_normal((3, 4))
    results = {}
    for lib in (torch, ember):
        op = _define_sin(lib, "xlib")
        t = lib.tensor(x, requires_grad=True)
        grad_out = lib.tensor(np.arange(12.0).reshape(3, 4))
        out = lib.ops.xlib.scaled_sin(t, 2.0)
        out.backward(grad_out)
        results[lib] = (out.detach().numpy(), t.grad.numpy(), repr(op),
                        str(lib.ops.xlib.scaled_sin.default._schema),
                        repr(lib.ops.xlib.scaled_sin), repr(lib.ops.xlib.scaled_sin.default),
                        lib.ops.xlib.scaled_sin.default.name(), repr(lib.ops.xlib),
                        out.grad_fn.name(), op(t, k=3.0).shape)
    for got, want in zip(results[ember], results[torch]):
        if isinstance(want, np.ndarray):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        else:
            assert got == want or (str(got) == str(want))
    assert ember.library.opcheck(_define_sin(ember, "xlib2"), (ember.randn(3),)) == \
        torch.library.opcheck(_define_sin(torch, "xlib2"), (torch.randn(3),))


def test_gradcheck_through_register_autograd():
    op = _define_sin(ember, "xlib3")
    x = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: op(t, 0.5), (x,))


def _annotated(lib, ns, name):
    """A table of annotated functions whose schemas torch infers."""
    T = lib.Tensor
    if name == "multi":
        def fn(x: T, n: int, s: list[int], o: T | None = None, name: str = "a",
               b: bool = True) -> tuple[T, T]:
            return x.clone(), x * n
        return lib.library.custom_op(f"{ns}::multi", mutates_args=())(fn)
    if name == "kwonly":
        def fn(x: T, *, scale: float) -> T:
            return x * scale
        return lib.library.custom_op(f"{ns}::kwonly", mutates_args=())(fn)
    if name == "retlist":
        def fn(x: T, ys: list[T]) -> list[T]:
            return [x.clone(), x * 2] + [y + 1 for y in ys]
        return lib.library.custom_op(f"{ns}::retlist", mutates_args=())(fn)
    if name == "inplace":
        def fn(x: T, y: T) -> None:
            x.add_(y)
        return lib.library.custom_op(f"{ns}::inplace", mutates_args={"x"})(fn)
    if name == "unknown":
        def fn(x: T, f: list[float], d: lib.dtype,
               u: int | float | bool = 1) -> T:  # noqa: PYI041 - torch's Scalar spelling
            return x.to(d) * u
        return lib.library.custom_op(f"{ns}::unknown", mutates_args="unknown")(fn)
    raise AssertionError(name)


@pytest.mark.parametrize("name,call", [
    ("multi", lambda lib, op: op(lib.ones(2), 3, [1])),
    ("kwonly", lambda lib, op: op(lib.ones(2), scale=2.5)),
    ("retlist", lambda lib, op: op(lib.ones(2), [lib.zeros(2)])),
    ("inplace", lambda lib, op: _call_inplace(lib, op)),
    ("unknown", lambda lib, op: op(lib.ones(2), [1.0], lib.float64, 2)),
    ("multi", lambda lib, op: op(lib.ones(2), 3)),
    ("multi", lambda lib, op: op(lib.ones(2), 3, [1], None, "a", True, 1)),
    ("kwonly", lambda lib, op: op(lib.ones(2), scale="x")),
])
def test_inferred_schemas_and_calls(name, call):
    ops = {lib: _annotated(lib, "ylib", name) for lib in (torch, ember)}
    for lib in (torch, ember):
        assert str(getattr(lib.ops.ylib, name).default._schema) == str(
            getattr(torch.ops.ylib, name).default._schema)
    try:
        want = call(torch, ops[torch])
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as info:
            call(ember, ops[ember])
        assert str(info.value).split("\nCast error")[0] == str(e).split("\nCast error")[0]
        return
    got = call(ember, ops[ember])
    wants = want if isinstance(want, (list, tuple)) else [want]
    gots = got if isinstance(got, (list, tuple)) else [got]
    assert len(gots) == len(wants)
    for g, w in zip(gots, wants):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
        assert str(g.dtype) == str(w.dtype).replace("torch", "ember") or \
            str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]


def _call_inplace(lib, op):
    target = lib.zeros(2)
    op(target, lib.ones(2))
    return target


def _no_annotation(x):
    return x


@pytest.mark.parametrize("case", [
    lambda lib: lib.library.custom_op("zlib::f", mutates_args=())(_no_annotation),
    lambda lib: lib.library.custom_op("zlib::f")(_no_annotation),
    lambda lib: lib.library.custom_op("nonamespace", mutates_args=())(_sig(lib)),
    lambda lib: lib.library.custom_op("a::b::c", mutates_args=())(_sig(lib)),
    lambda lib: lib.library.custom_op("zlib::g", mutates_args=("y",))(_sig(lib)),
    lambda lib: lib.library.custom_op("zlib::g", mutates_args=())(_sig(lib, ret=False)),
    lambda lib: lib.library.Library("zlib", "BAD"),
    lambda lib: lib.ops.zlib_missing.nothere,
    lambda lib: lib.library.custom_op("zlib::h", mutates_args=())(_sig(lib, body=True))(
        lib.ones(2)),
], ids=lambda case: "")
def test_errors_match_torch(case):
    with pytest.raises(Exception) as expected:
        case(torch)
    with pytest.raises(type(expected.value)) as got:
        case(ember)
    want = str(expected.value).replace("torch.Tensor", "Tensor")
    text = str(got.value).replace("ember._tensor.Tensor", "Tensor")
    if "unsupported type" in want or "with implementation in" in want:
        want, text = want.split(". The")[0], text.split(". The")[0]
        want, text = want.split("): ")[-1], text.split("): ")[-1]
    assert text == want


def _sig(lib, ret=True, body=False):
    if body:
        def fn(x: lib.Tensor) -> lib.Tensor:
            return x  # returns its input: refused
        return fn
    if ret:
        def fn(x: lib.Tensor) -> lib.Tensor:
            return x.clone()
        return fn

    def fn2(x: lib.Tensor):
        return x.clone()
    return fn2


def test_library_define_impl():
    outs = {}
    for lib in (torch, ember):
        library = lib.library.Library("wlib", "DEF")
        try:
            library.define("foo(Tensor x, float alpha=1.0) -> Tensor")
            library.impl("foo", lambda x, alpha=1.0: x * alpha, "CPU")
            with pytest.raises(RuntimeError, match="Only a single TORCH_LIBRARY"):
                lib.library.Library("wlib", "DEF")
            with pytest.raises(RuntimeError, match="with the same name and overload name"):
                library.define("foo(Tensor x) -> Tensor")
            frag = lib.library.Library("wlib", "FRAGMENT")
            frag.define("bar(Tensor x) -> Tensor")
            with pytest.raises(NotImplementedError, match="Could not run 'wlib::bar' with "
                                                          "arguments from the 'CPU' backend"):
                lib.ops.wlib.bar(lib.ones(2))
            lib.library.impl("wlib::bar", "cpu", lambda x: x + 1)
            outs[lib] = (repr(library), str(lib.ops.wlib.foo.default._schema),
                         lib.ops.wlib.foo(lib.ones(2), 3.0).tolist(),
                         lib.ops.wlib.bar(lib.ones(2)).tolist())
            frag._destroy()
        finally:
            library._destroy()
    assert outs[ember] == outs[torch]


def test_register_kernel_and_missing_autograd():
    for lib in (torch, ember):
        @lib.library.custom_op("vlib::twice", mutates_args=(), device_types="cpu")
        def twice(x: lib.Tensor) -> lib.Tensor:
            return x * 2

        assert twice(lib.ones(2)).tolist() == [2.0, 2.0]
        lib.library.register_kernel("vlib::twice", "cpu", lambda x: x * 3)
        assert twice(lib.ones(2)).tolist() == [3.0, 3.0]
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"^Trying to backward through vlib.twice.default "
                                               "but no autograd formula was registered"):
            twice(x).sum().backward()
        with pytest.raises(lib.library.OpCheckError if lib is ember else Exception,
                           match="no fake impl registered"):
            lib.library.opcheck(twice, (lib.ones(2),))


def test_opcheck_finds_undeclared_mutation():
    @e_custom_op("ulib::mut", mutates_args=())
    def mut(x: ember.Tensor) -> ember.Tensor:
        x.add_(1)
        return x.clone()

    with pytest.raises(ember.library.OpCheckError,
                       match="test_schema failed with Argument x is not defined as mutable "
                             "but was mutated"):
        ember.library.opcheck(mut, (ember.ones(2),))


@pytest.mark.parametrize("call", [
    lambda lib: lib.ops.aten.add.Tensor(lib.ones(2), 1),
    lambda lib: lib.ops.aten.relu.default(lib.tensor([-1.0, 2.0])),
    lambda lib: lib.ops.aten.sum.dim_IntList(lib.ones(2, 3), [1]),
    lambda lib: lib.ops.aten.view.default(lib.arange(6.0), [3, 2]),
    lambda lib: lib.ops.aten.linear.default(lib.ones(2, 3), lib.ones(4, 3)),
    lambda lib: lib.ops.aten.add(lib.ones(2), lib.ones(2)),
])
def test_aten_operators(call):
    np.testing.assert_array_equal(call(ember).numpy(), call(torch).numpy())
    assert repr(ember.ops.aten.add.Tensor) == repr(torch.ops.aten.add.Tensor)
    assert str(ember.ops.aten.sum.dim_IntList) == str(torch.ops.aten.sum.dim_IntList)


def test_module_level_define_impl_register_fake():
    outs = []
    for lib in (torch, ember):
        lib.library.define("tlib::cube", "(Tensor x) -> Tensor")

        @lib.library.impl("tlib::cube", "cpu")
        def cube(x):
            return x * x * x

        @lib.library.register_fake("tlib::cube")
        def _(x):
            return x.new_empty(x.shape)

        outs.append((lib.ops.tlib.cube(lib.tensor([2.0])).tolist(),
                     str(lib.ops.tlib.cube.default._schema)))
    assert outs[1] == outs[0]


def _tutorial_ops(lib, ns):
    """The 'Custom Python Operators' tutorial's crop/paste (NumPy in place of PIL: the
    HWC round trip leaves the output non-contiguous, as PIL's does) and numpy_sin_out."""
    from collections.abc import Sequence

    def to_hwc(t):
        return np.ascontiguousarray(t.numpy().transpose(1, 2, 0))

    def from_hwc(array):
        return lib.from_numpy(array).permute(2, 0, 1)

    @lib.library.custom_op(f"{ns}::crop", mutates_args=())
    def crop(pic: lib.Tensor, box: Sequence[int]) -> lib.Tensor:
        x0, y0, x1, y1 = box
        return from_hwc(to_hwc(pic)[y0:y1, x0:x1].copy())

    @crop.register_fake
    def _(pic, box):
        x0, y0, x1, y1 = box
        return pic.new_empty(pic.shape[0], y1 - y0, x1 - x0)

    @lib.library.custom_op(f"{ns}::paste", mutates_args=())
    def paste(im1: lib.Tensor, im2: lib.Tensor, coord: Sequence[int]) -> lib.Tensor:
        canvas = to_hwc(im1)
        x0, y0 = coord
        canvas[y0:y0 + im2.shape[1], x0:x0 + im2.shape[2]] = to_hwc(im2)
        return from_hwc(canvas)

    def backward(ctx, grad_output):
        grad_input = grad_output.new_zeros(ctx.pic_shape)
        return paste(grad_input, grad_output, ctx.coords), None

    def setup_context(ctx, inputs, output):
        pic, box = inputs
        ctx.coords = box[:2]
        ctx.pic_shape = pic.shape

    crop.register_autograd(backward, setup_context=setup_context)

    @lib.library.custom_op(f"{ns}::numpy_sin_out", mutates_args={"output"}, device_types="cpu")
    def numpy_sin_out(input: lib.Tensor, output: lib.Tensor) -> None:
        np.sin(input.numpy(), out=output.numpy())

    return crop, numpy_sin_out


def test_custom_python_operators_tutorial():
    image = np.random.default_rng(3).random((3, 16, 16)).astype(np.float32)
    results = []
    for lib in (torch, ember):
        crop, numpy_sin_out = _tutorial_ops(lib, "tutlib")
        pic = lib.tensor(image, requires_grad=True)
        out = crop(pic, (2, 3, 10, 12))
        (out * lib.arange(216.0).reshape(3, 9, 8)).sum().backward()
        with pytest.raises(Exception) as info:
            lib.library.opcheck(crop, (lib.tensor(image), (2, 3, 10, 12)))
        x, y = lib.tensor(image[0, 0]), lib.empty(16)
        numpy_sin_out(x, y)
        results.append((tuple(out.shape), out.stride(), pic.grad.numpy(), str(info.value),
                        str(lib.ops.tutlib.crop.default._schema),
                        str(lib.ops.tutlib.numpy_sin_out.default._schema), y.numpy(),
                        lib.library.opcheck(numpy_sin_out, (lib.randn(3), lib.empty(3)))))
    for got, want in zip(results[1], results[0]):
        if isinstance(want, np.ndarray):
            np.testing.assert_allclose(got, want, rtol=1e-6)
        else:
            assert got == want


def _define_weighted_sum(lib, ns):
    """A custom op taking a Tensor[] argument (and an optional tensor)."""
    @lib.library.custom_op(f"{ns}::weighted_sum", mutates_args=())
    def weighted_sum(xs: list[lib.Tensor], weights: list[float],
                     bias: lib.Tensor | None = None) -> lib.Tensor:
        out = sum(w * t for w, t in zip(weights, xs))
        return out if bias is None else out + bias

    def setup_context(ctx, inputs, output):
        ctx.weights, ctx.has_bias = inputs[1], inputs[2] is not None

    def backward(ctx, grad):
        return [grad * w for w in ctx.weights], None, grad if ctx.has_bias else None

    weighted_sum.register_autograd(backward, setup_context=setup_context)
    return weighted_sum


def test_list_of_tensors_input_gets_gradients():
    with_bias = True  # (torch 2.13's own check rejects this backward when bias is None)
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(4) for _ in range(4)]
    results = {}
    for lib in (torch, ember):
        op = _define_weighted_sum(lib, f"wlib{int(with_bias)}")
        a, b, c = (lib.tensor(x, requires_grad=True) for x in arrays[:3])
        bias = lib.tensor(arrays[3], requires_grad=True) if with_bias else None
        out = op([a, b, c.detach()], [2.0, -1.0, 0.5], bias)
        out.backward(lib.arange(4.0, dtype=lib.float64))
        results[lib] = [out.detach().numpy(), a.grad.numpy(), b.grad.numpy(), c.grad,
                        bias.grad.numpy() if with_bias else None, out.grad_fn.name()]
    for got, want in zip(results[ember], results[torch]):
        if isinstance(want, np.ndarray):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        else:
            assert got == want
