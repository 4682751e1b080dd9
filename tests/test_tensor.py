"""Tensor attributes and conversions against PyTorch: Size, shape queries, strides,
item/tolist/numpy, Python protocol methods, dtypes and detach."""

import copy
import pickle

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, check, check_raises, randn

import ember

DEVICE = oracle.DEVICE  # pytest --device cuda: ember's tensors live there (torch's on cpu)


def _pair(array):
    return ember.tensor(array.copy(), device=DEVICE), torch.tensor(array.copy())


def _on_device(query, value):
    """What torch's answer to ``query`` would be for its tensor on ``DEVICE`` (torch may
    have no GPU here: its tensor stays on the cpu)."""
    if DEVICE == "cpu":
        return value
    if query == "device":
        return f"{DEVICE}:0"
    if query == "get_device":
        return 0
    if query == "is_cuda":
        return DEVICE == "cuda"
    if query == "type":
        return value.replace("torch.", f"torch.{DEVICE}.")
    return value


SAMPLES = {
    "f32_2d": np.arange(6, dtype=np.float32).reshape(2, 3),
    "i64_3d": np.arange(24, dtype=np.int64).reshape(2, 3, 4),
    "bool_1d": np.array([True, False, True]),
    "f64_0d": np.array(2.5),
    "u8_empty": np.zeros((0, 3), np.uint8),
    "f16": np.array([1.5, -2.0], np.float16),
    "c64": np.array([1 + 2j, 3], np.complex64),
}

QUERIES = {
    "shape": lambda t: tuple(t.shape),
    "size": lambda t: tuple(t.size()),
    "size_dim": lambda t: t.size(-1) if t.dim() else None,
    "dim": lambda t: t.dim(),
    "ndim": lambda t: t.ndim,
    "ndimension": lambda t: t.ndimension(),
    "numel": lambda t: t.numel(),
    "nelement": lambda t: t.nelement(),
    "dtype": lambda t: str(t.dtype),
    "stride": lambda t: t.stride(),
    "storage_offset": lambda t: t.storage_offset(),
    "element_size": lambda t: t.element_size(),
    "itemsize": lambda t: t.itemsize,
    "nbytes": lambda t: t.nbytes,
    "is_contiguous": lambda t: t.is_contiguous(),
    "is_floating_point": lambda t: t.is_floating_point(),
    "is_complex": lambda t: t.is_complex(),
    "is_signed": lambda t: t.is_signed(),
    "tolist": lambda t: t.tolist(),
    "type": lambda t: t.type(),
    "len": lambda t: len(t) if t.dim() else None,
    "is_leaf": lambda t: t.is_leaf,
    "requires_grad": lambda t: t.requires_grad,
    "device": lambda t: str(t.device),
    "get_device": lambda t: t.get_device(),
    "is_cuda": lambda t: t.is_cuda,
    "layout": lambda t: str(t.layout),
}


@pytest.mark.parametrize("sample", list(SAMPLES))
@pytest.mark.parametrize("query", list(QUERIES))
def test_queries_match_torch(sample, query):
    if (sample, query) == ("u8_empty", "stride"):
        return  # torch.tensor(empty ndarray) keeps NumPy's (0, 0); zeros(0, 3) is below
    e, t = _pair(SAMPLES[sample])
    assert QUERIES[query](e) == _on_device(query, QUERIES[query](t))


VIEWS = {
    "transpose": lambda t: t.t(),
    "slice_step": lambda t: t[:, ::2],
    "row": lambda t: t[1],
    "offset_slice": lambda t: t[1:, 1:],
    "expand": lambda t: t[:1].expand(4, 3),
    "T": lambda t: t.T,
    "mT": lambda t: t.mT,
    "H": lambda t: t.H,
    "unsqueeze": lambda t: t.unsqueeze(1),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_view_strides_and_offsets(view):
    e, t = _pair(np.arange(6, dtype=np.float32).reshape(2, 3))
    ve, vt = VIEWS[view](e), VIEWS[view](t)
    assert ve.device == e.device and ve._base is e  # a view, on its base's device
    assert tuple(ve.shape) == tuple(vt.shape)
    assert ve.stride() == vt.stride()
    assert ve.storage_offset() == vt.storage_offset()
    assert ve.is_contiguous() == vt.is_contiguous()
    assert ve.tolist() == vt.tolist()


def test_size_is_a_tuple():
    s = ember.Size([2, 3])
    assert isinstance(s, tuple) and s == (2, 3)
    assert repr(s) == repr(torch.Size([2, 3])) == "torch.Size([2, 3])"
    assert str(ember.Size([])) == str(torch.Size([]))
    assert s.numel() == 6 and ember.Size([]).numel() == 1
    assert isinstance(s[:1], ember.Size) and s[0] == 2
    assert isinstance(s + (4,), ember.Size)
    assert pickle.loads(pickle.dumps(s)) == s
    assert ember.zeros(2, 3, device=DEVICE).shape == torch.zeros(2, 3).shape
    assert ember.zeros(2, 3, device=DEVICE).size() == (2, 3)
    assert ember.zeros(0, 3, device=DEVICE).stride() == torch.zeros(0, 3).stride()


@pytest.mark.parametrize("fn", [
    lambda lib: lib.Size([2, 3]) * 2,
    lambda lib: 2 * lib.Size([2]),
    lambda lib: (4,) + lib.Size([2]),
    lambda lib: lib.Size([2]) + (4,),
    lambda lib: lib.Size([2, 3])[::-1],
    lambda lib: lib.Size([2, 3])[1],
    lambda lib: lib.Size(),
    lambda lib: lib.Size([lib.tensor(3), np.int64(2)]),
    lambda lib: lib.Size(d for d in (1, 2)),
    lambda lib: lib.zeros(2, 3).shape[1:],
])
def test_size_ops(fn):
    e, t = fn(ember), fn(torch)
    assert repr(e) == repr(t) and type(e).__name__ == type(t).__name__


def test_size_errors():
    check_raises(lambda lib: lib.Size([2.5]))
    check_raises(lambda lib: lib.Size(["a"]))


@pytest.mark.parametrize("fn", [
    lambda t: t.item(),
    lambda t: float(t),
    lambda t: int(t),
    lambda t: bool(t),
    lambda t: complex(t),
    lambda t: t.tolist(),
    lambda t: f"{t:.3f}" if t.is_floating_point() and t.dim() == 0 else f"{t}",
])
@pytest.mark.parametrize("value", [np.array(2.75, np.float32), np.array([-3]), np.array(True),
                                   np.array([[0.0]]), np.array(7, np.uint8)],
                         ids=["f32", "i64", "bool", "f64_11", "u8"])
def test_scalar_conversions(fn, value):
    e, t = _pair(value)
    with oracle.on_device(ember):  # f"{t}" prints as torch's would with DEVICE the default
        got = fn(e)
    want = fn(t)
    assert got == want and type(got) is type(want)


def test_index_protocol():
    seq = list(range(10))
    assert seq[ember.tensor(3, device=DEVICE)] == seq[torch.tensor(3)]
    assert seq[ember.tensor([4], device=DEVICE)] == 4
    assert [1, 2, 3][ember.tensor(1, dtype=ember.int32, device=DEVICE)] == 2
    import operator

    assert operator.index(ember.tensor(5, device=DEVICE)) == 5


@pytest.mark.parametrize("fn", [
    lambda lib: lib.tensor([1.5, 2.0]).item(),
    lambda lib: bool(lib.tensor([1, 2])),
    lambda lib: bool(lib.tensor([])),
    lambda lib: len(lib.tensor(1.0)),
    lambda lib: iter(lib.tensor(1.0)),
    lambda lib: [1, 2][lib.tensor(1.0)],
    lambda lib: [1, 2][lib.tensor([1, 0])],
    lambda lib: lib.tensor([1.0], requires_grad=True).cpu().numpy(),  # cpu: numpy() checks the device first
    lambda lib: lib.zeros(2).size(2),
    lambda lib: lib.zeros(2).stride(-2),
    lambda lib: lib.zeros(2, dtype=lib.int64).requires_grad_(),
    lambda lib: lib.zeros(2, dtype=lib.int64).float().sum().backward(),
    lambda lib: (lib.ones(2, requires_grad=True) * 2).requires_grad_(False),
    lambda lib: int(lib.tensor([1, 2])),
    lambda lib: float(lib.zeros(0)),
    lambda lib: complex(lib.zeros(3)),
    lambda lib: f"{lib.tensor([2.5]):>20}",
])
def test_conversion_errors(fn):
    check_raises(fn)


def test_numpy_shares_memory_and_array_protocol():
    t = ember.zeros(3)
    array = t.numpy()
    array[0] = 4
    assert t[0].item() == 4
    assert np.asarray(t) is not None and np.asarray(t)[0] == 4
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert ember.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]
    assert ember.ones(2, requires_grad=True).numpy(force=True).tolist() == [1.0, 1.0]
    bf = ember.tensor([1.5], dtype=ember.bfloat16)
    assert bf.tolist() == torch.tensor([1.5], dtype=torch.bfloat16).tolist()
    assert bf.item() == 1.5


def test_numpy_on_the_oracle_device():
    """.numpy() needs a host tensor: a cuda one raises PyTorch's TypeError and is copied
    with .cpu() first; the host copy is the device tensor's values."""
    e, t = _pair(np.arange(6, dtype=np.float32).reshape(2, 3))
    if DEVICE == "cpu":
        assert np.shares_memory(e.numpy(), np.asarray(e))
    else:
        message = (f"can't convert {e.device} device type tensor to numpy. Use Tensor.cpu() "
                   "to copy the tensor to host memory first.")
        with pytest.raises(TypeError) as error:
            e.numpy()
        assert str(error.value) == message
    host = e.cpu().numpy()
    assert type(host) is np.ndarray and np.array_equal(host, t.numpy())
    assert np.array_equal(e.numpy(force=True), t.numpy())


def test_iteration_yields_rows():
    e, t = _pair(np.arange(6).reshape(3, 2))
    assert [r.tolist() for r in e] == [r.tolist() for r in t]
    assert all(r.device == e.device for r in e)
    assert [x.item() for x in ember.arange(3, device=DEVICE)] == [0, 1, 2]


def test_detach_and_data():
    x = ember.ones(3, requires_grad=True, device=DEVICE)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d[0] = 5  # shares memory and version counter with y
    assert y[0].item() == 5 and y._version == d._version
    assert not x.data.requires_grad
    assert d.device == y.device == x.data.device
    x.data = ember.zeros(3, device=DEVICE)
    assert x.tolist() == [0.0, 0.0, 0.0] and x.requires_grad
    z = x * 3
    assert z.detach_() is z and z.grad_fn is None and not z.requires_grad


def test_casts_and_type_as_are_differentiable():
    check(lambda lib, a: a.double() * 2, randn(3))
    check(lambda lib, a: a.type_as(lib.zeros(1, dtype=lib.float64)) ** 2, randn(3))
    check(lambda lib, a: a.type(lib.float64) * a.double(), randn(3))
    check(lambda lib, a: a.long(), randn(3) * 5, grad=False)
    check(lambda lib, a: a.bool(), np.array([0.0, 2.0, -1.0]), grad=False)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "int8", "int16",
                                  "int32", "int64", "uint8", "bool", "complex64",
                                  "complex128"])
def test_dtype_objects(name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == repr(t)
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert e.is_signed == t.is_signed
    assert e.itemsize == t.itemsize
    assert ember.zeros(2, dtype=e).element_size() == torch.zeros(2, dtype=t).element_size()
    assert pickle.loads(pickle.dumps(e)) is e


def test_dtype_aliases_and_default_dtype():
    for alias in ("half", "float", "double", "short", "int", "long", "cfloat", "cdouble"):
        assert repr(getattr(ember, alias)) == repr(getattr(torch, alias))
    assert ember.get_default_dtype() == ember.float32
    try:
        ember.set_default_dtype(ember.float64)
        assert ember.tensor([1.5]).dtype == ember.float64
        assert ember.tensor([1]).dtype == ember.int64
    finally:
        ember.set_default_dtype(ember.float32)
    check_raises(lambda lib: lib.set_default_dtype(lib.int32))


def test_deepcopy_and_pickle_keep_values():
    x = ember.arange(4.0, device=DEVICE).requires_grad_()
    for y in (copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert y.tolist() == x.tolist() and y.requires_grad and y._data is not x._data
        assert y.device == x.device
        np.testing.assert_array_equal(as_numpy(y), as_numpy(x))
    check_raises(lambda lib: copy.deepcopy(lib.ones(2, requires_grad=True) * 2))


def test_requires_grad_flags():
    x = ember.zeros(2, device=DEVICE)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    assert ember.zeros(2, dtype=ember.complex64).requires_grad_().requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        ember.zeros(2, dtype=ember.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype"):
        ember.tensor([1], requires_grad=True)
    y = ember.zeros(2, dtype=ember.int64)
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype"):
        y.requires_grad = True


def test_pin_memory_with_and_without_gpu():
    """Without a GPU both refuse with PyTorch's error; where one is there (for ember: CuPy
    sees it, or the CuPy double), a cpu tensor's pinned copy is pinned and on cpu, and a
    cuda tensor is refused as PyTorch refuses it."""
    e_gpu, t_gpu = ember.cuda.is_available(), torch.cuda.is_available()
    if not (e_gpu or t_gpu):
        e, t = check_raises(lambda lib: lib.zeros(2, device="cpu").pin_memory())
        assert str(e) == str(t)
    for lib, has_gpu in ((ember, e_gpu), (torch, t_gpu)):
        if has_gpu:
            pinned = lib.zeros(2, device="cpu").pin_memory()
            assert pinned.is_pinned() and pinned.device.type == "cpu"
    if e_gpu and t_gpu:
        messages = []
        for lib in (ember, torch):
            with pytest.raises(RuntimeError) as info:
                lib.zeros(2, device="cuda").pin_memory()
            messages.append(str(info.value))
        assert messages[0] == messages[1]
    assert ember.zeros(2).is_pinned() is torch.zeros(2).is_pinned() is False


def test_array_protocol_copy_flag():
    t = ember.zeros(3)
    copied = np.array(t, copy=True)
    copied[0] = 1
    assert t[0].item() == 0
    shared = np.asarray(t)
    shared[1] = 2
    assert t[1].item() == 2


def test_float_of_a_tensor_requiring_grad_warns_once_as_torch(monkeypatch):
    """PyTorch warns once per process (TORCH_WARN_ONCE), so only ember's side is checked
    here, from a fresh flag: the first float() warns, later ones and item()/int() don't."""
    import warnings

    from ember import _tensor

    monkeypatch.setattr(_tensor, "_FLOAT_OF_GRAD_WARNED", [False])
    x = ember.ones(1, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True to a "
                                         "scalar may lead to unexpected behavior"):
        float(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        float(x)
        x.item()
        int(x)
        float(x.detach())


def test_float_of_a_tensor_requiring_grad_is_quiet_outside_grad_mode(monkeypatch):
    """PyTorch checks grad mode too: float() under no_grad/inference_mode neither warns
    nor uses up the once-per-process warning (LBFGS's float(loss) runs under no_grad)."""
    import subprocess
    import sys
    import warnings

    from ember import _tensor

    program = ("import warnings, {lib} as torch\n"
               "warnings.simplefilter('always')\n"
               "x = torch.ones(1, requires_grad=True) * 2\n"
               "with warnings.catch_warnings(record=True) as caught:\n"
               "    with torch.no_grad():\n"
               "        float(x)\n"
               "    with torch.inference_mode():\n"
               "        float(x)\n"
               "    print(len(caught))\n"
               "    float(x)\n"
               "    print(len(caught))\n")
    counts = subprocess.run([sys.executable, "-c", program.format(lib="torch")],
                            capture_output=True, text=True, check=True).stdout.split()
    assert counts == ["0", "1"]
    monkeypatch.setattr(_tensor, "_FLOAT_OF_GRAD_WARNED", [False])
    x = ember.ones(1, requires_grad=True) * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ember.no_grad():
            float(x)
        with ember.inference_mode():
            float(x)
        ours = [str(len(caught))]
        float(x)
        ours.append(str(len(caught)))
    assert ours == counts
