"""Top-level helpers against PyTorch: finfo/iinfo, promotion queries, legacy types,
threads, determinism, compile, and the cuda/accelerator/backends namespaces on a
machine without a GPU."""

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember

FLOATS = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]
ALL = FLOATS + INTS + ["bool", "uint16", "uint32", "uint64"]


@pytest.mark.parametrize("name", FLOATS + [None])
def test_finfo(name):
    e = ember.finfo(getattr(ember, name)) if name else ember.finfo()
    t = torch.finfo(getattr(torch, name)) if name else torch.finfo()
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, field) == getattr(t, field), field
    assert repr(e) == repr(t)


@pytest.mark.parametrize("name", INTS)
def test_iinfo(name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(e, field) == getattr(t, field), field
    assert repr(e) == repr(t)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.finfo(lib.int32),
    lambda lib: lib.iinfo(lib.float32),
    lambda lib: lib.iinfo(lib.bool),
    lambda lib: lib.is_nonzero(lib.tensor([1, 2])),
    lambda lib: lib.is_nonzero(lib.tensor([])),
    lambda lib: lib.is_floating_point(1.0),
    lambda lib: lib.set_num_threads(0),
    lambda lib: lib.FloatTensor(-1),
    lambda lib: lib.Tensor(2.0),
    lambda lib: lib.zeros(2).type("torch.FooTensor"),
    lambda lib: lib.zeros(2).type("torch.cuda.FloatTensor"),
])
def test_errors_match_torch(fn):
    check_raises(fn)


@pytest.mark.parametrize("a", ALL)
@pytest.mark.parametrize("b", ALL)
def test_promote_types_and_can_cast(a, b):
    try:
        want = str(torch.promote_types(getattr(torch, a), getattr(torch, b)))
    except RuntimeError as error:
        with pytest.raises(RuntimeError) as info:
            ember.promote_types(getattr(ember, a), getattr(ember, b))
        assert str(info.value) == str(error)
        return
    assert str(ember.promote_types(getattr(ember, a), getattr(ember, b))) == want
    assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == torch.can_cast(
        getattr(torch, a), getattr(torch, b))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.result_type(lib.tensor([1]), 1.0),
    lambda lib: lib.result_type(lib.tensor([1], dtype=lib.int8), 1000),
    lambda lib: lib.result_type(lib.tensor([1.0], dtype=lib.float16), lib.tensor(1.0)),
    lambda lib: lib.result_type(lib.tensor([1], dtype=lib.uint8), lib.tensor(1, dtype=lib.int8)),
    lambda lib: lib.result_type(lib.tensor([True]), 2),
    lambda lib: lib.result_type(lib.tensor([1]), 1j),
    lambda lib: lib.result_type(2, 1.0),
    lambda lib: lib.result_type(True, 1),
    lambda lib: lib.result_type(lib.zeros(2, dtype=lib.uint16), 1),
])
def test_result_type(fn):
    assert str(fn(ember)) == str(fn(torch))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.is_floating_point(lib.tensor([1])),
    lambda lib: lib.is_floating_point(lib.tensor([1.0], dtype=lib.bfloat16)),
    lambda lib: lib.is_complex(lib.tensor([1j])),
    lambda lib: lib.is_complex(lib.tensor([1.0])),
    lambda lib: lib.is_nonzero(lib.tensor([0.0])),
    lambda lib: lib.is_nonzero(lib.tensor([[3]])),
    lambda lib: lib.is_tensor(lib.zeros(1)),
    lambda lib: lib.is_tensor([1]),
    lambda lib: lib.is_storage(1),
    lambda lib: lib.numel(lib.zeros(2, 3)),
    lambda lib: lib.typename(lib.zeros(2)),
    lambda lib: lib.typename(lib.zeros(2, dtype=lib.int64)),
    lambda lib: lib.typename(lib.zeros(2, dtype=lib.uint8)),
    lambda lib: lib.typename(3),
    lambda lib: lib.zeros(2, dtype=lib.bfloat16).type(),
    lambda lib: lib.zeros(2).type(lib.float64).dtype,
    lambda lib: lib.zeros(2).type("torch.LongTensor").dtype,
    lambda lib: lib.zeros(2).type(lib.LongTensor),
    lambda lib: lib.zeros(2, dtype=lib.int32).type(lib.DoubleTensor),
])
def test_queries(fn):
    e, t = fn(ember), fn(torch)
    assert str(e) == str(t)


LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
          "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("args", [([1, 0],), ([[1.0, 2.5]],), (2, 3), ((2, 3),), (), (0,)],
                         ids=["list", "nested", "sizes", "tuple_data", "empty", "zero"])
def test_legacy_constructors(name, args):
    e = getattr(ember, name)(*args)
    t = getattr(torch, name)(*args)
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype) == str(t.dtype)
    assert type(e) is ember.Tensor
    if args and isinstance(args[0], list):
        np.testing.assert_array_equal(e.float().numpy(), t.float().numpy())


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_isinstance(name):
    cls_e, cls_t = getattr(ember, name), getattr(torch, name)
    for dt in ("float32", "float64", "int64", "uint8", "bool", "bfloat16"):
        x_e = ember.zeros(2, dtype=getattr(ember, dt))
        x_t = torch.zeros(2, dtype=getattr(torch, dt))
        assert isinstance(x_e, cls_e) == isinstance(x_t, cls_t), dt
    assert str(cls_e.dtype) == str(cls_t.dtype)
    assert isinstance(cls_e([1]), ember.Tensor)


def test_legacy_size_argument_and_tensor_constructor():
    assert tuple(ember.FloatTensor(ember.Size([2, 3])).shape) == (2, 3)
    assert ember.FloatTensor((2, 3)).tolist() == [2.0, 3.0]
    assert str(ember.Tensor([1, 2]).dtype) == "torch.float32"
    assert tuple(ember.Tensor(2).shape) == (2,)
    assert tuple(ember.Tensor().shape) == (0,)
    x = ember.zeros(2)
    assert ember.FloatTensor(x) is x


def test_set_default_tensor_type():
    try:
        ember.set_default_tensor_type(ember.DoubleTensor)
        assert ember.get_default_dtype() == ember.float64
        assert ember.tensor([1.5]).dtype == ember.float64
        ember.set_default_tensor_type("torch.FloatTensor")
        assert ember.get_default_dtype() == ember.float32
    finally:
        ember.set_default_dtype(ember.float32)


def test_threads_and_determinism():
    before = ember.get_num_threads()
    assert before >= 1
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(before)
    assert not ember.are_deterministic_algorithms_enabled()
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.are_deterministic_algorithms_enabled()
    assert ember.is_deterministic_algorithms_warn_only_enabled()
    ember.use_deterministic_algorithms(False)
    assert not ember.are_deterministic_algorithms_enabled()


def test_compile_returns_the_callable():
    def f(x):
        return x * 2

    assert ember.compile(f) is f
    assert ember.compile(mode="max-autotune")(f) is f
    assert ember.compile(f, backend="eager", fullgraph=True) is f


def test_cuda_without_gpu():
    assert ember.cuda.is_available() is torch.cuda.is_available() is False
    assert ember.cuda.device_count() == torch.cuda.device_count() == 0
    ember.cuda.manual_seed(1)
    ember.cuda.manual_seed_all(1)
    ember.cuda.empty_cache()
    for name in ("memory_allocated", "max_memory_allocated", "memory_reserved",
                 "max_memory_reserved", "memory_stats"):  # nothing allocated: 0, as torch
        assert getattr(ember.cuda, name)() == getattr(torch.cuda, name)(), name
    for call in (ember.cuda.current_device, ember.cuda.synchronize,
                 ember.cuda.get_device_name, ember.cuda.Event, ember.cuda.Stream,
                 lambda: ember.cuda.set_device(0), lambda: ember.zeros(2, device="cuda"),
                 lambda: ember.zeros(2).cuda(), lambda: ember.zeros(2).to("cuda:0"),
                 lambda: ember.Generator("cuda")):
        with pytest.raises(RuntimeError, match="CUDA"):
            call()
    assert not ember.cuda.is_bf16_supported()


def test_accelerator_and_backends():
    assert ember.accelerator.is_available() == torch.accelerator.is_available()
    assert ember.accelerator.current_accelerator() == torch.accelerator.current_accelerator()
    assert ember.accelerator.device_count() == torch.accelerator.device_count()
    assert ember.backends.mps.is_available() is False
    assert ember.backends.mps.is_built() is False
    for name, value in (("benchmark", False), ("deterministic", False), ("enabled", True)):
        assert getattr(ember.backends.cudnn, name) == getattr(torch.backends.cudnn, name) == value
    ember.backends.cudnn.benchmark = True
    ember.backends.cudnn.deterministic = True
    assert ember.backends.cudnn.benchmark and ember.backends.cudnn.deterministic
    ember.backends.cudnn.benchmark = ember.backends.cudnn.deterministic = False
    ember.backends.cuda.matmul.allow_tf32 = True
    assert ember.backends.cuda.matmul.allow_tf32
    ember.backends.cuda.matmul.allow_tf32 = False
    assert isinstance(ember.backends.cudnn.is_available(), bool)
    assert isinstance(ember.backends.mkldnn.is_available(), bool)
    assert ember.backends.mkldnn.enabled
    assert isinstance(ember.backends.cpu.get_cpu_capability(), str)
    import ember.backends.cudnn as cudnn

    assert cudnn is ember.backends.cudnn


def test_legacy_types_are_not_tensor_subclasses():
    assert issubclass(ember.FloatTensor, ember.Tensor) == issubclass(torch.FloatTensor,
                                                                     torch.Tensor)
    assert isinstance(ember.zeros(2), (ember.LongTensor, ember.FloatTensor))


@pytest.mark.parametrize("calls", [["high"], ["medium", "highest"], ["low"], ["high", "low"], []])
def test_float32_matmul_precision_like_torch(calls):
    import warnings

    before = torch.get_float32_matmul_precision()
    try:
        seen = []
        for lib in (torch, ember):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                for precision in calls:
                    lib.set_float32_matmul_precision(precision)
            seen.append((lib.get_float32_matmul_precision(), len(caught)))
            lib.set_float32_matmul_precision("highest")
        assert seen[0] == seen[1]
    finally:
        torch.set_float32_matmul_precision(before)


@pytest.mark.parametrize("value", [3, None])
def test_float32_matmul_precision_wants_a_str(value):
    with pytest.raises(RuntimeError) as theirs:
        torch.set_float32_matmul_precision(value)
    with pytest.raises(RuntimeError) as ours:
        ember.set_float32_matmul_precision(value)
    assert str(ours.value) == str(theirs.value)


def test_version_module_like_a_cpu_build():
    import ember.version

    assert ember.version.__version__ == ember.__version__
    assert ember.version.cuda == (None if not ember.cuda.is_available() else ember.version.cuda)
    assert isinstance(ember.version.git_version, str) and ember.version.hip is None
    assert {"cuda", "git_version", "hip", "debug"} <= set(dir(torch.version))
