"""Tensor methods added in _ops/inplace_more.py and _ops/tensor_more.py, against torch."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import ember
import oracle
from oracle import check, check_raises, randn


def _same(e, t):
    torch.testing.assert_close(torch.from_numpy(np.asarray(e.detach().numpy()).copy()),
                               t.detach())


# -- in-place products ---------------------------------------------------------------------

PRODUCTS = [
    ("addmm_", (2, 3), (2, 4), (4, 3)),
    ("addmv_", (2,), (2, 4), (4,)),
    ("baddbmm_", (5, 2, 3), (5, 2, 4), (5, 4, 3)),
    ("addbmm_", (2, 3), (5, 2, 4), (5, 4, 3)),
    ("addr_", (4, 3), (4,), (3,)),
]


@pytest.mark.parametrize("name,s,a,b", PRODUCTS, ids=[p[0] for p in PRODUCTS])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0)])
def test_product_inplace_values_and_grads(name, s, a, b, beta, alpha):
    check(lambda lib, x, y, z: getattr(x.clone(), name)(y, z, beta=beta, alpha=alpha),
          randn(*s), randn(*a), randn(*b))


@pytest.mark.parametrize("name,s,a,b", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_inplace_bumps_version_and_refuses_leaf(name, s, a, b):
    x = ember.randn(*s)
    out = getattr(x, name)(ember.randn(*a), ember.randn(*b))
    assert out is x and x._version == 1
    leaf = ember.randn(*s, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(leaf, name)(ember.randn(*a), ember.randn(*b))


@pytest.mark.parametrize("name,s,a,b", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_inplace_beta_zero_ignores_nan(name, s, a, b):
    x, y, z = randn(*s), randn(*a), randn(*b)
    x.flat[0] = np.nan
    check(lambda lib, x, y, z: getattr(x.clone(), name)(y, z, beta=0), x, y, z, grad=False)


def test_product_inplace_through_a_view_reaches_the_base():
    def fn(lib, base, m1, m2):
        base = base.clone()
        base[1:].addmm_(m1, m2)
        return base

    check(fn, randn(3, 3), randn(2, 4), randn(4, 3))


@pytest.mark.parametrize("name,s,a,b", [
    ("addmm_", (3,), (2, 4), (4, 3)),
    ("addmm_", (2, 1), (2, 4), (4, 3)),
    ("addmv_", (1,), (2, 4), (4,)),
    ("baddbmm_", (1, 4, 3), (5, 4, 2), (5, 2, 3)),
    ("addbmm_", (2, 3), (5, 4, 2), (5, 2, 3)),
    ("addr_", (4, 1), (4,), (3,)),
    ("addr_", (3,), (2,), (3,)),
    ("addr_", (2, 3), (2, 1), (3,)),
])
def test_product_inplace_shape_errors(name, s, a, b):
    e, t = check_raises(lambda lib, x, y, z: getattr(x, name)(y, z),
                        randn(*s), randn(*a), randn(*b))
    assert str(e) == str(t)


@pytest.mark.parametrize("name,s,a,b", PRODUCTS, ids=[p[0] for p in PRODUCTS])
@pytest.mark.parametrize("dtypes", [
    (np.float32, np.float64, np.float32), (np.float32, np.float32, np.float64),
    (np.float64, np.float32, np.float32), (np.float64, np.float64, np.float32),
])
def test_product_inplace_dtype_rules(name, s, a, b, dtypes):
    inputs = [randn(*shape, dtype=dt) for shape, dt in zip((s, a, b), dtypes)]
    fn = lambda lib, x, y, z: getattr(x, name)(y, z)  # noqa: E731
    try:
        expected = fn(torch, *[torch.from_numpy(i.copy()) for i in inputs])
    except RuntimeError as exc:
        with pytest.raises(RuntimeError, match=re.escape(str(exc))):
            fn(ember, *[ember.tensor(i) for i in inputs])
        return
    _same(fn(ember, *[ember.tensor(i) for i in inputs]), expected)


@pytest.mark.parametrize("name,s,a,b", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_inplace_integers(name, s, a, b):
    def fn(lib, x, y, z):
        return getattr(x, name)(y, z, beta=3, alpha=2)

    ints = [np.arange(int(np.prod(sh))).reshape(sh) % 5 for sh in (s, a, b)]
    kernel = {"addmm_": "addmm_cuda", "addmv_": "addmv_impl_cuda", "baddbmm_": "baddbmm_cuda",
              "addbmm_": "addmm_cuda"}.get(name)
    if oracle.DEVICE == "cpu" or kernel is None:
        return check(fn, *ints, grad=False)
    # CUDA's GEMMs have no integer kernels: torch on cuda refuses, and so does ember
    message = re.escape(f'"{kernel}" not implemented for \'Long\'')
    libs = [(ember, oracle.to_ember)] + (
        [(torch, oracle.to_torch)] if oracle.TORCH_DEVICE == "cuda" else [])
    for lib, convert in libs:
        with pytest.raises(NotImplementedError, match=message), oracle.on_device(lib):
            fn(lib, *[convert(x) for x in ints])


def test_integer_products_truncate_float_scalars_except_addr():
    ones = lambda lib, *s: lib.ones(*s, dtype=lib.int64)  # noqa: E731
    for lib in (torch, ember):
        assert ones(lib, 2, 2).addmm_(ones(lib, 2, 2), ones(lib, 2, 2), beta=0.5).tolist() == \
            [[2, 2], [2, 2]]
    check_raises(lambda lib: ones(lib, 2, 2).addr_(ones(lib, 2), ones(lib, 2), alpha=0.5),
                 match="argument alpha must not be a floating point number")


def test_addbmm_inplace_resizes_a_broadcastable_self():
    check(lambda lib, x, y, z: x.clone().addbmm_(y, z), randn(1, 3), randn(5, 4, 2),
          randn(5, 2, 3))


def test_top_level_addmv_():
    check(lambda lib, x, y, z: lib.addmv_(x.clone(), y, z, alpha=2), randn(3), randn(3, 2),
          randn(2))


# -- cumsum_ / cumprod_ ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
@pytest.mark.parametrize("shape,dim", [((4,), 0), ((2, 3), 1), ((2, 3), -2), ((), 0)])
def test_scans_inplace(name, shape, dim):
    check(lambda lib, x: getattr(x.clone(), name)(dim), randn(*shape, dtype=np.float64))


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64])
def test_scans_inplace_keep_integer_dtype(name, dtype):
    data = (np.arange(1, 7) * 37).astype(dtype)
    check(lambda lib, x: getattr(x, name)(0), data, grad=False)


@pytest.mark.parametrize("call,data", [
    (lambda lib, x: x.cumsum_(0, dtype=lib.float32), np.arange(6)),
    (lambda lib, x: x.cumsum_(0, dtype=lib.float64), np.arange(6.0, dtype=np.float32)),
    (lambda lib, x: x.cumprod_(0, dtype=lib.int64), np.arange(6.0, dtype=np.float32)),
    (lambda lib, x: x.cumsum_(0), np.array([True, False])),
    (lambda lib, x: x.cumprod_(0), np.array([True, False])),
    (lambda lib, x: x.cumsum_(2), np.arange(6.0)),
])
def test_scans_inplace_errors(call, data):
    e, t = check_raises(call, data)
    assert str(e) == str(t)


def test_cumsum_inplace_matching_dtype_and_version():
    x = ember.arange(6.0)
    assert x.cumsum_(dim=0, dtype=ember.float32) is x and x._version == 1
    assert x.tolist() == [0.0, 1.0, 3.0, 6.0, 10.0, 15.0]


def test_cumprod_inplace_grad_with_zero():
    data = np.array([2.0, 0.0, 3.0, 4.0])
    check(lambda lib, x: (x * 1).cumprod_(0), data)


# -- as_strided_ ------------------------------------------------------------------------------


def test_as_strided_inplace_values_grads_and_version():
    check(lambda lib, x: (x * 1).as_strided_((2, 2), (1, 2), 1), randn(6))
    check(lambda lib, x: lib.as_strided_(x * 1, (3,), (2,)), randn(6))
    for lib in (torch, ember):
        x = lib.arange(6.0)
        assert x.as_strided_((2, 2), (1, 2)) is x
        assert x._version == 1 and x.stride() == (1, 2) and x.storage_offset() == 0
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            lib.zeros(6, requires_grad=True).as_strided_((2,), (1,))


def test_as_strided_inplace_on_a_view_then_inplace_writes():
    def fn(lib, leaf):
        base = leaf * 1
        view = base[2:]
        view.as_strided_((2,), (2,))
        view.mul_(10)
        moved = leaf * 1
        moved.as_strided_((2, 2), (1, 2), 1)
        moved.cumsum_(1)
        return base, moved

    check(fn, randn(6))


def test_as_strided_inplace_shares_memory():
    x = ember.arange(6.0)
    alias = x.view(6)
    x.as_strided_((2,), (3,), 1)
    alias[4] = 40.0
    assert x.tolist() == [1.0, 40.0]


# -- set_ / is_set_to -------------------------------------------------------------------------


def test_set_to_tensor_shares_memory_and_bumps_version():
    for lib in (torch, ember):
        a = lib.arange(6.0)
        b = lib.empty(0)
        assert b.set_(a) is b
        assert b._version == 1 and b.is_set_to(a) and a.is_set_to(b)
        a[0] = 7.0
        assert b[0].item() == 7.0
        assert not a[1:].is_set_to(a)


def test_set_with_geometry_matches_torch():
    def fn(lib, a):
        c = lib.empty(0)
        c.set_(a.untyped_storage(), 1, (2, 2), (1, 2))
        d = lib.empty(0).set_(a, 2, (2,))
        e = lib.empty(0).set_(source=a, storage_offset=0, size=(2, 3), stride=None)
        return c, d, e, lib.tensor(c.stride()), lib.tensor(e.stride())

    check(fn, np.arange(6.0, dtype=np.float32), grad=False)


def test_set_from_storages():
    for lib in (torch, ember):
        a = lib.arange(6.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            typed = a.storage()
        b = lib.empty(0).set_(typed)
        assert b.tolist() == a.tolist()
        raw = lib.empty(0, dtype=lib.int32).set_(a.untyped_storage())
        assert raw.shape == (6,) and raw.tolist() == a.view(lib.int32).tolist()


def test_set_empty_and_grows_past_the_storage():
    for lib in (torch, ember):
        b = lib.arange(3.0)
        b.set_()
        assert b.shape == (0,) and b._version == 1
        c = lib.empty(0).set_(lib.arange(3.0).untyped_storage(), 1, (5,), (1,))
        assert c.shape == (5,) and c[:2].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("call", [
    lambda lib: lib.empty(0, dtype=lib.int64).set_(lib.arange(3.0)),
    lambda lib: lib.empty(0, dtype=lib.int64).set_(_typed(lib.arange(3.0))),
    lambda lib: lib.empty(0).set_(3),
    lambda lib: lib.empty(0).set_(lib.arange(3.0), 1),
    lambda lib: lib.zeros(2, requires_grad=True).set_(lib.arange(3.0)),
    lambda lib: lib.empty(0).set_(lib.arange(3.0), 0, (2,), (1, 1)),
])
def test_set_errors(call):
    e, t = check_raises(call)
    assert str(e).split(" - ")[0] == str(t).split(" - ")[0]


def _typed(tensor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tensor.storage()


def test_set_under_no_grad_and_with_a_grad_source():
    for lib in (torch, ember):
        leaf = lib.zeros(2, requires_grad=True)
        with lib.no_grad():
            leaf.set_(lib.arange(3.0))
        assert leaf.tolist() == [0.0, 1.0, 2.0]
        q = lib.zeros(2).set_(lib.ones(2, requires_grad=True) * 1)
        assert q.requires_grad
        with pytest.raises(RuntimeError, match="derivative for set_ is not implemented"):
            q.sum().backward()


def test_set_on_a_view_detaches_it_from_the_base():
    for lib in (torch, ember):
        base = lib.arange(6.0)
        view = base[1:]
        view.set_(lib.ones(2))
        view[0] = 5.0
        assert base.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


# -- resize_as_, resize, resize_as --------------------------------------------------------------


def test_resize_as_():
    for lib in (torch, ember):
        x = lib.arange(6.0)
        assert x.resize_as_(lib.zeros(2, 2)) is x
        assert x.tolist() == [[0.0, 1.0], [2.0, 3.0]] and x._version == 1
        y = lib.zeros(2, 3, 4, 5).resize_as_(lib.zeros(1, 2, 3, 4),
                                              memory_format=lib.channels_last)
        assert y.stride() == (24, 1, 8, 2)
        z = lib.zeros(2, 3, 4, 5).resize_as_(
            lib.zeros(1, 2, 3, 4).to(memory_format=lib.channels_last))
        assert z.stride() == (24, 12, 4, 1)
        w = lib.resize_as_(lib.arange(4.0), lib.zeros(2, 2))
        assert w.shape == (2, 2)


@pytest.mark.parametrize("call", [
    lambda lib: lib.arange(6.0).resize_as_(3),
    lambda lib: lib.arange(6.0).resize_as_(lib.zeros(2, 2), memory_format=lib.channels_last),
    lambda lib: lib.arange(6.0, requires_grad=True).resize_as_(lib.zeros(2, 3)),
])
def test_resize_as_errors(call):
    e, t = check_raises(call)
    assert str(e) == str(t)


def test_deprecated_resize_and_resize_as():
    def fn(lib, x):
        with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
            a = x.resize_as(lib.zeros(3, 2))
        with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
            b = x.resize(2, 3)
        return a, b

    check(fn, randn(6))
    for name, call in (("resize", lambda lib: lib.arange(6.0).resize(2, 2)),
                       ("resize_as", lambda lib: lib.arange(6.0).resize_as(lib.zeros(4)))):
        with pytest.warns(UserWarning, match=f"non-inplace {name} is deprecated"):
            e, t = check_raises(call)
        assert str(e) == str(t)


# -- layout queries ---------------------------------------------------------------------------

LAYOUTS = [
    lambda lib: lib.empty(2, 3, 5, 7),
    lambda lib: lib.empty(2, 3, 5, 7).transpose(1, 2),
    lambda lib: lib.empty(2, 3, 5, 7, memory_format=lib.channels_last),
    lambda lib: lib.empty(1, 2, 3, 4),
    lambda lib: lib.empty(2, 1, 3),
    lambda lib: lib.empty(2, 3, 1, 1),
    lambda lib: lib.empty(4, 6)[:, ::2].t(),
    lambda lib: lib.empty(3).expand(2, 3),
    lambda lib: lib.empty(2, 3, 4).permute(2, 0, 1),
    lambda lib: lib.empty(5),
    lambda lib: lib.tensor(1.0),
]
CHECKS = [False, True, "formats"]


@pytest.mark.parametrize("make", LAYOUTS)
@pytest.mark.parametrize("ambiguity", CHECKS)
def test_dim_order(make, ambiguity):
    def call(lib):
        arg = ([lib.contiguous_format, lib.channels_last] if ambiguity == "formats"
               else ambiguity)
        return make(lib).dim_order(ambiguity_check=arg)

    try:
        expected = call(torch)
    except RuntimeError as exc:
        with pytest.raises(RuntimeError, match=re.escape(str(exc))):
            call(ember)
        return
    assert call(ember) == expected


@pytest.mark.parametrize("arg", [3, [3], "x"])
def test_dim_order_bad_check(arg):
    check_raises(lambda lib: lib.empty(2, 3).dim_order(ambiguity_check=arg),
                 match="must be a bool or a list of memory formats")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "complex64"])
def test_storage_type(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.zeros(2, dtype=getattr(torch, dtype)).storage_type()
        got = ember.zeros(2, dtype=getattr(ember, dtype)).storage_type()
    assert got.__name__ == expected.__name__
    assert got is getattr(ember, expected.__name__)


def test_const_data_ptr_and_module_load():
    x = ember.zeros(2)
    assert x.const_data_ptr() == x.data_ptr()
    for lib in (torch, ember):
        y = lib.zeros(2)
        loaded = y.module_load(lib.ones(2))
        assert loaded is not y and loaded.data_ptr() == y.data_ptr()
        assert y.tolist() == [1.0, 1.0] and not loaded.requires_grad
        source = lib.ones(2, requires_grad=True)
        assigned = lib.zeros(2).module_load(source, assign=True)
        assert assigned.data_ptr() == source.data_ptr() and not assigned.requires_grad
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            lib.zeros(2, requires_grad=True).module_load(lib.ones(2))


# -- unsafe_split_with_sizes, nonzero_static ---------------------------------------------------


def test_unsafe_split_with_sizes():
    check(lambda lib, x: x.unsafe_split_with_sizes([2, 4]), randn(6))
    check(lambda lib, x: lib.unsafe_split_with_sizes(x, [1, 2], dim=1), randn(2, 3))
    e, t = check_raises(lambda lib, x: x.unsafe_split_with_sizes([2, 3]), randn(6))
    assert str(e) == str(t)


@pytest.mark.parametrize("data,size,fill", [
    (np.array([[1, 0], [0, 1], [1, 1]]), 5, -7),
    (np.array([[1, 0], [0, 1], [1, 1]]), 2, -1),
    (np.zeros((2, 3)), 2, -1),
    (np.array(3.0), 2, -1),
    (np.zeros((0, 3)), 2, 4),
    (np.array([1.0, 0.0, 1.0]), 0, -1),
])
def test_nonzero_static(data, size, fill):
    check(lambda lib, x: x.nonzero_static(size=size, fill_value=fill), data, grad=False)
    check(lambda lib, x: lib.nonzero_static(x, size=size, fill_value=fill), data, grad=False)


@pytest.mark.parametrize("kwargs", [{"size": -1}, {"size": 2.5}, {"size": True},
                                    {"size": 2, "fill_value": 2.5}])
def test_nonzero_static_errors(kwargs):
    e, t = check_raises(lambda lib, x: lib.nonzero_static(x, **kwargs), np.array([1, 0, 1]))
    assert str(e) == str(t)


# -- sparse accessors and device flags on a strided tensor ------------------------------------

SPARSE_ACCESSORS = ["values", "indices", "crow_indices", "col_indices", "ccol_indices",
                    "row_indices", "coalesce", "is_coalesced"]


@pytest.mark.parametrize("name", SPARSE_ACCESSORS)
def test_sparse_accessors_on_strided_tensors_raise(name):
    e, t = check_raises(lambda lib, x: getattr(x, name)(), randn(3))
    assert str(e) == str(t)


def test_sparse_dims_of_strided_and_coo_tensors():
    for lib in (torch, ember):
        assert lib.zeros(2, 3).sparse_dim() == 0 and lib.zeros(2, 3).dense_dim() == 2
        coo = lib.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
        assert coo.sparse_dim() == 2 and coo.dense_dim() == 0
        assert coo.is_coalesced() and coo.coalesce().values().tolist() == [1.0, 2.0]
        with pytest.raises(RuntimeError, match="crow_indices expected sparse row compressed "
                                               "tensor layout but got Sparse"):
            coo.crow_indices()


FLAGS = ["is_xpu", "is_mps", "is_ipu", "is_mtia", "is_maia", "is_vulkan", "is_xla",
         "is_mkldnn"]


@pytest.mark.parametrize("flag", FLAGS)
def test_device_flags(flag):
    assert getattr(ember.zeros(2), flag) is getattr(torch.zeros(2), flag) is False
    assert isinstance(getattr(ember.Tensor, flag), property)


def test_is_distributed_and_record_stream_on_cpu():
    assert ember.zeros(2).is_distributed() is torch.zeros(2).is_distributed() is False
    check_raises(lambda lib: lib.zeros(2).record_stream(None), match="unknown parameter type")
    check_raises(lambda lib: lib.zeros(2).record_stream(lib.Stream()),
                 match="Could not run 'aten::record_stream' with arguments from the 'CPU' backend")


# -- grad_dtype -------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_grad_dtype_defaults_and_errors():
    for lib in (torch, ember):
        leaf = lib.randn(3, requires_grad=True)
        assert leaf.grad_dtype == lib.float32
        assert lib.arange(3).grad_dtype == lib.int64
        with pytest.raises(RuntimeError, match="grad_dtype can only be accessed on leaf"):
            (leaf * 2).grad_dtype
        with pytest.raises(RuntimeError, match="grad_dtype can only be set on leaf"):
            (leaf * 2).grad_dtype = None
        with pytest.raises(RuntimeError, match="grad_dtype must be a torch.dtype or None, "
                                               "but got int"):
            leaf.grad_dtype = 3
        leaf.grad_dtype = None
        assert leaf.grad_dtype is None and leaf.detach().grad_dtype == lib.float32


def test_grad_dtype_casts_backward_and_autograd_grad():
    for lib in (torch, ember):
        x = lib.randn(3, requires_grad=True)
        x.grad_dtype = lib.float64
        (x * 2).sum().backward()
        (x * 2).sum().backward()
        assert x.grad.dtype == lib.float64 and x.grad.tolist() == [4.0, 4.0, 4.0]
        (g,) = lib.autograd.grad((x * 3).sum(), x)
        assert g.dtype == lib.float64


def test_grad_dtype_governs_grad_assignment():
    for lib in (torch, ember):
        x = lib.randn(3, requires_grad=True)
        x.grad_dtype = lib.float64
        with pytest.raises(RuntimeError, match="with dtype 'float' to a tensor with "
                                               "grad_dtype 'Double'"):
            x.grad = lib.ones(3)
        x.grad = lib.ones(3, dtype=lib.float64)
        x.grad_dtype = None
        x.grad = lib.ones(3, dtype=lib.float16)
        assert x.grad.dtype == lib.float16
        (x * 2).sum().backward()  # accumulated into the stored grad, in its dtype
        assert x.grad.dtype == lib.float16 and x.grad.tolist() == [3.0, 3.0, 3.0]


# -- smm / sspaddmm -----------------------------------------------------------------------------


def _coo_parts(t):
    return t.is_coalesced(), t._indices().tolist(), np.asarray(t._values().detach().numpy())


def test_smm_and_sspaddmm_match_torch():
    def build(lib):
        s = lib.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
        m = lib.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]).to_sparse()
        d = lib.arange(6.0).reshape(2, 3)
        return [s.smm(d), m.sspaddmm(s, d), lib.sspaddmm(m, s, d, beta=2, alpha=3)]

    for e, t in zip(build(ember), build(torch)):
        e_parts, t_parts = _coo_parts(e), _coo_parts(t)
        assert e_parts[:2] == t_parts[:2]
        np.testing.assert_allclose(e_parts[2], t_parts[2])


@pytest.mark.parametrize("call", [
    lambda lib, s, m, d: d.smm(d.t()),
    lambda lib, s, m, d: lib.sspaddmm(m, d, d),
    lambda lib, s, m, d: lib.sspaddmm(m, s, lib.zeros(3, 3)),
    lambda lib, s, m, d: lib.sspaddmm(lib.zeros(3, 3).to_sparse(), s, d),
])
def test_smm_sspaddmm_errors(call):
    def run(lib):
        s = lib.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
        m = lib.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]).to_sparse()
        return call(lib, s, m, lib.ones(2, 3))

    e, t = check_raises(run)
    assert str(e) == str(t)


@pytest.mark.parametrize("kind", ["xpu", "ipu", "mtia"])
def test_moves_to_devices_without_a_backend(kind):
    e, t = check_raises(lambda lib: getattr(lib.ones(2), kind)())
    assert str(e) == str(t)
