"""The rest of torch.jit's Python surface on ember's eager jit: ``Attribute``, ``Error``,
``isinstance`` (container refinement, checked element by element), ``CompilationUnit``
(TorchScript source run as Python with ``torch`` bound to ember: TorchScript is a subset
of Python, so its functions mean the same thing eagerly), and the fuser switches, which
ember records and returns as PyTorch does (it has no fuser to steer)."""

from __future__ import annotations

import __future__
import ast
import builtins
import collections
import contextlib
import math
import textwrap
import types
import typing
import warnings

__all__ = [
    "Attribute", "CompilationUnit", "Error", "ScriptWarning", "TracerWarning",
    "TracingCheckError", "enable_onednn_fusion", "fuser", "isinstance",
    "onednn_fusion_enabled", "optimized_execution", "set_fusion_strategy", "strict_fusion",
]

_builtin_isinstance = builtins.isinstance

Attribute = collections.namedtuple("Attribute", ["value", "type"])
Attribute.__doc__ = ("``self.x = jit.Attribute(value, type)``: a value with its TorchScript "
                     "type. Eagerly it is this (value, type) pair, as in PyTorch.")


class Error(Exception):
    """The exception a TorchScript ``raise`` surfaces as (PyTorch's ``torch.jit.Error``)."""


class ScriptWarning(Warning):
    pass


class TracerWarning(Warning):
    pass


class TracingCheckError(Exception):
    def __init__(self, graph_diff_error, tensor_compare_error, extra_msg=None):
        self.message = "Tracing failed sanity checks!\n"
        if extra_msg is not None:
            self.message += extra_msg + "\n"
        headings = ("ERROR: Graphs differed across invocations!",
                    "ERROR: Tensor-valued Constant nodes differed in value across "
                    "invocations. This often indicates that the tracer has encountered "
                    "untraceable code.")
        for heading, part in zip(headings, (graph_diff_error, tensor_compare_error)):
            if part is not None:
                self.message += heading + "\n" + textwrap.indent(part, "\t") + "\n"
        super().__init__(self.message)


# -- isinstance ---------------------------------------------------------------------------

_BARE_CONTAINERS = {list: "list", dict: "dict", tuple: "tuple", typing.List: "List",
                    typing.Dict: "Dict", typing.Tuple: "Tuple", typing.Optional: "Optional"}


def _require_arguments(target_type):
    try:
        name = _BARE_CONTAINERS.get(target_type)
    except TypeError:  # an unhashable annotation is not a bare container
        name = None
    if name in ("dict", "Dict"):
        raise RuntimeError(f"Attempted to use {name} without contained types. Please add "
                           f"contained type, e.g. {name}[int, int]")
    if name is not None:
        raise RuntimeError(f"Attempted to use {name} without a contained type. Please add a "
                           f"contained type, e.g. {name}[int]")


def _warn_if_empty(obj):
    if obj in ([], {}, ()):
        warnings.warn("The inner type of a container is lost when calling "
                      "torch.jit.isinstance in eager mode. For example, List[int] would "
                      "become list and therefore falsely return True for List[float] or "
                      "List[str].", stacklevel=4)


def _matches(obj, target_type) -> bool:
    origin = typing.get_origin(target_type)
    _require_arguments(target_type)
    if origin is None:
        return _builtin_isinstance(obj, target_type)
    arguments = typing.get_args(target_type)
    if origin is list:
        _warn_if_empty(obj)
        return _builtin_isinstance(obj, list) and all(_matches(x, arguments[0]) for x in obj)
    if origin is dict:
        _warn_if_empty(obj)
        return _builtin_isinstance(obj, dict) and all(
            _builtin_isinstance(k, arguments[0]) and _matches(v, arguments[1])
            for k, v in obj.items())
    if origin is tuple:
        _warn_if_empty(obj)
        return (_builtin_isinstance(obj, tuple) and len(obj) == len(arguments)
                and all(_matches(x, t) for x, t in zip(obj, arguments)))
    if origin is typing.Union or origin is types.UnionType:  # Optional too
        if obj is None:
            return True
        for member in arguments:
            if typing.get_origin(member) is not None:
                return _matches(obj, member)  # PyTorch decides on the first container
            if _builtin_isinstance(obj, member):
                return True
    return False


def isinstance(obj, target_type) -> bool:
    """``jit.isinstance(x, List[Tensor])``: refine ``x`` to a parameterized container type
    (List, Dict, Tuple, Optional, unions, nested), checking every element eagerly; a
    tuple of types matches any of them."""
    if _builtin_isinstance(target_type, collections.abc.Container) and not \
            _builtin_isinstance(target_type, type):
        if not _builtin_isinstance(target_type, tuple):
            raise RuntimeError("The second argument to `torch.jit.isinstance` must be a type "
                               "or a tuple of types")
        return any(isinstance(obj, member) for member in target_type)
    return _matches(obj, target_type)


# -- CompilationUnit ----------------------------------------------------------------------


def _script_namespace():
    import ember

    namespace = {"torch": ember, "Tensor": ember.Tensor, "math": math,
                 "Device": ember.device, "__name__": "__torch__"}
    for name in ("Any", "Dict", "List", "Optional", "Tuple", "Union"):
        namespace[name] = getattr(typing, name)
    return namespace


def _undefined_names(tree, known):
    """Names a function reads that nothing defines: TorchScript rejects them at compile
    time, where Python would wait for the call."""
    bound = set(known) | set(dir(builtins))
    for node in ast.walk(tree):
        if _builtin_isinstance(node, (ast.FunctionDef, ast.Lambda)):
            arguments = node.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                        arguments.vararg, arguments.kwarg]:
                if arg is not None:
                    bound.add(arg.arg)
            if _builtin_isinstance(node, ast.FunctionDef):
                bound.add(node.name)
        elif _builtin_isinstance(node, ast.Name) and not _builtin_isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif _builtin_isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return [node for node in ast.walk(tree) if _builtin_isinstance(node, ast.Name)
            and _builtin_isinstance(node.ctx, ast.Load) and node.id not in bound]


def _source_function_class():
    from . import ScriptFunction

    class SourceFunction(ScriptFunction):
        """A CompilationUnit function: its ``code`` is the source it was defined from."""

        def __init__(self, function, source) -> None:
            super().__init__(function)
            self.qualified_name = self.name
            self._code = source

        @property
        def code(self) -> str:
            return self._code

    return SourceFunction


def _SourceFunction(function, source):  # noqa: N802 - built late: ScriptFunction is above us
    return _source_function_class()(function, source)


class CompilationUnit:
    """``cu = jit.CompilationUnit(source)``; ``cu.f(x)``, ``cu.find_function("f")``,
    ``cu.get_functions()``, ``cu.define(more_source)``. Functions of one source call
    each other by name; as in PyTorch, a later ``define`` does not see earlier ones."""

    def __init__(self, lang: str | None = None, _frames_up: int = 0) -> None:
        self._functions: dict = {}
        if lang is not None:
            self.define(lang)

    def define(self, src: str, rcb=None, _frames_up: int = 0) -> None:
        src = textwrap.dedent(src)
        namespace = _script_namespace()
        try:
            tree = ast.parse(src, "<string>")
        except SyntaxError as error:
            raise RuntimeError(f"{error.msg}:\n  File \"<string>\", line {error.lineno}\n"
                               f"{error.text or ''}") from None
        defined = [node for node in tree.body if _builtin_isinstance(node, ast.FunctionDef)]
        missing = _undefined_names(tree, set(namespace) | {n.name for n in defined})
        if missing:
            node = missing[0]
            line = src.splitlines()[node.lineno - 1]
            raise RuntimeError(f"\nundefined value {node.id}:\n  File \"<string>\", line "
                               f"{node.lineno}\n{line}\n{' ' * node.col_offset}"
                               f"{'~' * len(node.id)} <--- HERE\n")
        code = compile(tree, "<string>", "exec",
                       flags=__future__.annotations.compiler_flag, dont_inherit=True)
        exec(code, namespace)  # noqa: S102 - running the user's TorchScript source
        for node in defined:
            self._functions[node.name] = _SourceFunction(
                namespace[node.name], ast.get_source_segment(src, node))

    def find_function(self, name: str):
        return self._functions.get(name)

    def get_functions(self) -> list:
        return list(self._functions.values())

    def __getattr__(self, name):
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"'CompilationUnit' has no attribute '{name}'")


# -- fuser switches -----------------------------------------------------------------------

_FUSION_BEHAVIOURS = ("STATIC", "DYNAMIC")
_fusion_strategy = [[("STATIC", 2), ("DYNAMIC", 10)]]
_onednn_fusion = [False]


def set_fusion_strategy(strategy) -> list:
    """Record ``[("STATIC" | "DYNAMIC", depth), ...]`` and return the previous strategy."""
    if _builtin_isinstance(strategy, (str, bytes)) or not _builtin_isinstance(
            strategy, collections.abc.Sequence) or not all(
            _builtin_isinstance(item, (tuple, list)) and len(item) == 2
            and _builtin_isinstance(item[0], str) and _builtin_isinstance(item[1], int)
            and item[1] >= 0 for item in strategy):
        raise TypeError("set_fusion_strategy(): expected a sequence of (str, int >= 0) "
                        f"pairs, got {strategy!r}")
    for behaviour, _ in strategy:
        if behaviour not in _FUSION_BEHAVIOURS:
            raise ValueError(f"FusionBehavior only supported 'STATIC' or 'DYNAMIC', got: "
                             f"{behaviour}")
    previous = _fusion_strategy[0]
    _fusion_strategy[0] = [(behaviour, int(depth)) for behaviour, depth in strategy]
    return previous


def enable_onednn_fusion(enabled: bool) -> None:
    if not _builtin_isinstance(enabled, bool):
        raise TypeError(f"enable_onednn_fusion(): expected a bool, got {enabled!r}")
    _onednn_fusion[0] = enabled


def onednn_fusion_enabled() -> bool:
    return _onednn_fusion[0]


class strict_fusion:
    """``with jit.strict_fusion():`` errors in TorchScript when nodes stay unfused; outside
    script mode (ember is never in it) PyTorch only warns that it does nothing."""

    def __init__(self) -> None:
        warnings.warn("Only works in script mode", stacklevel=2)

    def __enter__(self):
        pass

    def __exit__(self, type, value, tb) -> None:
        pass


_FUSERS = ("fuser0", "fuser1", "fuser2", "fuser3", "none")


@contextlib.contextmanager
def fuser(name):
    """Choose a TorchScript fuser for a block (ember has none; the name is checked)."""
    if name not in _FUSERS:
        raise Exception(f"unrecognized fuser option (name: {name})")  # noqa: TRY002
    yield


@contextlib.contextmanager
def optimized_execution(should_optimize):
    yield
