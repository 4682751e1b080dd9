"""ember.cuda and ember.accelerator without a GPU answer as torch's CPU build does: the
same values, or the same exception type with the same message. ember's backend is made to
see no CuPy for each test, so this file means the same on a GPU machine.

Where torch's CPU build fails by accident of its build (an AttributeError on a missing
``torch._C`` binding, a TypeError from comparing None, "dummy base class" RuntimeErrors),
ember raises its no-CUDA error instead: an AssertionError *and* RuntimeError saying "Torch
not compiled with CUDA enabled". Those rows check that ember's error is at least an
instance of torch's type where the types are compatible, and name the difference.
"""

import re
import warnings

import pytest
import torch

import ember

NO_ACCELERATOR = "Cannot access accelerator device when none is available."


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch):
    backend = pytest.importorskip("ember._backend.device")
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_checked", True)


def _outcome(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "value", call()
        except Exception as error:  # noqa: BLE001 - the exception is the outcome compared
            return "raised", error


def _same(torch_call, ember_call):
    """ember does what torch's CPU build does: equal values, or the same exception type
    (ember's may be a subclass) and a message that starts with torch's."""
    expected, actual = _outcome(torch_call), _outcome(ember_call)
    assert expected[0] == actual[0], (expected, actual)
    if expected[0] == "value":
        assert actual[1] == expected[1]
        return
    assert isinstance(actual[1], type(expected[1])), (expected[1], actual[1])
    assert re.match(re.escape(str(expected[1])), str(actual[1])), (expected[1], actual[1])


SAME = {
    "FloatTensor(2)": lambda m: m.cuda.FloatTensor(2),
    "LongTensor([1])": lambda m: m.cuda.LongTensor([1]),
    "BoolTensor()": lambda m: m.cuda.BoolTensor(),
    "isinstance FloatTensor": lambda m: isinstance(m.zeros(2), m.cuda.FloatTensor),
    "FloatTensor.is_cuda": lambda m: m.cuda.FloatTensor.is_cuda,
    "FloatTensor repr": lambda m: repr(m.cuda.DoubleTensor),
    "FloatStorage(2)": lambda m: m.cuda.FloatStorage(2),
    "stream(None)": lambda m: m.cuda.stream(None).__enter__(),
    "StreamContext(None)": lambda m: m.cuda.StreamContext(None).__exit__(None, None, None),
    "get_stream_from_external": lambda m: m.cuda.get_stream_from_external(0),
    "current_stream": lambda m: m.cuda.current_stream(),
    "default_stream": lambda m: m.cuda.default_stream(),
    "get_arch_list": lambda m: m.cuda.get_arch_list(),
    "get_gencode_flags": lambda m: m.cuda.get_gencode_flags(),
    "can_device_access_peer": lambda m: m.cuda.can_device_access_peer(0, 1),
    "list_gpu_processes": lambda m: m.cuda.list_gpu_processes(),
    "mem_get_info": lambda m: m.cuda.mem_get_info(),
    "device_memory_used": lambda m: m.cuda.device_memory_used(),
    "get_per_process_memory_fraction": lambda m: m.cuda.get_per_process_memory_fraction(),
    "set_per_process_memory_fraction": lambda m: m.cuda.set_per_process_memory_fraction(0.5),
    "is_tf32_supported": lambda m: m.cuda.is_tf32_supported(),
    "has_half": lambda m: m.cuda.has_half,
    "has_magma": lambda m: m.cuda.has_magma,
    "ipc_collect": lambda m: m.cuda.ipc_collect(),
    "host_memory_stats": lambda m: m.cuda.host_memory_stats(),
    "host_memory_stats_as_nested_dict": lambda m: m.cuda.host_memory_stats_as_nested_dict(),
    "memory_stats_as_nested_dict": lambda m: m.cuda.memory_stats_as_nested_dict(),
    "caching_allocator_alloc": lambda m: m.cuda.caching_allocator_alloc(16),
    "current_blas_handle": lambda m: m.cuda.current_blas_handle(),
    "current_solver_handle": lambda m: m.cuda.current_solver_handle(),
    "cudart": lambda m: m.cuda.cudart(),
    "default_generators": lambda m: m.cuda.default_generators,
    "CudaError is a RuntimeError": lambda m: issubclass(m.cuda.CudaError, RuntimeError),
    "OutOfMemoryError": lambda m: m.cuda.OutOfMemoryError is m.OutOfMemoryError,
    "get_sync_debug_mode": lambda m: m.cuda.get_sync_debug_mode(),
    "set_sync_debug_mode": lambda m: m.cuda.set_sync_debug_mode(1),
    "memory_summary": lambda m: m.cuda.memory_summary(),
    "jiterator call": lambda m: m.cuda.jiterator._create_jit_fn(
        "template <typename T> T f(T x, T y, T alpha) { return -x + alpha * y; }",
        alpha=1.0)(m.ones(2), m.ones(2)),
    "use_mem_pool": lambda m: m.cuda.use_mem_pool(None).__enter__(),
    "nvtx.range_push": lambda m: m.cuda.nvtx.range_push("a"),
    "nvtx.range_pop": lambda m: m.cuda.nvtx.range_pop(),
    "nvtx.mark": lambda m: m.cuda.nvtx.mark("a"),
    "nvtx.range": lambda m: m.cuda.nvtx.range("a").__enter__(),
    "memory_cached": lambda m: m.cuda.memory_cached(),
    "max_memory_cached": lambda m: m.cuda.max_memory_cached(),
    "utilization": lambda m: m.cuda.utilization(),
    "memory_usage": lambda m: m.cuda.memory_usage(),
    "temperature": lambda m: m.cuda.temperature(),
    "power_draw": lambda m: m.cuda.power_draw(),
    "clock_rate": lambda m: m.cuda.clock_rate(),
    # ember.accelerator
    "accelerator.current_device_index": lambda m: m.accelerator.current_device_index(),
    "accelerator.current_device_idx": lambda m: m.accelerator.current_device_idx(),
    "accelerator.set_device_idx": lambda m: m.accelerator.set_device_idx(0),
    "accelerator.set_device_index": lambda m: m.accelerator.set_device_index(0),
    "accelerator.device_index(0)": lambda m: m.accelerator.device_index(0).__enter__(),
    "accelerator.device_index(None)": lambda m: m.accelerator.device_index(None).__enter__(),
    "accelerator.current_stream": lambda m: m.accelerator.current_stream(),
    "accelerator.set_stream": lambda m: m.accelerator.set_stream(m.Stream("cpu")),
    "accelerator.get_device_capability": lambda m: m.accelerator.get_device_capability(),
    "accelerator.synchronize": lambda m: m.accelerator.synchronize(),
    "accelerator.empty_cache": lambda m: m.accelerator.empty_cache(),
    "accelerator.empty_host_cache": lambda m: m.accelerator.empty_host_cache(),
    "accelerator.memory_allocated": lambda m: m.accelerator.memory_allocated(),
    "accelerator.max_memory_allocated": lambda m: m.accelerator.max_memory_allocated(),
    "accelerator.memory_reserved": lambda m: m.accelerator.memory_reserved(),
    "accelerator.max_memory_reserved": lambda m: m.accelerator.max_memory_reserved(),
    "accelerator.memory_stats": lambda m: m.accelerator.memory_stats(),
    "accelerator.reset_peak_memory_stats": lambda m: m.accelerator.reset_peak_memory_stats(),
    "accelerator.reset_accumulated_memory_stats":
        lambda m: m.accelerator.reset_accumulated_memory_stats(),
    "accelerator.get_memory_info": lambda m: m.accelerator.get_memory_info(),
}


@pytest.mark.parametrize("name", list(SAME))
def test_cpu_build_answers_as_torch(name):
    _same(lambda: SAME[name](torch), lambda: SAME[name](ember))


def test_accelerator_deprecated_names_warn_as_torch():
    for module in (torch, ember):
        with pytest.warns(FutureWarning, match="Use `current_device_index` instead."):
            with pytest.raises(RuntimeError, match=re.escape(NO_ACCELERATOR)):
                module.accelerator.current_device_idx()


# torch's CPU build raises a RuntimeError about its placeholder classes ("Tried to
# instantiate dummy base class CUDAGraph", "torch.cuda.Stream requires CUDA support");
# ember's no-CUDA error is a RuntimeError too, so ``except RuntimeError`` code agrees
GRAPHS = {
    "CUDAGraph": lambda m: m.cuda.CUDAGraph(),
    "graph_pool_handle": lambda m: m.cuda.graph_pool_handle(),
    "is_current_stream_capturing": lambda m: m.cuda.is_current_stream_capturing(),
    "graph": lambda m: m.cuda.graph(None),
    "make_graphed_callables": lambda m: m.cuda.make_graphed_callables(
        lambda x: x * 2, (m.zeros(1),)),
    "MemPool": lambda m: m.cuda.MemPool(),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_api_raises_a_runtime_error_as_torch(name):
    with pytest.raises(RuntimeError):
        GRAPHS[name](torch)
    with pytest.raises(RuntimeError, match="Torch not compiled with CUDA enabled"):
        GRAPHS[name](ember)


# torch's CPU build trips over itself here; ember says CUDA is missing
ACCIDENTS = {
    # AttributeError: module 'torch._C' has no attribute '_cuda_cudaCachingAllocator_raw_delete'
    "caching_allocator_delete": lambda m: m.cuda.caching_allocator_delete(0),
    # AttributeError: module 'torch._C' has no attribute '_cuda_getAllocatorBackend'
    "get_allocator_backend": lambda m: m.cuda.get_allocator_backend(),
    # AttributeError: 'NoneType' object has no attribute 'cudaError'
    "check_error": lambda m: m.cuda.check_error(0),
    # TypeError: '<' not supported between instances of 'NoneType' and 'int'
    "ExternalStream": lambda m: m.cuda.ExternalStream(0),
    # AttributeError: module 'torch._C' has no attribute '_cuda_resetPeakMemoryStats'
    "reset_max_memory_allocated": lambda m: m.cuda.reset_max_memory_allocated(),
    "reset_max_memory_cached": lambda m: m.cuda.reset_max_memory_cached(),
    # AttributeError: module 'torch._C' has no attribute '_cuda_resetAccumulatedMemoryStats'
    "reset_accumulated_memory_stats": lambda m: m.cuda.reset_accumulated_memory_stats(),
}


@pytest.mark.parametrize("name", list(ACCIDENTS))
def test_where_torch_cpu_fails_by_accident_ember_says_cuda_is_missing(name):
    with pytest.raises((AttributeError, TypeError)), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ACCIDENTS[name](torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the renamed reset_max_* warn first
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled") as info:
            ACCIDENTS[name](ember)
    assert isinstance(info.value, RuntimeError)
