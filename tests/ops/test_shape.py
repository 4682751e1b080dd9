"""Shape ops against PyTorch: values, dtypes, shapes, gradients, view strides, errors."""

import numpy as np
import pytest
import torch

import ember
from oracle import check, check_raises, randn

A = randn(3, 4)
B = randn(2, 3, 4)
V = randn(5)
S = randn()
I = np.arange(12, dtype=np.int64).reshape(3, 4)

CASES = [
    ("view", lambda L, x: x.view(4, 3), [A]),
    ("view_infer", lambda L, x: x.view(-1, 2), [B]),
    ("view_scalar", lambda L, x: x.view(1, 1), [S]),
    ("reshape_copy", lambda L, x: x.t().reshape(12), [A]),
    ("reshape_fn", lambda L, x: L.reshape(x, (2, -1)), [B]),
    ("flatten", lambda L, x: x.flatten(1), [B]),
    ("flatten_0d", lambda L, x: x.flatten(), [S]),
    ("unflatten", lambda L, x: x.unflatten(1, (2, 2)), [A]),
    ("unflatten_infer", lambda L, x: L.unflatten(x, -1, (-1, 2)), [B]),
    ("squeeze", lambda L, x: x.view(3, 1, 4, 1).squeeze(), [A]),
    ("squeeze_dim", lambda L, x: x.view(3, 1, 4, 1).squeeze(1), [A]),
    ("squeeze_dims", lambda L, x: x.view(3, 1, 4, 1).squeeze((1, 3)), [A]),
    ("unsqueeze", lambda L, x: x.unsqueeze(-1), [A]),
    ("permute", lambda L, x: x.permute(2, 0, 1), [B]),
    ("transpose", lambda L, x: x.transpose(0, 2), [B]),
    ("swapaxes", lambda L, x: L.swapaxes(x, 0, 1), [B]),
    ("swapdims", lambda L, x: x.swapdims(-1, 0), [B]),
    ("t", lambda L, x: x.t(), [A]),
    ("t_1d", lambda L, x: x.t(), [V]),
    ("T", lambda L, x: x.T, [B]),
    ("mT", lambda L, x: x.mT, [B]),
    ("H", lambda L, x: x.H, [A]),
    ("mH", lambda L, x: x.mH, [B]),
    ("adjoint", lambda L, x: L.adjoint(x), [B]),
    ("movedim", lambda L, x: L.movedim(x, 0, -1), [B]),
    ("movedim_multi", lambda L, x: x.movedim((0, 1), (2, 0)), [B]),
    ("moveaxis", lambda L, x: L.moveaxis(x, -1, 0), [B]),
    ("expand", lambda L, x: x.view(3, 1, 4).expand(3, 5, 4), [A]),
    ("expand_lead", lambda L, x: x.expand(2, -1, 4), [A]),
    ("expand_as", lambda L, x, y: x[0].expand_as(y), [A, B]),
    ("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 3, 4)), [A]),
    ("broadcast_tensors", lambda L, x, y: L.broadcast_tensors(x, y.view(5, 1, 1)), [A, V]),
    ("repeat", lambda L, x: x.repeat(2, 1, 3), [A]),
    ("repeat_0d", lambda L, x: x.repeat(2, 3), [S]),
    ("tile", lambda L, x: L.tile(x, (2,)), [A]),
    ("tile_long", lambda L, x: x.tile((2, 1, 2)), [A]),
    ("repeat_interleave", lambda L, x: L.repeat_interleave(x, 2), [A]),
    ("repeat_interleave_dim", lambda L, x: x.repeat_interleave(3, dim=1), [A]),
    ("repeat_interleave_one", lambda L, x: x.repeat_interleave(L.tensor([2]), dim=1), [A]),
    ("repeat_interleave_tensor",
     lambda L, x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=0), [A]),
    ("cat0", lambda L, x, y: L.cat([x, y[0]]), [A, B]),
    ("cat1", lambda L, x, y: L.cat((x, x, y[1]), 1), [A, B]),
    ("cat_neg", lambda L, x: L.cat([x, x], -1), [A]),
    ("cat_legacy_empty", lambda L, x: L.cat([x, L.zeros(0)]), [A]),
    ("cat_promote", lambda L, x: L.cat([x, L.ones(1, 4, dtype=L.float64)]), [A]),
    ("cat_promote_three", lambda L, x: L.cat([x, x.double(), x.half()]), [A]),
    ("concat", lambda L, x: L.concat([x, x]), [V]),
    ("concatenate", lambda L, x: L.concatenate([x, x], 1), [A]),
    ("stack", lambda L, x, y: L.stack([x, y[0]]), [A, B]),
    ("stack_last", lambda L, x: L.stack([x, x * 2], -1), [A]),
    ("hstack", lambda L, x: L.hstack([x, x]), [A]),
    ("hstack_1d", lambda L, x: L.hstack([x, x]), [V]),
    ("vstack", lambda L, x: L.vstack([x, x]), [V]),
    ("dstack", lambda L, x: L.dstack([x, x]), [A]),
    ("column_stack", lambda L, x, y: L.column_stack([x[:3], y]), [V, A]),
    ("split_int", lambda L, x: x.split(3, 1), [A]),
    ("split_sizes", lambda L, x: L.split(x, [1, 3], dim=-1), [A]),
    ("chunk", lambda L, x: x.chunk(2), [V]),
    ("chunk_more", lambda L, x: L.chunk(x, 3, 1), [A]),
    ("tensor_split_n", lambda L, x: L.tensor_split(x, 3), [V]),
    ("tensor_split_idx", lambda L, x: x.tensor_split([1, 3], dim=1), [A]),
    ("tensor_split_unsorted", lambda L, x: x.tensor_split([3, 1], dim=1), [A]),
    ("split_partial_use", lambda L, x: x.split(2, 1)[1] * 2, [A]),
    ("unbind_partial_use", lambda L, x: x.unbind(0)[2], [A]),
    ("stack_mixed_dtypes", lambda L, x: L.stack([x, x.double()], 1), [A]),
    ("stack_mixed_dtypes_dim0", lambda L, x: L.stack([x, x.double(), x.half()]), [A]),
    ("stack_int_float_dim0", lambda L, x: L.stack([x.long(), x, (x > 0)]), [A]),
    ("stack_noncontig_dim0", lambda L, x: L.stack([x.t(), x.t().flip(0), x[:, ::2].repeat(1, 2).t()]), [A]),
    ("stack_many_scalars", lambda L, x: L.stack([x * i for i in range(33)]), [S]),
    ("hsplit", lambda L, x: L.hsplit(x, 2), [A]),
    ("vsplit", lambda L, x: L.vsplit(x, [1]), [A]),
    ("dsplit", lambda L, x: L.dsplit(x, 2), [B]),
    ("unbind", lambda L, x: x.unbind(1), [A]),
    ("narrow", lambda L, x: x.narrow(1, 1, 2), [A]),
    ("narrow_neg", lambda L, x: L.narrow(x, -1, -3, 2), [B]),
    ("select", lambda L, x: x.select(1, -1), [B]),
    ("flip", lambda L, x: x.flip(0, 2), [B]),
    ("flip_list", lambda L, x: L.flip(x, [1]), [A]),
    ("fliplr", lambda L, x: L.fliplr(x), [A]),
    ("flipud", lambda L, x: x.flipud(), [A]),
    ("roll", lambda L, x: x.roll(1, 0), [A]),
    ("roll_multi", lambda L, x: L.roll(x, (1, -2), (0, 2)), [B]),
    ("roll_flat", lambda L, x: L.roll(x, 5), [A]),
    ("rot90", lambda L, x: L.rot90(x), [A]),
    ("rot90_k2", lambda L, x: x.rot90(2, (1, 2)), [B]),
    ("rot90_k3", lambda L, x: L.rot90(x, -1), [A]),
    ("tril", lambda L, x: x.tril(), [A]),
    ("triu_k", lambda L, x: L.triu(x, 1), [B]),
    ("tril_neg", lambda L, x: L.tril(x, -1), [B]),
    ("diag_vec", lambda L, x: L.diag(x), [V]),
    ("diag_vec_off", lambda L, x: L.diag(x, -2), [V]),
    ("diag_mat", lambda L, x: x.diag(1), [A]),
    ("diag_embed", lambda L, x: L.diag_embed(x), [A]),
    ("diag_embed_dims", lambda L, x: L.diag_embed(x, 1, 0, 2), [A]),
    ("diagonal", lambda L, x: x.diagonal(), [A]),
    ("diagonal_off", lambda L, x: L.diagonal(x, -1), [A]),
    ("diagonal_dims", lambda L, x: x.diagonal(1, 2, 0), [B]),
    ("diagonal_empty", lambda L, x: x.diagonal(7), [A]),
    ("trace", lambda L, x: L.trace(x), [A]),
    ("trace_int", lambda L, x: x.trace(), [I]),
    ("meshgrid_ij", lambda L, x, y: L.meshgrid(x, y, indexing="ij"), [V, A[0]]),
    ("meshgrid_xy", lambda L, x, y: L.meshgrid(x, y, indexing="xy"), [V, A[0]]),
    ("meshgrid_3", lambda L, x: L.meshgrid([x, x[:2], x[:3]], indexing="ij"), [V]),
    ("atleast_1d", lambda L, x: L.atleast_1d(x), [S]),
    ("atleast_2d", lambda L, x, y: L.atleast_2d(x, y), [S, V]),
    ("atleast_3d", lambda L, x, y, z: L.atleast_3d((x, y, z)), [S, V, A]),
    ("view_as", lambda L, x, y: x.view_as(y), [A, A.reshape(4, 3)]),
    ("reshape_as", lambda L, x, y: x.t().reshape_as(y), [A, A]),
    ("unfold", lambda L, x: x.unfold(1, 2, 1), [A]),
    ("unfold_step", lambda L, x: x.unfold(-1, 2, 3), [B]),
    ("unfold_overlap", lambda L, x: x.unfold(0, 3, 1), [V]),
    ("noncontig_input", lambda L, x: x.transpose(0, 2).flip(1).reshape(4, -1), [B]),
    ("int_cat", lambda L, x: L.cat([x, x]), [I]),
    ("bool_stack", lambda L, x: L.stack([x > 3, x < 2]), [I]),
    ("int_scalar_stack", lambda L, x: L.stack([x[i, j] for i in range(3) for j in range(4)]), [I]),
    ("empty_stack_dim0", lambda L, x: L.stack([x[:0], x[:0]]), [I]),
    ("empty_flip", lambda L, x: x[:0].flip(0), [A]),
    # scalars, empty tensors and non-contiguous inputs
    ("scalar_unsqueeze", lambda L, x: x.unsqueeze(0).expand(3), [S]),
    ("scalar_squeeze", lambda L, x: x.squeeze(), [S]),
    ("scalar_reshape", lambda L, x: x.reshape(1, 1, 1).squeeze(1), [S]),
    ("scalar_expand", lambda L, x: x.expand(2, 3), [S]),
    ("scalar_stack", lambda L, x: L.stack([x, x * 2]), [S]),
    ("scalar_flip", lambda L, x: x.flip(()), [S]),
    ("scalar_atleast", lambda L, x: L.atleast_3d(x), [S]),
    ("empty_cat", lambda L, x: L.cat([x[:0], x[:2]]), [A]),
    ("empty_stack", lambda L, x: L.stack([x[:, :0], x[:, :0]], 1), [A]),
    ("empty_reshape", lambda L, x: x[:0].reshape(2, 0, 3), [A]),
    ("empty_split", lambda L, x: x[:, :0].split(1), [A]),
    ("empty_chunk", lambda L, x: x[:0].chunk(3), [A]),
    ("empty_repeat", lambda L, x: x.repeat(0, 2), [A]),
    ("empty_roll", lambda L, x: x[:0].roll(1, 0), [A]),
    ("empty_tril", lambda L, x: x[:0].tril(), [A]),
    ("empty_diagonal", lambda L, x: x[:0].diagonal(), [A]),
    ("noncontig_cat", lambda L, x: L.cat([x.t(), x.t()[:, ::2]], 1), [A]),
    ("noncontig_repeat", lambda L, x: x.t().repeat(2, 1), [A]),
    ("noncontig_diag", lambda L, x: x.t().diagonal(-1), [A]),
    ("noncontig_unfold", lambda L, x: x.t().unfold(0, 2, 2), [A]),
    ("noncontig_roll", lambda L, x: x.permute(2, 0, 1).roll(2), [B]),
    ("noncontig_view_chain", lambda L, x: x.transpose(0, 1)[1:].unbind(2)[3].t(), [B]),
    ("float64", lambda L, x: L.cat([x, x]).flip(1).t(), [A.astype(np.float64)]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs):
    check(fn, *inputs)


VIEW_CASES = [
    ("view", lambda x: x.view(4, 6)), ("transpose", lambda x: x.transpose(0, 2)),
    ("permute", lambda x: x.permute(1, 2, 0)), ("expand", lambda x: x[:, :1].expand(2, 5, 4)),
    ("squeeze", lambda x: x[:, :1].squeeze(1)), ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("narrow", lambda x: x.narrow(2, 1, 2)), ("select", lambda x: x.select(1, 2)),
    ("chunk", lambda x: x.chunk(2, 2)[1]), ("split", lambda x: x.split(1, 1)[2]),
    ("unbind", lambda x: x.unbind(2)[3]), ("t", lambda x: x[0].t()),
    ("diagonal", lambda x: x.diagonal(1, 1, 2)), ("unflatten", lambda x: x.unflatten(2, (2, 2))),
    ("movedim", lambda x: x.movedim(0, 2)), ("unfold", lambda x: x.unfold(2, 2, 1)),
    ("mT", lambda x: x.mT), ("slice_step", lambda x: x[:, ::2, 1:]),
    ("reshape_view", lambda x: x.reshape(6, 4)),
    ("tensor_split", lambda x: x.tensor_split(3, 1)[1]),
    ("view_dtype", lambda x: x.view(torch.int32) if isinstance(x, torch.Tensor)
     else x.view(ember.int32)),
]


@pytest.mark.parametrize("name,fn", VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
def test_views_match_torch_layout_and_share_memory(name, fn):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t_base, e_base = torch.from_numpy(data.copy()), ember.tensor(data.copy())
    t_view, e_view = fn(t_base), fn(e_base)
    assert tuple(e_view.shape) == tuple(t_view.shape)
    assert e_view.stride() == t_view.stride()
    assert e_view.storage_offset() == t_view.storage_offset()
    assert e_view.is_contiguous() == t_view.is_contiguous()
    assert e_view._base is e_base
    version = e_base._version
    e_view.zero_() if hasattr(e_view, "zero_") else e_view.__setitem__(..., 0)
    t_view.zero_()
    np.testing.assert_array_equal(e_base.numpy(), t_base.numpy())
    assert e_base._version > version


COPY_CASES = [
    ("flip", lambda x: x.flip(0)), ("roll", lambda x: x.roll(1, 1)),
    ("repeat", lambda x: x.repeat(1, 1, 1)),
    ("cat", lambda x: ember.cat([x]) if isinstance(x, ember.Tensor) else torch.cat([x])),
    ("reshape_copy", lambda x: x.transpose(0, 1).reshape(-1)), ("tril", lambda x: x.tril()),
    ("diag", lambda x: x[0].diag()), ("rot90", lambda x: x.rot90(1, (1, 2))),
]


@pytest.mark.parametrize("name,fn", COPY_CASES, ids=[c[0] for c in COPY_CASES])
def test_copies_do_not_alias(name, fn):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    e_base, t_base = ember.tensor(data.copy()), torch.from_numpy(data.copy())
    e_out, t_out = fn(e_base), fn(t_base)
    assert e_out.stride() == t_out.stride()
    e_out.fill_(-1) if hasattr(e_out, "fill_") else e_out.__setitem__(..., -1)
    np.testing.assert_array_equal(e_base.numpy(), data)


ERRORS = [
    ("view_bad", lambda L, x: x.view(5, -1), [A], "invalid for input of size 12"),
    ("reshape_empty_ambiguous", lambda L, x: x[:0].reshape(0, 2, -1), [A],
     "unspecified dimension size -1 can be any value and is ambiguous"),
    ("view_two_infer", lambda L, x: x.view(-1, -1), [A], "only one dimension can be inferred"),
    ("view_noncontig", lambda L, x: x.t().view(12), [A], "view size is not compatible"),
    ("cat_mismatch", lambda L, x: L.cat([L.zeros(2, 3), L.zeros(2, 4)]), [A],
     "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for "
     "tensor number 1 in the list."),
    ("cat_mismatch_dim1", lambda L, x: L.cat([L.zeros(2, 3), L.zeros(3, 4)], 1), [A],
     "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3"),
    ("cat_ndim", lambda L, x: L.cat([L.zeros(2, 3), L.zeros(3)]), [A], "same number of dim"),
    ("cat_empty_list", lambda L, x: L.cat([]), [A], None),
    ("cat_0d", lambda L, x: L.cat([x[0, 0], x[0, 0]]), [A], "zero-dimensional tensor"),
    ("stack_mismatch", lambda L, x: L.stack([L.zeros(3), L.zeros(4)]), [A],
     r"stack expects each tensor to be equal size, but got \[3\] at entry 0 and \[4\] at entry 1"),
    ("expand_bad", lambda L, x: x.expand(3, 5), [A], "must match the existing size"),
    ("expand_short", lambda L, x: x.expand(4), [A], "must be greater or equal"),
    ("expand_short_long", lambda L, x: x.expand(4), [I],
     r"expand\(torch.LongTensor\{\[3, 4\]\}, size=\[4\]\): the number of sizes provided \(1\)"),
    ("permute_dup", lambda L, x: x.permute(0, 0), [A], None),
    ("permute_len", lambda L, x: x.permute(0), [A], None),
    ("transpose_range", lambda L, x: x.transpose(0, 2), [A], "Dimension out of range"),
    ("t_3d", lambda L, x: x.t(), [B], "expects a tensor with <= 2 dimensions"),
    ("squeeze_range", lambda L, x: x.squeeze(3), [A], "Dimension out of range"),
    ("select_range", lambda L, x: x.select(0, 3), [A], "out of range"),
    ("narrow_long", lambda L, x: x.narrow(1, 2, 3), [A], "exceeds dimension size"),
    ("split_sizes", lambda L, x: x.split([1, 2], 1), [A], "sum exactly to 4"),
    ("chunk_zero", lambda L, x: x.chunk(0), [A], "greater than 0"),
    ("diagonal_same", lambda L, x: x.diagonal(0, 1, 1), [A], "cannot be identical"),
    ("tril_1d", lambda L, x: x.tril(), [V], None),
    ("diag_3d", lambda L, x: L.diag(x), [B], "1D or 2D"),
    ("trace_3d", lambda L, x: L.trace(x), [B], None),
    ("repeat_short", lambda L, x: x.repeat(2), [A], "can not be smaller"),
    ("repeat_interleave_neg", lambda L, x: x.repeat_interleave(-1), [V], "non-negative"),
    ("repeat_interleave_neg_t", lambda L, x: x.repeat_interleave(L.tensor([1, -1, 1, 1, 1])),
     [V], "can not be negative"),
    ("repeat_interleave_size", lambda L, x: x.repeat_interleave(L.tensor([1, 1])), [V],
     r"repeats.size\(0\) = 2 and input.size\(0\) = 5"),
    ("repeat_interleave_2d", lambda L, x: x.repeat_interleave(L.tensor([[1]])), [V], "0-dim"),
    ("flip_dup", lambda L, x: x.flip(0, 0), [A], "appears multiple times"),
    ("roll_mismatch", lambda L, x: x.roll((1, 2), 0), [A], "must align"),
    ("rot90_same", lambda L, x: x.rot90(1, (0, 0)), [A], None),
    ("unfold_big", lambda L, x: x.unfold(1, 5, 1), [A], "maximum size"),
    ("unflatten_bad", lambda L, x: x.unflatten(1, (3, 2)), [A], None),
    ("movedim_len", lambda L, x: x.movedim((0, 1), (0,)), [A], "same number of dims"),
    ("movedim_types", lambda L, x: x.movedim((0, 1), 0), [A], None),
    ("broadcast_tensors", lambda L, x: L.broadcast_tensors(x, L.zeros(5)), [A], None),
    ("broadcast_shapes", lambda L, x: L.broadcast_shapes((2, 3), (4,)), [A], None),
    ("meshgrid_2d", lambda L, x: L.meshgrid(x, x), [A], None),
    ("hsplit_uneven", lambda L, x: L.hsplit(x, 3), [A], "not divisible"),
]


@pytest.mark.parametrize("name,fn,inputs,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, inputs, match):
    check_raises(fn, *inputs, match=match)


def test_broadcast_shapes_values():
    for shapes in [((2, 1), (3,)), ((1,), ()), ((5, 1, 4), (3, 1)), (3, (2, 1))]:
        assert tuple(ember.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))


def test_repeat_interleave_counts_only():
    counts = np.array([2, 0, 3])
    got = ember.repeat_interleave(ember.tensor(counts))
    assert got.tolist() == torch.repeat_interleave(torch.tensor(counts)).tolist()
    assert got.dtype == ember.int64


def test_view_dtype_values():
    data = np.arange(6, dtype=np.float32)
    e, t = ember.tensor(data).view(ember.int32), torch.tensor(data).view(torch.int32)
    assert e.tolist() == t.tolist() and e.stride() == t.stride()
    e16 = ember.tensor(data).view(ember.float16)
    assert tuple(e16.shape) == tuple(torch.tensor(data).view(torch.float16).shape)
    check_raises(lambda L, x: x.t().view(L.float16), A.astype(np.float32))


GRADCHECK = [
    ("permute", lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    ("expand", lambda x: x.expand(3, 2, 4), (2, 1)[:1] + (4,)),
    ("repeat", lambda x: x.repeat(2, 1, 2), (3, 2)),
    ("cat", lambda x: ember.cat([x, x * 2], 1), (2, 3)),
    ("stack", lambda x: ember.stack([x, x.flip(0)], 1), (3, 2)),
    ("flip_roll", lambda x: x.flip(1).roll(1, 0), (3, 4)),
    ("diagonal", lambda x: x.diagonal(1, 0, 2), (3, 2, 4)),
    ("diag_embed", lambda x: ember.diag_embed(x, -1), (2, 3)),
    ("tril_triu", lambda x: x.tril(1) + x.triu(-1), (3, 4)),
    ("unfold", lambda x: x.unfold(1, 3, 2), (2, 7)),
    ("split_chunk", lambda x: x.split([1, 2], 0)[1] * x.chunk(3, 0)[0], (3, 2)),
    ("repeat_interleave", lambda x: x.repeat_interleave(ember.tensor([2, 0, 1]), 0), (3, 2)),
    ("rot90", lambda x: x.rot90(3), (2, 3)),
    ("trace", lambda x: x.trace(), (3, 3)),
    ("meshgrid", lambda x: ember.meshgrid(x, x * x, indexing="xy")[1], (3,)),
]


@pytest.mark.parametrize("name,fn,shape", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck_and_gradgradcheck(name, fn, shape):
    x = ember.tensor(np.random.default_rng(0).standard_normal(shape)).requires_grad_()
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


INPLACE_VIEW_OPS = [
    ("t_", lambda x: x.t_()), ("transpose_", lambda x: x.transpose_(0, 1)),
    ("unsqueeze_", lambda x: x.unsqueeze_(1)), ("squeeze_", lambda x: x.unsqueeze(0).squeeze_()),
    ("swapaxes_", lambda x: x.swapaxes_(1, 0)),
]


@pytest.mark.parametrize("name,op", INPLACE_VIEW_OPS, ids=[c[0] for c in INPLACE_VIEW_OPS])
def test_inplace_view_ops(name, op):
    def run(L, x):
        y = x * 2
        out = op(y)
        assert out is y or name == "squeeze_"
        return out * out

    check(run, A)
    e, t = ember.tensor(A.copy()), torch.tensor(A.copy())
    op(e), op(t)
    assert e._version == t._version
    assert e.shape == t.shape and e.stride() == t.stride()
    check_raises(lambda L, x: op(x.requires_grad_()), A, match="leaf Variable")
