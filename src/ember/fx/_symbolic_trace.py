"""Symbolic tracing: run a module's ``forward`` on Proxies and record a Graph.

PyTorch sees calls such as ``torch.relu(proxy)`` through ``__torch_function__``; ember's
protocol (ember.overrides) is off until a user class needs it, so tracing does not rely on it. Instead, while a trace runs, the public functions of
``ember``, ``ember.nn.functional``, ``ember.special``, ``ember.linalg`` and ``ember.fft`` are
swapped for wrappers that record a ``call_function`` node when an argument holds a Proxy
(and call through otherwise), and are put back afterwards (FX's autowrap idea applied to
whole namespaces). ``nn.Module.__call__`` and ``__getattr__`` are swapped the same way, so
leaf modules become ``call_module`` nodes and parameters ``get_attr`` nodes. Call forms
follow ``_call_forms`` so graphs print as PyTorch's.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

from . import _call_forms
from ._module_forwards import traced_forward
from .graph import Graph
from .node import has_side_effect, map_aggregate
from .proxy import ParameterProxy, Proxy, TracerBase, _find_proxy

__all__ = ["PH", "PHBase", "PHWithMeta", "Tracer", "symbolic_trace", "wrap"]

_HAS_VARSTUFF = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_TRACE_LOCK = threading.RLock()
# (id(globals dict), function name) -> globals dict, filled by ``wrap`` at module scope
_wrapped_fns_to_patch: dict[tuple[int, str], dict] = {}


@has_side_effect
def _assert(condition, message: str = "") -> None:
    """``torch._assert``: a traceable ``assert`` (generated code checks concrete_args)."""
    proxy = _find_proxy(condition, message)
    if proxy is not None:
        node = proxy.tracer.create_proxy("call_function", _assert, (condition, message), {},
                                         name="_assert").node
        node._qualname_hint = (_assert, "torch._assert")
        return
    if not condition:
        raise AssertionError(message)
    return


@has_side_effect
def _assert_is_none(value, msg: str) -> None:
    proxy = _find_proxy(value, msg)
    if proxy is not None:
        proxy.tracer.create_proxy("call_function", _assert_is_none, (value, msg), {})
        return
    if value is not None:
        raise AssertionError(msg)


class PHBase:
    """Marks an argument of ``concrete_args`` that stays a graph input."""

    def __repr__(self) -> str:
        return "PH"


PH = PHBase()


class PHWithMeta(PHBase):
    """A ``PH`` whose attributes are copied onto the placeholder node."""

    def __init__(self, ph_key: str | None = None) -> None:
        super().__init__()
        self.ph_key = ph_key


def wrap(fn_or_name: str | Callable):
    """Treat a module-level function (or a builtin such as ``len``) as a leaf: traced
    calls that receive a Proxy record a ``call_function`` node instead of running it.
    Call at module scope, as ``torch.fx.wrap``."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError(  # noqa: TRY004 - PyTorch's type
            "Unsupported type for global function! Must be either a callable or string name")
    fn_name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    frame = inspect.currentframe().f_back
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _wrapped_fns_to_patch[(id(frame.f_globals), fn_name)] = frame.f_globals
    return fn_or_name


# -- recording wrappers for ember's namespaces ----------------------------------------------

@functools.cache
def _signature(fn) -> inspect.Signature:
    return inspect.signature(fn)


def _normalize_call(original, form, args, kwargs):
    """Arguments as PyTorch's Python function forwards them to ``handle_torch_function``:
    the first ``n`` parameters positionally, the listed ones by keyword (defaults filled)."""
    npos, kwnames = form
    try:
        bound = _signature(original).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return args, kwargs
    bound.apply_defaults()
    params = list(bound.signature.parameters)
    if any(bound.signature.parameters[p].kind in (inspect.Parameter.VAR_POSITIONAL,
                                                  inspect.Parameter.VAR_KEYWORD)
           for p in params):
        return args, kwargs
    positional = tuple(bound.arguments[p] for p in params[:npos])
    keywords = {k: bound.arguments[k] for k in kwnames if k in bound.arguments}
    return positional, keywords


class _Recorder:
    """Stands in for one ember function while tracing: records a node when an argument
    holds a Proxy, else calls through. It compares and hashes equal to the function, so a
    pass written ``if target == torch.sigmoid`` still matches while namespaces are
    patched (inside ``Transformer.transform``)."""

    def __init__(self, original, qualname: str, form=None, method: str | None = None):
        functools.update_wrapper(self, original)
        self._fx_original = original
        self._qualname = qualname
        self._node_name = qualname.rsplit(".", 1)[1]
        self._form = form
        self._method = method

    def __call__(self, *args, **kwargs):
        proxy = _find_proxy(args, kwargs)
        if proxy is None:
            return self._fx_original(*args, **kwargs)
        tracer = proxy.tracer
        if self._method is not None:
            return tracer.create_proxy("call_method", self._method, args, kwargs)
        if self._form is not None:
            args, kwargs = _normalize_call(self._fx_original, self._form, args, kwargs)
        result = tracer.create_proxy("call_function", self._fx_original, args, kwargs,
                                     name=self._node_name)
        result.node._qualname_hint = (self._fx_original, self._qualname)
        return result

    def __eq__(self, other) -> bool:
        return other is self or other is self._fx_original

    def __hash__(self) -> int:
        return hash(self._fx_original)

    def __repr__(self) -> str:
        return repr(self._fx_original)

    def __get__(self, obj, objtype=None):
        # stored as a class attribute it must not bind like a method
        return self


def _make_recorder(original, qualname: str, form=None, method: str | None = None):
    return _Recorder(original, qualname, form, method)


_RECORDERS: list[tuple[Any, str, Any, Callable]] = []


def _namespace_recorders() -> list[tuple[Any, str, Any, Callable]]:
    """(module, name, original, recorder) for every public ember function tracing sees."""
    if _RECORDERS:
        return _RECORDERS
    from .graph import _public_functions, _public_namespaces

    for module, prefix, renamed in _public_namespaces():
        is_f = prefix == "torch.nn.functional"
        forms = _call_forms.F_FORMS if is_f else (
            _call_forms.TORCH_FORMS if prefix == "torch" else {})
        for name, original in _public_functions(module):
            if getattr(original, "_fx_original", None) is not None:
                continue
            if prefix == "torch" and name in _call_forms.TORCH_NOT_RECORDED:
                continue
            qualname = renamed.get(name, f"{prefix}.{name}")
            method = _call_forms.F_AS_METHOD.get(name) if is_f else None
            form = forms.get(name)
            if prefix == "torch" and name in _call_forms.F_ONLY:
                form = _call_forms.F_FORMS.get(name)
            recorder = _make_recorder(original, qualname, form, method)
            _RECORDERS.append((module, name, original, recorder))
    return _RECORDERS


# Tensor operator slots and the method name PyTorch records when a real tensor meets a
# Proxy (``constant + proxy`` is ``constant.add(proxy)``; ``constant[proxy]`` keeps the slot)
_TENSOR_SLOT_METHODS = {
    "__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
    "__floordiv__": "__floordiv__", "__mod__": "remainder", "__pow__": "pow",
    "__matmul__": "matmul", "__and__": "__and__", "__or__": "__or__", "__xor__": "__xor__",
    "__lshift__": "__lshift__", "__rshift__": "__rshift__", "__lt__": "lt", "__le__": "le",
    "__eq__": "eq", "__ne__": "ne", "__gt__": "gt", "__ge__": "ge",
    "__getitem__": "__getitem__", "__setitem__": "__setitem__",
}
_TENSOR_RECORDERS: list[tuple[str, Callable]] = []


def _tensor_method_recorders() -> list[tuple[str, Callable]]:
    """(attribute, recorder) for ember.Tensor's methods: called on a real tensor with a
    Proxy argument they record ``call_method`` (PyTorch sees these through
    ``__torch_function__``); otherwise they run the real method."""
    if _TENSOR_RECORDERS:
        return _TENSOR_RECORDERS
    import ember

    names = dict.fromkeys(n for n in dir(ember.Tensor) if not n.startswith("_"))
    names.update(dict.fromkeys(_TENSOR_SLOT_METHODS))
    for attr in names:
        original = inspect.getattr_static(ember.Tensor, attr, None)
        if not callable(original) or isinstance(original, (type, staticmethod, classmethod)):
            continue
        _TENSOR_RECORDERS.append((attr, _make_method_recorder(
            original, _TENSOR_SLOT_METHODS.get(attr, attr))))
    return _TENSOR_RECORDERS


def _patch_recorders(patcher: _Patcher) -> None:
    """Swap in the recording wrappers of ember's namespaces and Tensor methods (and of
    the torch names generated code calls, so GraphModules trace too)."""
    import ember

    from .graph import _RECORDING, _set_recording

    by_qualname = {}
    for module, name, _original, recorder in _namespace_recorders():
        patcher.patch_attr(module, name, recorder)
        by_qualname.setdefault(recorder._qualname, recorder)
    for name, recorder in _tensor_method_recorders():
        patcher.patch_attr(ember.Tensor, name, recorder)
    previous = dict(_RECORDING)  # a trace inside a trace hands the outer one's back
    _set_recording(by_qualname)
    patcher.on_restore.append(lambda: _set_recording(previous))


def _make_method_recorder(original, method_name: str):
    def method(self, *args, **kwargs):
        proxy = _find_proxy(args, kwargs)
        if proxy is None:
            return original(self, *args, **kwargs)
        return proxy.tracer.create_proxy("call_method", method_name, (self, *args), kwargs)

    functools.update_wrapper(method, original)
    return method


def _make_wrapped_function(original):
    """``wrap``/autowrap: record a call_function node (flagged ``is_wrapped``)."""
    def wrapped(*args, **kwargs):
        proxy = _find_proxy(args, kwargs)
        if proxy is None:
            return original(*args, **kwargs)
        result = proxy.tracer.create_proxy("call_function", original, args, kwargs)
        result.node.meta["is_wrapped"] = True
        return result

    functools.update_wrapper(wrapped, original)
    return wrapped


class _Patcher:
    """Temporary attribute / dict-entry replacements, undone in reverse order."""

    _MISSING = object()

    def __init__(self) -> None:
        self.undo: list[tuple[Any, str, Any, bool]] = []
        self.visited: set[int] = set()
        self.on_restore: list[Callable[[], None]] = []

    def patch_attr(self, owner, name: str, new) -> None:
        self.undo.append((owner, name, owner.__dict__.get(name, self._MISSING), False))
        setattr(owner, name, new)

    def patch_dict(self, mapping: dict, name: str, new) -> None:
        self.undo.append((mapping, name, mapping.get(name, self._MISSING), True))
        mapping[name] = new

    def restore(self) -> None:
        while self.on_restore:
            self.on_restore.pop()()
        while self.undo:
            owner, name, old, is_dict = self.undo.pop()
            if is_dict:
                if old is self._MISSING:
                    owner.pop(name, None)
                else:
                    owner[name] = old
            elif old is self._MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)


def _patch_function(fn, nargs: int):
    """A copy of ``fn`` whose ``*args``/``**kwargs`` are plain parameters, so tracing can
    pass one Proxy for each (as PyTorch does)."""
    co = fn.__code__
    new_code = co.replace(co_flags=co.co_flags & ~_HAS_VARSTUFF, co_argcount=nargs,
                          co_posonlyargcount=0, co_kwonlyargcount=0)
    import types

    return types.FunctionType(new_code, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)


class Tracer(TracerBase):
    """Turns a module or function into a Graph; override ``is_leaf_module`` (and the
    other hooks) to change what is recorded.

    Example::

        class MyTracer(fx.Tracer):
            def is_leaf_module(self, m, qualname):
                return isinstance(m, MyBlock) or super().is_leaf_module(m, qualname)
    """

    def __init__(self, autowrap_modules: tuple = (math,), autowrap_functions: tuple = (),
                 param_shapes_constant: bool = False) -> None:
        super().__init__()
        self._autowrap_function_ids = {
            id(value) for module in autowrap_modules
            for name, value in vars(module).items()
            if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update(id(f) for f in autowrap_functions)
        self._autowrap_search = list(autowrap_modules)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths: dict[int, str] | None = None
        self.root = None
        self.scope = None
        self.module_stack = {}
        self.node_name_to_scope = {}

    # -- hooks users override -------------------------------------------------------------

    def create_arg(self, a: Any):
        """Parameters, buffers and submodules of the root become ``get_attr`` nodes; other
        tensors are stored on the root as ``_tensor_constant<i>``."""
        import ember
        from ember.nn import Module, Parameter

        if isinstance(a, Parameter):
            for name, param in self.root.named_parameters():
                if a is param:
                    return self.create_node("get_attr", name, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, ember.Tensor):
            for name, buffer in self.root.named_buffers():
                if a is buffer:
                    return self.create_node("get_attr", name, (), {})
            qualname = self.tensor_attrs.get(id(a))
            if not qualname:
                index = 0
                while hasattr(self.root, f"_tensor_constant{index}"):
                    index += 1
                qualname = f"_tensor_constant{index}"
                self.tensor_attrs[id(a)] = qualname
                setattr(self.root, qualname, a)
            return self.create_node("get_attr", qualname, (), {})
        if isinstance(a, Module):
            for name, module in self.root.named_modules():
                if a is module:
                    return self.create_node("get_attr", name, (), {})
            raise NameError("module is not installed as a submodule")
        return super().create_arg(a)

    def is_leaf_module(self, m, module_qualified_name: str) -> bool:
        """ember.nn's built-in modules are leaves (recorded as one call_module), as
        torch.nn's are for PyTorch; Sequential is traced through."""
        from ember.nn import Sequential

        module_name = type(m).__module__
        return module_name.startswith(("ember.nn", "torch.nn")) and not isinstance(m, Sequential)

    def path_of_module(self, mod) -> str:
        if self.submodule_paths is not None:
            path = self.submodule_paths.get(id(mod))
            if path is None:
                raise NameError("module is not installed as a submodule")
            return path
        for name, module in self.root.named_modules():
            if module is mod:
                return name
        raise NameError("module is not installed as a submodule")

    def call_module(self, m, forward: Callable, args: tuple, kwargs: dict):
        """Record a leaf module as ``call_module``; trace through any other."""
        module_qualified_name = self.path_of_module(m)
        if not self.is_leaf_module(m, module_qualified_name):
            pytorch_forward = traced_forward(m)
            if pytorch_forward is not None:
                return pytorch_forward(m, *args, **kwargs)
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", module_qualified_name, args, kwargs)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict):
        """A parameter read in ``forward`` becomes a (cached) ``get_attr`` Proxy; so does
        a buffer when ``proxy_buffer_attributes`` is set (otherwise buffers become
        ``get_attr`` nodes where they are used)."""
        import ember
        from ember.nn import Parameter

        if isinstance(attr_val, Parameter):
            proxy = self._attr_proxy(attr_val, self.root.named_parameters(),
                                     parameter_proxy_cache)
            if proxy is not None:
                return proxy
        if self.proxy_buffer_attributes and isinstance(attr_val, ember.Tensor):
            proxy = self._attr_proxy(attr_val, self.root.named_buffers(),
                                     parameter_proxy_cache)
            if proxy is not None:
                return proxy
        return attr_val

    def _attr_proxy(self, attr_val, named_values, cache: dict) -> Proxy | None:
        for name, value in named_values:
            if attr_val is value:
                if name not in cache:
                    factory = None
                    if self.param_shapes_constant:
                        def factory(node, name=name, value=value):
                            return ParameterProxy(self, node, name, value)
                    cache[name] = self.create_proxy("get_attr", name, (), {},
                                                    proxy_factory_fn=factory)
                return cache[name]
        return None

    # -- inputs ---------------------------------------------------------------------------

    def create_args_for_root(self, root_fn: Callable, is_module: bool, concrete_args=None):
        """Placeholders for ``root_fn``'s parameters (``concrete_args`` fixes some)."""
        fn_for_analysis = inspect.unwrap(root_fn)
        co = fn_for_analysis.__code__
        total_args = co.co_argcount + co.co_kwonlyargcount
        names_iter = iter(co.co_varnames)
        args: list[Any] = []
        skip = 0
        if is_module:
            if total_args == 0:
                raise RuntimeError("``self`` argument cannot be part of *args expansion!")
            skip = 1
            next(names_iter)
            args.append(self.root)
        sig = inspect.signature(fn_for_analysis)
        arg_names = [next(names_iter) for _ in range(skip, total_args)]
        if isinstance(concrete_args, tuple):
            if len(arg_names) != len(concrete_args):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got "
                                   f"{len(concrete_args)} concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args))
        args.extend(self._proxy_placeholder(name, concrete_args, sig) for name in arg_names)
        if co.co_kwonlyargcount > 0 or co.co_flags & _HAS_VARSTUFF:
            if co.co_flags & inspect.CO_VARARGS:
                args.append(self._proxy_placeholder("*" + next(names_iter), None, sig))
            if co.co_flags & inspect.CO_VARKEYWORDS:
                args.append(self._proxy_placeholder("**" + next(names_iter), None, sig))
            root_fn = _patch_function(root_fn, len(args))
        return root_fn, args

    def _proxy_placeholder(self, name: str, concrete_args, sig):
        if concrete_args is not None and name in concrete_args:
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
            counter = [0]

            def replace_ph(x):
                counter[0] += 1
                out = self.create_proxy("placeholder", f"{name}_{counter[0]}", default, {})
                if isinstance(x, PHBase):
                    if x is not PH:
                        for attr, value in vars(x).items():
                            setattr(out.node, attr, value)
                    return out
                if type(x) in (bool, int, float, str, complex):
                    check = self.create_proxy(
                        "call_function", _assert,
                        (out == x, (f"{name} has been specialized to have value {x} but got "
                                    "another value")), {}, name="_assert")
                    check.node._qualname_hint = (_assert, "torch._assert")
                elif x is None:
                    self.create_proxy("call_function", _assert_is_none,
                                      (out, (f"{name} has been specialized to have value None "
                                             "but got another value")), {})
                else:
                    warnings.warn(f"Was not able to add assertion to guarantee correct input "
                                  f"{name} to specialized function. It is up to the user to make "
                                  "sure that your inputs match the inputs you specialized the "
                                  "function with.")
                return x

            value = concrete_args[name]
            if isinstance(value, (tuple, list, dict)) and not isinstance(value, PHBase):
                return map_aggregate(value, replace_ph)
            return replace_ph(value)
        if name[0] == "*":
            default = ()
        else:
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
        annotation = getattr(inspect.unwrap(self._traced_fn), "__annotations__", {}).get(name)
        return self.create_proxy("placeholder", name, default, {}, type_expr=annotation)

    # -- the trace ------------------------------------------------------------------------

    def trace(self, root, concrete_args: dict[str, Any] | None = None) -> Graph:
        """Trace ``root`` (a Module or a function) into ``self.graph``."""
        from ember.nn import Module

        with _TRACE_LOCK:
            if isinstance(root, Module):
                self.root = root
                fn = getattr(type(root), self.traced_func_name)
                if self.traced_func_name == "forward" and traced_forward(root) is not None:
                    fn = traced_forward(root)
                self.root_module_name = root._get_name()
                self.submodule_paths = {id(mod): name for name, mod in root.named_modules()}
            else:
                self.root = Module()
                fn = root
            self.graph = Graph(tracer_cls=getattr(self, "__class__", None))
            self.tensor_attrs: dict[int, str] = {}
            self._collect_tensor_attrs(self.root, [])
            self._traced_fn = fn
            fn_globals = fn.__globals__
            fn, args = self.create_args_for_root(fn, isinstance(root, Module), concrete_args)
            patcher = _Patcher()
            try:
                self._install_patches(patcher, fn_globals)
                result = fn(*args)
                self.create_node("output", "output", (self.create_arg(result),), {},
                                 type_expr=fn.__annotations__.get("return", None))
            finally:
                patcher.restore()
            self.submodule_paths = None
        return self.graph

    def _collect_tensor_attrs(self, module, prefix: list[str]) -> None:
        import ember

        for key, value in module.__dict__.items():
            if isinstance(value, ember.Tensor):
                self.tensor_attrs[id(value)] = ".".join(prefix + [key])
        for key, child in module.named_children():
            self._collect_tensor_attrs(child, prefix + [key])

    def _install_patches(self, patcher: _Patcher, fn_globals: dict) -> None:
        from ember.nn import Module

        original_getattr = Module.__getattr__
        original_call = Module.__call__
        parameter_proxy_cache: dict[str, Proxy] = {}
        tracer = self

        def module_getattr_wrapper(mod, attr):
            value = original_getattr(mod, attr)
            return tracer.getattr(attr, value, parameter_proxy_cache)

        def module_call_wrapper(mod, *args, **kwargs):
            def forward(*args, **kwargs):
                return original_call(mod, *args, **kwargs)

            forward_fn = getattr(type(mod), "forward", None)
            tracer._autowrap_check(patcher, getattr(forward_fn, "__globals__", {}))
            return tracer.call_module(mod, forward, args, kwargs)

        patcher.patch_attr(Module, "__getattr__", module_getattr_wrapper)
        patcher.patch_attr(Module, "__call__", module_call_wrapper)
        _patch_recorders(patcher)
        for (_, name), globals_dict in _wrapped_fns_to_patch.items():
            original = globals_dict.get(name, builtins.__dict__.get(name))
            if original is not None:
                patcher.patch_dict(globals_dict, name, _make_wrapped_function(original))
        self._autowrap_check(patcher, fn_globals)

    def _autowrap_check(self, patcher: _Patcher, fn_globals: dict) -> None:
        """Functions of the autowrap modules (``math``) bound as globals of a traced
        ``forward`` (``from math import sqrt``) get wrapped; so do ember functions
        imported by name (``from ember import relu``)."""
        if id(fn_globals) in patcher.visited:
            return
        patcher.visited.add(id(fn_globals))
        by_id = {id(original): recorder for _, _, original, recorder in _namespace_recorders()}
        for name, value in list(fn_globals.items()):
            if name.startswith("_") or not callable(value):
                continue
            if id(value) in self._autowrap_function_ids:
                patcher.patch_dict(fn_globals, name, _make_wrapped_function(value))
            elif id(value) in by_id:
                patcher.patch_dict(fn_globals, name, by_id[id(value)])


def symbolic_trace(root, concrete_args: dict[str, Any] | None = None):
    """Trace ``root`` (a Module or function) into a ``GraphModule``, as
    ``torch.fx.symbolic_trace``.

    Example::

        gm = fx.symbolic_trace(model)
        print(gm.code)
    """
    from ember.nn import Module

    from .graph_module import GraphModule

    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = root.__class__.__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)
