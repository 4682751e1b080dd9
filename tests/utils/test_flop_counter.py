"""ember.utils.flop_counter against torch.utils.flop_counter: the same workload under both
counters gives the same counts per module and per op, forward and forward+backward.

Only shapes matter to the counts, so models are built from the same code on both
libraries without copying weights. torch's printed table needs the ``tabulate`` package,
which the test extras do not install: the expected tables below are torch 2.13's output
(with tabulate 0.10) for the same workloads, pasted verbatim.
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
import torch.utils.flop_counter as tfc

import ember
import ember.utils.flop_counter as efc

RNG = np.random.default_rng(0)


def _counts(counter):
    """{module: {op name: flops}}: packets compared by name across the two libraries."""
    return {mod: {str(op): n for op, n in ops.items()}
            for mod, ops in counter.get_flop_counts().items()}


def _run(lib, counter_mod, fn, arrays, grads, **kwargs):
    tensors = [lib.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    with counter_mod.FlopCounterMode(display=False, **kwargs) as counter:
        out = fn(lib, *tensors)
        if any(grads):
            out.sum().backward()
    return counter


def _compare(fn, shapes, grads=None):
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [True] * len(shapes) if grads is None else grads
    ours = _run(ember, efc, fn, arrays, grads)
    theirs = _run(torch, tfc, fn, arrays, grads)
    assert _counts(ours) == _counts(theirs)
    assert ours.get_total_flops() == theirs.get_total_flops()
    return ours


# -- ops: one row per case, with the operands' grad flags ----------------------------------

def _mm(lib, a, b):
    return a @ b


def _F(lib):
    return lib.nn.functional


OP_CASES = [
    ("dot", _mm, [(3,), (3,)]),
    ("mv", _mm, [(2, 3), (3,)]),
    ("vec_mat", _mm, [(3,), (3, 4)]),
    ("mm", _mm, [(2, 3), (3, 4)]),
    ("fold", _mm, [(5, 2, 3), (3, 4)]),
    ("fold_mv", _mm, [(5, 2, 3), (3,)]),
    ("vec_batched", _mm, [(3,), (5, 3, 4)]),
    ("mat_batched", _mm, [(2, 3), (5, 3, 4)]),
    ("bmm_like", _mm, [(5, 2, 3), (5, 3, 4)]),
    ("broadcast", _mm, [(2, 1, 2, 3), (5, 3, 4)]),
    ("4d", _mm, [(2, 5, 2, 3), (2, 5, 3, 4)]),
    ("linear_1d", lambda lib, x, w, b: _F(lib).linear(x, w, b), [(4,), (5, 4), (5,)]),
    ("linear", lambda lib, x, w, b: _F(lib).linear(x, w, b), [(2, 4), (5, 4), (5,)]),
    ("linear_3d", lambda lib, x, w, b: _F(lib).linear(x, w, b), [(3, 2, 4), (5, 4), (5,)]),
    ("linear_nobias", lambda lib, x, w: _F(lib).linear(x, w), [(3, 2, 4), (5, 4)]),
    ("mm_fn", lambda lib, a, b: lib.mm(a, b), [(2, 3), (3, 4)]),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), [(3, 2, 5), (3, 5, 4)]),
    ("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), [(2, 4), (2, 5), (5, 4)]),
    ("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b), [(3, 2, 4), (3, 2, 5), (3, 5, 4)]),
    ("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b), [(2, 4), (3, 2, 5), (3, 5, 4)]),
    ("addmv", lambda lib, c, a, b: lib.addmv(c, a, b), [(2,), (2, 5), (5,)]),
    ("einsum_bmm", lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 5)]),
    ("einsum_nt", lambda lib, a, b: lib.einsum("ij,kj->ik", a, b), [(3, 4), (5, 4)]),
    ("einsum_full", lambda lib, a, b: lib.einsum("ij,jk->", a, b), [(3, 4), (4, 5)]),
    ("einsum_presum", lambda lib, a, b: lib.einsum("ijl,jk->ik", a, b), [(3, 4, 6), (4, 5)]),
    ("einsum_outer", lambda lib, a, b: lib.einsum("i,j->ij", a, b), [(3,), (4,)]),
    ("einsum_3", lambda lib, a, b, c: lib.einsum("ij,jk,kl->il", a, b, c),
     [(2, 3), (3, 4), (4, 5)]),
    ("tensordot", lambda lib, a, b: lib.tensordot(a, b, dims=([1, 2], [0, 1])),
     [(3, 4, 5), (4, 5, 6)]),
    ("multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
     [(2, 3), (3, 4), (4, 5)]),
    ("bilinear", lambda lib, a, b, w, c: _F(lib).bilinear(a, b, w, c),
     [(2, 3), (2, 4), (5, 3, 4), (5,)]),
    ("sdpa", lambda lib, q, k, v: _F(lib).scaled_dot_product_attention(q, k, v),
     [(2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 6)]),
    ("sdpa_3d_causal", lambda lib, q, k, v: _F(lib).scaled_dot_product_attention(
        q, k, v, is_causal=True), [(3, 5, 8), (3, 7, 8), (3, 7, 6)]),
    ("conv2d", lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride=2, padding=1),
     [(2, 4, 7, 7), (6, 4, 3, 3), (6,)]),
    ("conv2d_groups", lambda lib, x, w: _F(lib).conv2d(x, w, groups=2),
     [(2, 4, 7, 7), (6, 2, 3, 3)]),
    ("conv2d_unbatched", lambda lib, x, w: _F(lib).conv2d(x, w), [(4, 7, 7), (6, 4, 3, 3)]),
    ("conv1d_dilated", lambda lib, x, w: _F(lib).conv1d(x, w, dilation=2),
     [(2, 4, 9), (6, 4, 3)]),
    ("conv3d", lambda lib, x, w: _F(lib).conv3d(x, w), [(1, 2, 4, 4, 4), (3, 2, 2, 2, 2)]),
    ("conv_t2d", lambda lib, x, w, b: _F(lib).conv_transpose2d(
        x, w, b, stride=2, output_padding=1), [(2, 4, 5, 5), (4, 3, 3, 3), (3,)]),
    ("conv_t2d_groups", lambda lib, x, w: _F(lib).conv_transpose2d(x, w, groups=2),
     [(2, 4, 5, 5), (4, 3, 3, 3)]),
    ("conv_t1d", lambda lib, x, w: _F(lib).conv_transpose1d(x, w), [(2, 4, 5), (4, 3, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_counts(name, fn, shapes):
    n = len(shapes)
    _compare(fn, shapes)  # forward + backward, every operand requiring grad
    _compare(fn, shapes, [False] * n)  # forward only
    _compare(fn, shapes, [i > 0 for i in range(n)])  # first operand without grad


def test_matmul_fold_follows_contiguity_without_grad():
    # no grad: a non-contiguous batched operand is not folded (bmm), a contiguous one is
    def fn(lib, a, b):
        return a.transpose(0, 1) @ b

    _compare(fn, [(2, 5, 3), (3, 4)], [False, False])


# -- models --------------------------------------------------------------------------------

def _resnetish(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout)) if stride != 1 else None

        def forward(self, x):
            out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
            return (out + (x if self.down is None else self.down(x))).relu()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 3, padding=1)
            self.layer1 = Block(4, 4, 1)
            self.layer2 = Block(4, 8, 2)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x).relu()))
            return self.fc(x.mean((2, 3)))

    return Net(), [(2, 3, 8, 8)]


def _attention(lib):
    nn = lib.nn

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(8, 24)
            self.proj = nn.Linear(8, 8)
            self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))

        def forward(self, x):
            b, s, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, s, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
            y = nn.functional.scaled_dot_product_attention(q, k, v)
            x = x + self.proj(y.transpose(1, 2).reshape(b, s, 8))
            return x + self.mlp(x)

    return Attn(), [(2, 5, 8)]


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(6, 7), nn.ReLU(),
                         nn.Sequential(nn.Linear(7, 3), nn.Tanh(), nn.Linear(3, 2))), [(4, 6)]


def _deconv(lib):
    nn = lib.nn
    return nn.Sequential(nn.ConvTranspose2d(3, 2, 3, stride=2), nn.ReLU(),
                         nn.Conv2d(2, 2, 1)), [(1, 3, 4, 4)]


MODELS = [_resnetish, _attention, _mlp, _deconv]


def _model_counts(lib, counter_mod, build, x, backward, input_grad):
    lib.manual_seed(0)
    model, _ = build(lib)
    inp = lib.tensor(x, requires_grad=input_grad)
    with counter_mod.FlopCounterMode(display=False, depth=5) as counter:
        out = model(inp)
        if backward:
            out.sum().backward()
    return counter


@pytest.mark.parametrize("build", MODELS, ids=[m.__name__.strip("_") for m in MODELS])
@pytest.mark.parametrize("backward,input_grad", [(False, False), (True, False), (True, True)])
def test_model_counts_per_module(build, backward, input_grad):
    shape = build(ember)[1][0]
    x = RNG.standard_normal(shape).astype(np.float32)
    ours = _model_counts(ember, efc, build, x, backward, input_grad)
    theirs = _model_counts(torch, tfc, build, x, backward, input_grad)
    assert _counts(ours) == _counts(theirs)
    # op order within each module is the order they ran in, as torch's
    for mod, ops in theirs.get_flop_counts().items():
        assert [str(k) for k in ours.get_flop_counts()[mod]] == [str(k) for k in ops]


def test_keys_are_aten_packets():
    with efc.FlopCounterMode(display=False) as counter:
        ember.ones(2, 3, requires_grad=True).mm(ember.ones(3, 4)).sum().backward()
    assert list(counter.get_flop_counts()["Global"]) == [ember.ops.aten.mm]
    assert counter.get_flop_counts()["Global"][ember.ops.aten.mm] == 96


def test_counts_reset_on_enter_and_nothing_after_exit():
    counter = efc.FlopCounterMode(display=False)
    a = ember.ones(2, 3)
    with counter:
        a @ ember.ones(3, 4)
    with counter:
        a @ ember.ones(3, 5)
    a @ ember.ones(3, 6)  # outside: not counted
    assert counter.get_total_flops() == 2 * 2 * 3 * 5


# -- tables --------------------------------------------------------------------------------

TABLE_MLP = """\
Module          FLOP    % Total
------------  ------  ---------
Sequential      1656    100.00%
- aten.addmm     552     33.33%
- aten.mm       1104     66.67%
Sequential.0    1008     60.87%
- aten.addmm     336     20.29%
- aten.mm        672     40.58%
Sequential.2     648     39.13%
- aten.addmm     216     13.04%
- aten.mm        432     26.09%"""

TABLE_MLP_DEPTH1 = "\n".join(TABLE_MLP.splitlines()[:5])

TABLE_GLOBAL = """\
Module                         FLOP    % Total
---------------------------  ------  ---------
Global                         9060    100.00%
- aten.mm                       600      6.62%
- aten.bmm                      360      3.97%
- aten.convolution             2700     29.80%
- aten.convolution_backward    5400     59.60%"""

TABLE_OUTSIDE = """\
Module          FLOP    % Total
------------  ------  ---------
Global          1472    100.00%
- aten.addmm     112      7.61%
- aten.mm       1360     92.39%
Linear           112      7.61%
- aten.addmm     112      7.61%"""


def test_table_nested_modules():
    nn = ember.nn
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 7), nn.ReLU(),
                          nn.Sequential(nn.Linear(7, 3), nn.Tanh(), nn.Linear(3, 2)))
    out = io.StringIO()
    with redirect_stdout(out), efc.FlopCounterMode(depth=2) as counter:
        model(ember.randn(4, 6, requires_grad=True)).sum().backward()
    assert out.getvalue() == TABLE_MLP + "\n"  # depth 2 hides Sequential.2.0 and .2.2
    assert counter.get_table(1) == TABLE_MLP_DEPTH1


def test_table_global_only():
    F = ember.nn.functional
    a = ember.randn(3, 4, requires_grad=True)
    b = ember.randn(4, 5, requires_grad=True)
    out = io.StringIO()
    with redirect_stdout(out), efc.FlopCounterMode():
        (a @ b).sum().backward()
        ember.bmm(ember.randn(2, 3, 4), ember.randn(2, 4, 5))
        ember.matmul(ember.randn(2, 3, 4), ember.randn(4, 5))
        ember.einsum("ij,jk->ik", a, b)
        F.conv_transpose2d(ember.randn(1, 3, 5, 5, requires_grad=True),
                           ember.randn(3, 2, 3, 3, requires_grad=True)).sum().backward()
    assert out.getvalue() == TABLE_GLOBAL + "\n"


def test_table_global_row_when_flops_run_outside_modules():
    lin = ember.nn.Linear(7, 4)
    counter = efc.FlopCounterMode(display=False)
    with counter:
        lin(ember.randn(2, 7))
        ember.randn(5, 8, requires_grad=True).mm(ember.randn(8, 6)).sum().backward()
        ember.randn(4, 10) @ ember.randn(10, 5)
    assert counter.get_table() == TABLE_OUTSIDE
    empty = efc.FlopCounterMode(display=False)
    with empty:
        ember.ones(3) + 1
    assert empty.get_table() == ("Module      FLOP    % Total\n"
                                 "--------  ------  ---------\n"
                                 "Global         0         0%")


# -- formulas and registration -------------------------------------------------------------

FORMULAS = [
    ("mm_flop", ((3, 4), (4, 5))),
    ("bmm_flop", ((2, 3, 4), (2, 4, 5))),
    ("addmm_flop", ((5,), (3, 4), (4, 5))),
    ("baddbmm_flop", ((2, 3, 5), (2, 3, 4), (2, 4, 5))),
    ("sdpa_flop_count", ((2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 7, 6))),
    ("sdpa_backward_flop_count", ((2, 4, 5, 6), (2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 7, 6))),
]


@pytest.mark.parametrize("name,shapes", FORMULAS, ids=[f[0] for f in FORMULAS])
def test_formula_helpers(name, shapes):
    assert getattr(efc, name)(*shapes) == getattr(tfc, name)(*shapes)


@pytest.mark.parametrize("transposed", [False, True])
def test_conv_formulas(transposed):
    x, w, out = (2, 4, 7, 7), (6, 4, 3, 3), (2, 6, 5, 5)
    if transposed:
        x, out = out, x
    assert efc.conv_flop_count(x, w, out, transposed) == tfc.conv_flop_count(x, w, out,
                                                                             transposed)
    for mask in ([True, True, False], [True, False, True], [False, True, False]):
        args = (out if not transposed else x, x if not transposed else out, w, [6], [1, 1],
                [0, 0], [1, 1], transposed, [0, 0], 1, mask)
        grads = (x if not transposed else out, w, (6,))
        ours = efc.conv_backward_flop(*args, out_val=tuple(ember.Size(g) for g in grads))
        theirs = tfc.conv_backward_flop(*args, out_val=tuple(torch.Size(g) for g in grads))
        assert ours == theirs


def test_custom_mapping_overrides_a_formula():
    def fake_mm(a_shape, b_shape, *args, out_shape=None, **kwargs):
        return 7

    def run(lib, mod):
        with mod.FlopCounterMode(display=False, custom_mapping={lib.ops.aten.mm: fake_mm}) as c:
            lib.ones(2, 3, requires_grad=True).mm(lib.ones(3, 4)).sum().backward()
        return c

    assert _counts(run(ember, efc)) == _counts(run(torch, tfc)) == {"Global": {"aten.mm": 14}}


def test_register_flop_formula_for_a_custom_op():
    @ember.library.custom_op("flopn::scale", mutates_args=())
    def scale(x: ember.Tensor) -> ember.Tensor:
        return x @ x.T  # the kernel's own ops are not counted: the op is priced as a whole

    @efc.register_flop_formula(ember.ops.flopn.scale)
    def scale_flop(x_shape, out_shape=None, **kwargs):
        return 3 * x_shape[0]

    try:
        with efc.FlopCounterMode(display=False) as counter:
            ember.ops.flopn.scale(ember.ones(4, 2))
        assert _counts(counter) == {"Global": {"flopn.scale": 12}}
        with pytest.raises(RuntimeError, match="duplicate registrations for flopn.scale"):
            efc.register_flop_formula(ember.ops.flopn.scale)(scale_flop)
    finally:
        efc.flop_registry.pop(ember.ops.flopn.scale, None)


def test_register_flop_formula_rejects_an_overload():
    with pytest.raises(ValueError, match="expected each target to be OpOverloadPacket"):
        efc.register_flop_formula(ember.ops.aten.mm.default)(lambda *a, **k: 0)
    with pytest.raises(ValueError, match="expected each target to be OpOverloadPacket"):
        tfc.register_flop_formula(torch.ops.aten.mm.default)(lambda *a, **k: 0)


def test_mods_argument_warns_as_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        efc.FlopCounterMode(ember.nn.Linear(2, 2), display=False)
    assert [str(w.message) for w in caught] == [
        "mods argument is not needed anymore, you can stop passing it"]


def test_convolution_backward_op_computes_gradients():
    x = ember.randn(2, 3, 5, 5)
    w = ember.randn(4, 3, 3, 3)
    g = ember.randn(2, 4, 3, 3)
    ours = ember.ops.aten.convolution_backward.default(
        g, x, w, [4], [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, True, True])
    theirs = torch.ops.aten.convolution_backward.default(
        *(torch.tensor(t.numpy()) for t in (g, x, w)), [4], [1, 1], [0, 0], [1, 1], False,
        [0, 0], 1, [True, True, True])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def _sdpa_flash(lib, q, k, v):
    return _F(lib).scaled_dot_product_attention(q, k, v, is_causal=True)


@pytest.mark.parametrize("grads", [[True] * 3, [False] * 3, [False, False, True]])
def test_sdpa_cpu_flash_kernel_is_priced_by_registered_formulas_only(grads):
    # equal head dims, 4-D: torch runs its CPU flash kernel, which has no default formula
    shapes = [(2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8)]
    assert _compare(_sdpa_flash, shapes, grads).get_total_flops() == 0
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]

    def mapping(lib, mod):
        def forward(q, k, v, *args, out_shape=None, **kwargs):
            return mod.sdpa_flop_count(q, k, v)

        def backward(g, q, k, v, *args, out_shape=None, **kwargs):
            return mod.sdpa_backward_flop_count(g, q, k, v)

        return {lib.ops.aten._scaled_dot_product_flash_attention_for_cpu: forward,
                lib.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: backward}

    ours = _run(ember, efc, _sdpa_flash, arrays, grads, custom_mapping=mapping(ember, efc))
    theirs = _run(torch, tfc, _sdpa_flash, arrays, grads, custom_mapping=mapping(torch, tfc))
    assert _counts(ours) == _counts(theirs)
    assert ours.get_total_flops() > 0


def test_sdpa_flash_cpu_ops_compute_as_torch():
    q, k, v = (RNG.standard_normal(s).astype(np.float32) for s in
               [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)])
    g = RNG.standard_normal((1, 2, 3, 4)).astype(np.float32)
    e_args = [ember.tensor(a) for a in (q, k, v)]
    t_args = [torch.tensor(a) for a in (q, k, v)]
    ours = ember.ops.aten._scaled_dot_product_flash_attention_for_cpu.default(
        *e_args, 0.0, True)
    theirs = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default(
        *t_args, 0.0, True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    ours = ember.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward.default(
        ember.tensor(g), *e_args, *ours, 0.0, True)
    theirs = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward.default(
        torch.tensor(g), *t_args, *theirs, 0.0, True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def _double_backward(lib, counter_mod, arrays):
    x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
    with counter_mod.FlopCounterMode(display=False) as counter:
        y = lib.nn.functional.linear(x @ w, lib.ones(3, 5)).pow(2).sum()
        (g,) = lib.autograd.grad(y, [x], create_graph=True)  # the weight's grad skipped
        g.sum().backward()
        with lib.no_grad():
            x @ w
    return counter


def test_partial_and_double_backward_as_torch():
    arrays = _arrays_for([(3, 4), (4, 5)])
    ours = _double_backward(ember, efc, arrays)
    theirs = _double_backward(torch, tfc, arrays)
    assert _counts(ours) == _counts(theirs)


def _arrays_for(shapes):
    return [RNG.standard_normal(s).astype(np.float32) for s in shapes]
