"""ember.jit: torch.jit's Python API over eager ember modules.

ember has no TorchScript compiler: ``script`` and ``trace`` wrap a module or function in
the ScriptModule / ScriptFunction types PyTorch code expects (sharing its parameters,
running it eagerly, so results are the eager results), the decorators (``ignore``,
``unused``, ``export``, ...) leave functions as they are, and ``jit.save`` / ``jit.load``
round-trip a scripted module through ember's own archive (a zip holding the pickled
module and any ``_extra_files``). TorchScript archives written by PyTorch hold compiled
TorchScript code, which ember cannot run; loading one raises an error that says so.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import sys
import textwrap
import typing
import warnings
import zipfile

from ..nn.modules.module import Module

__all__ = [
    "Final", "Future", "RecursiveScriptModule", "ScriptFunction", "ScriptModule",
    "TopLevelTracedModule", "TracedModule", "annotate", "export", "fork", "freeze", "ignore",
    "interface", "is_scripting", "is_tracing", "load", "optimize_for_inference", "save",
    "script", "script_if_tracing", "trace", "trace_module", "unused", "wait",
]

Final = typing.Final
_ARCHIVE_ROOT = "ember_jit"
_tracing = [False]


def _source(function) -> str:
    try:
        return textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return f"def {getattr(function, '__name__', 'forward')}(...): <source unavailable>"


class ScriptModule(Module):
    """Base of the modules ``script`` and ``trace`` return."""

    def save(self, f, _extra_files=None) -> None:
        save(self, f, _extra_files=_extra_files)


class RecursiveScriptModule(ScriptModule):
    """A scripted view of a module: the same parameters and buffers (shared, not copied),
    each child scripted in turn, ``forward`` the original's."""

    def __init__(self, original: Module) -> None:
        super().__init__()
        object.__setattr__(self, "_original", original)
        # (args, kwargs) of a run, from which export_opnames names the ops (see _opnames)
        object.__setattr__(self, "_example_inputs", None)
        self.original_name = type(original).__name__
        self._parameters = original._parameters
        self._buffers = original._buffers
        for name, child in original._modules.items():
            self._modules[name] = None if child is None else type(self)._wrap(child)
        self.training = original.training

    @classmethod
    def _wrap(cls, module):
        return module if isinstance(module, ScriptModule) else RecursiveScriptModule(module)

    def forward(self, *args, **kwargs):
        if self._example_inputs is None:
            object.__setattr__(self, "_example_inputs", remember_call(args, kwargs))
        return self._original(*args, **kwargs)

    def train(self, mode: bool = True):
        self._original.train(mode)
        return super().train(mode)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._original, name)  # methods and plain attributes

    def __getitem__(self, index):
        """Containers index as the original does, giving the scripted child."""
        item = self._original[index]
        for name, child in self._original._modules.items():
            if child is item:
                return self._modules[name]
        return type(self)._wrap(item) if isinstance(item, Module) else item

    def __len__(self):
        return len(self._original)

    def __iter__(self):
        return iter(self[i] for i in range(len(self._original)))

    @property
    def code(self) -> str:
        """The source of ``forward`` ember runs (PyTorch shows TorchScript's compiled code)."""
        return _source(type(self._original).forward)

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return "\n".join([f"{type(self).__name__}(", f"  {self.extra_repr()}", *children, ")"])


class TopLevelTracedModule(RecursiveScriptModule):
    """What ``trace`` returns for a module; its repr reads as the traced module's."""

    def __repr__(self) -> str:
        return f"{self.original_name}({self.extra_repr()})"


TracedModule = TopLevelTracedModule


class ScriptFunction:
    """A scripted or traced function: callable, named, saveable's counterpart for code."""

    def __init__(self, function) -> None:
        self._function = function
        self.name = getattr(function, "__name__", "function")
        self.__doc__ = getattr(function, "__doc__", None)

    def __call__(self, *args, **kwargs):
        return self._function(*args, **kwargs)

    @property
    def code(self) -> str:
        return _source(self._function)

    def __repr__(self) -> str:
        return f"<ember.jit.ScriptFunction object at {id(self):#x}>"


_COMPILE_OR_EXPORT = "`torch.compile` or `torch.export`"


def _deprecated(name, target=_COMPILE_OR_EXPORT):
    """PyTorch's deprecation warning, raised at stack level 1 as torch's is: it points into
    ember.jit, not at the caller, so the default filters (which show DeprecationWarning
    only when attributed to ``__main__``) keep it hidden, as they do for torch. script,
    trace, trace_method, save and load have a Python 3.14 wording; the rest one text."""
    if target is None:
        text = f"`torch.jit.{name}` is deprecated. Please use `torch.compile` instead."
    elif sys.version_info >= (3, 14):
        text = (f"`torch.jit.{name}` is not supported in Python 3.14+ and may break. "
                f"Please switch to {target}.")
    else:
        text = f"`torch.jit.{name}` is deprecated. Please switch to {target}."
    warnings.warn(text, DeprecationWarning, stacklevel=1)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """A module as a RecursiveScriptModule, a function as a ScriptFunction; classes and
    already scripted objects come back unchanged."""
    _deprecated("script")
    if isinstance(obj, (ScriptModule, ScriptFunction)) or inspect.isclass(obj):
        return obj
    if isinstance(obj, Module):
        scripted = RecursiveScriptModule(obj)
        if example_inputs:  # PyTorch's list of argument tuples; the first names the ops
            first = example_inputs[0]
            object.__setattr__(scripted, "_example_inputs",
                               (first if isinstance(first, tuple) else (first,), {}))
        return scripted
    if callable(obj):
        return ScriptFunction(obj)
    raise RuntimeError(f"Type '{type(obj)}' cannot be compiled since it inherits from "
                       "nn.Module, pass an instance instead")


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """Run ``func`` once on the example inputs (as tracing does) and wrap it."""
    _deprecated("trace")
    if example_inputs is None and example_kwarg_inputs is None:
        if isinstance(func, Module):
            raise RuntimeError("example_kwarg_inputs should be a dict")
        raise TypeError("'NoneType' object is not iterable")
    args = example_inputs if isinstance(example_inputs, tuple) else (
        () if example_inputs is None else (example_inputs,))
    import ember

    with _tracing_on(), ember.no_grad():
        func(*args, **(example_kwarg_inputs or {}))
    if isinstance(func, Module):
        _deprecated("trace_method")  # PyTorch traces a module through trace_module
        traced = TopLevelTracedModule(func)
        object.__setattr__(traced, "_example_inputs", (args, dict(example_kwarg_inputs or {})))
        return traced
    return ScriptFunction(func)


def trace_module(mod, inputs, **kwargs):
    """``trace`` for the methods named in ``inputs`` ({"forward": example_inputs})."""
    import ember

    _deprecated("trace_method")  # sic: PyTorch's trace_module warns under this name
    with _tracing_on(), ember.no_grad():
        for method, example in inputs.items():
            getattr(mod, method)(*(example if isinstance(example, tuple) else (example,)))
    traced = TopLevelTracedModule(mod)
    if "forward" in inputs:
        example = inputs["forward"]
        object.__setattr__(traced, "_example_inputs",
                           (example if isinstance(example, tuple) else (example,), {}))
    return traced


@contextlib.contextmanager
def _tracing_on():
    _tracing[0] = True
    try:
        yield
    finally:
        _tracing[0] = False


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return _tracing[0]


def ignore(drop=False, **kwargs):
    """``@ignore`` and ``@ignore(drop=True)``: left to run as Python (as everything does)."""
    if callable(drop):
        return drop
    return lambda function: function


def unused(function):
    return function


def export(function):
    return function


def interface(obj):
    return obj


def script_if_tracing(function):
    return function


def annotate(the_type, the_value):
    return the_value


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    _deprecated("freeze", None)
    if not isinstance(mod, ScriptModule):
        raise RuntimeError(  # noqa: TRY004 - PyTorch's type
            "Freezing expects a ScriptModule as input. Please use "
                           "torch.jit.script or torch.jit.trace to script your "
                           "'nn.Module'.")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    _deprecated("optimize_for_inference", None)
    if not isinstance(mod, ScriptModule):
        raise RuntimeError(  # noqa: TRY004 - PyTorch's type
            "optimize_for_inference expects a ScriptModule as input. Please "
                           "use torch.jit.script or torch.jit.trace to script your "
                           "'nn.Module'.")
    return freeze(mod.eval())  # as PyTorch, which freezes every ScriptModule here


class Future:
    """The result of ``fork``: ember runs the call at once, so it is always done."""

    def __init__(self, value=None, error=None) -> None:
        self._value, self._error = value, error

    def done(self) -> bool:
        return True

    def wait(self):
        if self._error is not None:
            raise self._error
        return self._value

    value = wait

    def then(self, callback):
        try:
            return Future(callback(self))
        except Exception as error:  # noqa: BLE001 - the error travels in the future
            return Future(error=error)


def fork(func, *args, **kwargs) -> Future:
    _deprecated("fork", None)
    try:
        return Future(func(*args, **kwargs))
    except Exception as error:  # noqa: BLE001 - raised again by wait(), as PyTorch's
        return Future(error=error)


def wait(future: Future):
    _deprecated("wait", None)
    return future.wait()


def save(m, f, _extra_files=None) -> None:
    """Write a scripted module to ``f`` (a path or a binary file object)."""
    _deprecated("save", "`torch.export`")
    if not isinstance(m, ScriptModule):
        raise AttributeError(  # noqa: TRY004 - PyTorch's type
            f"'{type(m).__name__}' object has no attribute 'save_to_buffer'")
    import ember

    payload = io.BytesIO()
    ember.save(m._original, payload)
    target = os.fspath(f) if isinstance(f, (str, os.PathLike)) else f
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(f"{_ARCHIVE_ROOT}/version", "1")
        archive.writestr(f"{_ARCHIVE_ROOT}/module.pt", payload.getvalue())
        for name, content in (_extra_files or {}).items():
            archive.writestr(f"{_ARCHIVE_ROOT}/extra/{name}",
                             content.encode() if isinstance(content, str) else content)


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    """A scripted module saved by ``jit.save``; ``_extra_files`` names are filled in."""
    _deprecated("load", "`torch.export`")
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(f):
            raise ValueError(f"The provided filename {f} does not exist")
        if os.path.isdir(f):
            raise ValueError(f"The provided filename {f} is a directory")
        source = os.fspath(f)
    else:
        source = f
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding "
                           "central directory") from None
    with archive:
        names = archive.namelist()
        if f"{_ARCHIVE_ROOT}/module.pt" not in names:
            raise RuntimeError(
                "this is a TorchScript archive written by PyTorch (compiled TorchScript "
                "code); ember runs eager modules and cannot execute it. Save the model's "
                "state_dict (torch.save(model.state_dict(), path)) and load it into the "
                "module's class instead.")
        import ember

        module = ember.load(io.BytesIO(archive.read(f"{_ARCHIVE_ROOT}/module.pt")),
                            map_location=map_location, weights_only=False)
        for name in list(_extra_files or {}):
            entry = f"{_ARCHIVE_ROOT}/extra/{name}"
            _extra_files[name] = archive.read(entry) if entry in names else b""
    return RecursiveScriptModule(module)


from ._opnames import export_opnames, remember_call  # noqa: E402 - builds on the above
from ._extras import (  # noqa: E402 - they build on the classes above
    Attribute,
    CompilationUnit,
    Error,
    ScriptWarning,
    TracerWarning,
    TracingCheckError,
    enable_onednn_fusion,
    fuser,
    onednn_fusion_enabled,
    optimized_execution,
    set_fusion_strategy,
    strict_fusion,
)



def __getattr__(name):
    # ``jit.isinstance`` is served from here rather than bound as a global, which would
    # shadow the builtin ``isinstance`` for every function in this module.
    if name == "isinstance":
        from ._extras import isinstance as jit_isinstance

        return jit_isinstance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ += [
    "Attribute", "CompilationUnit", "Error", "ScriptWarning", "TracerWarning",
    "TracingCheckError", "enable_onednn_fusion", "export_opnames", "fuser", "isinstance",
    "onednn_fusion_enabled", "optimized_execution", "set_fusion_strategy", "strict_fusion",
]
