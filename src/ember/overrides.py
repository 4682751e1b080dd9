"""``torch.overrides``: the ``__torch_function__`` protocol, TorchFunctionMode, subclasses.

How a call reaches ``__torch_function__`` without slowing plain tensors down:

- Until something could use the protocol, ember's functions and methods are the plain
  ones and pay nothing. The first Tensor subclass whose ``__torch_function__`` is not
  ``_disabled_torch_function_impl`` (``Tensor.__init_subclass__``), the first class
  statement defining ``__torch_function__`` (a duck type such as the docs' ScalarTensor:
  a ``builtins.__build_class__`` hook, removed once used) or the first mode entered
  installs the dispatch (``_install``).
- Installing swaps the *code* of every public function object (``ember.add``,
  ``ember.nn.functional.relu``, ``Tensor.__add__``, ...) for a trampoline and keeps the
  original code in a copy. The objects stay the same, so ``func is torch.add`` holds,
  names imported earlier (``from ember import relu``) dispatch too, and ember.fx's tables
  keyed by these objects keep working. The trampoline calls the original straight away
  when every positional argument's type is known not to dispatch and no keyword or mode
  is in play; otherwise ``_dispatch`` orders the overloaded arguments as PyTorch does
  (subclasses before their bases, else left to right) and calls the top mode, then each
  ``__torch_function__``, until one returns something other than NotImplemented.
- Tensor methods and ``ember``'s aliases are function objects of their own (copies
  sharing the code: ``_overrides_methods``), so ``x.sum()`` hands ``Tensor.sum`` to the
  handlers and ``torch.sum(x)`` hands ``torch.sum``, as in PyTorch.
- ``Tensor.__torch_function__`` (every subclass's default) runs the function under
  ``DisableTorchFunctionSubclass`` and returns Tensor results as the subclass
  (``as_subclass``: an alias with ``AliasBackward0``, as PyTorch's ``_convert``). ember's
  own subclasses (Parameter, QuantizedTensor, TVTensor, ...) get
  ``_disabled_torch_function_impl``: their results stay plain tensors.
- Backward entry points run with the protocol off, as PyTorch's C++ engine never calls
  ``__torch_function__``: gradients are plain tensors.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import importlib
import types as _types
import warnings

from ._C import (
    _SLOW,
    _STATE,
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    _disabled_torch_function_impl,
    _mode_active,
    _pop_mode,
    _push_mode,
)
from ._overrides_methods import _own_tensor_methods  # noqa: F401 - ember/__init__ calls it
from ._overrides_names import (
    _C_FUNCTIONAL,
    _C_NN,
    _NOT_DISPATCHED,
    _NOT_OPERANDS,
    _OPERATOR_METHODS,
    _PY_TENSOR,
    _PY_TORCH,
    _SLOT_ALIASES,
    _TENSOR_DUNDERS,
    _TENSOR_IGNORED,
    _TENSOR_PROPERTIES,
    _TORCH_FUNCTIONAL,
)
from ._tensor import Size, Tensor

__all__ = [
    "BaseTorchFunctionMode", "TorchFunctionMode", "enable_reentrant_dispatch",
    "get_default_nowrap_functions", "get_ignored_functions", "get_overridable_functions",
    "get_testing_overrides",
    "handle_torch_function", "has_torch_function", "has_torch_function_unary",
    "has_torch_function_variadic", "is_tensor_like", "is_tensor_method_or_property",
    "resolve_name", "wrap_torch_function",
]


_INSTALLED = [False]
# Types whose instances never dispatch (a trampoline's fast path); grows as _dispatch meets
# new ones. Containers are never added: their elements are looked at.
_PLAIN: set = {Tensor, int, float, bool, complex, str, type(None), slice, type(Ellipsis), Size}
_CONTAINERS = (tuple, list)


# -- which arguments dispatch --------------------------------------------------------------

def _overloads(cls) -> bool:
    """Whether instances of ``cls`` take part in dispatch (PyTorch's has_torch_function for
    one type): plain Tensor and classes with the disabled implementation do not."""
    if cls is Tensor:
        return False
    impl = getattr(cls, "__torch_function__", None)
    return impl is not None and impl is not _disabled_torch_function_impl


def _add_overloaded(arg, found: list, seen: list) -> None:
    cls = type(arg)
    if cls in seen:
        return
    seen.append(cls)
    # a subclass goes before the first argument of a class it derives from
    for position, other in enumerate(found):
        if issubclass(cls, type(other)):
            found.insert(position, arg)
            return
    found.append(arg)


def _collect(values, found: list, seen: list) -> None:
    plain = _PLAIN
    for value in values:
        cls = type(value)
        if cls in plain:
            continue
        if cls in _CONTAINERS:
            for item in value:
                item_cls = type(item)
                if item_cls not in plain and item_cls not in _CONTAINERS:
                    if _overloads(item_cls):
                        _add_overloaded(item, found, seen)
                    else:
                        plain.add(item_cls)
        elif _overloads(cls):
            _add_overloaded(value, found, seen)
        else:
            plain.add(cls)


def _get_overloaded_args(relevant_args) -> list:
    """The arguments whose ``__torch_function__`` is called, in call order."""
    found: list = []
    _collect(relevant_args, found, [])
    return found


def has_torch_function(relevant_args) -> bool:
    """Whether a call with these arguments goes to ``__torch_function__`` (an overloaded
    argument while subclass dispatch is on, or an active mode)."""
    if _SLOW[0] and _mode_active():
        return True
    return _STATE.subclass_on and bool(_get_overloaded_args(relevant_args))


def has_torch_function_unary(arg) -> bool:
    return has_torch_function((arg,))


def has_torch_function_variadic(*args) -> bool:
    return has_torch_function(args)


def is_tensor_like(inp) -> bool:
    """True for Tensors and for objects whose type defines ``__torch_function__``."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


# -- calling the overrides -------------------------------------------------------------------

_MULTIPLE_DISPATCH = ("Multiple dispatch failed for '{name}'; all __torch_function__ handlers "
                      "returned NotImplemented:\n\n{lines}\n\nFor more information, try "
                      "re-running with TORCH_LOGS=not_implemented")


def _no_implementation(public, overloaded, mode, name=None, python_style=True):
    """PyTorch's TypeError when every handler returned NotImplemented: a function written
    in Python words it as ``handle_torch_function`` does, a builtin as its C++ dispatcher."""
    if name is None:
        name = f"{getattr(public, '__module__', None)}.{getattr(public, '__name__', public)}"
    if python_style:
        message = (f"no implementation found for '{name}' on types that implement "
                   f"__torch_function__: {[type(arg) for arg in overloaded]}")
        if mode is not None:
            message += f" nor in mode {mode}"
        return TypeError(message)
    lines = [f"  - tensor subclass {type(arg)}" for arg in overloaded]
    if mode is not None:
        lines.insert(0, f"  - mode object {mode!r}")
    return TypeError(_MULTIPLE_DISPATCH.format(name=name, lines="\n".join(lines)))


def _call_handlers(public, overloaded, args, kwargs, name=None, python_style=True):
    """The mode on top of the stack, then each overloaded argument's handler."""
    mode = None
    if _SLOW[0] and _mode_active():
        stack = _STATE.modes
        mode = stack.pop()  # off while its own handler runs (the count in _C stays)
        try:
            result = mode.__torch_function__(public, tuple(type(a) for a in overloaded),
                                             args, kwargs)
        finally:
            stack.append(mode)
        if result is not NotImplemented:
            return result
    types = tuple(type(arg) for arg in overloaded)
    for arg in overloaded:
        handler = arg.__torch_function__
        if getattr(handler, "__self__", None) is arg:
            # Python functions warn as handle_torch_function does, builtins as C++ code
            warnings.warn(
                "Defining your `__torch_function__` as a plain method is deprecated and will be "
                "an error in future, please define it as a classmethod.",
                DeprecationWarning if python_style else UserWarning, stacklevel=3)
        result = handler(public, types, args, kwargs)
        if result is not NotImplemented:
            return result
    raise _no_implementation(public, overloaded, mode, name, python_style)


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call the ``__torch_function__`` of the active mode and of the overloaded
    ``relevant_args`` for ``public_api(*args, **kwargs)`` (what a Python function that
    supports the protocol calls when ``has_torch_function`` is true)."""
    overloaded = _get_overloaded_args(relevant_args) if _STATE.subclass_on else []
    return _call_handlers(public_api, overloaded, args, kwargs)


def wrap_torch_function(dispatcher):
    """Decorator: the function dispatches on the arguments ``dispatcher(*args, **kwargs)``
    returns, so a user-defined function becomes overridable."""
    def inner(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant_args = dispatcher(*args, **kwargs)
            if has_torch_function(relevant_args):
                return handle_torch_function(wrapped, relevant_args, *args, **kwargs)
            return func(*args, **kwargs)
        return wrapped
    return inner


# -- the default implementation of subclasses ------------------------------------------------

def _convert(ret, cls):
    if cls is Tensor:
        return ret
    if isinstance(ret, Tensor) and not isinstance(ret, cls):
        return _as_subclass(ret, cls)
    if isinstance(ret, _CONTAINERS):
        parts = [_convert(part, cls) for part in ret]
        if hasattr(ret, "_fields"):  # ember.return_types are named tuples
            return type(ret)(*parts)
        return type(ret)(parts)
    return ret


def _default_torch_function(cls, func, types, args, kwargs):
    """``Tensor.__torch_function__``: decline when another argument's class is not a base
    of ``cls``; else run ``func`` with subclass dispatch off and return Tensor results as
    ``cls`` (what keeps ``sub + 1`` a subclass instance)."""
    if kwargs is None:
        kwargs = {}
    for other in types:
        if not issubclass(cls, other):
            return NotImplemented
    with DisableTorchFunctionSubclass():
        ret = func(*args, **kwargs)
        if func in _NOWRAP:
            return ret
        return _convert(ret, cls)


def get_default_nowrap_functions() -> set:
    """Functions whose results ``Tensor.__torch_function__`` leaves unconverted."""
    return set(_NOWRAP)


_NOWRAP = frozenset({Tensor._base.__get__, Tensor.grad.__get__, Tensor._grad.__get__})


def _retype(tensor, cls):
    """``tensor`` (a fresh alias) as an instance of ``cls``: a class change where the
    layout allows (no extra ``__slots__``), else a new object with the same fields."""
    try:
        tensor.__class__ = cls
        return tensor
    except TypeError:
        out = object.__new__(cls)
        for field in Tensor.__slots__:
            if field not in ("__dict__", "__weakref__") and hasattr(tensor, field):
                object.__setattr__(out, field, getattr(tensor, field))
        out.__dict__.update(tensor.__dict__)
        return out


def _check_subclass(cls):
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")


def _as_subclass(tensor, cls):
    """``tensor.as_subclass(cls)``: an alias of ``tensor`` (same memory and version
    counter, ``AliasBackward0`` in a graph) whose class is ``cls``."""
    _check_subclass(cls)
    with DisableTorchFunction():
        alias = Tensor.__getitem__(tensor, Ellipsis)
    return _retype(alias, cls)


def _make_subclass(cls, data, require_grad=False, **_dispatch_options):
    """``Tensor._make_subclass(cls, data, require_grad)``: a detached leaf of class ``cls``
    sharing ``data``'s memory (how Parameter-like subclasses are built in ``__new__``)."""
    _check_subclass(cls)
    if not isinstance(data, Tensor):
        raise TypeError("_make_subclass(): argument 'data' (position 2) must be Tensor, not "
                        f"{type(data).__name__}")
    with DisableTorchFunction():
        out = Tensor.detach(data)
        if require_grad:
            Tensor.requires_grad_(out, True)
    return _retype(out, cls)


def _reduce_subclass(tensor, reduced):
    """Pickle a subclass instance as PyTorch does: the plain tensor's reduction, then the
    class and the instance's attributes (``_rebuild_from_type_v2``). ember's own subclasses
    (quantized, sparse) keep their own reductions."""
    if type(tensor).__module__.startswith("ember."):
        return reduced
    state = {key: value for key, value in tensor.__dict__.items() if key != "_view_creation"}
    return (_rebuild_from_type_v2, (reduced[0], type(tensor), reduced[1], state))


def _rebuild_from_type_v2(func, new_type, args, state):
    ret = func(*args)
    if type(ret) is not new_type:
        ret = _as_subclass(ret, new_type)  # an alias, as PyTorch's (not a leaf if it was)
    if getattr(type(ret), "__setstate__", None) is not None:
        ret.__setstate__(state)
    else:
        ret.__dict__.update(state)
    return ret


def _register_subclass(cls) -> None:
    """``Tensor.__init_subclass__``: ember's own subclasses keep plain results; a user's
    subclass that can dispatch installs the trampolines."""
    if "__torch_function__" not in cls.__dict__ and cls.__module__.startswith("ember."):
        cls.__torch_function__ = _disabled_torch_function_impl
    elif not _INSTALLED[0] and _overloads(cls):
        _install()


# -- modes -----------------------------------------------------------------------------------

class TorchFunctionMode:
    """Subclass and define ``__torch_function__(self, func, types, args=(), kwargs=None)``;
    inside ``with Mode():`` every ember function and Tensor method call goes to it (the
    mode is off while its own ``__torch_function__`` runs, so calling ``func`` there runs
    the function, or the next mode down)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        if not _INSTALLED[0]:
            _install()
        _push_mode(self)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        _pop_mode(self)

    @classmethod
    def push(cls, *args, **kwargs):
        warnings.warn("`Mode.push()` is no longer necessary and can be replaced with just "
                      "`with Mode()`", stacklevel=2)
        return cls(*args, **kwargs)


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every function unchanged: subclass it to override a few."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _get_current_function_mode():
    return _STATE.modes[-1] if _STATE.modes else None


def _get_current_function_mode_stack() -> list:
    return list(_STATE.modes)


@contextlib.contextmanager
def _pop_mode_temporarily():
    stack = _STATE.modes
    mode = stack.pop()
    try:
        yield mode
    finally:
        stack.append(mode)


@contextlib.contextmanager
def enable_reentrant_dispatch():
    """In PyTorch this restores the C++ dispatcher's Python state so ``__torch_dispatch__``
    code can call back into the dispatcher. ember has no dispatcher below
    ``__torch_function__``, so there is no such state and the block runs as it is."""
    yield


# -- installing the trampolines --------------------------------------------------------------

_BINARY = 1  # an operator slot: a TypeError from the handlers becomes NotImplemented
_ISOLATE = 2  # an autograd entry point: runs with the protocol off (no fast path)
_MISSING = object()
_SWAPPED: list = []  # (function, original code, original kwdefaults, original __wrapped__)
_TEMPLATES: dict = {}
_TABLE: list = []


def _template_code(nfree: int):
    """The trampoline's code, with ``nfree`` free variables so that it can replace the
    code of a closure with that many cells (CPython requires the counts to match)."""
    code = _TEMPLATES.get(nfree)
    if code is None:
        cells = [f"_cell{i}" for i in range(nfree)]
        keep = f"        ({', '.join(cells)},)\n" if cells else ""
        source = (
            f"def _outer({', '.join(cells)}):\n"
            "    def trampoline(*args, _ember_tf=None, **kwargs):\n"
            "        plain = _ember_tf[3]\n"
            "        for arg in args:\n"
            "            if arg.__class__ not in plain:\n"
            "                return _ember_tf[2](_ember_tf, args, kwargs)\n"
            "        if kwargs or _ember_tf[4][0]:\n"
            "            return _ember_tf[2](_ember_tf, args, kwargs)\n"
            "        return _ember_tf[0](*args)\n"
            + keep + "    return trampoline\n")
        namespace: dict = {}
        exec(compile(source, "<ember.overrides trampoline>", "exec"), namespace)  # noqa: S102
        code = namespace["_outer"](*range(nfree)).__code__
        _TEMPLATES[nfree] = code
    return code


def _dispatch(entry, args, kwargs):
    """A trampoline's slow path: find the overloaded arguments and call the handlers, or
    run the original function."""
    found: list = []
    if _STATE.subclass_on:
        seen: list = []
        _collect(args, found, seen)
        if kwargs:
            _collect(kwargs.values(), found, seen)
    flags = entry[7]
    if found or (_SLOW[0] and _mode_active()):
        try:
            return _call_handlers(entry[1], found, args, kwargs, entry[5], entry[6])
        except TypeError:
            if not flags & _BINARY:
                raise
            return NotImplemented
    if flags & _ISOLATE:
        with DisableTorchFunction():
            return entry[0](*args, **kwargs)
    return entry[0](*args, **kwargs)


def _namespaces():
    """(module, PyTorch's name for it) for every namespace whose functions dispatch."""
    names = ("", ".nn.functional", ".special", ".linalg", ".fft", ".nn.init")
    return [(importlib.import_module("ember" + name), "torch" + name) for name in names]


def _table() -> list:
    """(namespace, name, function, public object, qualified name, Python-style message,
    flags) for everything that dispatches, each function object once."""
    if _TABLE:
        return _TABLE
    import ember.autograd

    taken: set = set()

    def add(owner, name, fn, public, qualname, python_style, flags=0):
        if id(fn) in taken:
            return
        taken.add(id(fn))
        _TABLE.append((owner, name, fn, public, qualname, python_style, flags))

    for name in ("backward", "grad"):
        fn = getattr(ember.autograd, name)
        add(ember.autograd, name, fn, fn, f"torch.autograd.{name}", True, _ISOLATE)
    add(Tensor, "backward", Tensor.backward, Tensor.backward, "torch.Tensor.backward", True,
        _ISOLATE)
    spaces = _namespaces()
    # a function that is both torch.X and torch.nn.functional.X in ember is named as PyTorch
    # names the Python one (F.relu, F.softmax) where torch.nn.functional's is Python
    python_f = [(spaces[1][0], spaces[1][1], lambda name: name not in _C_FUNCTIONAL)]
    for module, prefix, wanted in python_f + [(m, p, None) for m, p in spaces]:
        for name, fn in sorted(vars(module).items()):
            if (name.startswith("_") or name in _NOT_DISPATCHED
                    or type(fn) is not _types.FunctionType
                    or not (fn.__module__ + ".").startswith("ember.")
                    or fn.__module__.startswith("ember._backend")
                    or (wanted is not None and not wanted(name))):
                continue
            qualname = f"{prefix}.{name}"
            if prefix == "torch.nn.functional":
                python_style = name not in _C_FUNCTIONAL
                if not python_style:  # builtins PyTorch names torch.nn.X or torch.X
                    qualname = f"torch.nn.{name}" if name in _C_NN else f"torch.{name}"
            else:
                python_style = prefix == "torch" and name in _PY_TORCH
                if prefix == "torch" and name in _TORCH_FUNCTIONAL:
                    qualname = f"torch.functional.{name}"
            add(module, name, fn, fn, qualname, python_style)
    names = [n for n in dir(Tensor) if not n.startswith("_") and n not in _TENSOR_IGNORED]
    for name in names + list(_TENSOR_DUNDERS):
        fn = Tensor.__dict__.get(name, _MISSING)
        if type(fn) is not _types.FunctionType:
            continue
        binary = name.startswith("__") and name not in _NOT_OPERANDS
        method = _OPERATOR_METHODS.get(name, name)
        public = Tensor.__dict__.get(method)
        if type(public) is not _types.FunctionType:  # no such method: the slot's own name
            public = fn
        add(Tensor, method, fn, public, f"torch.Tensor.{method}", method in _PY_TENSOR,
            _BINARY if binary else 0)
    for name in _TENSOR_PROPERTIES:
        prop = Tensor.__dict__.get(name)
        if isinstance(prop, property) and type(prop.fget) is _types.FunctionType:
            add(Tensor, name, prop.fget, prop.__get__, f"torch.Tensor.{name}.__get__", False)
    return _TABLE


def _swap(fn, public, qualname, python_style, flags, name) -> None:
    original = fn.__code__
    copy = _types.FunctionType(original, fn.__globals__, fn.__name__, fn.__defaults__,
                               fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__dict__.update(fn.__dict__)
    copy.__qualname__, copy.__module__, copy.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    plain = frozenset() if flags & _ISOLATE else _PLAIN
    entry = (copy, public, _dispatch, plain, _SLOW, qualname, python_style, flags)
    _SWAPPED.append((fn, original, fn.__kwdefaults__, fn.__dict__.get("__wrapped__", _MISSING),
                     fn.__name__))
    if fn is public and name.isidentifier():
        # a Tensor method made by a factory (``float``, ``add_``) or bound to a slot
        # (``__getitem__``): handlers that log ``func.__name__`` see the name called
        fn.__name__ = name
    fn.__code__ = _template_code(len(original.co_freevars)).replace(
        co_name=original.co_name, co_qualname=original.co_qualname)
    fn.__kwdefaults__ = {"_ember_tf": entry}
    fn.__wrapped__ = copy  # inspect.signature and ember.fx see the original parameters


def _install() -> None:
    """Route every public function and Tensor method through ``_dispatch`` (once, when
    the protocol first could be used: see the module docstring)."""
    if _INSTALLED[0]:
        return
    _INSTALLED[0] = True
    _unhook_build_class()
    for owner, name, fn, public, qualname, python_style, flags in _table():
        _swap(fn, public, qualname, python_style, flags, name if owner is Tensor else fn.__name__)


def _uninstall() -> None:
    """Put the original code back (tests use it to leave ember as they found it)."""
    while _SWAPPED:
        fn, code, kwdefaults, wrapped, name = _SWAPPED.pop()
        fn.__code__ = code
        fn.__name__ = name
        fn.__kwdefaults__ = kwdefaults
        if wrapped is _MISSING:
            fn.__dict__.pop("__wrapped__", None)
        else:
            fn.__wrapped__ = wrapped
    _INSTALLED[0] = False
    _hook_build_class()


def get_overridable_functions() -> dict:
    """{namespace: [functions]} for everything a ``__torch_function__`` can override (a
    function reachable from two namespaces is listed under both)."""
    dispatching = {id(fn) for _owner, _name, fn, *_rest in _table()}
    found: dict = {}
    for module, _prefix in _namespaces():
        found[module] = [fn for name, fn in sorted(vars(module).items())
                         if not name.startswith("_") and id(fn) in dispatching]
    found[Tensor] = [public for owner, _name, _fn, public, *_rest in _table() if owner is Tensor]
    found[Tensor] += [fn for name, fn in sorted(vars(Tensor).items())
                      if id(fn) in dispatching and fn not in found[Tensor]]
    return found


def get_testing_overrides() -> dict:
    """{overridable function: a dummy with its signature that returns -1}, as PyTorch's
    (see ember._overrides_testing)."""
    from ._overrides_testing import get_testing_overrides as build

    return build(_table(), resolve_name)


def get_ignored_functions() -> set:
    """Public functions that never dispatch (configuration, utilities, constructors of
    the protocol itself)."""
    ignored = {Tensor.as_subclass, Tensor._make_subclass}
    for module, _prefix in _namespaces():
        for name in _NOT_DISPATCHED:
            fn = vars(module).get(name)
            if callable(fn):
                ignored.add(fn)
    return ignored


def is_tensor_method_or_property(func) -> bool:
    """Whether ``func`` is a Tensor method or property getter (those receive the tensor
    as their first argument)."""
    if getattr(func, "__name__", None) == "__get__":
        return True
    return any(fn is func for fn in get_overridable_functions()[Tensor])


def resolve_name(f):
    """The qualified name (``torch.add``, ``torch.Tensor.sum``) of an overridable
    function, or None."""
    for owner, _name, fn, public, qualname, *_rest in _table():
        slot = None
        if owner is Tensor and fn is f and public is not f:
            slot = next((name for name, value in vars(Tensor).items() if value is f), None)
        if slot is not None:
            # an operator slot: PyTorch's __abs__/__neg__/__pos__ are the methods themselves
            return qualname if slot in _SLOT_ALIASES else f"torch.Tensor.{slot}"
        if public is f or (qualname.endswith("__get__") and public == f):
            # what torch.nn.functional holds (conv2d, gelu, logsigmoid) PyTorch resolves by
            # that name, though errors name the builtin (torch.conv2d)
            functional = _namespaces()[1][0]
            for name, value in vars(functional).items():
                if value is f and not name.startswith("_"):
                    return f"torch.nn.functional.{name}"
            return qualname
    return None


# -- duck types: a class statement defining __torch_function__ installs the trampolines ------

_PREVIOUS_BUILD_CLASS = [None]
# ember's own classes, and PyTorch's when torch is imported next to ember, are not meant for
# ember's functions: they leave the protocol off
_OWN_PACKAGES = frozenset({"ember", "torch", "torchvision", "torchaudio", "functorch"})


def _build_class(func, name, *bases, **kwargs):
    cls = _PREVIOUS_BUILD_CLASS[0](func, name, *bases, **kwargs)
    if (isinstance(cls, type) and "__torch_function__" in cls.__dict__ and _overloads(cls)
            and str(cls.__module__).partition(".")[0] not in _OWN_PACKAGES):
        _install()
    return cls


def _hook_build_class() -> None:
    if builtins.__build_class__ is not _build_class:
        _PREVIOUS_BUILD_CLASS[0] = builtins.__build_class__
        builtins.__build_class__ = _build_class


def _unhook_build_class() -> None:
    if builtins.__build_class__ is _build_class:
        builtins.__build_class__ = _PREVIOUS_BUILD_CLASS[0]


_hook_build_class()
