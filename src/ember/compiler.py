"""ember.compiler: ``torch.compiler``. ember runs every model eagerly (``ember.compile``
returns a function as it is and a module in an eager ``OptimizedModule``), so nothing is
ever being compiled or exported: ``is_compiling()`` is False, the decorators hand back
the function they decorate (the code runs exactly as written, which is what those
decorators promise under a compiler too), and cache, guard and stance controls are
accepted and recorded.
"""

from __future__ import annotations

import functools

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "compile",
    "cudagraph_mark_step_begin",
    "disable",
    "get_default_backend",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "keep_portable_guards_unsafe",
    "keep_tensor_guards_unsafe",
    "list_backends",
    "load_cache_artifacts",
    "nested_compile_region",
    "reset",
    "save_cache_artifacts",
    "set_default_backend",
    "set_enable_guard_collectives",
    "set_stance",
    "skip_all_guards_unsafe",
    "skip_guard_on_all_nn_modules_unsafe",
    "skip_guard_on_globals_unsafe",
    "skip_guard_on_inbuilt_nn_modules_unsafe",
    "substitute_in_graph",
    "wrap_numpy",
]

_DEFAULT_BACKEND = "inductor"
_default_backend = _DEFAULT_BACKEND
_stance = "default"


def compile(*args, **kwargs):
    """``ember.compile``: the function, or the module wrapped as PyTorch wraps it (or a
    decorator), to run eagerly."""
    from ._misc import compile as _compile

    return _compile(*args, **kwargs)


def reset() -> None:
    """Nothing is cached between compilations, so there is nothing to clear."""


def is_compiling() -> bool:
    """False: ember never traces code, so branches guarded by this take the eager path."""
    return False


def is_dynamo_compiling() -> bool:
    return False


def is_exporting() -> bool:
    return False


def _identity_decorator(fn):
    """Decorators that only steer a tracer: without one the function runs as written."""
    return fn


allow_in_graph = assume_constant_result = _identity_decorator


def substitute_in_graph(original_fn, *, can_constant_fold_through: bool = False,
                        skip_signature_check: bool = False):
    """A decorator registering a traceable stand-in for ``original_fn``. The decorated name
    is bound to ``original_fn`` itself, as in PyTorch: eager code runs the original."""
    if not callable(original_fn):
        raise TypeError(f"substitute_in_graph expects a function but got {type(original_fn)!r}")

    def register(stand_in):
        return original_fn

    return register


class _Disable:
    """``disable()`` with no function: a decorator that is also a context manager."""

    def __call__(self, fn):
        return fn

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def disable(fn=None, recursive=True, *, reason=None):
    """Keep ``fn`` out of compilation: it is returned as is (everything runs eagerly)."""
    if fn is None:
        return _Disable()
    return fn


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    """The ``backend=`` names ``ember.compile`` accepts: all run the model eagerly."""
    names = ["cudagraphs", "inductor", "openxla", "tvm"]
    if exclude_tags is None or "debug" not in exclude_tags:
        names += ["aot_eager", "eager"]
    return sorted(names)


def set_default_backend(backend) -> None:
    """The backend ``ember.compile`` records when none is given (None: ``"inductor"``)."""
    global _default_backend
    _default_backend = _DEFAULT_BACKEND if backend is None else backend


def get_default_backend():
    return _default_backend


class set_stance:
    """Record how compiled code should behave (``"force_eager"``, ...). Called, it sets the
    stance; as a context manager or decorator the stance holds inside and the previous one
    returns afterwards. ember is always eager, so nothing reads it."""

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
                 force_backend=None):
        global _stance
        if force_backend is not None and stance != "default":
            raise RuntimeError("non-default stance cannot have force_backend set")
        self.stance, self.prev = stance, _stance
        _stance = stance

    def __enter__(self):
        global _stance
        _stance = self.stance

    def __exit__(self, *exc):
        global _stance
        _stance = self.prev
        return False

    def __call__(self, fn):
        global _stance
        _stance = self.prev  # as a decorator it applies only while ``fn`` runs

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


_guard_collectives = False


def set_enable_guard_collectives(enabled: bool) -> bool:
    """Record the setting and return the previous one (ember has no guards to share)."""
    global _guard_collectives
    prev, _guard_collectives = _guard_collectives, bool(enabled)
    return prev


def cudagraph_mark_step_begin() -> None:
    """A new training step begins; ember records no CUDA graphs, so nothing to mark."""


def _map_structure(fn, value):
    if isinstance(value, (list, tuple)):
        mapped = [_map_structure(fn, v) for v in value]
        return type(value)(mapped) if type(value) in (list, tuple) else type(value)(*mapped)
    if isinstance(value, dict):
        return {k: _map_structure(fn, v) for k, v in value.items()}
    return fn(value)


def wrap_numpy(fn):
    """Turn a NumPy function (arrays in, arrays out) into a Tensor function: tensor
    arguments become arrays (``.numpy()``) and returned arrays become tensors."""
    import numpy as np

    from ._tensor import Tensor

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        def to_array(x):
            return x.numpy() if isinstance(x, Tensor) else x

        def to_tensor(x):
            if isinstance(x, np.ndarray):
                from . import as_tensor

                return as_tensor(x)
            return x

        args, kwargs = _map_structure(to_array, (args, kwargs))
        return _map_structure(to_tensor, fn(*args, **kwargs))

    return wrapper


def save_cache_artifacts():
    """None: ember produces no compiled artifacts to save."""
    return


def load_cache_artifacts(serialized_artifacts: bytes):
    return None


def keep_portable_guards_unsafe(guard_entries):
    return [g.guard_type in ("GLOBAL_STATE", "SHAPE_ENV")
            or (g.guard_type == "TENSOR_MATCH" and not g.is_global) for g in guard_entries]


def skip_guard_on_inbuilt_nn_modules_unsafe(guard_entries):
    return [not e.orig_guard.source.is_unspecialized_builtin_nn_module() for e in guard_entries]


def skip_guard_on_all_nn_modules_unsafe(guard_entries):
    return [not e.orig_guard.source.is_unspecialized_nn_module() for e in guard_entries]


def keep_tensor_guards_unsafe(guard_entries, keep_parameters=False):
    from .nn import Parameter

    return [e.guard_type == "TENSOR_MATCH"
            and (keep_parameters or not isinstance(e.value, Parameter)) for e in guard_entries]


def skip_guard_on_globals_unsafe(guard_entries):
    return [not e.is_global for e in guard_entries]


def skip_all_guards_unsafe(guard_entries):
    return [False] * len(guard_entries)


def nested_compile_region(fn=None, *, options=None, max_reuse_entries: int = 8,
                          reuse_hash_fn=None):
    """Mark ``fn`` as a region compiled once and reused; eagerly it is just ``fn``."""
    if fn is None:
        return _identity_decorator
    return fn


def _install_config():
    """``ember.compiler.config``: PyTorch's keys and defaults, recorded (nothing compiles)."""
    from ._config_module import install

    return install(__name__ + ".config", {
        "job_id": None, "pgo_extra_read_key": None, "pgo_extra_write_key": None,
        "cache_key_tag": "", "force_disable_caches": False, "dynamic_sources": "",
        "dynamic_values": "", "unbacked_sources": "", "force_cudagraph_gc": False,
        "dynamic_shapes": True, "assume_static_by_default": True,
        "automatic_dynamic_shapes": True, "recompile_limit": 8,
        "accumulated_recompile_limit": 256, "verbose": False, "capture_scalar_outputs": False,
        "capture_dynamic_output_shape_ops": False, "log_file_name": None,
        "fail_on_recompile_limit_hit": False, "allow_unspec_int_on_nn_module": False,
        "skip_tensor_guards_with_matching_dict_tags": True,
        "enable_cpp_symbolic_shape_guards": False, "wrap_top_frame": False,
        "reorderable_logging_functions": set(),
    })


config = _install_config()
