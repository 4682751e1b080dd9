"""ember.cuda's API beyond the basics (issue 9): device properties with PyTorch's fields and
printed form, streams and events PyTorch scripts use for timing and overlap, memory
queries, and the device context managers. Run on the CuPy double in CI and on real CuPy
by scripts/gpu_check.sh (where the values come from the card)."""

import re
import sys

import pytest

import ember


def _real_gpu():
    """Whether this test runs on real CuPy (the double's version ends in -fake)."""
    return not sys.modules["cupy"].__version__.endswith("-fake")

# torch.cuda.get_device_properties(i)'s attributes (PyTorch 2.13), all ints but name/uuid
INT_FIELDS = ["major", "minor", "is_multi_gpu_board", "is_integrated", "multi_processor_count",
              "total_memory", "max_threads_per_multi_processor", "warp_size",
              "regs_per_multiprocessor", "L2_cache_size", "pci_bus_id", "pci_device_id",
              "pci_domain_id"]


def test_device_properties_fields_and_repr():
    props = ember.cuda.get_device_properties(0)
    for field in INT_FIELDS:
        assert type(getattr(props, field)) is int, field
    assert props.gcnArchName == props.name == ember.cuda.get_device_name(0)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                        props.uuid)
    megabyte = 1024 * 1024
    assert repr(props) == (
        f"_CudaDeviceProperties(name='{props.name}', major={props.major}, "
        f"minor={props.minor}, total_memory={props.total_memory // megabyte}MB, "
        f"multi_processor_count={props.multi_processor_count}, uuid={props.uuid}, "
        f"pci_bus_id={props.pci_bus_id}, pci_device_id={props.pci_device_id}, "
        f"pci_domain_id={props.pci_domain_id}, "
        f"L2_cache_size={props.L2_cache_size // megabyte}MB)")
    if not _real_gpu():  # the double's numbers: an A100's, its own PCI slot and UUID
        assert (props.warp_size, props.L2_cache_size, props.pci_bus_id) == (32, 40 * megabyte, 7)
        assert props.uuid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    last = ember.cuda.device_count() - 1
    assert ember.cuda.get_device_properties(f"cuda:{last}").uuid != props.uuid or last == 0


def test_cpu_device_is_refused_where_a_gpu_is_expected():
    for call in (lambda: ember.cuda.set_device("cpu"), lambda: ember.cuda.device("cpu"),
                 lambda: ember.cuda.get_device_properties(ember.device("cpu"))):
        with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
            call()


def test_streams_events_and_timing():
    stream = ember.cuda.Stream()
    assert stream.cuda_stream != 0 and stream.priority == 0
    assert stream != ember.cuda.Stream() and len({stream, stream, ember.cuda.Stream()}) == 2
    assert ember.cuda.current_stream() == ember.cuda.current_stream()
    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    with ember.cuda.stream(stream):
        assert ember.cuda.current_stream() == stream
        start.record()
        x = ember.ones(64, 64, device="cuda")
        y = (x @ x).sum()
        end.record()
    other = ember.cuda.Stream()
    other.wait_event(end)  # work queued on `other` starts after the product
    other.wait_stream(stream)
    end.synchronize()
    assert end.query() and stream.query()
    assert start.elapsed_time(end) >= 0.0
    assert y.item() == 64 * 64 * 64
    never = ember.cuda.Event(enable_timing=True)
    with pytest.raises(RuntimeError, match="Both events must be recorded before calculating"):
        start.elapsed_time(never)
    untimed = ember.cuda.Event()
    untimed.record()
    with pytest.raises(RuntimeError):
        start.elapsed_time(untimed)  # timing needs enable_timing on both, as in PyTorch


def test_set_stream_makes_a_stream_current_for_the_thread():
    stream = ember.cuda.Stream()
    default = ember.cuda.current_stream()
    ember.cuda.set_stream(stream)
    try:
        assert ember.cuda.current_stream() == stream
    finally:
        ember.cuda.set_stream(default)
    assert ember.cuda.current_stream() == default


def test_memory_stats_and_mem_get_info():
    ember.cuda.empty_cache()
    ember.cuda.reset_peak_memory_stats()
    held = ember.zeros(1 << 18, device="cuda")  # 1 MiB
    stats = ember.cuda.memory_stats()
    assert list(stats) == sorted(stats)
    assert stats["allocated_bytes.all.current"] == ember.cuda.memory_allocated()
    assert stats["allocated_bytes.all.current"] >= held.nbytes
    assert stats["allocated_bytes.all.peak"] >= stats["allocated_bytes.all.current"]
    assert stats["reserved_bytes.all.current"] == ember.cuda.memory_reserved()
    free, total = ember.cuda.mem_get_info()
    assert 0 < free <= total == ember.cuda.get_device_properties(0).total_memory or _real_gpu()
    assert ember.cuda.mem_get_info(0) == ember.cuda.mem_get_info("cuda:0") or _real_gpu()


def test_device_of_a_tensor():
    last = ember.cuda.device_count() - 1
    on_last = ember.zeros(2, device=f"cuda:{last}")
    with ember.cuda.device_of(on_last):
        assert ember.cuda.current_device() == last
        assert ember.zeros(1, device="cuda").device == on_last.device
    assert ember.cuda.current_device() == 0
    with ember.cuda.device_of(ember.zeros(2)):  # a cpu tensor changes nothing
        assert ember.cuda.current_device() == 0


def test_cuda_seed_makes_cuda_sampling_reproducible():
    ember.cuda.manual_seed(5)
    first = ember.randn(4, device="cuda")
    ember.cuda.manual_seed_all(5)
    again = ember.randn(4, device="cuda")
    assert again.device.type == "cuda" and again.tolist() == first.tolist()
    assert ember.cuda.initial_seed() == 5
    state = ember.cuda.get_rng_state()
    assert state.dtype is ember.uint8 and state.device.type == "cpu"
    drawn = ember.rand(3, device="cuda").tolist()
    ember.cuda.set_rng_state(state)
    assert ember.rand(3, device="cuda").tolist() == drawn
    states = ember.cuda.get_rng_state_all()
    assert len(states) == ember.cuda.device_count()
    drawn = ember.rand(3, device="cuda").tolist()
    ember.cuda.set_rng_state_all(states)
    assert ember.rand(3, device="cuda").tolist() == drawn


@pytest.mark.parametrize("args", [
    ("cuda:1",), ("cuda", 1), ("cpu", 0), ("xla",), ("meta",), ("cuda", -1), ("cuda:-1",),
    ("cuda:01",), ("cuda:",), (" cuda",), ("CUDA",), ("gpu",), ("cuda:0:1",), ("cuda:0", 1),
])
def test_device_strings_parse_as_torch(args):
    """ember.device accepts and refuses what torch.device does, with torch's messages."""
    import torch

    try:
        expected = str(torch.device(*args))
    except RuntimeError as error:
        with pytest.raises(RuntimeError) as raised:
            ember.device(*args)
        assert str(raised.value) == str(error)
        return
    assert str(ember.device(*args)) == expected


def test_without_a_gpu_the_error_is_torchs_assertion(monkeypatch):
    """PyTorch's CPU builds raise AssertionError("Torch not compiled with CUDA enabled");
    ember's error is that and a RuntimeError (what ember raised before), so either except
    clause catches it."""
    import importlib

    backend_device = importlib.import_module("ember._backend.device")

    monkeypatch.setattr(backend_device, "_cupy", None)
    monkeypatch.setattr(backend_device, "_cupy_checked", True)
    assert not ember.cuda.is_available()
    for call in (ember.cuda.current_device, ember.cuda.get_device_name,
                 lambda: ember.ones(1, device="cuda"), lambda: ember.ones(1).cuda()):
        with pytest.raises(AssertionError, match="^Torch not compiled with CUDA enabled"):
            call()
        with pytest.raises(RuntimeError, match="^Torch not compiled with CUDA enabled"):
            call()
