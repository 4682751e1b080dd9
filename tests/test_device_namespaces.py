"""ember.cpu, ember.mps, ember.xpu, ember.compiler and the ember.backends flags against
torch's on this machine (a CPU build: no MPS, no XPU): return values, and the exception
type and text of every call that needs a missing device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.backends

import ember
import ember.backends


def outcome(fn):
    """What a call gives: ('ok', value) or (exception type, message)."""
    try:
        return ("ok", fn())
    except Exception as err:  # noqa: BLE001 - the type and text are what is compared
        return (type(err), str(err))


def _same(call):
    ours, theirs = outcome(lambda: call(ember)), outcome(lambda: call(torch))
    assert ours == theirs


# -- ember.cpu -----------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda lib: lib.cpu.is_available(),
    lambda lib: lib.cpu.is_initialized(),
    lambda lib: lib.cpu.device_count(),
    lambda lib: lib.cpu.current_device(),
    lambda lib: lib.cpu.synchronize(),
    lambda lib: lib.cpu.synchronize("cpu"),
    lambda lib: lib.cpu.set_device("cpu"),
    lambda lib: lib.cpu.set_device(1),
    lambda lib: type(lib.cpu.current_stream()).__name__,
    lambda lib: (lib.cpu.Event().query(), lib.cpu.Event().record(), lib.cpu.Event().wait(),
                 lib.cpu.Event().synchronize()),
    lambda lib: (lib.cpu.Stream().wait_stream(None), lib.cpu.Stream(priority=0).record_event(),
                 lib.cpu.Stream().wait_event(None)),
    lambda lib: sorted(lib.cpu.__all__),
])
def test_cpu_matches_torch(call):
    _same(call)


@pytest.mark.parametrize("lib", [ember, torch])
def test_cpu_stream_context_selects_and_restores(lib):
    default = lib.cpu.current_stream()
    outer, inner = lib.cpu.Stream(), lib.cpu.Stream()
    with lib.cpu.stream(outer):
        assert lib.cpu.current_stream() is outer
        with lib.cpu.StreamContext(inner):
            assert lib.cpu.current_stream() is inner
        with lib.cpu.stream(None):  # None: no change
            assert lib.cpu.current_stream() is outer
        assert lib.cpu.current_stream() is outer
    assert lib.cpu.current_stream() is default


def test_cpu_capabilities_agree_with_torch():
    ours, theirs = ember.cpu.get_capabilities(), torch.cpu.get_capabilities()
    assert ours["architecture"] == theirs["architecture"]
    assert ours["num_logical_cores"] == theirs["num_logical_cores"]
    shared = [k for k in ours if k in theirs]
    assert len(shared) >= 20 and set(ours) <= set(theirs)
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    with pytest.raises(TypeError):
        ours["avx2"] = False  # read-only, as torch's MappingProxyType


@pytest.mark.parametrize("name", ["autocast", "GradScaler"])
def test_cpu_amp_deprecated_spellings(name):
    messages = []
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj = getattr(lib.cpu.amp, name)()
        messages.append([(w.category, str(w.message)) for w in caught
                         if w.category is FutureWarning])
        if name == "autocast":
            assert obj.fast_dtype == lib.bfloat16 and obj.device == "cpu"
    assert messages[0] == messages[1] and len(messages[0]) == 1
    if name == "autocast":
        with pytest.warns(FutureWarning):
            context = ember.cpu.amp.autocast()
        with context:
            x = ember.ones(2, 2)
            assert (x @ x).dtype == ember.bfloat16


# -- ember.mps / ember.xpu: absent devices --------------------------------------------------

def _state(lib):
    return lib.zeros(3, dtype=lib.uint8)


MPS_CALLS = [
    lambda lib: lib.mps.is_available(),
    lambda lib: lib.mps.device_count(),
    lambda lib: lib.mps.synchronize(),
    lambda lib: lib.mps.get_rng_state(),
    lambda lib: lib.mps.set_rng_state(_state(lib)),
    lambda lib: lib.mps.manual_seed(3),
    lambda lib: lib.mps.seed(),
    lambda lib: lib.mps.empty_cache(),
    lambda lib: lib.mps.current_allocated_memory(),
    lambda lib: lib.mps.driver_allocated_memory(),
    lambda lib: lib.mps.recommended_max_memory(),
    lambda lib: lib.mps.set_per_process_memory_fraction(0.5),
    lambda lib: lib.mps.set_per_process_memory_fraction(3.0),
    lambda lib: lib.mps.set_per_process_memory_fraction(1),
    lambda lib: lib.mps.compile_shader("kernel void f() {}"),
    lambda lib: lib.mps.load_metallib(b"x"),
    lambda lib: lib.mps.load_metallib(3),
    lambda lib: lib.mps.profiler.start(),
    lambda lib: lib.mps.profiler.stop(),
    lambda lib: lib.mps.profiler.profile().__enter__(),
    lambda lib: lib.backends.mps.is_available(),
    lambda lib: lib.backends.mps.is_built(),
    lambda lib: lib.backends.mps.is_macos_or_newer(14, 0),
    lambda lib: lib.backends.mps.is_macos13_or_newer(),
    lambda lib: sorted(lib.mps.__all__),
]


@pytest.mark.parametrize("call", MPS_CALLS)
def test_mps_absent_as_torch(call):
    _same(call)


def test_mps_event_cannot_be_created():
    with pytest.raises(RuntimeError, match=r"^Cannot execute acquireEvent\(\) without MPS"):
        ember.mps.Event()


XPU_CALLS = [
    lambda lib: lib.xpu.is_available(),
    lambda lib: lib.xpu.device_count(),
    lambda lib: lib.xpu.is_initialized(),
    lambda lib: lib.xpu.init(),
    lambda lib: lib.xpu.current_device(),
    lambda lib: lib.xpu.set_device(0),
    lambda lib: lib.xpu.synchronize(),
    lambda lib: lib.xpu.get_device_name(),
    lambda lib: lib.xpu.get_device_properties(0),
    lambda lib: lib.xpu.get_device_capability(),
    lambda lib: lib.xpu.initial_seed(),
    lambda lib: lib.xpu.get_rng_state(),
    lambda lib: lib.xpu.get_rng_state_all(),
    lambda lib: lib.xpu.set_rng_state(_state(lib)),
    lambda lib: lib.xpu.set_rng_state_all([_state(lib)]),
    lambda lib: (lib.xpu.manual_seed(1), lib.xpu.manual_seed_all(1), lib.xpu.seed(),
                 lib.xpu.seed_all()),
    lambda lib: lib.xpu.current_stream(),
    lambda lib: lib.xpu.mem_get_info(),
    lambda lib: lib.xpu.can_device_access_peer(0, 1),
    lambda lib: (lib.xpu.memory_allocated(), lib.xpu.max_memory_allocated(),
                 lib.xpu.memory_reserved(), lib.xpu.max_memory_reserved()),
    lambda lib: (dict(lib.xpu.memory_stats()), lib.xpu.memory_snapshot()),
    lambda lib: lib.xpu.empty_cache(),
    lambda lib: (lib.xpu.is_bf16_supported(), lib.xpu.is_tf32_supported()),
    lambda lib: (lib.xpu.get_arch_list(), lib.xpu.get_gencode_flags()),
    lambda lib: lib.xpu.default_generators,
    lambda lib: lib.xpu.Stream(),
    lambda lib: lib.xpu.Event(),
    lambda lib: lib.xpu.device(0).__enter__(),
    lambda lib: lib.xpu.device_of(lib.zeros(1)).__enter__(),
    lambda lib: lib.xpu.device_of(lib.zeros(1)).idx,
    lambda lib: lib.xpu.stream(None).__enter__(),
    lambda lib: lib.xpu.set_stream(None),
    lambda lib: lib.zeros(2, device="xpu"),
]


@pytest.mark.parametrize("call", XPU_CALLS)
def test_xpu_absent_as_torch(call):
    if call is XPU_CALLS[-1]:  # device strings are parsed by ember's device layer
        assert outcome(lambda: call(ember))[0] in (AssertionError, RuntimeError)
        return
    _same(call)


# -- ember.compiler ---------------------------------------------------------------------------

def _double(x):
    return x * 2


@pytest.mark.parametrize("call", [
    lambda lib: (lib.compiler.is_compiling(), lib.compiler.is_dynamo_compiling(),
                 lib.compiler.is_exporting()),
    lambda lib: lib.compiler.skip_all_guards_unsafe([1, 2, 3]),
    lambda lib: lib.compiler.skip_guard_on_globals_unsafe([]),
])
def test_compiler_matches_torch(call):
    _same(call)


# The rest of torch.compiler imports torch._dynamo (10+ s on this machine), too slow for
# the suite: these expected results were read from torch 2.13 by running the same calls.
@pytest.mark.parametrize("call, expected", [
    (lambda c: (c.reset(), c.cudagraph_mark_step_begin()), (None, None)),
    (lambda c: c.disable(_double)(3), 6),
    (lambda c: c.disable(_double, recursive=False, reason="io")(3), 6),
    (lambda c: c.disable(recursive=False)(_double)(4), 8),
    (lambda c: c.allow_in_graph(_double)(5), 10),
    (lambda c: c.allow_in_graph(_double) is _double, True),
    (lambda c: c.assume_constant_result(_double) is _double, True),
    (lambda c: c.substitute_in_graph(_double)(lambda x: -x)(7), 14),
    (lambda c: c.substitute_in_graph(5),
     (TypeError, "substitute_in_graph expects a function but got <class 'int'>")),
    (lambda c: c.nested_compile_region(_double)(8), 16),
    (lambda c: [c.set_enable_guard_collectives(v) for v in (True, True, False)],
     [False, True, True]),
    (lambda c: c.get_default_backend(), "inductor"),
    (lambda c: c.list_backends(), ["cudagraphs", "inductor", "openxla", "tvm"]),
    (lambda c: c.save_cache_artifacts(), None),
    (lambda c: c.set_stance("force_eager")(_double)(9), 18),
    (lambda c: sorted(c.__all__), sorted([
        "compile", "assume_constant_result", "reset", "allow_in_graph", "substitute_in_graph",
        "list_backends", "disable", "set_default_backend", "get_default_backend",
        "set_stance", "set_enable_guard_collectives", "cudagraph_mark_step_begin",
        "wrap_numpy", "is_compiling", "is_dynamo_compiling", "is_exporting",
        "save_cache_artifacts", "load_cache_artifacts", "keep_portable_guards_unsafe",
        "skip_guard_on_inbuilt_nn_modules_unsafe", "skip_guard_on_all_nn_modules_unsafe",
        "keep_tensor_guards_unsafe", "skip_guard_on_globals_unsafe", "skip_all_guards_unsafe",
        "nested_compile_region"])),
])
def test_compiler_as_torch_213(call, expected):
    got = outcome(lambda: call(ember.compiler))
    assert got == (expected if isinstance(expected, tuple) and len(expected) == 2
                   and isinstance(expected[0], type) else ("ok", expected))


def test_compiler_default_backend_and_stance_restore():
    ember.compiler.set_default_backend("eager")
    assert ember.compiler.get_default_backend() == "eager"
    ember.compiler.set_default_backend(None)
    assert ember.compiler.get_default_backend() == "inductor"
    with ember.compiler.set_stance("force_eager"):
        assert ember.compiler._stance == "force_eager"
    assert ember.compiler._stance == "default"
    ember.compiler.set_stance("eager_on_recompile")(_double)
    assert ember.compiler._stance == "default"
    with pytest.raises(RuntimeError, match="non-default stance cannot have force_backend set"):
        ember.compiler.set_stance("force_eager", force_backend="eager")
    with ember.compiler.disable():
        assert not ember.compiler.is_compiling()
    model = ember.nn.Linear(2, 2)
    compiled = ember.compiler.compile(model)  # an OptimizedModule around it, as in torch
    assert type(compiled).__name__ == "OptimizedModule" and compiled._orig_mod is model


def test_compiler_wrap_numpy():
    """torch 2.13 gives (np.float32(5.0), [tensor([1., 2., 3.])]) for these inputs."""
    def fn(a, b):
        return np.sum(a * a), [a + b]

    x = np.arange(3, dtype=np.float32)
    ours = ember.compiler.wrap_numpy(fn)(ember.from_numpy(x), ember.ones(1))
    assert ours[0] == 5.0 and type(ours[0]) is np.float32
    assert isinstance(ours[1], list) and isinstance(ours[1][0], ember.Tensor)
    assert ours[1][0].dtype == ember.float32
    np.testing.assert_array_equal(ours[1][0].numpy(), [1.0, 2.0, 3.0])


# -- ember.backends additions ---------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda lib: lib.backends.cpu.get_cpu_capability(),
    lambda lib: lib.backends.openmp.__name__.rsplit(".", 1)[-1],
    lambda lib: lib.backends.opt_einsum.is_available(),
    lambda lib: lib.backends.opt_einsum.get_opt_einsum(),
    lambda lib: (lib.backends.opt_einsum.enabled, lib.backends.opt_einsum.strategy),
    lambda lib: lib.backends.opt_einsum.flags(enabled=True).__enter__(),
    lambda lib: lib.backends.opt_einsum.set_flags(None, "greedy"),
    lambda lib: lib.backends.opt_einsum.set_flags(False),
    lambda lib: (lib.backends.mkl.VERBOSE_ON, lib.backends.mkl.VERBOSE_OFF),
    lambda lib: (lib.backends.mkldnn.VERBOSE_ON, lib.backends.mkldnn.VERBOSE_OFF,
                 lib.backends.mkldnn.VERBOSE_ON_CREATION),
    lambda lib: (lib.backends.mkldnn.enabled, lib.backends.mkldnn.deterministic,
                 lib.backends.mkldnn.fp32_precision),
    lambda lib: lib.backends.mha.get_fastpath_enabled(),
    lambda lib: lib.backends.kleidiai.is_available(),
    lambda lib: lib.backends.mkl.verbose(lib.backends.mkl.VERBOSE_OFF).__enter__(),
])
def test_backends_match_torch(call):
    _same(call)


@pytest.mark.filterwarnings("ignore:TF32 acceleration")  # torch's note about Intel GPUs
@pytest.mark.parametrize("lib", [ember, torch])
def test_backends_flags_restore(lib):
    mkldnn = lib.backends.mkldnn
    with mkldnn.flags(enabled=False, deterministic=True):
        assert (mkldnn.enabled, mkldnn.deterministic) == (False, True)
    assert (mkldnn.enabled, mkldnn.deterministic) == (True, False)
    with lib.backends.mkldnn.verbose(mkldnn.VERBOSE_ON):
        pass
    mha = lib.backends.mha
    mha.set_fastpath_enabled(False)
    assert mha.get_fastpath_enabled() is False
    mha.set_fastpath_enabled(True)
    with lib.backends.nnpack.flags(enabled=False):
        pass
    assert lib.backends.nnpack.set_flags(True) == (True,)


@pytest.mark.parametrize("lib", [ember, torch])
def test_quantized_engine_flag(lib):
    quantized = lib.backends.quantized
    assert type(quantized).__name__ == "QuantizedEngine"
    assert quantized.engine == "x86"
    assert quantized.supported_engines == ["qnnpack", "onednn", "x86", "fbgemm"]
    try:
        quantized.engine = "qnnpack"
        assert quantized.engine == "qnnpack"
        with pytest.raises(RuntimeError, match="^bogus is not a valid value for quantized "
                                               "engine$"):
            quantized.engine = "bogus"
        assert quantized.engine == "qnnpack"
    finally:
        quantized.engine = "x86"


def test_lazy_namespaces():
    for name in ("compiler", "cpu", "hub", "mps", "xpu"):
        assert name in dir(ember)
        assert getattr(ember, name).__name__ == f"ember.{name}"
    assert ember.zeros(1).is_meta is False and ember.empty(1, device="meta").is_meta is True
