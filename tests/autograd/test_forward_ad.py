"""ember.autograd.forward_ad against torch.autograd.forward_ad: tangents of ops, modules,
custom Functions with jvp, in-place ops, levels and errors."""

import numpy as np
import pytest
import torch

import ember
from tests.oracle import assert_same, check_raises, randn, to_ember, to_torch

fw_e = ember.autograd.forward_ad
fw_t = torch.autograd.forward_ad


def _jvp(lib, fn, primals, tangents, requires_grad=False):
    fw = lib.autograd.forward_ad
    convert = to_ember if lib is ember else to_torch
    xs = [convert(p, requires_grad=requires_grad) for p in primals]
    ts = [convert(t) for t in tangents]
    with fw.dual_level():
        duals = [fw.make_dual(x, t) for x, t in zip(xs, ts)]
        out = fn(lib, *duals)
        outs = out if isinstance(out, tuple) else (out,)
        unpacked = [fw.unpack_dual(o) for o in outs]
    return [u.primal for u in unpacked], [u.tangent for u in unpacked], xs


def _soft_lin(lib, x, w):
    return lib.nn.functional.softmax(x @ w, dim=-1)


OPS = [
    ("mul_add", lambda lib, x, y: x * y + x.sin(), [(3, 4), (3, 4)]),
    ("broadcast", lambda lib, x, y: (x - y).pow(2) / (1 + y.exp()), [(3, 4), (4,)]),
    ("reductions", lambda lib, x: (x.sum(0), x.mean(), x.logsumexp(1), x.norm()), [(3, 4)]),
    ("matmul_softmax", _soft_lin, [(2, 3), (3, 5)]),
    ("views", lambda lib, x: (x.t()[1:, ::2].reshape(-1), x.unsqueeze(0).expand(2, 3, 4)),
     [(3, 4)]),
    ("cat_stack", lambda lib, x, y: lib.cat([x, y], 0) * lib.stack([x, y]).sum(0).repeat(2, 1),
     [(2, 3), (2, 3)]),
    ("max_with_indices", lambda lib, x: lib.max(x, 1), [(3, 5)]),
    ("where_clamp", lambda lib, x: lib.where(x > 0, x.clamp(max=0.5), x.tanh()), [(4, 4)]),
    ("conv2d", lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1), [(1, 2, 5, 5),
                                                                            (3, 2, 3, 3)]),
    ("layer_norm_gelu", lambda lib, x, w: lib.nn.functional.gelu(
        lib.nn.functional.layer_norm(x, (4,), weight=w)), [(3, 4), (4,)]),
    ("linalg", lambda lib, a: (lib.linalg.inv(a + 3 * lib.eye(3)), a.det()), [(3, 3)]),
    ("cross_entropy", lambda lib, x: lib.nn.functional.cross_entropy(
        x, lib.tensor([0, 2, 1])), [(3, 4)]),
    ("pools", lambda lib, x: (lib.nn.functional.max_pool1d(x, 2),
                              lib.nn.functional.adaptive_avg_pool1d(x, 3),
                              lib.nn.functional.adaptive_max_pool1d(x, 2)), [(2, 3, 6)]),
    ("fft_through_complex", lambda lib, x: lib.fft.irfft(lib.fft.rfft(x) * 1j, n=6).sin()
     + lib.fft.fft(x).abs(), [(2, 6)]),
    ("indexing_scatter", lambda lib, x: (x[[0, 2]], x[x > 0], x.gather(1, lib.tensor([[1], [0],
                                         [3]])), lib.zeros(5, 4, dtype=x.dtype).index_add(
        0, lib.tensor([0, 2, 4]), x)), [(3, 4)]),
]


@pytest.mark.parametrize("name, fn, shapes", OPS, ids=[op[0] for op in OPS])
def test_tangents_match_torch(name, fn, shapes):
    primals = [randn(*s, dtype=np.float64) for s in shapes]
    tangents = [randn(*s, dtype=np.float64) for s in shapes]
    e_primal, e_tangent, _ = _jvp(ember, fn, primals, tangents)
    t_primal, t_tangent, _ = _jvp(torch, fn, primals, tangents)
    for e_p, t_p, e_t, t_t in zip(e_primal, t_primal, e_tangent, t_tangent):
        assert_same(e_p, t_p)
        if t_t is None:
            assert e_t is None
        else:
            assert_same(e_t, t_t, what="tangent")


def test_tutorial_basics_identity_and_level():
    """The forward-mode AD tutorial's first block: the tangent is kept as is when its
    layout matches, copied otherwise; tangents vanish when the level closes."""
    primal, tangent = ember.randn(10, 10), ember.randn(10, 10)
    plain = ember.randn(10, 10)
    with fw_e.dual_level() as level:
        assert level == 0
        dual = fw_e.make_dual(primal, tangent)
        assert fw_e.unpack_dual(dual).tangent is tangent
        assert dual._base is primal and not dual.requires_grad and dual.grad_fn is None
        alt = fw_e.make_dual(primal, tangent.T)
        assert fw_e.unpack_dual(alt).tangent is not tangent
        assert_same(fw_e.unpack_dual(alt).tangent, to_torch(tangent.T.numpy()))
        out = dual ** 2 + plain ** 2
        jvp = fw_e.unpack_dual(out).tangent
        assert_same(jvp, to_torch(2 * primal.numpy() * tangent.numpy()))
        assert fw_e.unpack_dual(plain).tangent is None
        assert fw_e.unpack_dual(dual.detach()).tangent is None
        assert fw_e.unpack_dual(dual.argmax()).tangent is None
    assert fw_e.unpack_dual(out).tangent is None
    primal_part, none = fw_e.unpack_dual(out)
    assert primal_part is out and none is None


def test_modules_and_functional_call():
    """Parameters swapped for dual tensors (delattr/setattr) and through
    torch.func.functional_call give the same jvp as torch."""
    w = randn(4, 5, dtype=np.float64)
    b = randn(4, dtype=np.float64)
    x = randn(6, 5, dtype=np.float64)
    tw, tb = randn(4, 5, dtype=np.float64), randn(4, dtype=np.float64)
    results = {}
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        fw = lib.autograd.forward_ad
        model = lib.nn.Linear(5, 4, dtype=lib.float64)
        with lib.no_grad():
            model.weight.copy_(convert(w))
            model.bias.copy_(convert(b))
        tangents = {"weight": convert(tw), "bias": convert(tb)}
        params = dict(model.named_parameters())
        with fw.dual_level():
            duals = {k: fw.make_dual(p, tangents[k]) for k, p in params.items()}
            out = lib.func.functional_call(model, duals, (convert(x),))
            via_call = fw.unpack_dual(out).tangent
            for name, p in params.items():
                delattr(model, name)
                setattr(model, name, fw.make_dual(p, tangents[name]))
            out = model(convert(x))
            via_attr = fw.unpack_dual(out).tangent
            assert out.requires_grad and out.grad_fn is not None  # parameters require grad
        results[lib.__name__] = (via_call, via_attr)
    for e, t in zip(results["ember"], results["torch"]):
        assert_same(e, t, what="tangent")


def test_backward_through_the_tangent():
    """A tangent depending on a primal that requires grad carries a graph: the gradient of
    sum(jvp) matches torch's."""
    x, t = randn(5, dtype=np.float64), randn(5, dtype=np.float64)
    grads = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        fw = lib.autograd.forward_ad
        leaf = convert(x, requires_grad=True)
        with fw.dual_level():
            out = (fw.make_dual(leaf, convert(t)).sin() * leaf).sum()
            jvp = fw.unpack_dual(out).tangent
        (jvp * 3).backward()
        grads.append(leaf.grad)
    assert_same(grads[0], grads[1], what="grad of tangent")


class _Exp:
    """The tutorial's custom Function with only forward and jvp, for either library."""

    @staticmethod
    def make(lib):
        class Fn(lib.autograd.Function):
            @staticmethod
            def forward(ctx, foo):
                result = lib.exp(foo)
                ctx.result = result
                return result

            @staticmethod
            def jvp(ctx, g_in):
                g_out = g_in * ctx.result
                del ctx.result
                return g_out

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b, k):
                ctx.save_for_forward(a, b)
                return a * b * k

            @staticmethod
            def jvp(ctx, ta, tb, tk):
                assert tk is None  # a non-tensor argument gets None, a tensor zeros
                a, b = ctx.saved_tensors
                return (ta * b + a * tb) * 2

        class NoJvp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        return Fn, Scale, NoJvp


@pytest.mark.parametrize("requires_grad", [False, True])
def test_custom_function_jvp(requires_grad):
    x, t = randn(3, 3, dtype=np.float64), randn(3, 3, dtype=np.float64)
    b = randn(3, 3, dtype=np.float64)
    found = []
    for lib in (ember, torch):
        fn, scale, _ = _Exp.make(lib)

        def run(lib_, d, fn=fn, scale=scale, lib=lib):
            other = (to_ember if lib is ember else to_torch)(b)
            return fn.apply(d), scale.apply(d, other, 2)

        found.append(_jvp(lib, run, [x], [t], requires_grad=requires_grad)[1])
    for e, t_ in zip(*found):
        assert_same(e, t_, what="tangent")


def test_custom_function_without_jvp_raises():
    def run(lib, x):
        _, _, no_jvp = _Exp.make(lib)
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            return no_jvp.apply(fw.make_dual(x, x * 0 + 1))

    check_raises(run, randn(3))


def test_in_place_and_no_grad():
    """In-place ops take the written value's tangent; forward AD works under no_grad."""
    x, t = randn(4), randn(4)
    found = []
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            dual = fw.make_dual(convert(x), convert(t))
            y = lib.zeros(4)
            y.add_(dual)
            y.mul_(dual)
            with lib.no_grad():
                z = (dual * 3).exp()
            found.append((fw.unpack_dual(y).tangent, fw.unpack_dual(z).tangent))
    for e, t_ in zip(*found):
        assert_same(e, t_, what="tangent")


def test_dropout_tangent_uses_the_same_mask():
    """The re-run that computes the tangent does not advance the random stream."""
    with fw_e.dual_level():
        ember.manual_seed(0)
        x = fw_e.make_dual(ember.ones(1000), ember.full((1000,), 2.0))
        out = ember.nn.functional.dropout(x, 0.5)
        tangent = fw_e.unpack_dual(out).tangent
    assert ember.equal(tangent, out * 2)
    ember.manual_seed(0)
    assert ember.equal(ember.nn.functional.dropout(ember.ones(1000), 0.5), out)


@pytest.mark.parametrize("case", ["no_level", "size", "int_primal", "nested", "twice",
                                  "exit_wrong", "exit_without_level"])
def test_errors_match_torch(case):
    def run(lib, x):
        fw = lib.autograd.forward_ad
        if case == "no_level":
            return fw.make_dual(x, x)
        if case == "exit_without_level":
            return fw.exit_dual_level()
        if case == "exit_wrong":
            with fw.dual_level():
                fw.exit_dual_level(level=3)
        with fw.dual_level():
            if case == "size":
                return fw.make_dual(x, x[:2])
            if case == "int_primal":
                return fw.make_dual(x.long(), x)
            if case == "nested":
                with fw.dual_level():
                    pass
            if case == "twice":
                return fw.make_dual(fw.make_dual(x, x), x)
        return None

    check_raises(run, randn(3))
    assert fw_e._current_level == -1 or case == "exit_wrong"
    if fw_e._current_level != -1:  # torch leaves the level open too; close both
        fw_e.exit_dual_level()
        fw_t.exit_dual_level()


_SCALE = [1.0]  # the factor the jvp below applies (1 is right)


def test_gradcheck_checks_forward_ad():
    """gradcheck(check_forward_ad=True) compares forward-mode Jacobians with numerical ones:
    a wrong jvp fails as in torch, a right one and built-in ops pass."""
    x = randn(3, 2, dtype=np.float64)
    y = randn(3, 2, dtype=np.float64)
    kwargs = {"check_forward_ad": True, "check_backward_ad": False,
              "check_undefined_grad": False, "check_batched_grad": False}
    for lib, convert in ((ember, to_ember), (torch, to_torch)):
        class Exp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.result = a.exp()
                return ctx.result

            @staticmethod
            def jvp(ctx, t):
                return t * ctx.result * _SCALE[0]

        a, b = convert(x, requires_grad=True), convert(y, requires_grad=True)
        _SCALE[0] = 1.0
        assert lib.autograd.gradcheck(Exp.apply, (a,), **kwargs)
        _SCALE[0] = 2.0
        assert not lib.autograd.gradcheck(Exp.apply, (a,), raise_exception=False, **kwargs)
        with pytest.raises(RuntimeError, match="Jacobian computed with forward mode mismatch"):
            lib.autograd.gradcheck(Exp.apply, (a,), **kwargs)
        assert lib.autograd.gradcheck(lambda p, q: (p * q.sin(), (p @ q.T).sum()), (a, b),
                                      check_forward_ad=True)


def test_complex_primal():
    """Tangents of a complex dual tensor follow PyTorch's (real-linear) convention."""
    z = randn(4, dtype=np.float64) + 1j * randn(4, dtype=np.float64)
    t = randn(4, dtype=np.float64) + 1j * randn(4, dtype=np.float64)

    def fn(lib, d):
        return d * d * (2 - 1j), (d.conj() * d).real, d.abs()

    e_primal, e_tangent, _ = _jvp(ember, fn, [z], [t])
    t_primal, t_tangent, _ = _jvp(torch, fn, [z], [t])
    assert_same(e_primal, t_primal)
    for e, t_ in zip(e_tangent, t_tangent):
        assert_same(e, t_, what="tangent")
