"""Ops on MaskedTensors against torch.masked: unary and binary ops (and the mask-equality
rule), reductions, where, softmax, shape ops, and what is refused."""

import numpy as np
import pytest
import torch

import ember
from masked._mt_oracle import assert_same_masked, both, masked
from oracle import RNG, as_numpy, check_raises, randn, to_ember, to_torch

X = randn(2, 3, 4)
M = RNG.uniform(size=(2, 3, 4)) < 0.6
M[0, 0] = False  # a fully masked-out row
POS = np.abs(X) + 0.5
Y = randn(2, 3, 4)
INTS = RNG.integers(-5, 6, size=(2, 3, 4))


def plain(lib, array):
    return to_torch(array) if lib is torch else to_ember(array)


UNARY = [
    ("exp", lambda mt: mt.exp()), ("log", lambda mt: mt.abs().log()), ("neg", lambda mt: -mt),
    ("abs builtin", lambda mt: abs(mt)), ("sin fn", lambda mt: torch_or_ember(mt).sin(mt)),
    ("sqrt", lambda mt: mt.abs().sqrt()), ("pow", lambda mt: mt.pow(2)),
    ("pow op", lambda mt: mt ** 3), ("clamp", lambda mt: mt.clamp(min=-0.5, max=0.5)),
    ("sigmoid", lambda mt: mt.sigmoid()), ("tanh", lambda mt: mt.tanh()),
    ("round", lambda mt: mt.round()), ("isnan", lambda mt: mt.isnan()),
    ("signbit", lambda mt: mt.signbit()), ("square", lambda mt: mt.square()),
    ("exp_", lambda mt: mt.clone().exp_()), ("abs_", lambda mt: mt.clone().abs_()),
]


def torch_or_ember(mt):
    return ember if isinstance(mt, ember.Tensor) else torch


@pytest.mark.parametrize("fn", [r[1] for r in UNARY], ids=[r[0] for r in UNARY])
def test_unary_ops_match_torch(fn):
    both(lambda lib, x, m: fn(masked(lib, x, m)), X, M)


def test_unary_on_bools_and_ints_match_torch():
    both(lambda lib, x, m: ~masked(lib, x > 0, m), X, M)
    both(lambda lib, x, m: masked(lib, x, m).bitwise_not(), INTS, M)
    both(lambda lib, x, m: masked(lib, x, m).neg(), INTS, M)


BINARY = [
    ("add", lambda a, b, t: a + b), ("sub", lambda a, b, t: a - b), ("mul", lambda a, b, t: a * b),
    ("div", lambda a, b, t: a / b), ("method", lambda a, b, t: a.maximum(b)),
    ("function", lambda a, b, t: torch_or_ember(a).atan2(a, b)),
    ("eq", lambda a, b, t: a == b), ("ne", lambda a, b, t: a != b), ("lt", lambda a, b, t: a < b),
    ("ge", lambda a, b, t: a >= b), ("gt scalar", lambda a, b, t: a > 0.1),
    ("scalar", lambda a, b, t: a * 2.5), ("reflected scalar", lambda a, b, t: 2.5 * a),
    ("plain rhs", lambda a, b, t: a + t), ("plain lhs", lambda a, b, t: t * a),
    ("broadcast plain", lambda a, b, t: a[0] - t),
    ("in-place", lambda a, b, t: a.clone().mul_(b)),
    ("in-place operator", lambda a, b, t: a.clone().__iadd__(b)),
    ("in-place plain", lambda a, b, t: a.clone().div_(t)),
]


@pytest.mark.parametrize("fn", [r[1] for r in BINARY], ids=[r[0] for r in BINARY])
def test_binary_ops_match_torch(fn):
    both(lambda lib, x, y, m: fn(masked(lib, x, m), masked(lib, y, m), plain(lib, y)), X, Y, M)


def test_bitwise_binary_ops_match_torch():
    both(lambda lib, x, m: masked(lib, x > 0, m) & masked(lib, x < 1, m), X, M)
    both(lambda lib, x, m: masked(lib, x, m).bitwise_xor(masked(lib, x + 1, m)), INTS, M)
    both(lambda lib, x, m: masked(lib, x, m) // 2, INTS, M)


BINARY_ERRORS = [
    ("masks differ", lambda lib, x, m: masked(lib, x, m) + masked(lib, x, ~m), ValueError,
     "Input masks must match"),
    ("in-place masks differ", lambda lib, x, m: masked(lib, x, m).add_(masked(lib, x, ~m)),
     ValueError, "Input masks must match"),
    ("kwargs", lambda lib, x, m: masked(lib, x, m).add(masked(lib, x, m), alpha=2), ValueError,
     "len\\(kwargs\\) must equal 0"),
    ("reflected sub", lambda lib, x, m: 2 - masked(lib, x, m), TypeError, "unsupported operand"),
    ("extra tensor to unary", lambda lib, x, m: masked(lib, x, m).clamp(plain(lib, x)), TypeError,
     "additional Tensor arguments"),
]


@pytest.mark.parametrize("fn, error, match", [r[1:] for r in BINARY_ERRORS],
                         ids=[r[0] for r in BINARY_ERRORS])
def test_op_errors_match_torch(fn, error, match):
    with pytest.raises(error):
        fn(torch, to_torch(X), to_torch(M))
    with pytest.raises(error, match=match):
        fn(ember, X, M)


def test_lt_keeps_the_left_mask_without_comparing_masks():
    # PyTorch's MaskedTensor.__lt__ is its own method: no mask check
    both(lambda lib, x, m: masked(lib, x, m) < masked(lib, x * 0, ~m), X, M)


REDUCTIONS = [
    ("sum", lambda mt: mt.sum()), ("sum dim", lambda mt: mt.sum(1)),
    ("sum keepdim", lambda mt: mt.sum(2, keepdim=True)), ("sum kw", lambda mt: mt.sum(dim=0)),
    ("sum dims", lambda mt: mt.sum((0, 2))),
    ("torch.sum", lambda mt: type_lib(mt).sum(mt, 1, True)),
    ("sum dtype", lambda mt: mt.sum(1, dtype=type_lib(mt).float64)),
    ("mean", lambda mt: mt.mean()), ("mean dim", lambda mt: mt.mean(-1)),
    ("torch.mean", lambda mt: type_lib(mt).mean(mt)),
    ("amax", lambda mt: mt.amax()), ("amax dim", lambda mt: mt.amax(1)),
    ("amin", lambda mt: mt.amin((1, 2))), ("prod", lambda mt: mt.prod(0)),
    ("argmax", lambda mt: mt.argmax()), ("argmax dim", lambda mt: mt.argmax(2)),
    ("torch.argmin", lambda mt: type_lib(mt).argmin(mt, 1)),
    ("var", lambda mt: mt.var()), ("std dim", lambda mt: mt.std(2)),
    ("all", lambda mt: (mt > 0).all()), ("all dim", lambda mt: (mt > -1).all(1)),
]


def type_lib(mt):
    return ember if isinstance(mt, ember.Tensor) else torch


@pytest.mark.parametrize("fn", [r[1] for r in REDUCTIONS], ids=[r[0] for r in REDUCTIONS])
def test_reductions_match_torch(fn):
    both(lambda lib, x, m: fn(masked(lib, x, m)), X, M)


def test_norm_is_the_masked_2_norm():
    # torch's Tensor.norm passes p= that its MaskedTensor cannot take; ember's gives the norm
    mt = masked(ember, X, M)
    expected = torch.masked.norm(to_torch(X), 2.0, mask=to_torch(M))
    assert mt.norm().get_data().item() == pytest.approx(expected.item(), rel=1e-6)


WHERE = [
    ("both masked", lambda lib, c, a, b: lib.where(c, a.exp(), b)),
    ("scalar other", lambda lib, c, a, b: lib.where(c, a, 0.0)),
    ("plain other", lambda lib, c, a, b: lib.where(c, a, b.get_data() * 0 + 3)),
]


@pytest.mark.parametrize("fn", [r[1] for r in WHERE], ids=[r[0] for r in WHERE])
def test_where_matches_torch(fn):
    both(lambda lib, x, y, m: fn(lib, plain(lib, m), masked(lib, x, m), masked(lib, y, ~m)),
         X, Y, M)


def test_where_method_is_where_with_self_first():
    # torch's MaskedTensor hands x.where(c, y)'s arguments to aten.where in method order
    # and recurses; ember gives what torch.where(c, x, y) gives
    cond = ~M | (X > 0)
    e = masked(ember, X, M).where(to_ember(cond), masked(ember, Y, ~M))
    t = torch.where(to_torch(cond), masked(torch, X, M), masked(torch, Y, ~M))
    assert_same_masked(e, t)


def test_softmax_matches_torch():
    both(lambda lib, x, m: masked(lib, x, m).softmax(2), X, M)
    both(lambda lib, x, m: lib.nn.functional.softmax(masked(lib, x, m), 1), X, M)
    both(lambda lib, x, m: lib.softmax(masked(lib, x, m), -1), X, M)


SHAPE = [
    ("int index", lambda mt: mt[0]), ("slices", lambda mt: mt[:, :, 2:4]),
    ("ellipsis", lambda mt: mt[..., 1]), ("advanced", lambda mt: mt[:, [0, 2]]),
    ("select", lambda mt: mt.select(1, 2)), ("narrow", lambda mt: mt.narrow(2, 1, 2)),
    ("transpose", lambda mt: mt.transpose(0, 2)), ("t", lambda mt: mt[0].t()),
    ("view", lambda mt: mt.view(6, 4)),
    ("reshape", lambda mt: mt.reshape(4, -1)), ("flatten", lambda mt: mt.flatten()),
    ("unsqueeze", lambda mt: mt.unsqueeze(1)), ("expand", lambda mt: mt[:, :1].expand(2, 5, 4)),
    ("expand_as", lambda mt: mt[:1].expand_as(mt)),
    ("cat", lambda mt: type_lib(mt).cat([mt, mt * 2], 1)),
    ("stack", lambda mt: type_lib(mt).stack([mt, mt], 0)),
    ("split", lambda mt: mt.split(1, 1)), ("chunk", lambda mt: mt.chunk(2, 2)),
    ("unfold", lambda mt: mt.unfold(2, 2, 1)),
]


@pytest.mark.parametrize("fn", [r[1] for r in SHAPE], ids=[r[0] for r in SHAPE])
def test_shape_ops_match_torch(fn):
    both(lambda lib, x, m: fn(masked(lib, x, m)), X, M)


def test_shape_ops_beyond_torchs_list_move_the_mask_too():
    # PyTorch refuses these (no dispatch rule); ember moves data and mask alike
    mt = masked(ember, X, M)
    for out, data, mask in [(mt.permute(2, 0, 1), X.transpose(2, 0, 1), M.transpose(2, 0, 1)),
                            (mt[:1].squeeze(0), X[0], M[0]),
                            (mt.flip(1), X[:, ::-1], M[:, ::-1]),
                            (mt[0].T, X[0].T, M[0].T)]:
        assert out.get_mask().tolist() == mask.tolist()
        assert np.allclose(as_numpy(out.to_tensor(0)), np.where(mask, data, 0))
    rows = mt.unbind(0)
    assert len(rows) == 2 and rows[1].get_mask().tolist() == M[1].tolist()


def test_copy_matches_torch():
    both(lambda lib, x, y, m: masked(lib, x, m).copy_(masked(lib, y, m)), X, Y, M)
    # torch's check compares the two masks' own (absent) masks and never fires; ember
    # applies the rule it states
    with pytest.raises(ValueError, match="mask must match"):
        masked(ember, X, M).copy_(masked(ember, Y, ~M))


REFUSED = [
    ("matmul", lambda lib, mt: lib.matmul(mt, mt.transpose(1, 2))),
    ("zeros_like", lambda lib, mt: lib.zeros_like(mt)),
    ("max", lambda lib, mt: mt.max()),
    ("median", lambda lib, mt: mt.median()),
    ("zero_", lambda lib, mt: mt.zero_()),
]


@pytest.mark.parametrize("fn", [r[1] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_unsupported_ops_raise_type_error_as_torch(fn):
    def run(lib, x, m):
        return fn(lib, masked(lib, x, m))

    check_raises(run, X, M, match="not implemented for MaskedTensor")
    mt = masked(ember, X, M)
    with pytest.raises(TypeError):
        fn(ember, mt)
    assert mt.to_tensor(0).tolist() == np.where(M, X, 0).tolist()  # refused before it ran
