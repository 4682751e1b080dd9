"""``torch._dynamo.config``: see ``ember._dynamo``. The module object is replaced by a
``ConfigModule`` at import, so unknown keys raise AttributeError as in PyTorch."""

import sys

from .. import compiler as _compiler
from .._config_module import ConfigModule

# Keys scripts set in practice, with PyTorch's defaults. Keys shared with
# ``torch.compiler.config`` are aliases of it (one value, two names), as in PyTorch;
# ``cache_size_limit`` and ``accumulated_cache_size_limit`` are the old names of the
# recompile limits.
_OWN = {
    "suppress_errors": False, "optimize_ddp": True, "raise_on_ctx_manager_usage": True,
    "capture_func_transforms": True, "replay_record_enabled": False,
    "specialize_int": False, "specialize_float": False, "guard_nn_modules": True,
    "skip_nnmodule_hook_guards": True, "error_on_nested_fx_trace": True,
    "inline_inbuilt_nn_modules": True, "trace_numpy": True, "numpy_default_float": "float64",
    "use_numpy_random_stream": False, "compiled_autograd": False,
    "enable_compiler_collectives": False, "prefer_deferred_runtime_asserts_over_guards": False,
    "do_not_emit_runtime_asserts": False, "capture_sparse_compute": True,
    "fake_tensor_cache_enabled": True, "allow_rnn": False, "dont_skip_tracing": False,
    "disable": False, "error_on_recompile": False, "force_parameter_static_shapes": True,
    "force_nn_module_property_static_shapes": True,
    "report_guard_failures": True, "repro_after": None, "repro_level": 2,
}
_SHARED = ("dynamic_shapes", "assume_static_by_default", "automatic_dynamic_shapes",
           "recompile_limit", "accumulated_recompile_limit", "verbose",
           "capture_scalar_outputs", "capture_dynamic_output_shape_ops",
           "allow_unspec_int_on_nn_module", "fail_on_recompile_limit_hit")
_aliases = {key: (_compiler.config, key) for key in _SHARED}
_aliases["cache_size_limit"] = (_compiler.config, "recompile_limit")
_aliases["accumulated_cache_size_limit"] = (_compiler.config, "accumulated_recompile_limit")

sys.modules[__name__] = ConfigModule(__name__, _OWN, _aliases)
