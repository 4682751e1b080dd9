"""Operator schemas: PyTorch's schema language (``mylib::foo(Tensor x, float k=1.) ->
Tensor``), parsed from ``Library.define`` strings or inferred from a custom op's type
annotations."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence

_NO_DEFAULT = object()


# -- schemas -------------------------------------------------------------------------------

class Argument:
    __slots__ = ("alias", "default", "kwarg_only", "name", "type")

    def __init__(self, name, type_, default=_NO_DEFAULT, kwarg_only=False, alias=None):
        self.name, self.type, self.default = name, type_, default
        self.kwarg_only, self.alias = kwarg_only, alias

    @property
    def default_value(self):
        return None if self.default is _NO_DEFAULT else self.default

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
    from .._tensor import Tensor

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
    params, star = [], False
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
            alias = f"a{list(sig.parameters).index(name)}!"  # PyTorch numbers by position
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
