"""Creation ops against PyTorch: dtype inference, shapes, values, memory sharing,
``to``/``clone``/``contiguous`` and the ``new_*`` methods."""

import collections

import numpy as np
import pytest
import torch
from oracle import check, check_raises, randn

import ember

CREATE = {
    "tensor_ints": lambda lib: lib.tensor([1, 2, 3]),
    "tensor_floats": lambda lib: lib.tensor([1.5, 2.0]),
    "tensor_mixed": lambda lib: lib.tensor([1, 2.5]),
    "tensor_bools": lambda lib: lib.tensor([True, False]),
    "tensor_bool_int": lambda lib: lib.tensor([True, 2]),
    "tensor_complex": lambda lib: lib.tensor([1 + 2j, 3]),
    "tensor_scalar_int": lambda lib: lib.tensor(3),
    "tensor_scalar_float": lambda lib: lib.tensor(3.5),
    "tensor_scalar_bool": lambda lib: lib.tensor(True),
    "tensor_empty_list": lambda lib: lib.tensor([]),
    "tensor_nested_empty": lambda lib: lib.tensor([[], []]),
    "tensor_nested": lambda lib: lib.tensor([[1, 2], [3, 4]]),
    "tensor_tuple": lambda lib: lib.tensor((1.0, 2.0)),
    "tensor_deque": lambda lib: lib.tensor(collections.deque([1.5, 2.0])),
    "tensor_deque_nested": lambda lib: lib.tensor(collections.deque([[1, 2], [3, 4]])),
    "tensor_userlist": lambda lib: lib.tensor(collections.UserList([True, False])),
    "tensor_range": lambda lib: lib.tensor(range(2, 5)),
    "tensor_dtype": lambda lib: lib.tensor([1, 2], dtype=lib.float64),
    "tensor_dtype_py": lambda lib: lib.tensor([1.7, 2.2], dtype=int),
    "tensor_bf16": lambda lib: lib.tensor([1.0, 2.5], dtype=lib.bfloat16),
    "tensor_np_f64": lambda lib: lib.tensor(np.arange(3, dtype=np.float64)),
    "tensor_np_i32": lambda lib: lib.tensor(np.arange(3, dtype=np.int32)),
    "tensor_np_u8": lambda lib: lib.tensor(np.arange(3, dtype=np.uint8)),
    "tensor_np_scalar": lambda lib: lib.tensor(np.float64(2.5)),
    "tensor_np_int_scalar": lambda lib: lib.tensor(np.int32(2)),
    "tensor_of_tensors": lambda lib: lib.tensor([lib.tensor(1.0), lib.tensor(2.0)]),
    "tensor_of_tensor": lambda lib: lib.tensor(lib.arange(3)),
    "tensor_requires_grad": lambda lib: lib.tensor([1.0], requires_grad=True),
    "tensor_np_scalar_in_list": lambda lib: lib.tensor([np.float64(1.5), 2]),
    "tensor_np_int32_in_list": lambda lib: lib.tensor([np.int32(1)]),
    "tensor_np_int32_and_int": lambda lib: lib.tensor([np.int32(1), 2]),
    "tensor_np_int32_and_float": lambda lib: lib.tensor([np.int32(1), 2.5]),
    "tensor_np_f16_and_float": lambda lib: lib.tensor([np.float16(1), 2.5]),
    "tensor_0d_int32_tensors": lambda lib: lib.tensor([lib.tensor(1, dtype=lib.int32),
                                                       lib.tensor(2, dtype=lib.int32)]),
    "tensor_0d_f64_tensor": lambda lib: lib.tensor([lib.tensor(1.5, dtype=lib.float64)]),
    "tensor_nested_np_scalar": lambda lib: lib.tensor([[np.float64(1)], [2]]),
    "tensor_range": lambda lib: lib.tensor(range(3)),
    "tensor_bool_complex": lambda lib: lib.tensor([True, 1j]),
    "tensor_tuple_of_lists": lambda lib: lib.tensor(([1, 2], [3, 4])),
    "full_tensor_value": lambda lib: lib.full((2,), lib.tensor(3)),
    "full_np_int": lambda lib: lib.full((2,), np.int64(3)),
    "full_np_bool": lambda lib: lib.full((2,), np.bool_(True)),
    "as_tensor_list": lambda lib: lib.as_tensor([1, 2]),
    "as_tensor_np": lambda lib: lib.as_tensor(np.ones(2, np.float16)),
    "as_tensor_dtype": lambda lib: lib.as_tensor(np.ones(2), dtype=lib.float32),
    "from_numpy": lambda lib: lib.from_numpy(np.arange(6, dtype=np.int16).reshape(2, 3)),
    "zeros": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_list": lambda lib: lib.zeros([4]),
    "zeros_size": lambda lib: lib.zeros(lib.Size([1, 2])),
    "zeros_0d": lambda lib: lib.zeros(()),
    "zeros_empty": lambda lib: lib.zeros(0, 2),
    "zeros_int": lambda lib: lib.zeros(2, dtype=lib.int32),
    "ones": lambda lib: lib.ones(3, dtype=lib.bool),
    "ones_f16": lambda lib: lib.ones(2, 2, dtype=lib.float16),
    "empty_shape": lambda lib: lib.empty(2, 3).shape,
    "full_float": lambda lib: lib.full((2, 2), 1.5),
    "full_int": lambda lib: lib.full((2,), 7),
    "full_bool": lambda lib: lib.full((2,), True),
    "full_complex": lambda lib: lib.full((2,), 1j),
    "full_dtype": lambda lib: lib.full([3], 2, dtype=lib.float64),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.int8)),
    "ones_like_dtype": lambda lib: lib.ones_like(lib.ones(2), dtype=lib.float64),
    "full_like": lambda lib: lib.full_like(lib.ones(2, dtype=lib.int64), 2.7),
    "full_like_f": lambda lib: lib.full_like(lib.ones(2), 3),
    "empty_like": lambda lib: lib.empty_like(lib.ones(2, 2, dtype=lib.float64)).shape,
    "arange_int": lambda lib: lib.arange(5),
    "arange_start": lambda lib: lib.arange(2, 9, 3),
    "arange_neg": lambda lib: lib.arange(5, 0, -1),
    "arange_float": lambda lib: lib.arange(0, 1, 0.1),
    "arange_float_end": lambda lib: lib.arange(2.5),
    "arange_dtype": lambda lib: lib.arange(5, dtype=lib.float64),
    "arange_int_dtype_float_step": lambda lib: lib.arange(0, 5, 1.5, dtype=lib.int64),
    "arange_int_dtype_float_bounds": lambda lib: lib.arange(-2.5, 3, 1.2, dtype=lib.int32),
    "arange_int_dtype_float_end": lambda lib: lib.arange(0, 5.5, dtype=lib.int64),
    "arange_half": lambda lib: lib.arange(0, 5, 0.5, dtype=lib.float16),
    "arange_big": lambda lib: lib.arange(0, 10 ** 10, 10 ** 9),
    "arange_bool_end": lambda lib: lib.arange(True),
    "arange_float_step": lambda lib: lib.arange(1, 2.5, 0.5),
    "arange_empty": lambda lib: lib.arange(3, 3),
    "arange_tensor": lambda lib: lib.arange(lib.tensor(4)),
    "linspace": lambda lib: lib.linspace(0, 1, 5),
    "linspace_one": lambda lib: lib.linspace(2, 3, 1),
    "linspace_zero": lambda lib: lib.linspace(2, 3, 0),
    "linspace_int": lambda lib: lib.linspace(0, 10, 4, dtype=lib.int64),
    "linspace_f64": lambda lib: lib.linspace(-1, 1, 7, dtype=lib.float64),
    "linspace_desc": lambda lib: lib.linspace(3, -3, 6),
    "logspace": lambda lib: lib.logspace(0, 2, 3),
    "logspace_base2": lambda lib: lib.logspace(0, 4, 5, base=2),
    "logspace_f64": lambda lib: lib.logspace(-2, 2, 5, dtype=lib.float64),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 4, dtype=lib.int64),
    "eye_zero": lambda lib: lib.eye(0),
    "to_dtype": lambda lib: lib.arange(4).to(lib.float32),
    "to_py_float": lambda lib: lib.arange(4).to(float),
    "to_other": lambda lib: lib.arange(4).to(lib.ones(1, dtype=lib.float64)),
    "to_device_dtype": lambda lib: lib.arange(4).to("cpu", lib.float16),
    "to_kw": lambda lib: lib.arange(4).to(device="cpu", dtype=lib.int8),
    "float": lambda lib: lib.arange(3).float(),
    "double": lambda lib: lib.arange(3).double(),
    "half": lambda lib: lib.arange(3).half(),
    "bfloat16": lambda lib: lib.arange(3).bfloat16(),
    "long": lambda lib: lib.tensor([1.7, -2.7]).long(),
    "int": lambda lib: lib.tensor([1.7, -2.7]).int(),
    "short": lambda lib: lib.tensor([1.7]).short(),
    "char": lambda lib: lib.tensor([1.7]).char(),
    "byte": lambda lib: lib.tensor([1.7]).byte(),
    "bool": lambda lib: lib.tensor([0.0, 0.5]).bool(),
    "type_as": lambda lib: lib.arange(3).type_as(lib.ones(1)),
    "new_tensor": lambda lib: lib.ones(2, dtype=lib.float64).new_tensor([1, 2]),
    "new_zeros": lambda lib: lib.ones(2, dtype=lib.int32).new_zeros(2, 3),
    "new_zeros_tuple": lambda lib: lib.ones(2).new_zeros((3,)),
    "new_ones": lambda lib: lib.ones(2, dtype=lib.float16).new_ones([2]),
    "new_full": lambda lib: lib.ones(2, dtype=lib.int64).new_full((2,), 3),
    "new_empty": lambda lib: lib.ones(2, dtype=lib.int64).new_empty(3).shape,
    "new_dtype": lambda lib: lib.ones(2).new_zeros(2, dtype=lib.int8),
    "clone": lambda lib: lib.arange(6).reshape(2, 3).t().clone(),
    "contiguous": lambda lib: lib.arange(6).reshape(2, 3).t().contiguous(),
}


@pytest.mark.parametrize("name", list(CREATE))
def test_creation_matches_torch(name):
    check(CREATE[name], grad=False)


def test_default_dtype_drives_inference():
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        for fn in (lambda lib: lib.tensor([1.5]), lambda lib: lib.zeros(2),
                   lambda lib: lib.arange(0.0, 2.0), lambda lib: lib.full((1,), 2.0),
                   lambda lib: lib.tensor([1j]), lambda lib: lib.linspace(0, 1, 3),
                   lambda lib: lib.rand(2), lambda lib: lib.tensor([1, 2])):
            assert str(fn(ember).dtype) == str(fn(torch).dtype)
        assert ember.get_default_dtype() == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.set_default_dtype(lib.int64),
    lambda lib: lib.zeros(-1),
    lambda lib: lib.zeros(2, 2.5),
    lambda lib: lib.ones(-2, 3),
    lambda lib: lib.arange(0, 5, 0),
    lambda lib: lib.arange(5, 0, 1),
    lambda lib: lib.linspace(0, 1, -1),
    lambda lib: lib.eye(-1),
    lambda lib: lib.tensor([[1, 2], [3]]),
    lambda lib: lib.tensor([1], requires_grad=True),
    lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True),
    lambda lib: lib.from_numpy([1, 2]),
    lambda lib: lib.from_numpy(np.array(["a"])),
    lambda lib: lib.tensor(object()),
    lambda lib: lib.tensor({1, 2}),
    lambda lib: lib.tensor({1: 2}),
    lambda lib: lib.tensor("12"),
    lambda lib: lib.device("gpu"),
    lambda lib: lib.full(3, 2.0),
    lambda lib: lib.arange(0, 1, 0.3, dtype=lib.int64),
    lambda lib: lib.arange(0.0, 5, 0.0),
    lambda lib: lib.arange(float("inf")),
])
def test_creation_errors(fn):
    check_raises(fn)


def test_from_numpy_and_as_tensor_share_memory():
    array = np.zeros(3, np.float32)
    t = ember.from_numpy(array)
    array[0] = 5
    t[1] = 7
    assert t.tolist() == [5.0, 7.0, 0.0] and array[1] == 7
    shared = ember.as_tensor(array)
    array[2] = 9
    assert shared[2].item() == 9
    copied = ember.as_tensor(array, dtype=ember.float64)
    array[0] = -1
    assert copied[0].item() == 5
    base = ember.ones(2)
    assert ember.as_tensor(base) is base
    assert ember.tensor(base)._data is not base._data  # tensor() always copies
    data = np.ones(2)
    made = ember.tensor(data)
    data[0] = 3
    assert made[0].item() == 1


def test_to_returns_self_or_copy():
    x = ember.ones(3)
    assert x.to(ember.float32) is x
    assert x.to("cpu") is x
    assert x.to(x) is x
    assert x.to(ember.float32, copy=True) is not x
    assert x.to(ember.device("cpu"), non_blocking=True) is x
    assert x.cpu() is x
    y = x.to(ember.float64)
    assert y.dtype == ember.float64 and y is not x
    assert x.to(ember.float32, False, True) is not x  # positional copy flag
    assert x.to(x, True) is x
    check_raises(lambda lib: lib.ones(2).to("cpu", "cpu"))
    check_raises(lambda lib: lib.ones(2).to([1]))


def test_to_and_clone_are_differentiable():
    check(lambda lib, a: a.to(lib.float64) * 2, randn(3))
    check(lambda lib, a: a.double().float() * a, randn(2, 2))
    check(lambda lib, a: a.clone() * 3, randn(4))
    check(lambda lib, a: a.t().contiguous() * 3, randn(2, 3))
    check(lambda lib, a: a.half().float(), randn(4), rtol=1e-3, atol=1e-3)


def test_contiguous_returns_self_when_contiguous():
    x = ember.ones(2, 3)
    assert x.contiguous() is x
    y = x.t()
    assert not y.is_contiguous()
    z = y.contiguous()
    assert z.is_contiguous() and z.stride() == (2, 1)


def test_device_objects():
    for spec in ("cpu", "cuda", "cuda:1", ("cuda", 0), ("cpu", None)):
        e = ember.device(*spec) if isinstance(spec, tuple) else ember.device(spec)
        t = torch.device(*spec) if isinstance(spec, tuple) else torch.device(spec)
        assert repr(e) == repr(t) and str(e) == str(t)
        assert e.type == t.type and e.index == t.index
    assert (ember.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")  # False in both
    assert ember.zeros(1).device == ember.device("cpu")
    assert ember.get_default_device() == ember.device("cpu")
    with ember.device("cpu"):
        assert ember.zeros(1).device.type == "cpu"
    ember.set_default_device("cpu")
    assert ember.get_default_device() == ember.device("cpu")
    ember.set_default_device(None)
    assert ember.zeros(2).is_cpu and not ember.zeros(2).is_cuda
    assert ember.zeros(2).get_device() == torch.zeros(2).get_device()


OUT_CASES = {
    "arange": lambda lib: (lambda o: (lib.arange(5, out=o), o))(lib.zeros(5)),
    "zeros_resize": lambda lib: (lambda o: (lib.zeros(2, 3, out=o) is o, o))(
        lib.ones(6, dtype=lib.int64)),
    "linspace_f64": lambda lib: (lambda o: (lib.linspace(0, 1, 3, out=o), o))(
        lib.ones(3, dtype=lib.float64)),
    "full": lambda lib: (lambda o: (lib.full((2,), 3, out=o), o))(lib.ones(2)),
    "eye_i32": lambda lib: (lambda o: (lib.eye(2, out=o), o))(lib.ones(2, 2, dtype=lib.int32)),
    "randperm_meta": lambda lib: (lambda o: (lib.randperm(4, out=o).shape, str(o.dtype)))(
        lib.ones(1)),
    "rand_meta": lambda lib: (lambda o: (lib.rand(3, out=o).shape, str(o.dtype)))(
        lib.ones(1, dtype=lib.float64)),
}


@pytest.mark.parametrize("name", list(OUT_CASES))
def test_out_argument(name):
    check(OUT_CASES[name], grad=False)


def test_out_dtype_mismatch():
    check_raises(lambda lib: lib.zeros(2, dtype=lib.float64, out=lib.ones(2)))


def test_copy_construct_warns_like_torch():
    for make in (lambda lib: lib.tensor(lib.ones(2)),
                 lambda lib: lib.ones(2).new_tensor(lib.ones(2, dtype=lib.float64))):
        with pytest.warns(UserWarning, match="To copy construct from a tensor") as got:
            e = make(ember)
        with pytest.warns(UserWarning) as want:
            t = make(torch)
        assert str(got[0].message) == str(want[0].message)
        assert e.tolist() == t.tolist() and str(e.dtype) == str(t.dtype)


INPLACE = {
    "fill_float": lambda lib, a: (a * 2).fill_(5.0),
    "fill_int_into_float": lambda lib, a: (a * 2).fill_(3),
    "fill_tensor_value": lambda lib, a: (a * 2).fill_(lib.tensor(2.5)),
    "fill_view": lambda lib, a: (lambda y: (y[0].fill_(7.0), y)[1])(a * 1),
    "zero_": lambda lib, a: (a + 1).zero_(),
    "copy_same": lambda lib, a: (a * 0).copy_(a * 3),
    "copy_broadcast": lambda lib, a: lib.zeros(4, 3).copy_(a[0] * 2),
    "copy_cast": lambda lib, a: lib.zeros(4, 3, dtype=lib.float64).copy_(a * 2),
    "copy_into_view": lambda lib, a: (lambda y: (y[:, 1].copy_(a[:, 0] * 5), y)[1])(a * 1),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_fill_zero_copy_against_torch(name):
    check(INPLACE[name], randn(4, 3))


def test_fill_with_grad_value():
    check(lambda lib, a, v: (a * 2).fill_(v * 1), randn(3), np.array(2.0, np.float32))
    check(lambda lib, a, s: (a * 2).copy_(s * 3), randn(3), np.ones(1))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(3, dtype=lib.int64).fill_(2.7),
    lambda lib: lib.zeros(3, dtype=lib.bool).fill_(2),
    lambda lib: lib.zeros(2).fill_(True),
    lambda lib: lib.zeros(3, dtype=lib.int64).copy_(lib.tensor([1.7, -2.7, 3.2])),
    lambda lib: lib.zeros(2, 3).copy_(lib.ones(3, dtype=lib.int32)),
    lambda lib: lib.zeros(2, 2).resize_(3),
    lambda lib: lib.arange(6.0).resize_(2, 2),
    lambda lib: lib.arange(4.0).resize_(2, 3)[0, :2],  # torch leaves the grown tail unset
    lambda lib: lib.arange(4.0).reshape(2, 2).t().resize_(lib.Size([4])),
    lambda lib: lib.arange(6.0)[2:].resize_(2),
    lambda lib: (lambda base: (base[1:].resize_(2, 2).fill_(9), base)[1])(lib.arange(6.0)),
])
def test_inplace_values(fn):
    check(fn, grad=False)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.zeros(3).fill_(lib.tensor([1.0, 2.0])),
    lambda lib: lib.zeros(3, requires_grad=True).fill_(1),
    lambda lib: lib.zeros(3, requires_grad=True).zero_(),
    lambda lib: lib.zeros(3).copy_(lib.ones(2)),
    lambda lib: lib.zeros(3).copy_([1, 2, 3]),
    lambda lib: lib.zeros(3, requires_grad=True).copy_(lib.ones(3)),
    lambda lib: lib.zeros(3).copy_(lib.ones(2, 3)),
    lambda lib: lib.arange(4.0, requires_grad=True).resize_(2, 2),
])
def test_inplace_errors(fn):
    check_raises(fn)


def test_inplace_node_names_and_versions():
    x = ember.ones(3, requires_grad=True)
    assert (x * 2).fill_(1.0).grad_fn.name() == "FillBackward2"
    assert (x * 2).fill_(ember.tensor(1.0, requires_grad=True)).grad_fn.name() == "FillBackward3"
    assert (x * 2).zero_().grad_fn.name() == "ZeroBackward0"
    assert (x * 2).copy_(x).grad_fn.name() == "torch::autograd::CopyBackwards"  # as PyTorch
    y = ember.zeros(2)
    version = y._version
    y.fill_(1).zero_().copy_(ember.ones(2))
    assert y._version == version + 3
    with ember.no_grad():
        assert x.zero_() is x and x.tolist() == [0.0, 0.0, 0.0]


GRADCHECK = {
    "clone": lambda a, b: a.clone() * b,
    "contiguous": lambda a, b: a.t().contiguous() * b.t(),
    "to_copy": lambda a, b: a.to(ember.float64, copy=True) * b,
    "type_as": lambda a, b: a.type_as(b) * b,
    "copy_": lambda a, b: (a * 1).copy_(b * a),
    "copy_broadcast": lambda a, b: (a * 1).copy_(b[0]),
    "fill_tensor": lambda a, b: (a * 1).fill_(b.sum()) * a,
    "zero_then_add": lambda a, b: (a * 1).zero_() + b,
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck_float64(name):
    fn = GRADCHECK[name]
    a = ember.tensor(randn(3, 3, dtype=np.float64), requires_grad=True)
    b = ember.tensor(randn(3, 3, dtype=np.float64), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (a, b))
    assert ember.autograd.gradgradcheck(fn, (a, b))


TRIANGLE_INDICES = {
    "tril_square": lambda lib: lib.tril_indices(3, 3),
    "tril_wide_offset": lambda lib: lib.tril_indices(3, 4, 1),
    "tril_negative_offset": lambda lib: lib.tril_indices(4, 3, -2),
    "tril_empty": lambda lib: lib.tril_indices(0, 3),
    "tril_offset_below_all": lambda lib: lib.tril_indices(3, 3, -9),
    "triu_tall": lambda lib: lib.triu_indices(4, 3, -1),
    "triu_offset_above_all": lambda lib: lib.triu_indices(3, 3, 5),
    "triu_int32": lambda lib: lib.triu_indices(3, 5, 2, dtype=lib.int32),
}


@pytest.mark.parametrize("name", list(TRIANGLE_INDICES))
def test_triangle_indices(name):
    check(TRIANGLE_INDICES[name])


@pytest.mark.parametrize("fn", [
    lambda lib: lib.tril_indices(-1, 2),
    lambda lib: lib.triu_indices(2, -1),
    lambda lib: lib.triu_indices(2, 2, dtype=lib.float32),
    lambda lib: lib.tril_indices(2, 2, dtype=lib.int16),
])
def test_triangle_indices_errors(fn):
    ours, theirs = check_raises(fn)
    assert str(ours) == str(theirs)


FILL_DIAGONAL = {
    "square": ((4, 4), {}),
    "tall": ((7, 3), {}),
    "tall_wrap": ((7, 3), {"wrap": True}),
    "wide": ((3, 5), {}),
    "wide_wrap": ((3, 5), {"wrap": True}),
    "cube": ((3, 3, 3), {}),
    "empty": ((0, 3), {}),
}


@pytest.mark.parametrize("name", list(FILL_DIAGONAL))
def test_fill_diagonal_(name):
    shape, kwargs = FILL_DIAGONAL[name]
    check(lambda lib, x: x.clone().fill_diagonal_(2.5, **kwargs) * 3, randn(*shape))


def test_fill_diagonal_writes_through_views_and_ints():
    check(lambda lib: lib.arange(12).view(4, 3).fill_diagonal_(-1, wrap=True))
    base = ember.zeros(4, 4)
    view = base[1:, 1:]
    assert view.fill_diagonal_(1) is view
    expected = torch.zeros(4, 4)
    expected[1:, 1:].fill_diagonal_(1)
    assert np.array_equal(base.numpy(), expected.numpy())
    assert base._version == 1


@pytest.mark.parametrize("shape", [(3,), (2, 3, 2)])
def test_fill_diagonal_errors(shape):
    ours, theirs = check_raises(lambda lib, x: x.fill_diagonal_(1), randn(*shape))
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_pin_memory_without_an_accelerator_raises_as_torch(name):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, name)(2, pin_memory=True)
    with pytest.raises(RuntimeError) as ours:
        getattr(ember, name)(2, pin_memory=True)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="no pinned memory allocator"):
        ember.tensor([1.0], pin_memory=True)


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1], [2, 3]], [[[1, 2], [3, 4]], [[1, 2], [3]]],
                                  [[1, 2], [3, 4], [5, 6, 7]], [[[1]], [[1], [2]]],
                                  [[1, 2], (3,)], [[1, 2], 3], [[1.5, 2.5], [3.5]]])
def test_ragged_nested_lists_raise_torchs_error(data):
    errors = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:
            lib.tensor(data)
        errors.append((type(info.value), str(info.value)))
    assert errors[1] == errors[0]


@pytest.mark.parametrize("array", [np.array([1, "a"], dtype=object), np.array(["a", "b"]),
                                   np.array([1], dtype="datetime64[D]"), np.array([b"a"]),
                                   np.array([1], dtype=np.longdouble)])
@pytest.mark.parametrize("how", ["tensor", "from_numpy", "as_tensor"])
def test_unsupported_numpy_dtypes_name_the_numpy_type(array, how):
    errors = []
    for lib in (torch, ember):
        with pytest.raises(TypeError) as info:
            getattr(lib, how)(array)
        errors.append(str(info.value))
    assert errors[1] == errors[0]


@pytest.mark.parametrize("make", [
    lambda L: L.zeros(-1), lambda L: L.zeros((2, -3)), lambda L: L.zeros(2, -1, dtype=L.long),
    lambda L: L.ones(2, -1), lambda L: L.empty(-2), lambda L: L.full((-1,), 1.0),
    lambda L: L.ones(2).new_zeros(-1), lambda L: L.ones(2).new_ones((3, -1)),
])
def test_negative_sizes_raise_torchs_text(make):
    """torch.zeros checks sizes with its own text; the other factories with the generic."""
    messages = []
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as info:
            make(lib)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("factory", ["zeros", "ones", "empty", "rand", "randn"])
@pytest.mark.parametrize("args", [(2.0,), ((2, 2.0),), (2, 2.0), ("a",)])
def test_non_integer_sizes_raise_torchs_text(factory, args):
    messages = []
    for lib in (torch, ember):
        with pytest.raises(TypeError) as info:
            getattr(lib, factory)(*args)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_factory_without_a_size_raises_as_torch(name):
    with pytest.raises(TypeError) as theirs:
        getattr(torch, name)()
    with pytest.raises(TypeError) as ours:
        getattr(ember, name)()
    assert str(ours.value).splitlines()[0] == str(theirs.value).splitlines()[0]
    # an empty size given explicitly is a 0-d tensor in both
    assert getattr(ember, name)(()).shape == getattr(torch, name)(()).shape == ()
    assert getattr(ember, name)(size=()).shape == ()
