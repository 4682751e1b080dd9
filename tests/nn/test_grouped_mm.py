"""F.grouped_mm (values, dtypes, gradients in the four layouts), F.scaled_mm and
F.scaled_grouped_mm against PyTorch 2.13's CPU behaviour, errors included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
OFFS = np.array([4, 8, 12, 16], dtype=np.int32)
K_OFFS = np.array([8, 12, 24, 32], dtype=np.int32)


def _both(array, dtype, grad=False):
    t = torch.tensor(array).to(getattr(torch, dtype)).requires_grad_(grad)
    e = ember.tensor(array).to(getattr(ember, dtype)).requires_grad_(grad)
    return e, t


def _to_torch(e):
    out = torch.from_numpy(e.detach().float().numpy().copy())
    return out.to(getattr(torch, str(e.dtype).rsplit(".", 1)[-1]))


LAYOUTS = {  # name: (shape a, shape b, offs, how many leading output rows/cols are defined)
    "2d3d": ((16, 32), (4, 32, 16), OFFS),
    "3d2d": ((4, 16, 32), (32, 16), OFFS),
    "2d2d": ((16, 32), (32, 16), K_OFFS),
    "3d3d": ((4, 16, 32), (4, 32, 16), None),
}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_grouped_mm_values_and_grads(layout, dtype):
    a_shape, b_shape, offs = LAYOUTS[layout]
    (ea, ta), (eb, tb) = (_both(RNG.standard_normal(a_shape), dtype, True),
                          _both(RNG.standard_normal(b_shape), dtype, True))
    e_offs = ember.tensor(offs) if offs is not None else None
    t_offs = torch.tensor(offs) if offs is not None else None
    e_out = ember.nn.functional.grouped_mm(ea, eb, offs=e_offs)
    t_out = torch.nn.functional.grouped_mm(ta, tb, offs=t_offs)
    # low precision: products summed in another order than torch's kernel, then rounded
    tol = {} if dtype == "float32" else {"rtol": 2e-2, "atol": 5e-2}
    torch.testing.assert_close(_to_torch(e_out), t_out.detach(), **tol)
    if dtype != "float32":
        return
    upstream = RNG.standard_normal(tuple(t_out.shape)).astype(np.float32)
    e_grads = ember.autograd.grad(e_out, [ea, eb], ember.tensor(upstream))
    t_grads = torch.autograd.grad(t_out, [ta, tb], torch.tensor(upstream))
    for e, t in zip(e_grads, t_grads):
        torch.testing.assert_close(_to_torch(e), t)


def test_grouped_mm_partial_offsets_and_layouts():
    offs = np.array([2, 5, 9, 12], dtype=np.int32)
    (ea, ta), (eb, tb) = (_both(RNG.standard_normal((16, 32)), "float32"),
                          _both(RNG.standard_normal((4, 16, 32)), "float32"))
    eb, tb = eb.transpose(1, 2), tb.transpose(1, 2)  # column-major b, as the kernels like
    e_out = ember.nn.functional.grouped_mm(ea, eb, offs=ember.tensor(offs))
    t_out = torch.nn.functional.grouped_mm(ta, tb, offs=torch.tensor(offs))
    # rows past offs[-1] are uninitialised in torch; ember leaves zeros there
    torch.testing.assert_close(_to_torch(e_out[:12]), t_out[:12])
    assert ember.count_nonzero(e_out[12:]).item() == 0


def _outcome(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - type and message are compared
        return type(err), str(err).split("\n")[0]
    return None


def test_grouped_mm_errors_match_torch():
    def offs(L, values=(4, 8, 12, 16), dtype="int32"):
        return L.tensor(list(values), dtype=getattr(L, dtype))

    gm = "nn.functional.grouped_mm"
    calls = [
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16)),
        lambda L: L.nn.functional.grouped_mm(L.randn(4, 16, 32), L.randn(4, 32, 16),
                                             offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16),
                                             offs=offs(L, dtype="int64")),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 24), L.randn(4, 32, 16), offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16).bfloat16(),
                                             offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16).double(),
                                             offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32).double(), L.randn(4, 32, 16),
                                             offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(32), L.randn(4, 32, 16), offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(3, 16, 32), L.randn(4, 32, 16)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 6), L.randn(4, 6, 16), offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 64)[:, ::2], L.randn(4, 32, 16),
                                             offs=offs(L)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16),
                                             offs=offs(L, (4, 8, 16))),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16),
                                             offs=L.tensor([[4, 8], [12, 16]], dtype=L.int32)),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32).bfloat16(),
                                             L.randn(4, 32, 16).bfloat16(), offs=offs(L),
                                             out_dtype=L.float32),
        lambda L: L.nn.functional.grouped_mm(L.randn(16, 32), L.randn(4, 32, 16), offs=offs(L),
                                             bias=L.randn(4, 16)),
    ]
    for call in calls:
        expected = _outcome(lambda: call(torch))
        assert expected is not None, gm
        assert _outcome(lambda: call(ember)) == expected


@pytest.mark.oracle_torch("2.13", "torch 2.11 has no CPU _scaled_mm_v2 to refuse float "
                          "inputs with a ValueError")
def test_scaled_mm_and_scaled_grouped_mm_refuse_as_torch_cpu():
    for make in (lambda L: (L.ones(16, 1), L.ones(1, 8), "RowWise"),
                 lambda L: (L.tensor(1.0), L.tensor(1.0), "TensorWise")):
        outcomes = []
        for L in (torch, ember):
            scale_a, scale_b, kind = make(L)
            recipe = getattr(L.nn.functional.ScalingType, kind)
            for dtype in ("float32", "bfloat16"):
                x = L.randn(16, 32).to(getattr(L, dtype))
                y = L.randn(32, 8).to(getattr(L, dtype))
                try:
                    L.nn.functional.scaled_mm(x, y, scale_a, recipe, scale_b, recipe)
                except ValueError as err:
                    outcomes.append(str(err))
        assert len(outcomes) == 4 and outcomes[:2] == outcomes[2:]
    for L in (torch, ember):
        S = L.nn.functional.ScalingType
        with pytest.raises(ValueError, match="mat_a must be a matrix"):
            L.nn.functional.scaled_mm(L.randn(2, 3, 4), L.randn(4, 2), L.tensor(1.0),
                                      S.TensorWise, L.tensor(1.0), S.TensorWise)
        with pytest.raises(NotImplementedError,
                           match="Could not run 'aten::_scaled_grouped_mm_v2' .* 'CPU' backend"):
            L.nn.functional.scaled_grouped_mm(
                L.randn(16, 32), L.randn(4, 16, 32).transpose(1, 2), L.ones(16), S.RowWise,
                L.ones(4, 16), S.RowWise, offs=L.tensor([4, 8, 12, 16], dtype=L.int32))
    assert [m.name for m in ember.nn.functional.ScalingType] == list(
        torch.nn.functional.ScalingType.__members__)
    assert [m.name for m in ember.nn.functional.SwizzleType] == list(
        torch.nn.functional.SwizzleType.__members__)
