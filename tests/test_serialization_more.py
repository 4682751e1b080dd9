"""Checkpoints of subclasses, tensors with attributes, MaskedTensor, nested tensors, and
torch.serialization's options (weights-only allowlists, skip_data, endianness, mmap,
config): ember -> ember, ember -> torch and torch -> ember, torch.load as the oracle."""

import collections
import io
import mmap as _mmap
import os
import pathlib
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import torch

import ember
from oracle import as_numpy


@pytest.fixture(autouse=True)
def _quiet_and_plain_afterwards():
    """Masked and nested tensors warn that they are prototypes; subclasses and
    MaskedTensors install the __torch_function__ trampolines, removed after each test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    ember.overrides._uninstall()


def _saved(lib, obj, **kwargs):
    buffer = io.BytesIO()
    lib.save(obj, buffer, **kwargs)
    buffer.seek(0)
    return buffer


def _load(lib, buffer, **kwargs):
    buffer.seek(0)
    return lib.load(buffer, **kwargs)


def _subclass(lib, name):
    """A Tensor subclass of ``lib`` published under ``name`` in this module, so both
    libraries' pickles name (and find) the same ``tests...:name`` class."""
    cls = type(name, (lib.Tensor,), {"__module__": __name__})
    globals()[name] = cls
    return cls


# ---------------------------------------------------------------------------
# Tensor subclasses, attributes, Parameters
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["ember", "torch"])
def test_subclass_with_attributes_crosses_libraries(writer):
    src, dst = (ember, torch) if writer == "ember" else (torch, ember)
    cls = _subclass(src, "_Unit")
    tagged = src.arange(3.0).as_subclass(cls)
    tagged.unit = "m"
    tagged.scale = src.ones(2)
    buffer = _saved(src, {"a": tagged, "b": [tagged]})
    target_cls = _subclass(dst, "_Unit")  # the reader's own class under the same path
    with pytest.raises(pickle.UnpicklingError, match=rf"GLOBAL {__name__}\._Unit was not an "
                                                     "allowed global by default"):
        _load(dst, buffer)
    loaded = _load(dst, buffer, weights_only=False)
    assert type(loaded["a"]) is target_cls and loaded["b"][0] is loaded["a"]
    assert loaded["a"].unit == "m" and type(loaded["a"].scale) is dst.Tensor
    np.testing.assert_array_equal(as_numpy(loaded["a"]), [0.0, 1.0, 2.0])
    before = dst.serialization.get_safe_globals()
    with dst.serialization.safe_globals([target_cls]):  # allowlisted: weights-only loads it
        again = _load(dst, buffer)
    assert type(again["a"]) is target_cls and again["a"].unit == "m"
    assert dst.serialization.get_safe_globals() == before


@pytest.mark.parametrize("writer,reader", [("ember", "ember"), ("ember", "torch"),
                                           ("torch", "ember")])
def test_parameter_of_a_subclass_keeps_class_flag_and_grad(writer, reader):
    src, dst = {"ember": ember, "torch": torch}[writer], {"ember": ember, "torch": torch}[reader]
    cls = _subclass(src, "_ParamSub")
    param = src.nn.Parameter(src.arange(3.0).as_subclass(cls))
    assert type(param) is cls and isinstance(param, src.nn.Parameter)
    buffer = _saved(src, param)
    reader_cls = _subclass(dst, "_ParamSub")
    loaded = _load(dst, buffer, weights_only=False)
    assert type(loaded) is reader_cls and loaded.requires_grad
    assert isinstance(loaded, dst.nn.Parameter)
    np.testing.assert_array_equal(as_numpy(loaded.detach()), [0.0, 1.0, 2.0])


@pytest.mark.parametrize("writer", ["ember", "torch"])
def test_plain_tensor_and_parameter_attributes_survive(writer):
    src, dst = (ember, torch) if writer == "ember" else (torch, ember)
    tensor = src.arange(4.0)
    tensor.unit = "kg"
    param = src.nn.Parameter(src.ones(2))
    param.tag = {"lr_scale": 0.5}
    loaded = _load(dst, _saved(src, {"t": tensor, "p": param}))  # weights-only: allowed
    assert type(loaded["t"]) is dst.Tensor and loaded["t"].unit == "kg"
    assert type(loaded["p"]) is dst.nn.Parameter and loaded["p"].tag == {"lr_scale": 0.5}
    np.testing.assert_array_equal(as_numpy(loaded["t"]), np.arange(4.0))


def test_ember_writes_torchs_globals_for_attributes():
    param = ember.nn.Parameter(ember.ones(2))
    param.tag = 1
    tensor = ember.ones(1)
    tensor.unit = "m"
    pickled = zipfile.ZipFile(_saved(ember, [param, tensor, ember.ones(1)])).read(
        "archive/data.pkl")
    assert b"_rebuild_parameter_with_state" in pickled
    assert pickled.count(b"_rebuild_from_type_v2") == 1  # only the tensor with attributes


def test_missing_class_raises_torchs_attribute_error():
    cls = _subclass(torch, "_Gone")
    buffer = _saved(torch, torch.ones(2).as_subclass(cls))
    del globals()["_Gone"]
    with pytest.raises(AttributeError) as expected:
        _load(torch, buffer, weights_only=False)
    with pytest.raises(AttributeError) as got:
        _load(ember, buffer, weights_only=False)
    assert str(got.value) == str(expected.value)
    assert "Can't get attribute '_Gone'" in str(got.value)


def test_class_that_is_not_a_tensor_is_refused():
    buffer = _saved(torch, torch.ones(2).as_subclass(_subclass(torch, "_NotTensor")))
    globals()["_NotTensor"] = dict
    with pytest.raises(RuntimeError, match="does not inherit from Tensor"):
        _load(ember, buffer, weights_only=False)


# ---------------------------------------------------------------------------
# MaskedTensor
# ---------------------------------------------------------------------------


def _masked(lib, requires_grad=False):
    data = lib.arange(6.0).reshape(2, 3)
    mask = lib.tensor([[True, False, True], [False, True, True]])
    return lib.masked.masked_tensor(data, mask, requires_grad=requires_grad)


def _assert_masked_equal(got, expected):
    assert type(got).__name__ == "MaskedTensor"
    np.testing.assert_array_equal(as_numpy(got.get_mask()), as_numpy(expected.get_mask()))
    np.testing.assert_array_equal(as_numpy(got.get_data().detach()),
                                  as_numpy(expected.get_data().detach()))
    assert got.requires_grad == expected.requires_grad


@pytest.mark.parametrize("writer,reader", [("ember", "ember"), ("ember", "torch"),
                                           ("torch", "ember")])
def test_masked_tensor_keeps_its_mask(writer, reader):
    src, dst = {"ember": ember, "torch": torch}[writer], {"ember": ember, "torch": torch}[reader]
    original = _masked(src, requires_grad=True)
    buffer = _saved(src, {"mt": original})
    message = ("GLOBAL torch.masked.maskedtensor.core.MaskedTensor was not an allowed global "
               "by default")
    with pytest.raises(pickle.UnpicklingError, match=message):  # not allowlisted in torch
        _load(dst, buffer)
    _assert_masked_equal(_load(dst, buffer, weights_only=False)["mt"], original)
    cls = ember.masked.MaskedTensor if dst is ember else torch.masked.MaskedTensor
    with dst.serialization.safe_globals([cls]):
        _assert_masked_equal(_load(dst, buffer)["mt"], original)


@pytest.mark.parametrize("reader", ["ember", "torch"])
def test_sparse_masked_tensor_keeps_layout_and_mask(reader):
    """torch.save cannot write a sparse MaskedTensor (is_coalesced has no masked kernel);
    ember writes the form torch.load reads."""
    data = ember.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse()
    mask = ember.tensor([[False, True], [True, False]]).to_sparse()
    original = ember.masked.masked_tensor(data, mask)
    loaded = _load({"ember": ember, "torch": torch}[reader], _saved(ember, original),
                   weights_only=False)
    assert str(loaded.layout) == "torch.sparse_coo"
    np.testing.assert_array_equal(as_numpy(loaded.get_mask().to_dense()),
                                  [[False, True], [True, False]])
    np.testing.assert_array_equal(as_numpy(loaded.get_data().to_dense()), [[0, 1.0], [2.0, 0]])


def test_masked_tensor_loaded_computes_like_the_original():
    loaded = _load(ember, _saved(ember, _masked(ember)), weights_only=False)
    expected = _masked(torch).sum()
    np.testing.assert_array_equal(as_numpy(loaded.sum().get_data()),
                                  as_numpy(expected.get_data()))


# ---------------------------------------------------------------------------
# Nested tensors
# ---------------------------------------------------------------------------


def _entries(lib):
    return [lib.arange(6.0).reshape(2, 3), lib.ones(1, 3), lib.zeros(3, 3) - 1]


def _nested(lib, layout, requires_grad=False):
    kind = {"strided": lib.strided, "jagged": lib.jagged}[layout]
    return lib.nested.nested_tensor(_entries(lib), layout=kind, requires_grad=requires_grad)


def _assert_nested_equal(got, expected, layout):
    assert got.is_nested and got.requires_grad == expected.requires_grad
    assert str(got.layout).rsplit(".", 1)[-1] == layout
    got_entries, expected_entries = got.unbind(), expected.unbind()
    assert len(got_entries) == len(expected_entries)
    for g, e in zip(got_entries, expected_entries):
        np.testing.assert_array_equal(as_numpy(g.detach()), as_numpy(e.detach()))
    if layout == "jagged":
        np.testing.assert_array_equal(as_numpy(got.offsets()), as_numpy(expected.offsets()))


@pytest.mark.parametrize("layout", ["strided", "jagged"])
@pytest.mark.parametrize("writer,reader", [("ember", "ember"), ("ember", "torch"),
                                           ("torch", "ember")])
def test_nested_tensors_roundtrip_and_cross(layout, writer, reader):
    libs = {"ember": ember, "torch": torch}
    original = _nested(libs[writer], layout, requires_grad=True)
    buffer = _saved(libs[writer], {"nt": original})
    loaded = _load(libs[reader], buffer)["nt"]  # weights-only: allowed, as in torch
    _assert_nested_equal(loaded, original, layout)


def test_jagged_with_lengths_from_torch():
    values = torch.arange(12.0).reshape(6, 2)
    original = torch.nested.nested_tensor_from_jagged(
        values, torch.tensor([0, 3, 6]), torch.tensor([2, 1]))
    loaded = _load(ember, _saved(torch, original))
    assert not loaded.is_contiguous()
    np.testing.assert_array_equal(as_numpy(loaded.lengths()), [2, 1])
    for g, e in zip(loaded.unbind(), original.unbind()):
        np.testing.assert_array_equal(as_numpy(g), as_numpy(e))


def test_empty_and_scalar_entry_nested_tensors():
    # torch keeps an empty nested tensor's sizes as a 0-d tensor (and cannot load its own
    # file back: an internal assert); ember reads torch's file and its own
    for src in (torch, ember):
        loaded = _load(ember, _saved(src, src.nested.nested_tensor([], dtype=src.float32)))
        assert loaded.is_nested and loaded.unbind() == ()
    scalars = ember.nested.nested_tensor([ember.tensor(1.0), ember.tensor(2.0)])
    from_torch = _load(torch, _saved(ember, scalars))
    assert [t.item() for t in from_torch.unbind()] == [1.0, 2.0]
    back = _load(ember, _saved(torch, from_torch))
    assert [tuple(t.shape) for t in back.unbind()] == [(), ()]
    assert [t.item() for t in back.unbind()] == [1.0, 2.0]


def test_nested_strided_file_matches_torchs_layout():
    pickled = zipfile.ZipFile(_saved(ember, _nested(ember, "strided"))).read("archive/data.pkl")
    assert pickled.startswith(b"\x80\x02ctorch._utils\n_rebuild_nested_tensor\n")


def test_legacy_format_files_rebuild_from_filled_storages():
    """torch's pre-1.6 format puts the storage bytes after the pickle; rebuilds that read
    values (masked copies, nested sizes and offsets) must still see the real bytes."""
    tensor = torch.arange(3.0)
    tensor.unit = "m"
    shared = torch.arange(6.0)
    original = {"mt": _masked(torch), "nt": _nested(torch, "strided"),
                "njt": _nested(torch, "jagged"), "t": tensor, "views": [shared[1:3], shared]}
    buffer = _saved(torch, original, _use_new_zipfile_serialization=False)
    loaded = _load(ember, buffer, weights_only=False)
    _assert_masked_equal(loaded["mt"], original["mt"])
    _assert_nested_equal(loaded["nt"], original["nt"], "strided")
    _assert_nested_equal(loaded["njt"], original["njt"], "jagged")
    assert loaded["t"].unit == "m" and loaded["t"].tolist() == [0.0, 1.0, 2.0]
    assert loaded["views"][0].tolist() == [1.0, 2.0]
    loaded["views"][1][1] = 10.0  # still one storage
    assert loaded["views"][0].tolist() == [10.0, 2.0]


# ---------------------------------------------------------------------------
# Weights-only allowlists
# ---------------------------------------------------------------------------


def test_get_unsafe_globals_in_checkpoint_matches_torch():
    cls = _subclass(torch, "_Flagged")
    buffer = _saved(torch, {"a": torch.ones(2).as_subclass(cls), "m": _masked(torch),
                            "n": _nested(torch, "jagged"), "plain": torch.ones(1)})
    expected = torch.serialization.get_unsafe_globals_in_checkpoint(buffer)
    buffer.seek(0)
    got = ember.serialization.get_unsafe_globals_in_checkpoint(buffer)
    assert sorted(got) == sorted(expected) == sorted(
        [f"{__name__}._Flagged", "torch.masked.maskedtensor.core.MaskedTensor"])
    with ember.serialization.safe_globals([ember.masked.MaskedTensor]):
        buffer.seek(0)
        assert ember.serialization.get_unsafe_globals_in_checkpoint(buffer) == [
            f"{__name__}._Flagged"]
    assert ember.serialization.get_unsafe_globals_in_checkpoint(
        _saved(ember, {"w": ember.ones(2)})) == []
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Expected input to be a checkpoint"):
            lib.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(b"not a zip"))


@pytest.mark.parametrize("entry,error,message", [
    ((int, "builtins.int", "extra"), ValueError, "Expected tuple of length 2"),
    ((int, 3), TypeError, "Expected second item in tuple to be str"),
])
def test_malformed_safe_global_entries(entry, error, message):
    for lib in (torch, ember):
        buffer = _saved(lib, {"w": lib.ones(1)})
        with lib.serialization.safe_globals([entry]):
            with pytest.raises(error, match=message):
                _load(lib, _saved(lib, {"s": collections.defaultdict(int)}))
        assert _load(lib, buffer)["w"].tolist() == [1.0]


# ---------------------------------------------------------------------------
# skip_data, endianness, mmap, config
# ---------------------------------------------------------------------------


def test_skip_data_save_and_load():
    values = ember.arange(1.0, 7.0).reshape(2, 3)
    with ember.serialization.skip_data():
        buffer = _saved(ember, {"w": values})
    assert not ember._serialization_options.skipping_data()
    from_torch = _load(torch, buffer)["w"]
    assert from_torch.shape == (2, 3) and from_torch.abs().sum() == 0
    full = _saved(ember, {"w": values})
    with ember.serialization.skip_data():
        skipped = _load(ember, full)["w"]
    assert tuple(skipped.shape) == (2, 3) and skipped.dtype == ember.float32
    assert _load(ember, full)["w"].tolist() == values.tolist()
    for lib in (torch, ember):
        with lib.serialization.skip_data(), pytest.raises(
                RuntimeError, match="Cannot use skip_data=True with "
                                    "_use_new_zipfile_serialization=False"):
            lib.save(lib.ones(1), io.BytesIO(), _use_new_zipfile_serialization=False)


def _big_endian_copy(buffer):
    """The same checkpoint as a big-endian machine writes it: byteorder 'big', every
    storage's bytes swapped."""
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            if info.filename.endswith("byteorder"):
                payload = b"big"
            elif "/data/" in info.filename and not info.filename.endswith("version"):
                payload = np.frombuffer(payload, "<f8").astype(">f8").tobytes()
            dst.writestr(info, payload)
    out.seek(0)
    return out


def test_big_endian_files_and_default_load_endianness():
    values = torch.arange(5, dtype=torch.float64) / 3
    big = _big_endian_copy(_saved(torch, {"w": values}))
    expected = _load(torch, big)["w"]
    torch.testing.assert_close(expected, values)
    np.testing.assert_array_equal(as_numpy(_load(ember, big)["w"]), values.numpy())
    # no byteorder record: the default load endianness decides, in both libraries
    unmarked = _saved(ember, {"w": ember.tensor(values.numpy())}, _disable_byteorder_record=True)
    assert "archive/byteorder" not in zipfile.ZipFile(unmarked).namelist()
    for lib in (torch, ember):
        assert lib.serialization.get_default_load_endianness() is None
        try:
            lib.serialization.set_default_load_endianness(lib.serialization.LoadEndianness.BIG)
            swapped = _load(lib, unmarked)["w"]
        finally:
            lib.serialization.set_default_load_endianness(None)
        np.testing.assert_array_equal(as_numpy(swapped), values.numpy().byteswap())
        with pytest.raises(TypeError, match="Invalid argument type in function "
                                            "set_default_load_endianness"):
            lib.serialization.set_default_load_endianness("little")


@pytest.mark.parametrize("flags", [_mmap.MAP_PRIVATE, _mmap.MAP_SHARED])
def test_mmap_flags_decide_whether_writes_reach_the_file(tmp_path, flags):
    results = {}
    for lib in (torch, ember):
        path = tmp_path / f"{lib.__name__}.pt"
        lib.save({"w": lib.zeros(4)}, path)
        with lib.serialization.set_default_mmap_options(flags):
            assert lib.serialization.get_default_mmap_options() == flags
            loaded = lib.load(path, mmap=True)["w"]
            loaded.add_(1.0)  # writable in both modes
        assert lib.serialization.get_default_mmap_options() == _mmap.MAP_PRIVATE
        del loaded
        results[lib.__name__] = lib.load(path)["w"].tolist()
    assert results["ember"] == results["torch"]
    assert results["ember"] == ([1.0] * 4 if flags == _mmap.MAP_SHARED else [0.0] * 4)
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="expected mmap.MAP_PRIVATE or mmap.MAP_SHARED"):
            lib.serialization.set_default_mmap_options(12345)


def test_config_defaults_and_mmap_by_config(tmp_path):
    from ember.utils.serialization import config
    from torch.utils.serialization import config as torch_config

    for section in ("load", "save"):
        for field in ("mmap", "endianness", "mmap_flags", "calculate_storage_offsets",
                      "compute_crc32", "use_pinned_memory_for_d2h", "storage_alignment"):
            ours = getattr(getattr(config, section), field, "absent")
            theirs = getattr(getattr(torch_config, section), field, "absent")
            assert ours == theirs, (section, field)
    assert ember.serialization.get_crc32_options() is torch.serialization.get_crc32_options()
    for lib, lib_config in ((torch, torch_config), (ember, config)):
        path = tmp_path / f"{lib.__name__}.pt"
        lib.save({"w": lib.arange(3.0)}, path)
        lib_config.load.mmap = True  # mapped without mmap=True: writes reach the file
        try:
            with lib.serialization.set_default_mmap_options(_mmap.MAP_SHARED):
                lib.load(path)["w"].add_(1.0)
        finally:
            lib_config.load.mmap = False
        assert lib.load(path)["w"].tolist() == [1.0, 2.0, 3.0]


def test_mmap_of_a_legacy_file_raises_torchs_error(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match=r"mmap can only be used with files saved with "
                                               r"`torch.save\(_use_new_zipfile_serialization"):
            lib.load(path, mmap=True)


# ---------------------------------------------------------------------------
# torchvision's tv_tensors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["ember", "torch"])
def test_tv_tensors_cross_as_torchvisions_classes(writer):
    from vision._torchvision import load_torchvision

    import ember.vision.tv_tensors as ember_tv

    load_torchvision()
    from torchvision import tv_tensors as tv
    src, dst = (ember, torch) if writer == "ember" else (torch, ember)
    src_tv, dst_tv = (ember_tv, tv) if writer == "ember" else (tv, ember_tv)
    boxes = src_tv.BoundingBoxes(src.tensor([[0.0, 1.0, 2.0, 3.0]]), format="XYWH",
                                 canvas_size=(4, 5))
    buffer = _saved(src, {"image": src_tv.Image(src.ones(1, 2, 2)), "boxes": boxes})
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL torchvision.tv_tensors._image.Image"):
        _load(dst, buffer)
    loaded = _load(dst, buffer, weights_only=False)
    assert type(loaded["image"]) is dst_tv.Image and type(loaded["boxes"]) is dst_tv.BoundingBoxes
    assert loaded["boxes"].format is dst_tv.BoundingBoxFormat.XYWH
    assert loaded["boxes"].canvas_size == (4, 5)
    np.testing.assert_array_equal(as_numpy(loaded["boxes"]), [[0.0, 1.0, 2.0, 3.0]])
    with dst.serialization.safe_globals([dst_tv.Image, dst_tv.BoundingBoxes,
                                         dst_tv.BoundingBoxFormat]):
        assert type(_load(dst, buffer)["image"]) is dst_tv.Image


class _Stateful:
    """Mixed into a Tensor subclass: its own __getstate__ / __setstate__."""

    __slots__ = ()

    def __getstate__(self):
        return {"unit": self.unit}

    def __setstate__(self, state):
        self.unit = state["unit"].upper()


def _class_for(lib, name, mixins, slots):
    cls = type(name, mixins + (lib.Tensor,), {"__module__": __name__, "__slots__": slots})
    globals()[name] = cls
    return cls


@pytest.mark.parametrize("writer", ["ember", "torch"])
@pytest.mark.parametrize("kind", ["getstate", "slots"])
def test_subclass_getstate_setstate_and_slots(writer, kind):
    src, dst = (ember, torch) if writer == "ember" else (torch, ember)
    mixins, slots = ((_Stateful,), ()) if kind == "getstate" else ((), ("note",))
    tensor = src.ones(2).as_subclass(_class_for(src, "_State", mixins, slots))
    tensor.unit = "m"
    if slots:
        tensor.note = 7
    buffer = _saved(src, tensor)
    reader_cls = _class_for(dst, "_State", mixins, slots)
    loaded = _load(dst, buffer, weights_only=False)
    assert type(loaded) is reader_cls
    assert loaded.unit == ("M" if kind == "getstate" else "m")
    if slots:
        assert loaded.note == 7


# ---------------------------------------------------------------------------
# Small helpers of torch.serialization
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("version,required,expected", [
    ("2.13.0", (2, 13), True), ("2.13.0", (2, 14), False), ("1.9", (1, 10), False),
    ("2.1.0a0", (2, 1), True), ("2.x", (2, 1), "malformed"),
])
def test_check_module_version_greater_or_equal(version, required, expected):
    module = type(pickle)("fake_module")
    module.__version__ = version
    for lib in (torch, ember):
        check = lib.serialization.check_module_version_greater_or_equal
        if expected == "malformed":
            with pytest.raises(RuntimeError, match="'fake_module' module version string is "
                                                   "malformed '2.x' and cannot be compared"):
                check(module, required)
            with pytest.warns(UserWarning, match="continuing assuming that requirement is met"):
                assert check(module, required, error_if_malformed=False) is True
        else:
            assert check(module, required) is expected


def test_mkdtemp_and_validate_cuda_device_without_a_gpu():
    for lib in (torch, ember):
        with lib.serialization.mkdtemp() as path:
            (pathlib.Path(path) / "x").write_text("1")
        assert not os.path.exists(path)
    if ember.cuda.is_available():  # the CPU error path is what this machine can check
        assert ember.serialization.validate_cuda_device("cuda:0") == 0
        return
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA "
                                               "device but .*cuda.is_available.. is False"):
            lib.serialization.validate_cuda_device("cuda:0")
