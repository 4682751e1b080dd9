"""``torch.library``: user-defined operators that behave like built-in ones.

``custom_op("mylib::name", mutates_args=...)`` turns an annotated Python function into an
operator ``ember.ops.mylib.name``: its schema comes from the annotations
(``mylib::name(Tensor x, float k=1.) -> Tensor``), calls are checked against it, a kernel
can be registered per device (``register_kernel``), a shape-only implementation for
tracing (``register_fake``) and a gradient formula (``register_autograd``). ``Library``
defines operators from schema strings and attaches implementations, as PyTorch's.

ember has no C++ dispatcher: an operator call binds the arguments to the schema, picks the
kernel registered for the device of its tensor inputs (the function itself otherwise), and,
when an input requires grad, runs it inside an ``autograd.Function`` whose backward is the
registered formula (or raises PyTorch's "no autograd formula" error on backward).
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Sequence

from . import ops as _ops_module

__all__ = [
    "CustomOpDef", "FunctionSchema", "Library", "OpCheckError", "custom_op", "define", "impl",
    "infer_schema", "opcheck", "register_autograd", "register_fake", "register_kernel",
]

_NO_DEFAULT = object()


# -- schemas -------------------------------------------------------------------------------

class Argument:
    __slots__ = ("alias", "default", "kwarg_only", "name", "type")

    def __init__(self, name, type_, default=_NO_DEFAULT, kwarg_only=False, alias=None):
        self.name, self.type, self.default = name, type_, default
        self.kwarg_only, self.alias = kwarg_only, alias

    @property
    def is_mutable(self) -> bool:
        return self.alias is not None and self.alias.endswith("!")

    def __str__(self) -> str:
        type_ = self.type
        if self.alias is not None:
            type_ = type_.replace("Tensor", f"Tensor({self.alias})", 1)
        text = f"{type_} {self.name}" if self.name else type_
        if self.default is not _NO_DEFAULT:
            text += f"={_format_default(self.default)}"
        return text


def _format_default(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text[:-1] if text.endswith(".0") else text
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format_default(v) for v in value) + "]"
    return str(value)


class FunctionSchema:
    """An operator's signature in PyTorch's schema language."""

    def __init__(self, name: str, overload_name: str, arguments: list, returns: list):
        self.name, self.overload_name = name, overload_name
        self.arguments, self.returns = arguments, returns

    def __str__(self) -> str:
        parts, star = [], False
        for arg in self.arguments:
            if arg.kwarg_only and not star:
                parts.append("*")
                star = True
            parts.append(str(arg))
        name = self.name + (f".{self.overload_name}" if self.overload_name else "")
        if len(self.returns) == 1 and not self.returns[0].name:
            returns = str(self.returns[0])
        else:
            returns = "(" + ", ".join(str(r) for r in self.returns) + ")"
        return f"{name}({', '.join(parts)}) -> {returns}"

    __repr__ = __str__

    @classmethod
    def parse(cls, text: str, namespace: str | None = None) -> FunctionSchema:
        """Parse ``name.overload(Type arg=default, *, ...) -> Ret``."""
        head, sep, ret = text.partition("->")
        open_paren = head.find("(")
        if not sep or open_paren < 0 or not head.rstrip().endswith(")"):
            raise RuntimeError(f"expected a schema of the form 'name(args) -> returns', "
                               f"got: {text}")
        full_name = head[:open_paren].strip()
        if "::" not in full_name and namespace is not None:
            full_name = f"{namespace}::{full_name}"
        name, _, overload = full_name.partition(".")
        _check_op_name(name)
        arguments, kwarg_only = [], False
        for piece in _split_top(head[open_paren + 1:head.rstrip().rfind(")")]):
            if piece == "*":
                kwarg_only = True
                continue
            arguments.append(_parse_arg(piece, kwarg_only))
        ret = ret.strip()
        if ret.startswith("(") and ret.endswith(")"):
            returns = [_parse_arg(p, False) for p in _split_top(ret[1:-1])]
        else:
            returns = [_parse_arg(ret, False)]
        return cls(name, overload, arguments, returns)


def _split_top(text: str) -> list[str]:
    pieces, depth, current = [], 0, ""
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            pieces.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _parse_arg(text: str, kwarg_only: bool) -> Argument:
    text, _, default_text = text.partition("=")
    type_and_name = text.strip().rsplit(" ", 1) if " " in text.strip() else [text.strip(), ""]
    type_, name = type_and_name[0].strip(), type_and_name[1].strip()
    alias = None
    if "(" in type_:
        alias = type_[type_.index("(") + 1:type_.index(")")]
        type_ = type_[:type_.index("(")] + type_[type_.index(")") + 1:]
    default = _NO_DEFAULT
    if default_text:
        default = _parse_default(default_text.strip(), type_)
    return Argument(name, type_, default, kwarg_only, alias)


def _parse_default(text: str, type_: str):
    import ast

    if text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    if text.startswith("[") and text.endswith("]"):
        return [_parse_default(p, type_[:-2]) for p in _split_top(text[1:-1])]
    value = ast.literal_eval(text)
    return float(value) if type_.rstrip("?") == "float" else value


def _check_op_name(qualname: str) -> None:
    namespace, name = qualname.split("::")
    for part in (namespace, name):
        if not part.isidentifier():
            raise RuntimeError(f"expected ident but found {part!r} in operator name "
                               f"{qualname!r}")


# -- schemas from annotations --------------------------------------------------------------

def _tensor_type():
    from ._tensor import Tensor

    return Tensor


def _annotation_types() -> dict:
    import ember

    tensor = ember.Tensor
    optional, seq, lst = typing.Optional, typing.Sequence, typing.List  # noqa: UP006
    table = {tensor: "Tensor", optional[tensor]: "Tensor?", int | float | bool: "Scalar",
             typing.Union[int, float, bool, None]: "Scalar?",  # noqa: UP007
             str: "str", optional[str]: "str?", ember.dtype: "ScalarType",
             optional[ember.dtype]: "ScalarType?", ember.device: "Device",
             optional[ember.device]: "Device?"}
    for container in (seq, lst, Sequence, list):
        table[container[tensor]] = "Tensor[]"
        table[container[optional[tensor]]] = "Tensor?[]"
        table[container[int | float | bool]] = "Scalar[]"
    for py_type, name in ((int, "SymInt"), (float, "float"), (bool, "bool")):
        table[py_type] = name
        table[optional[py_type]] = f"{name}?"
        for container in (seq, lst, Sequence, list):
            table[container[py_type]] = f"{name}[]"
            table[optional[container[py_type]]] = f"{name}[]?"
    return table


def _return_type(annotation, table) -> list[str]:
    import ember

    if annotation is None or annotation is type(None):
        return []
    origin = typing.get_origin(annotation)
    if origin is tuple:
        return [t for a in typing.get_args(annotation) for t in _return_type(a, table)]
    returnable = {ember.Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool"}
    if annotation in returnable:
        return [returnable[annotation]]
    if origin in (list, Sequence, typing.List) and typing.get_args(annotation) == (  # noqa: UP006
            ember.Tensor,):
        return ["Tensor[]"]
    raise ValueError(f"Return has unsupported type {annotation}.")


def infer_schema(prototype_function: Callable, /, *, mutates_args, op_name: str | None = None
                 ) -> str:
    """The schema string of ``prototype_function`` from its type annotations."""
    sig = inspect.signature(prototype_function, eval_str=True)

    def error(what):
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    table = _annotation_types()
    params, star, alias_index = [], False, 0
    if mutates_args != "unknown" and not isinstance(mutates_args, str):
        unknown = set(mutates_args) - set(sig.parameters)
        if unknown:
            error(f"{unknown} in mutates_args were not found in the custom op's signature. "
                  "mutates_args should contain the names of all args that the custom op "
                  "mutates, or just the string 'unknown' if you don't know.")
    for name, param in sig.parameters.items():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            error("We do not support positional-only args, varargs, or varkwargs.")
        if param.annotation is inspect.Parameter.empty:
            error(f"Parameter {name} must have a type annotation.")
        if param.annotation not in table:
            error(f"Parameter {name} has unsupported type {param.annotation}. The valid types "
                  f"are: {table.keys()}.")
        type_ = table[param.annotation]
        alias = None
        mutable = mutates_args == "unknown" or (not isinstance(mutates_args, str)
                                                and name in mutates_args)
        if mutable and type_.startswith("Tensor"):
            alias = f"a{alias_index}!"
            alias_index += 1
        elif mutable and mutates_args != "unknown":
            error(f"Parameter {name} is in mutable_args but only Tensors or collections of "
                  "Tensors can be mutated")
        if param.kind is param.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        arg = Argument(name, type_, _NO_DEFAULT if param.default is param.empty
                       else param.default, False, alias)
        params.append(str(arg))
    if sig.return_annotation is inspect.Signature.empty:
        error("No return type annotation was provided. Please add one.")
    try:
        returns = _return_type(sig.return_annotation, table)
    except ValueError as e:
        error(str(e))
    ret_text = returns[0] if len(returns) == 1 and not typing.get_origin(
        sig.return_annotation) is tuple else "(" + ", ".join(returns) + ")"
    return f"{op_name or ''}({', '.join(params)}) -> {ret_text}"


# -- the operator: dispatch, autograd --------------------------------------------------------

_DEVICE_TYPES = ("cpu", "cuda", "meta", "mps", "xpu")


class _Operator:
    """Everything registered for one ``ns::name``: schema, kernels, fake, autograd."""

    def __init__(self, qualname: str, schema: FunctionSchema, fn: Callable | None = None):
        self.qualname = qualname
        self.namespace, self.name = qualname.split("::")
        self.schema = schema
        self.kernels: dict[str | None, Callable] = {}
        if fn is not None:
            self.kernels[None] = fn
        self.fake: Callable | None = None
        self.backward: Callable | None = None
        self.setup_context: Callable | None = None
        self.autograd_kernel: Callable | None = None
        self.overload = _ops_module._register(self.namespace, self.name,
                                              schema.overload_name or "default", self.call,
                                              schema)
        self._function_cls = None

    def bind(self, args, kwargs) -> list:
        """One value per schema argument, in order, defaults filled; PyTorch's errors."""
        arguments = self.schema.arguments
        positional = [a for a in arguments if not a.kwarg_only]
        decl = f"Declaration: {self.schema}"
        if len(args) > len(positional):
            raise RuntimeError(
                f"{self.qualname}() expected at most {len(positional)} argument(s) but received "
                f"{len(args) + len(kwargs)} argument(s). {decl}")
        values = []
        for index, arg in enumerate(arguments):
            if index < len(args) and not arg.kwarg_only:
                value = args[index]
            elif arg.name in kwargs:
                value = kwargs[arg.name]
            elif arg.default is not _NO_DEFAULT:
                value = arg.default
            else:
                raise RuntimeError(f"{self.qualname}() is missing value for argument "
                                   f"'{arg.name}'. {decl}")
            _check_type(self.qualname, arg, index, value, decl)
            values.append(value)
        extra = set(kwargs) - {a.name for a in arguments}
        if extra:
            raise RuntimeError(f"{self.qualname}() got an unexpected keyword argument "
                               f"'{min(extra)}'. {decl}")
        return values

    def split(self, values):
        args = [v for v, a in zip(values, self.schema.arguments) if not a.kwarg_only]
        kwargs = {a.name: v for v, a in zip(values, self.schema.arguments) if a.kwarg_only}
        return args, kwargs

    def kernel_for(self, values) -> Callable:
        tensor = _tensor_type()
        device_type = "cpu"
        for value in values:
            if isinstance(value, tensor):
                device_type = value.device.type
                break
            if isinstance(value, (list, tuple)) and value and isinstance(value[0], tensor):
                device_type = value[0].device.type
                break
        kernel = self.kernels.get(device_type, self.kernels.get(None))
        if kernel is None:
            raise NotImplementedError(
                f"Could not run '{self.qualname}' with arguments from the "
                f"'{device_type.upper()}' backend. This could be because the operator doesn't "
                "exist for this backend, or was omitted during the selective/custom build "
                "process (if using custom build).")
        return kernel

    def call(self, *args, **kwargs):
        values = self.bind(args, kwargs)
        if self.autograd_kernel is not None:
            pos, kw = self.split(values)
            return self.autograd_kernel(*pos, **kw)
        import ember

        tensor = _tensor_type()
        needs_grad = ember.is_grad_enabled() and any(
            isinstance(v, tensor) and v.requires_grad for v in _flat(values))
        if not needs_grad:
            return self.run_kernel(values)
        return self.function_cls().apply(*values)

    def run_kernel(self, values):
        pos, kw = self.split(values)
        output = self.kernel_for(values)(*pos, **kw)
        _check_aliasing(self, values, output)
        return output

    def function_cls(self):
        if self._function_cls is None:
            from .autograd import Function

            operator = self
            label = f"{self.namespace}_{self.name}_{self.schema.overload_name or 'default'}"

            def forward(*values):
                import ember

                with ember.no_grad():
                    return operator.run_kernel(list(values))

            def setup_context(ctx, inputs, output):
                if operator.setup_context is not None:
                    pos, kw = operator.split(list(inputs))
                    if "keyword_only_inputs" in inspect.signature(
                            operator.setup_context).parameters:
                        operator.setup_context(ctx=ctx, inputs=tuple(pos), output=output,
                                               keyword_only_inputs=kw)
                    else:
                        operator.setup_context(ctx=ctx, inputs=tuple(pos), output=output)

            def backward(ctx, *grads):
                if operator.backward is None:
                    raise RuntimeError(
                        f"Trying to backward through {operator.overload} but no autograd "
                        "formula was registered. Please use register_autograd to add one.")
                result = operator.backward(ctx, *grads)
                result = result if isinstance(result, tuple) else (result,)
                npos = sum(not a.kwarg_only for a in operator.schema.arguments)
                if len(result) != npos:
                    raise RuntimeError(
                        f"{operator.qualname}: expected the backward formula to return one "
                        f"gradient per positional input ({npos}), got {len(result)}")
                return result + (None,) * (len(operator.schema.arguments) - npos)

            self._function_cls = type(f"GeneratedBackwardFor_{label}", (Function,), {
                "forward": staticmethod(forward), "setup_context": staticmethod(setup_context),
                "backward": staticmethod(backward)})
        return self._function_cls


def _flat(values):
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from value
        else:
            yield value


_PY_TYPES = {"Tensor": "Tensor", "float": (float, int), "SymInt": int, "int": int,
             "bool": bool, "str": str}


def _check_type(qualname, arg, index, value, decl) -> None:
    base = arg.type.rstrip("?")
    if value is None and arg.type.endswith("?"):
        return
    expected = _PY_TYPES.get(base)
    if expected is None:
        return
    if expected == "Tensor":
        expected = _tensor_type()
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool)
                                              and base != "bool")
    if not ok:
        shown = "int" if base == "SymInt" else base
        raise RuntimeError(
            f"{qualname}() Expected a value of type '{shown}' for argument '{arg.name}' but "
            f"instead found type '{type(value).__name__}'.\nPosition: {index}\n"
            f"Value: {value!r}\n{decl}")


def _check_aliasing(operator, values, output) -> None:
    """Outputs must be fresh tensors: returning an input (or a view of one) is refused,
    as PyTorch's custom ops refuse it."""
    tensor = _tensor_type()
    inputs = [v for v in _flat(values) if isinstance(v, tensor)]
    outputs = [o for o in (output if isinstance(output, (list, tuple)) else (output,))
               if isinstance(o, tensor)]
    if not inputs or not outputs:
        return
    input_ids = set()
    for t in inputs:
        input_ids.add(id(t))
        input_ids.add(id(t._base) if t._base is not None else id(t))
    for out in outputs:
        if id(out) in input_ids or (out._base is not None and id(out._base) in input_ids):
            module = sys.modules.get(getattr(operator.kernels.get(None), "__module__", ""),
                                     __name__)
            raise RuntimeError(
                f"{operator.name} (with implementation in {module!r}): The output of this "
                "custom operator (1) must not also be an input to this custom operator and (2) "
                "may not alias any inputs to this custom operator or other returns. The most "
                "common way to trigger this error is if we have y = custom_op(x) and y and x "
                "are the same Tensor. Please instead return a clone of the offending output "
                "tensor(s) (e.g. return x.clone()) or refactor the custom operator to not "
                "return y.")


_OPERATORS: dict[str, _Operator] = {}


def _operator(op) -> _Operator:
    if isinstance(op, CustomOpDef):
        return op._operator
    if isinstance(op, _ops_module.OpOverload):
        op = op.name()
    if isinstance(op, _ops_module.OpOverloadPacket):
        op = f"{op._namespace}::{op._name}"
    if op not in _OPERATORS:
        raise ValueError(f"Operator {op} does not exist (define it first).")
    return _OPERATORS[op]


def _new_operator(qualname: str, schema: FunctionSchema, fn=None) -> _Operator:
    key = qualname + (f".{schema.overload_name}" if schema.overload_name else "")
    operator = _Operator(qualname, schema, fn)
    _OPERATORS[key] = operator
    return operator


def _device_types(device_types) -> list[str | None]:
    if device_types is None:
        return [None]
    if isinstance(device_types, str):
        device_types = [device_types]
    result = []
    for device_type in device_types:
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start "
                               f"of device string: {device_type}")
        result.append(device_type)
    return result


# -- custom_op -----------------------------------------------------------------------------

class CustomOpDef:
    """What ``custom_op`` returns: call it like the function; register kernels, a fake
    implementation and an autograd formula on it."""

    def __init__(self, namespace: str, name: str, schema: str, fn: Callable,
                 device_types=None) -> None:
        self._namespace, self._name = namespace, name
        self._init_fn = fn
        parsed = FunctionSchema.parse(f"{namespace}::{name}{schema}")
        self._operator = _new_operator(f"{namespace}::{name}", parsed)
        for device_type in _device_types(device_types):
            self._operator.kernels[device_type] = fn
        self.__name__ = name
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def _qualname(self) -> str:
        return f"{self._namespace}::{self._name}"

    @property
    def _opoverload(self):
        return self._operator.overload

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    def __call__(self, *args, **kwargs):
        return self._operator.overload(*args, **kwargs)

    def register_kernel(self, device_types, fn: Callable | None = None):
        """The implementation for inputs on ``device_types`` ("cpu", "cuda")."""
        def register(func):
            for device_type in _device_types(device_types):
                self._operator.kernels[device_type] = func
            return func
        return register if fn is None else register(fn)

    def register_fake(self, fn: Callable) -> Callable:
        """A function computing only the outputs' metadata (``torch.empty_like``);
        ``opcheck`` compares it with the real kernel's outputs."""
        self._operator.fake = fn
        return fn

    def register_autograd(self, backward: Callable, /, *, setup_context=None) -> None:
        """``backward(ctx, *grads)`` returns one gradient per positional input;
        ``setup_context(ctx, inputs, output)`` saves what it needs."""
        if not callable(backward):
            raise TypeError(f"Expected backward to be a function, got {type(backward)}")
        if setup_context is not None and not callable(setup_context):
            raise TypeError(f"Expected setup_context to be a function, got {type(setup_context)}")
        if any(a.is_mutable for a in self._operator.schema.arguments):
            raise RuntimeError(f"Cannot register autograd formula for non-functional operator "
                               f"{self} with schema {self._operator.schema}. Please create a "
                               "functional operator and register an autograd formula for that.")
        self._operator.backward = backward
        self._operator.setup_context = setup_context


def custom_op(name: str, fn: Callable | None = None, /, *, mutates_args, device_types=None,
              schema: str | None = None, tags=None):
    """Wrap ``fn`` (annotated) as the operator ``ember.ops.<ns>.<name>``.

    Example::

        @torch.library.custom_op("mylib::numpy_sin", mutates_args=())
        def numpy_sin(x: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.sin(x.numpy()))
    """
    def inner(func):
        op_schema = schema
        if op_schema is None:
            op_schema = infer_schema(func, mutates_args=mutates_args)
        namespace, opname = name.split("::")
        return CustomOpDef(namespace, opname, op_schema, func, device_types)
    return inner if fn is None else inner(fn)


def register_kernel(op, device_types, func: Callable | None = None, /, *, lib=None):
    return _as_def(op).register_kernel(device_types, func)


def register_fake(op, func: Callable | None = None, /, *, lib=None, _stacklevel: int = 1):
    definition = _as_def(op)
    return definition.register_fake if func is None else definition.register_fake(func)


def register_autograd(op, backward: Callable, /, *, setup_context=None, lib=None) -> None:
    _as_def(op).register_autograd(backward, setup_context=setup_context)


def _as_def(op) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    operator = _operator(op)
    definition = CustomOpDef.__new__(CustomOpDef)
    definition._namespace, definition._name = operator.namespace, operator.name
    definition._operator = operator
    return definition


# -- Library -------------------------------------------------------------------------------

_DEF_NAMESPACES: set[str] = set()
_DISPATCH_KEYS = {"": None, "CompositeImplicitAutograd": None,
                  "CompositeExplicitAutograd": None, "CPU": "cpu", "CUDA": "cuda",
                  "Meta": "meta"}


class Library:
    """Define operators from schema strings (kind "DEF" or "FRAGMENT") and register
    implementations (any kind) in namespace ``ns``.

    Example::

        lib = torch.library.Library("mylib", "DEF")
        lib.define("mul2(Tensor x) -> Tensor")
        lib.impl("mul2", lambda x: x * 2, "CPU")
        torch.ops.mylib.mul2(torch.ones(2))
    """

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in ("IMPL", "DEF", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        if kind == "DEF" and ns in _DEF_NAMESPACES:
            raise RuntimeError(
                f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; "
                "please put all of your definitions in a single TORCH_LIBRARY block.  If you "
                "were trying to specify implementations, consider using TORCH_LIBRARY_IMPL "
                "(which can be duplicated).")
        if kind == "DEF":
            _DEF_NAMESPACES.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._op_defs: set[str] = set()

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        """Declare an operator; returns its name."""
        parsed = FunctionSchema.parse(schema, self.ns)
        key = parsed.name + (f".{parsed.overload_name}" if parsed.overload_name else "")
        if key in _OPERATORS:
            raise RuntimeError(
                f"Tried to register an operator ({parsed}) with the same name and overload name "
                "multiple times. Each overload's schema should only be registered with a single "
                "call to def().")
        _new_operator(parsed.name, parsed)
        self._op_defs.add(key)
        return parsed.name.split("::")[1]

    def impl(self, op_name, fn: Callable, dispatch_key: str = "", *,
             with_keyset: bool = False) -> None:
        """Register ``fn`` for ``op_name`` under ``dispatch_key`` ("CPU", "CUDA",
        "CompositeImplicitAutograd", "Autograd", "Meta")."""
        if not callable(fn):
            raise TypeError(f"Input function is required to be a callable but found type "
                            f"{type(fn)}")
        if isinstance(op_name, str):
            name = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        else:
            name = op_name.name()
        operator = _operator(name)
        key = dispatch_key or self.dispatch_key
        if key in ("Autograd", "AutogradCPU", "AutogradCUDA"):
            operator.autograd_kernel = fn
        elif key == "Meta":
            operator.fake = fn
        elif key in _DISPATCH_KEYS:
            operator.kernels[_DISPATCH_KEYS[key]] = fn
        else:
            raise RuntimeError(f"ember's Library.impl does not know dispatch key {key!r}")

    def _destroy(self) -> None:
        """Forget this library's definitions (PyTorch does this when it is collected)."""
        for key in self._op_defs:
            operator = _OPERATORS.pop(key, None)
            if operator is not None:
                _ops_module._unregister(operator.namespace, operator.name,
                                        operator.schema.overload_name or "default")
        self._op_defs.clear()
        if self.kind == "DEF":
            _DEF_NAMESPACES.discard(self.ns)


_FRAGMENTS: dict[str, Library] = {}


def define(qualname: str, schema: str, *, lib=None, tags=()) -> None:
    """``define("mylib::foo", "(Tensor x) -> Tensor")``."""
    namespace, name = qualname.split("::")
    if lib is None:
        lib = _FRAGMENTS.setdefault(namespace, Library(namespace, "FRAGMENT"))
    lib.define(name + schema, tags=tags)


def impl(qualname: str, types, func: Callable | None = None, *, lib=None):
    """``impl("mylib::foo", "cpu", fn)``, or as a decorator."""
    def register(fn):
        operator = _operator(qualname)
        for device_type in _device_types(types if types != "default" else None):
            operator.kernels[device_type] = fn
        return fn
    return register if func is None else register(func)


# -- opcheck -------------------------------------------------------------------------------

class OpCheckError(Exception):
    pass


def opcheck(op, args: tuple, kwargs: dict | None = None, *,
            test_utils=("test_schema", "test_autograd_registration", "test_faketensor",
                        "test_aot_dispatch_dynamic"),
            raise_exception: bool = True, atol=None, rtol=None) -> dict[str, str]:
    """Check a custom operator the way PyTorch's opcheck does: schema (no undeclared
    mutation, no aliased outputs), autograd registration, the fake implementation's
    shapes/dtypes against the real outputs, and a forward/backward run."""
    operator = _operator(op)
    kwargs = kwargs or {}
    tests = {"test_schema": _test_schema, "test_autograd_registration": _test_autograd_reg,
             "test_faketensor": _test_faketensor,
             "test_aot_dispatch_dynamic": _test_forward_backward}
    if isinstance(test_utils, str):
        test_utils = (test_utils,)
    results = {}
    for name in test_utils:
        try:
            tests[name](operator, args, kwargs)
            results[name] = "SUCCESS"
        except Exception as e:
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {e} (scroll up for "
                                   "stack trace)") from e
            results[name] = e
    return results


def _clone_args(args):
    tensor = _tensor_type()
    return [a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, tensor) else a
            for a in args]


def _test_schema(operator, args, kwargs) -> None:
    import ember

    args = _clone_args(args)
    values = operator.bind(tuple(args), kwargs)
    tensor = _tensor_type()
    versions = [v._version if isinstance(v, tensor) else None for v in values]
    with ember.no_grad():
        operator.run_kernel(values)
    for arg, value, before in zip(operator.schema.arguments, values, versions):
        if before is not None and value._version != before and not arg.is_mutable:
            raise RuntimeError(f"Argument {arg.name} is not defined as mutable but was mutated")


def _test_autograd_reg(operator, args, kwargs) -> None:
    return None  # every custom op has an autograd kernel (possibly the raising one)


def _test_faketensor(operator, args, kwargs) -> None:
    if operator.fake is None:
        raise RuntimeError(
            f"There was no fake impl registered for <CustomOpDef({operator.qualname})>. This "
            "is necessary for torch.compile/export/fx tracing to work. Please use "
            f"`{operator.name}.register_fake` to add an fake impl.")
    import ember

    with ember.no_grad():
        real = operator.call(*_clone_args(args), **kwargs)
        fake = operator.fake(*_clone_args(args), **kwargs)
    reals = real if isinstance(real, (list, tuple)) else (real,)
    fakes = fake if isinstance(fake, (list, tuple)) else (fake,)
    if len(reals) != len(fakes):
        raise RuntimeError(f"fake implementation returned {len(fakes)} outputs, the operator "
                           f"{len(reals)}")
    for r, f in zip(reals, fakes):
        if (tuple(r.shape), r.dtype) != (tuple(f.shape), f.dtype):
            raise RuntimeError(f"fake implementation's output (shape {tuple(f.shape)}, "
                               f"{f.dtype}) differs from the kernel's (shape {tuple(r.shape)}, "
                               f"{r.dtype})")


def _test_forward_backward(operator, args, kwargs) -> None:
    import ember

    tensor = _tensor_type()
    args = _clone_args(args)
    output = operator.call(*args, **kwargs)
    outputs = [o for o in (output if isinstance(output, (list, tuple)) else (output,))
               if isinstance(o, tensor) and o.requires_grad]
    inputs = [a for a in args if isinstance(a, tensor) and a.requires_grad]
    if outputs and inputs:
        grads = ember.autograd.grad(outputs, inputs, [ember.ones_like(o) for o in outputs],
                                    allow_unused=True)
        for grad, arg in zip(grads, inputs):
            if grad is not None and tuple(grad.shape) != tuple(arg.shape):
                raise RuntimeError(f"gradient of shape {tuple(grad.shape)} for an input of "
                                   f"shape {tuple(arg.shape)}")
