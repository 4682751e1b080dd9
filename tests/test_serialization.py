"""Checkpoints: ember <-> PyTorch both ways, safety, corruption, atomic writes."""

import collections
import io
import os
import pickle
import random

import numpy as np
import pytest
import torch

import ember
from oracle import as_numpy

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool", "complex64"]


def _torch_tensor(name, shape=(2, 3)):
    if name == "bool":
        return torch.rand(shape) > 0.5
    if name in ("complex64",):
        return torch.randn(shape, dtype=torch.complex64)
    dtype = getattr(torch, name)
    if dtype.is_floating_point:
        return torch.randn(shape).to(dtype)
    return torch.randint(0, 100, shape).to(dtype)


def _assert_tensor_equal(e, t):
    assert isinstance(e, ember.Tensor), type(e)
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.stride()) == tuple(t.stride())
    np.testing.assert_array_equal(as_numpy(e), as_numpy(t))


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_save_ember_load_every_dtype(tmp_path, dtype):
    t = _torch_tensor(dtype)
    path = tmp_path / "t.pt"
    torch.save({"x": t, "empty": t[:0], "scalar": t[0, 0]}, path)
    loaded = ember.load(path)
    _assert_tensor_equal(loaded["x"], t)
    _assert_tensor_equal(loaded["empty"], t[:0])
    _assert_tensor_equal(loaded["scalar"], t[0, 0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_save_torch_load_every_dtype(tmp_path, dtype):
    t = _torch_tensor(dtype)
    e = ember.load(_roundtrip_torch(t, tmp_path))
    path = tmp_path / "e.pt"
    ember.save({"x": e, "scalar": e[0, 0], "empty": e[:0]}, path)
    back = torch.load(path, weights_only=True)
    assert torch.equal(back["x"], t)
    assert back["x"].dtype == t.dtype
    assert torch.equal(back["scalar"], t[0, 0])
    assert back["empty"].shape == t[:0].shape


def _roundtrip_torch(t, tmp_path):
    path = tmp_path / "src.pt"
    torch.save(t, path)
    return path


def test_views_and_shared_storage_survive_both_ways(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    obj = {"base": base, "col": base[:, 1], "t": base.t(), "row": base[2]}
    torch.save(obj, tmp_path / "v.pt")
    loaded = ember.load(tmp_path / "v.pt")
    for key in obj:
        _assert_tensor_equal(loaded[key], obj[key])
    loaded["base"][0, 1] = 100.0  # one storage: the view sees the write
    assert loaded["col"][0].item() == 100.0

    ember.save(loaded, tmp_path / "v2.pt")
    back = torch.load(tmp_path / "v2.pt", weights_only=True)
    assert back["col"].stride() == (4,)
    assert back["t"].stride() == (1, 4)
    back["base"][1, 1] = -1.0
    assert back["col"][1].item() == -1.0
    assert back["t"][1, 1].item() == -1.0


def test_non_contiguous_and_nested_containers(tmp_path):
    x = ember.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4)).permute(2, 0, 1)
    obj = collections.OrderedDict(
        a=[x, (x[1], {"deep": x[..., 0]})], n=3, f=2.5, s="text", none=None, b=True
    )
    ember.save(obj, tmp_path / "n.pt")
    back = torch.load(tmp_path / "n.pt", weights_only=True)
    assert isinstance(back, collections.OrderedDict)
    np.testing.assert_array_equal(back["a"][0].numpy(), as_numpy(x))
    np.testing.assert_array_equal(back["a"][1][1]["deep"].numpy(), as_numpy(x[..., 0]))
    assert (back["n"], back["f"], back["s"], back["none"], back["b"]) == (3, 2.5, "text", None, True)


def test_module_state_dict_roundtrip_with_torch(tmp_path):
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    torch.save(tmodel.state_dict(), tmp_path / "sd.pt")
    sd = ember.load(tmp_path / "sd.pt")
    assert list(sd.keys()) == list(tmodel.state_dict().keys())
    for key, value in tmodel.state_dict().items():
        _assert_tensor_equal(sd[key], value)
    ember.save(sd, tmp_path / "sd2.pt")
    back = torch.load(tmp_path / "sd2.pt", weights_only=True)
    tmodel.load_state_dict(back)
    assert hasattr(back, "_metadata") == hasattr(tmodel.state_dict(), "_metadata")


def test_optimizer_state_dict_from_torch(tmp_path):
    p = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "o.pt")
    state = ember.load(tmp_path / "o.pt")
    assert state["param_groups"][0]["lr"] == 0.1
    _assert_tensor_equal(state["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    _assert_tensor_equal(state["state"][0]["step"], opt.state_dict()["state"][0]["step"])


def test_parameters_load_as_parameters(tmp_path):
    torch.save({"p": torch.nn.Parameter(torch.ones(2))}, tmp_path / "p.pt")
    loaded = ember.load(tmp_path / "p.pt")
    assert isinstance(loaded["p"], ember.nn.Parameter)
    assert loaded["p"].requires_grad
    ember.save(loaded, tmp_path / "p2.pt")
    back = torch.load(tmp_path / "p2.pt", weights_only=True)
    assert isinstance(back["p"], torch.nn.Parameter)


def test_legacy_format_from_torch(tmp_path):
    base = torch.arange(10, dtype=torch.float64)
    obj = {"a": base, "view": base[2:5], "i": torch.tensor([1, 2, 3])}
    torch.save(obj, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    loaded = ember.load(tmp_path / "old.pt")
    for key in obj:
        np.testing.assert_array_equal(as_numpy(loaded[key]), obj[key].numpy())
        assert str(loaded[key].dtype) == str(obj[key].dtype)


def test_file_objects_and_pathlib(tmp_path):
    buffer = io.BytesIO()
    ember.save({"x": ember.ones(3)}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["x"].tolist() == [1.0, 1.0, 1.0]
    buffer.seek(0)
    assert ember.load(buffer)["x"].tolist() == [1.0, 1.0, 1.0]
    with open(tmp_path / "f.pt", "wb") as handle:
        ember.save(ember.zeros(2), handle)
    with open(tmp_path / "f.pt", "rb") as handle:
        assert ember.load(handle).tolist() == [0.0, 0.0]


def test_mmap_maps_storages(tmp_path):
    t = torch.randn(100, 10)
    torch.save({"t": t}, tmp_path / "m.pt")
    loaded = ember.load(tmp_path / "m.pt", mmap=True)
    np.testing.assert_array_equal(as_numpy(loaded["t"]), t.numpy())
    root = loaded["t"]._data
    while root.base is not None and not isinstance(root, np.memmap):
        root = root.base
    assert isinstance(root, np.memmap)
    ember.save({"e": ember.ones(5)}, tmp_path / "e.pt")
    assert ember.load(tmp_path / "e.pt", mmap=True)["e"].tolist() == [1.0] * 5
    with pytest.raises(ValueError, match="file path"):
        ember.load(io.BytesIO(b"PK"), mmap=True)


def test_rng_state_and_scalars_roundtrip(tmp_path):
    state = {"rng": ember.get_rng_state(), "epoch": 7, "dtype": ember.float64,
             "shape": ember.Size([2, 3])}
    ember.save(state, tmp_path / "r.pt")
    back = ember.load(tmp_path / "r.pt")
    assert back["rng"].tolist() == state["rng"].tolist()
    assert back["epoch"] == 7 and back["dtype"] is ember.float64 and back["shape"] == (2, 3)
    tback = torch.load(tmp_path / "r.pt", weights_only=True)
    assert tback["dtype"] is torch.float64 and tback["shape"] == torch.Size([2, 3])


# ---------------------------------------------------------------------------
# Safety
# ---------------------------------------------------------------------------


class _Evil:
    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return self.payload


def _malicious_payloads(sentinel):
    import subprocess

    command = f"touch {sentinel}"
    return [
        (os.system, (command,)),
        (eval, (f"open({str(sentinel)!r}, 'w').close()",)),
        (subprocess.Popen, (["touch", str(sentinel)],)),
        (exec, (f"open({str(sentinel)!r}, 'w').close()",)),
    ]


def _zip_with_pickle(tmp_path, payload_obj):
    """A valid checkpoint whose data.pkl is replaced by a pickle holding ``payload_obj``
    nested inside an otherwise normal state dict."""
    import zipfile

    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(2)}, good)
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = pickle.dumps({"w": [1, 2], "nested": {"x": payload_obj}}, protocol=2)
            dst.writestr(info, data)
    return bad


@pytest.mark.parametrize("index", range(4))
def test_malicious_pickles_are_refused_and_nothing_runs(tmp_path, index):
    sentinel = tmp_path / "pwned"
    func, args = _malicious_payloads(sentinel)[index]
    bad = _zip_with_pickle(tmp_path, _Evil((func, args)))
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global"):
        ember.load(bad)
    assert not sentinel.exists()
    # the legacy path and a bare pickle are refused as well
    with open(tmp_path / "raw.pt", "wb") as handle:
        pickle.dump(_Evil((func, args)), handle, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(tmp_path / "raw.pt")
    assert not sentinel.exists()


def test_arbitrary_module_global_refused_then_allowed(tmp_path):
    bad = _zip_with_pickle(tmp_path, collections.defaultdict(int))
    with pytest.raises(pickle.UnpicklingError, match="collections.defaultdict"):
        ember.load(bad)
    with ember.serialization.safe_globals([collections.defaultdict, int]):
        loaded = ember.load(bad)
    assert isinstance(loaded["nested"]["x"], collections.defaultdict)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(bad)
    assert ember.load(bad, weights_only=False)["nested"]["x"] == {}


# ---------------------------------------------------------------------------
# Errors and robustness
# ---------------------------------------------------------------------------


def test_missing_wrong_type_and_bad_map_location(tmp_path):
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "nope.pt")
    (tmp_path / "text.pt").write_text("hello, not a checkpoint")
    with pytest.raises(pickle.UnpicklingError):
        ember.load(tmp_path / "text.pt")
    ember.save(ember.ones(1), tmp_path / "ok.pt")
    with pytest.raises(RuntimeError):
        ember.load(tmp_path / "ok.pt", map_location="warp:0")
    assert ember.load(tmp_path / "ok.pt", map_location="cpu").tolist() == [1.0]
    assert ember.load(tmp_path / "ok.pt", map_location=lambda s, loc: s).tolist() == [1.0]
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.load(tmp_path / "ok.pt", map_location="cuda")


def test_truncations_and_byte_flips_raise_clean_exceptions(tmp_path):
    torch.save({"w": torch.randn(4, 4), "b": torch.arange(3), "v": torch.ones(2)}, tmp_path / "c.pt")
    data = (tmp_path / "c.pt").read_bytes()
    rng = random.Random(0)
    clean = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError)
    for cut in list(range(0, len(data), max(1, len(data) // 60))):
        with pytest.raises(clean):
            ember.load(io.BytesIO(data[:cut]))
    failures = 0
    for _ in range(400):
        corrupted = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        try:
            ember.load(io.BytesIO(bytes(corrupted)))
        except clean:
            failures += 1
    assert failures > 0


def test_failed_save_leaves_previous_file_intact(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save({"w": ember.ones(3)}, path)
    before = path.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ember.save({"w": ember.zeros(3), "bad": Unpicklable()}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_plain_pickle_of_tensors_and_parameters():
    x = ember.arange(6.0).reshape(2, 3).requires_grad_()
    y = pickle.loads(pickle.dumps(x))
    assert y.requires_grad and y.tolist() == x.tolist()
    p = ember.nn.Parameter(ember.ones(2))
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, ember.nn.Parameter) and q.requires_grad


def _tagged_subclass(lib, name):
    """A user's Tensor subclass, built in the test (a class statement turns the
    __torch_function__ protocol on) and published as a module global so pickle finds it."""
    cls = type(name, (lib.Tensor,), {"__module__": __name__})
    globals()[name] = cls
    return cls


def test_user_tensor_subclass_saves_as_itself():
    try:
        for lib in (torch, ember):
            cls = _tagged_subclass(lib, f"_Tagged_{lib.__name__}")
            tagged = lib.arange(3.0).as_subclass(cls)
            tagged.unit = "m"
            tagged.scale = lib.ones(2)
            buffer = io.BytesIO()
            lib.save({"a": tagged, "b": [tagged, lib.ones(1)]}, buffer)
            buffer.seek(0)
            with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
                lib.load(buffer)
            buffer.seek(0)
            loaded = lib.load(buffer, weights_only=False)
            assert type(loaded["a"]) is cls and loaded["a"] is loaded["b"][0]
            assert type(loaded["b"][1]) is lib.Tensor
            assert loaded["a"].unit == "m" and type(loaded["a"].scale) is lib.Tensor
            assert loaded["a"].tolist() == [0.0, 1.0, 2.0]
    finally:
        ember.overrides._uninstall()
