"""Top-level ``torch`` names against PyTorch: the sym_* helpers, process switches
(warn-always, flush-denormal, anomaly, deterministic debug mode), GradScaler and the
exception classes, Stream/Event, the legacy autocast switches, DLPack, from_file and the
legacy typed storages. (cond/while_loop: test_control_flow.py; segment_reduce:
ops/test_segment_reduce.py; native_* and the rnn function forms: test_native_ops.py.)"""

import io
import os
import warnings

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember

# -- sym_* helpers --------------------------------------------------------------------------

SYM_CASES = [
    lambda lib: lib.sym_int(3.7), lambda lib: lib.sym_int(-3.7), lambda lib: lib.sym_int(True),
    lambda lib: lib.sym_int(lib.tensor(3.7)), lambda lib: lib.sym_int("3"),
    lambda lib: lib.sym_float(3), lambda lib: lib.sym_float(lib.tensor(3)),
    lambda lib: lib.sym_max(2, 3.0),
    lambda lib: lib.sym_max(2, 3),
    lambda lib: lib.sym_max(True, 2),
    lambda lib: lib.sym_max(-0.0, 0), lambda lib: lib.sym_max(np.int64(3), 2),
    lambda lib: lib.sym_max(np.float32(3), 2), lambda lib: lib.sym_min(2, 3.5),
    lambda lib: lib.sym_min(4, 3.5), lambda lib: lib.sym_min(2, 2.0),
    lambda lib: lib.sym_not(0),
    lambda lib: lib.sym_not(2.5),
    lambda lib: lib.sym_not(lib.tensor(True)),
    lambda lib: lib.sym_ite(True, 1, 2), lambda lib: lib.sym_ite(False, 1.5, 2.5),
    lambda lib: lib.sym_sum([1, 2, 3]),
    lambda lib: lib.sym_sum(1, 2, 3),
    lambda lib: lib.sym_sum([]),
    lambda lib: lib.sym_sum((1, 2.5)), lambda lib: lib.sym_sqrt(4), lambda lib: lib.sym_sqrt(True),
    lambda lib: lib.sym_sqrt(lib.tensor(9.0)), lambda lib: lib.sym_fresh_size(5),
    lambda lib: lib.sym_constrain_range(5, min=0, max=10), lambda lib: lib.sym_constrain_range(5),
    lambda lib: lib.sym_constrain_range(5.5, min=0),
    lambda lib: lib.sym_constrain_range_for_size(0),
    lambda lib: lib.sym_constrain_range_for_size(5, min=-3),
]


@pytest.mark.parametrize("case", range(len(SYM_CASES)))
def test_sym_helpers_match_torch(case):
    e, t = SYM_CASES[case](ember), SYM_CASES[case](torch)
    assert type(e) is type(t) and e == t and repr(e) == repr(t)


def test_sym_sum_and_ite_of_tensors():
    out = ember.sym_sum((ember.tensor(1), 2))
    assert isinstance(out, ember.Tensor) and out.item() == 3
    picked = ember.sym_ite(False, ember.ones(1), ember.zeros(1))
    assert picked.tolist() == [0.0]


SYM_ERRORS = [
    lambda lib: lib.sym_ite(1, 1, 2), lambda lib: lib.sym_ite(True, 1, 2.0),
    lambda lib: lib.sym_ite(lib.tensor(True), 1, 2),
    lambda lib: lib.sym_max(1, "a"), lambda lib: lib.sym_min(lib.tensor(1.0), 2),
    lambda lib: lib.sym_not(lib.tensor([1, 0])), lambda lib: lib.sym_sqrt(-1),
    lambda lib: lib.sym_int(float("inf")), lambda lib: lib.sym_int(float("nan")),
    lambda lib: lib.sym_sum([1, 2], 3), lambda lib: lib.sym_float(lib.tensor([1.0, 2.0])),
    lambda lib: lib.sym_constrain_range(5, min=6), lambda lib: lib.sym_constrain_range(5, max=4),
    lambda lib: lib.sym_constrain_range(5, min=7, max=3),
    lambda lib: lib.sym_constrain_range(lib.tensor(3.5), min=4),
    lambda lib: lib.sym_constrain_range("a"),
    lambda lib: lib.sym_constrain_range(lib.tensor([1, 2])),
    lambda lib: lib.sym_constrain_range(5, 0, 10),
    lambda lib: lib.sym_constrain_range_for_size(-1),
    lambda lib: lib.sym_constrain_range_for_size(1, min=2),
    lambda lib: lib.sym_constrain_range_for_size(5, min=0, max=3),
]


@pytest.mark.parametrize("case", range(len(SYM_ERRORS)))
def test_sym_errors_match_torch(case):
    fn = SYM_ERRORS[case]
    e_error, t_error = check_raises(fn)
    assert type(e_error) is type(t_error)
    assert str(e_error) == str(t_error).replace("torch.Tensor", "ember._tensor.Tensor")


def test_sym_helpers_on_ember_symints():
    """The traced sizes of ember.export are ember.SymInt: sym_int keeps them, sym_max
    records a node so the exported graph recomputes it for other sizes."""

    class M(ember.nn.Module):
        def forward(self, x):
            rows = ember.sym_max(x.size(0), 4)
            assert isinstance(rows, ember.SymInt) and ember.sym_int(rows) is rows
            return ember.zeros(rows) + ember.sym_sum([x.size(0), x.size(1)])

    from ember.export import Dim, export

    program = export(M(), (ember.ones(2, 3),), dynamic_shapes=({0: Dim("n")},))
    assert program.module()(ember.ones(2, 3)).shape == (4,)
    assert program.module()(ember.ones(6, 3)).tolist() == [9.0] * 6
    assert "torch.sym_max(" in program.graph_module.code  # one node each, named as torch's
    assert program.graph_module.code.count("torch.sym_sum(") == 1
    buffer = io.BytesIO()
    ember.export.save(program, buffer)
    buffer.seek(0)
    assert ember.export.load(buffer).module()(ember.ones(5, 3)).tolist() == [8.0] * 5


# -- process switches -----------------------------------------------------------------------


def test_set_warn_always_repeats_once_per_process_warnings():
    x = ember.ones(1, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        float(x)  # the first warning, shown whatever the mode
    try:
        ember.set_warn_always(True)
        assert ember.is_warn_always_enabled() is True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            float(x)
            float(x)
        assert len(caught) == 2
    finally:
        ember.set_warn_always(False)
    assert ember.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        float(x)


def test_set_flush_denormal_flushes_like_torch():
    tiny = [1e-323]
    # torch answers whether this CPU can flush (both libraries set the same thread register,
    # so torch is asked first and put back before ember's own effect is checked)
    supported = torch.set_flush_denormal(True)
    torch.set_flush_denormal(False)
    assert ember.tensor(tiny, dtype=ember.float64).tolist() == tiny
    try:
        assert ember.set_flush_denormal(True) is supported
        if supported:
            assert ember.tensor(tiny, dtype=ember.float64).tolist() == [0.0]
            assert (ember.tensor([1e-300], dtype=ember.float64) * 1e-20).tolist() == [0.0]
    finally:
        assert ember.set_flush_denormal(False) is supported
    assert ember.tensor(tiny, dtype=ember.float64).tolist() == tiny


def test_anomaly_switches_share_autograd_state():
    try:
        ember.set_anomaly_enabled(True, check_nan=False)
        assert ember.is_anomaly_enabled() and not ember.is_anomaly_check_nan_enabled()
        x = ember.tensor([0.0], requires_grad=True)
        (x.sqrt() * 0).sum().backward()  # nan gradient passes: check_nan is off
        assert np.isnan(x.grad.item())
        ember.set_anomaly_enabled(True)
        with pytest.raises(RuntimeError, match="returned nan values"):
            (x.sqrt() * 0).sum().backward()
    finally:
        ember.set_anomaly_enabled(False)
    assert not ember.is_anomaly_enabled() and ember.is_anomaly_check_nan_enabled()
    for lib in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's "Anomaly Detection has been enabled"
            detect = lib.autograd.detect_anomaly(check_nan=False)
        with detect:
            states = (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled())
        assert states == (True, False)


@pytest.mark.parametrize("mode", ["default", "warn", "error", 0, 1, 2])
def test_deterministic_debug_mode_matches_torch(mode):
    try:
        for lib in (ember, torch):
            lib.set_deterministic_debug_mode(mode)
        assert ember.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
        assert ember.are_deterministic_algorithms_enabled() == \
            torch.are_deterministic_algorithms_enabled()
        assert ember.is_deterministic_algorithms_warn_only_enabled() == \
            torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        ember.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(False)
    ember.use_deterministic_algorithms(True, warn_only=True)
    assert ember.get_deterministic_debug_mode() == 1
    ember.use_deterministic_algorithms(False)


SWITCH_ERRORS = [
    lambda lib: lib.set_warn_always(1), lambda lib: lib.set_flush_denormal(1),
    lambda lib: lib.set_anomaly_enabled(1), lambda lib: lib.set_anomaly_enabled(True, 1),
    lambda lib: lib.set_deterministic_debug_mode("x"),
    lambda lib: lib.set_deterministic_debug_mode(3),
    lambda lib: lib.set_deterministic_debug_mode(1.0),
]


@pytest.mark.parametrize("case", range(len(SWITCH_ERRORS)))
def test_switch_errors_match_torch(case):
    e_error, t_error = check_raises(SWITCH_ERRORS[case])
    assert str(e_error) == str(t_error)


def test_threads_and_abi():
    assert ember.init_num_threads() is None
    assert ember.compiled_with_cxx11_abi() is torch.compiled_with_cxx11_abi()


# -- GradScaler, exceptions, Stream and Event ---------------------------------------------


def test_grad_scaler_and_exception_classes():
    assert ember.GradScaler is ember.amp.GradScaler
    for name in ("OutOfMemoryError", "AcceleratorError"):
        cls = getattr(ember, name)
        assert cls.__mro__[1:] == getattr(torch, name).__mro__[1:]
        assert cls.__module__ == "ember" and cls.__name__ == name
    with pytest.raises(RuntimeError):
        raise ember.OutOfMemoryError("out of memory")
    assert ember.cuda.OutOfMemoryError is ember.OutOfMemoryError  # one class, as torch's
    assert torch.cuda.OutOfMemoryError is torch.OutOfMemoryError


STREAM_CASES = [
    lambda lib: repr(lib.Stream()), lambda lib: repr(lib.Stream("cpu")),
    lambda lib: repr(lib.Stream(device="cpu:0", priority=-1)),
    lambda lib: repr(lib.Stream(device=lib.device("meta"))),
    lambda lib: repr(lib.Stream(stream_id=1, device_index=0, device_type=0)),
    lambda lib: (lib.Stream().device_type, lib.Stream("meta").device_type),
    lambda lib: (lib.Stream().device_index, lib.Stream().stream_id, str(lib.Stream().device)),
    lambda lib: (lib.Stream().query(), lib.Stream().synchronize(), lib.Stream().is_capturing()),
    lambda lib: lib.Stream().wait_event(lib.Event()),
    lambda lib: (lib.Stream() == lib.Stream(), lib.Stream() == lib.Stream("meta"),
                 len({lib.Stream(), lib.Stream()})),
    lambda lib: repr(lib.Event()), lambda lib: repr(lib.Event(device="meta")),
    lambda lib: repr(lib.Event("cpu", enable_timing=True, blocking=True, interprocess=True)),
    lambda lib: (lib.Event().query(), lib.Event().synchronize(), lib.Event().wait(),
                 lib.Event().wait(lib.Stream()), lib.Event().event_id, str(lib.Event().device)),
]


@pytest.mark.parametrize("case", range(len(STREAM_CASES)))
def test_cpu_streams_and_events_match_torch(case):
    assert STREAM_CASES[case](ember) == STREAM_CASES[case](torch)


def test_stream_context_manager_on_cpu():
    for lib in (ember, torch):
        with lib.Stream() as stream:
            assert stream.query()


STREAM_ERRORS = [
    lambda lib: lib.Stream(device=0), lambda lib: lib.Stream(1.5), lambda lib: lib.Event(1),
    lambda lib: lib.Stream().native_handle(), lambda lib: lib.Stream().wait_stream(lib.Stream()),
    lambda lib: lib.Stream().record_event(), lambda lib: lib.Stream("meta").record_event(),
    lambda lib: lib.Event().record(), lambda lib: lib.Event().record(lib.Stream()),
    lambda lib: lib.Event().elapsed_time(lib.Event()),
    lambda lib: lib.Event(enable_timing=True).elapsed_time(lib.Event(enable_timing=True)),
    lambda lib: lib.Event().ipc_handle(),
]


@pytest.mark.parametrize("case", range(len(STREAM_ERRORS)))
def test_stream_errors_match_torch(case):
    e_error, t_error = check_raises(STREAM_ERRORS[case])
    assert str(e_error) == str(t_error)


# -- the legacy autocast switches -----------------------------------------------------------


def _autocast_trace(lib):
    """The same sequence of switch calls; what each step observes."""
    seen = [lib.get_autocast_dtype("cpu"), lib.is_autocast_enabled(), lib.get_autocast_gpu_dtype()]
    lib.set_autocast_cpu_dtype(lib.float16)
    seen.append(lib.get_autocast_cpu_dtype())
    with lib.autocast("cpu"):  # no dtype: the configured one
        seen += [lib.get_autocast_dtype("cpu"), lib.is_autocast_cpu_enabled(),
                 (lib.ones(2, 2) @ lib.ones(2, 2)).dtype]
        with lib.autocast("cpu", dtype=lib.bfloat16, cache_enabled=False):
            seen += [lib.get_autocast_dtype("cpu"), lib.is_autocast_cache_enabled()]
            with lib.autocast("cpu", enabled=False):
                seen += [lib.get_autocast_dtype("cpu"), lib.is_autocast_enabled("cpu")]
        seen += [lib.get_autocast_dtype("cpu"), lib.is_autocast_cache_enabled()]
        seen += [lib.autocast_increment_nesting(), lib.autocast_decrement_nesting()]
    lib.set_autocast_dtype("cpu", lib.bfloat16)
    lib.set_autocast_enabled("cpu", True)
    seen += [lib.is_autocast_enabled("cpu:0"), (lib.ones(2, 2) @ lib.ones(2, 2)).dtype]
    lib.set_autocast_dtype("cpu", lib.float16)  # changes the running region's dtype
    seen.append((lib.ones(2, 2) @ lib.ones(2, 2)).dtype)
    lib.set_autocast_cpu_enabled(False)
    lib.set_autocast_dtype("cpu", lib.bfloat16)
    seen.append((lib.ones(2, 2) @ lib.ones(2, 2)).dtype)
    lib.set_autocast_enabled(True)  # one argument: cuda
    seen += [lib.is_autocast_enabled(), lib.is_autocast_enabled("cuda")]
    lib.set_autocast_enabled(False)
    lib.set_autocast_gpu_dtype(lib.bfloat16)
    seen.append(lib.get_autocast_dtype("cuda"))
    lib.set_autocast_gpu_dtype(lib.float16)
    lib.set_autocast_cache_enabled(False)
    seen.append(lib.is_autocast_cache_enabled())
    lib.set_autocast_cache_enabled(True)
    seen += [lib.clear_autocast_cache(), lib.get_autocast_dtype("xpu"),
             lib.get_autocast_dtype("hpu")]
    return [str(x).replace("ember", "torch") for x in seen]


def test_legacy_autocast_switches_drive_autocast_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = _autocast_trace(ember)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ours == _autocast_trace(torch)
    deprecated = sorted({str(w.message) for w in caught if w.category is DeprecationWarning})
    assert deprecated == [
        "torch.get_autocast_cpu_dtype() is deprecated. Please use "
        "torch.get_autocast_dtype('cpu') instead.",
        "torch.get_autocast_gpu_dtype() is deprecated. Please use "
        "torch.get_autocast_dtype('cuda') instead.",
        "torch.is_autocast_cpu_enabled() is deprecated. Please use "
        "torch.is_autocast_enabled('cpu') instead.",
        "torch.set_autocast_cpu_dtype(dtype) is deprecated. Please use "
        "torch.set_autocast_dtype('cpu', dtype) instead.",
        "torch.set_autocast_cpu_enabled(enabled) is deprecated. Please use "
        "torch.set_autocast_enabled('cpu', enabled) instead.",
        "torch.set_autocast_gpu_dtype(dtype) is deprecated. Please use "
        "torch.set_autocast_dtype('cuda', dtype) instead.",
    ]
    assert not ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") is \
        ember.bfloat16


AUTOCAST_ERRORS = [
    lambda lib: lib.is_autocast_enabled("meta"), lambda lib: lib.get_autocast_dtype("foo"),
    lambda lib: lib.is_autocast_enabled(1), lambda lib: lib.set_autocast_enabled("cpu", 1),
    lambda lib: lib.set_autocast_enabled(1), lambda lib: lib.set_autocast_enabled(1, True),
    lambda lib: lib.set_autocast_enabled("cpu", True, 1),
    lambda lib: lib.set_autocast_cache_enabled(1), lambda lib: lib.set_autocast_dtype("cpu", 1),
    lambda lib: lib.set_autocast_dtype(1, lib.float16), lambda lib: lib.set_autocast_cpu_dtype(1),
    lambda lib: lib.set_autocast_cpu_enabled(1),
]


@pytest.mark.parametrize("case", range(len(AUTOCAST_ERRORS)))
def test_autocast_switch_errors_match_torch(case):
    e_error, t_error = check_raises(AUTOCAST_ERRORS[case])
    assert str(e_error) == str(t_error)


# -- DLPack and from_file -------------------------------------------------------------------

DLPACK_DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int64", "bool",
                 "complex64"]


@pytest.mark.parametrize("name", DLPACK_DTYPES)
def test_dlpack_round_trips_with_torch_share_memory(name):
    values = np.arange(1, 7).reshape(2, 3)
    ours = ember.tensor(values, dtype=getattr(ember, name))
    theirs = torch.from_dlpack(ours)  # torch reads ember's capsule
    assert str(theirs.dtype) == str(ours.dtype) and theirs.shape == (2, 3)
    assert theirs.tolist() == ours.tolist()
    back = ember.from_dlpack(torch.tensor(values, dtype=getattr(torch, name)))
    assert str(back.dtype) == str(ours.dtype) and back.tolist() == ours.tolist()
    if name != "bool":
        theirs[1, 1] = 0  # one memory: torch's write shows in ember's tensor
        assert ours[1, 1].item() == 0
        source = torch.zeros(3, dtype=getattr(torch, name))
        ember.from_dlpack(source)[2] = 1
        assert source[2].item() == 1


def test_dlpack_with_numpy_capsules_and_strides():
    array = np.arange(8.0)
    view = ember.from_dlpack(array[::2])  # non-contiguous: strides kept, memory shared
    assert view.stride() == (2,) and view.tolist() == [0.0, 2.0, 4.0, 6.0]
    view[0] = 100.0
    assert array[0] == 100.0
    tensor = ember.arange(6.0).reshape(2, 3).t()
    shared = np.from_dlpack(tensor)
    shared[0, 1] = -1.0
    assert tensor[0, 1].item() == -1.0 and shared.strides == (4, 12)
    assert tensor.__dlpack_device__() == torch.ones(1).__dlpack_device__()
    assert ember.from_dlpack(np.array(3.0)).shape == ()
    copied = ember.from_dlpack(array, copy=True)
    copied[1] = 5.0
    assert array[1] == 1.0


def test_to_dlpack_capsules_are_consumed_once():
    source = ember.arange(4.0)
    capsule = ember.to_dlpack(source)
    assert type(capsule).__name__ == "PyCapsule"
    alias = torch.from_dlpack(capsule)
    alias[0] = 9.0
    assert source[0].item() == 9.0
    for lib, data in ((ember, torch.arange(3.0)), (torch, ember.arange(3.0))):
        capsule = (torch if lib is ember else ember).to_dlpack(data)
        assert lib.from_dlpack(capsule).tolist() == [0.0, 1.0, 2.0]
        with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
            lib.from_dlpack(capsule)


DLPACK_ERRORS = [
    lambda lib: lib.from_dlpack(1), lambda lib: lib.from_dlpack([1, 2]),
    lambda lib: lib.to_dlpack(1),
    lambda lib: lib.arange(3.0).requires_grad_().__dlpack__(),
    lambda lib: lib.arange(3.0).__dlpack__(stream=1),
    lambda lib: lib.empty(2, device="meta").__dlpack_device__(),
]


@pytest.mark.parametrize("case", range(len(DLPACK_ERRORS)))
def test_dlpack_errors_match_torch(case):
    e_error, t_error = check_raises(DLPACK_ERRORS[case])
    assert type(e_error) is type(t_error) and str(e_error) == str(t_error)


def _from_file_trace(lib, folder):
    path = str(folder / f"{lib.__name__}.bin")
    np.arange(10, dtype=np.float32).tofile(path)
    shared = lib.from_file(path, shared=True, size=10)
    shared[0] = 42  # reaches the file
    private = lib.from_file(path, shared=False, size=4, dtype=lib.float32)
    private[1] = -5  # stays in this tensor
    seen = [shared.tolist(), np.fromfile(path, dtype=np.float32)[:3].tolist(), private.tolist(),
            lib.from_file(path, True, 12).tolist(), os.path.getsize(path),  # grows the file
            lib.from_file(path).tolist(), lib.from_file(path, None, 2).tolist(),
            lib.from_file(path, size=3, dtype=lib.float64).tolist(),
            lib.from_file(path, size=2, dtype=lib.int64).tolist(),
            lib.from_file(path, size=2, dtype=lib.bfloat16).tolist(),
            lib.from_file(path, size=2, requires_grad=True).requires_grad,
            lib.from_file(str(folder / f"new_{lib.__name__}.bin"), True, 3).tolist(),
            os.path.getsize(folder / f"new_{lib.__name__}.bin")]
    return seen


def test_from_file_matches_torch(tmp_path):
    assert _from_file_trace(ember, tmp_path) == _from_file_trace(torch, tmp_path)


FROM_FILE_ERRORS = [
    lambda lib, p: lib.from_file(p + ".missing", size=3),
    lambda lib, p: lib.from_file(p, size=-1), lambda lib, p: lib.from_file(1, size=2),
    lambda lib, p: lib.from_file(p, False, 100),
    lambda lib, p: lib.from_file(os.path.dirname(p), size=2),
    lambda lib, p: lib.from_file(p, size=2, pin_memory=True),
    lambda lib, p: lib.from_file(p, size=2.5), lambda lib, p: lib.from_file(p, 1, 2),
]


@pytest.mark.parametrize("case", range(len(FROM_FILE_ERRORS)))
def test_from_file_errors_match_torch(case, tmp_path):
    path = str(tmp_path / "data.bin")
    np.zeros(4, np.float32).tofile(path)
    e_error, t_error = check_raises(lambda lib: FROM_FILE_ERRORS[case](lib, path))
    assert str(e_error) == str(t_error)


# -- legacy typed storages ------------------------------------------------------------------

STORAGE_NAMES = ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage",
                 "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage",
                 "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage"]


@pytest.mark.parametrize("name", STORAGE_NAMES)
def test_typed_storage_classes_match_torch(name):
    seen = []
    for lib in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TypedStorage's deprecation warning
            cls = getattr(lib, name)
            made = cls([1, 0, 1])
            of_tensor = lib.ones(2, dtype=cls.dtype).storage()
            seen.append([
                repr(cls), str(cls.dtype), type(made).__name__, made.tolist(), made.type(),
                cls().size(), len(cls(4)), issubclass(cls, lib.TypedStorage),
                isinstance(made, cls), isinstance(of_tensor, cls),
                isinstance(lib.ones(2, dtype=lib.int16).storage(), cls),
                isinstance(lib.ones(2, dtype=cls.dtype).untyped_storage(), cls),
                cls(wrap_storage=lib.zeros(2, dtype=cls.dtype).untyped_storage()).tolist(),
            ])
    assert seen[0] == seen[1]


def test_storage_aliases_and_from_buffer():
    assert ember.Storage is ember.FloatStorage and torch.Storage is torch.FloatStorage
    try:  # torch.Storage follows the default dtype
        for lib in (ember, torch):
            lib.set_default_dtype(lib.float64)
        assert ember.Storage is ember.DoubleStorage and torch.Storage is torch.DoubleStorage
    finally:
        for lib in (ember, torch):
            lib.set_default_dtype(lib.float32)
    for lib in (ember, torch):
        assert isinstance(lib.ones(1).untyped_storage(), lib.StorageBase)
        assert not isinstance(lib.ones(1).storage(), lib.StorageBase)
    cases = [(lambda lib: lib.FloatStorage.from_buffer(b"\x00\x00\x80\x3f", "little")),
             (lambda lib: lib.FloatStorage.from_buffer(b"\x3f\x80\x00\x00", "big")),
             (lambda lib: lib.ByteStorage.from_buffer(b"\x01\x02")),
             (lambda lib: lib.FloatStorage.from_buffer(bytearray(8), "native", count=1,
                                                       offset=4)),
             (lambda lib: lib.FloatStorage(wrap_storage=lib.ones(2, dtype=lib.float64)
                                           .untyped_storage())),
             (lambda lib: lib.IntStorage([1.7, 2]))]
    for case in cases:
        assert case(ember).tolist() == case(torch).tolist()
    wrapped_source = ember.zeros(2)
    ember.FloatStorage(wrap_storage=wrapped_source.untyped_storage())[1] = 5.0
    assert wrapped_source.tolist() == [0.0, 5.0]  # wrap_storage shares the bytes


STORAGE_ERRORS = [
    lambda lib: lib.FloatStorage(2, dtype=lib.float64), lambda lib: lib.FloatStorage(2, 3),
    lambda lib: lib.FloatStorage(2, device="cpu"), lambda lib: lib.FloatStorage("a"),
    lambda lib: lib.StorageBase(), lambda lib: lib.FloatStorage(None),
    lambda lib: lib.FloatStorage(3.5), lambda lib: lib.FloatStorage([1, "a"]),
    lambda lib: lib.FloatStorage(wrap_storage=1),
    lambda lib: lib.FloatStorage(3, wrap_storage=lib.ones(2).untyped_storage()),
    lambda lib: lib.FloatStorage.from_buffer(b"\x00\x00\x80\x3f"),
    lambda lib: lib.FloatStorage.from_buffer(b"\x00\x00\x80\x3f\x00", "little"),
    lambda lib: lib.FloatStorage.from_buffer(b"\x00\x00\x80\x3f", "foo"),
    lambda lib: lib.FloatStorage(lib.ones(2)),
]


@pytest.mark.parametrize("case", range(len(STORAGE_ERRORS)))
def test_storage_errors_match_torch(case):
    e_error, t_error = check_raises(STORAGE_ERRORS[case])
    assert str(e_error).replace("ember._tensor.Tensor", "torch.Tensor") == str(t_error)
