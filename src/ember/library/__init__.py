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
from collections.abc import Callable

from .. import ops as _ops_module
from ._opcheck import OpCheckError, opcheck
from ._schema import _NO_DEFAULT, FunctionSchema, _tensor_type, infer_schema

__all__ = [
    "CustomOpDef", "FunctionSchema", "Library", "OpCheckError", "custom_op", "define", "impl",
    "infer_schema", "opcheck", "register_autograd", "register_fake", "register_kernel",
]


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
        # Tensor[] arguments go in element by element, so autograd sees (and gives
        # gradients to) the tensors inside the list; ``layout`` rebuilds the lists.
        layout = tuple(len(v) if isinstance(v, list) else None for v in values)
        return self.function_cls().apply(layout, *_flat_lists(values))

    def run_kernel(self, values):
        """Call the kernel below autograd: it sees its tensors detached (``.numpy()``
        works, as in PyTorch's kernels), sharing memory and versions with the inputs."""
        values = [_detached(v) for v in values]
        pos, kw = self.split(values)
        output = self.kernel_for(values)(*pos, **kw)
        _check_aliasing(self, values, output)
        return output

    def function_cls(self):
        if self._function_cls is None:
            from ..autograd import Function

            operator = self
            label = f"{self.namespace}_{self.name}_{self.schema.overload_name or 'default'}"

            def forward(layout, *flat):
                import ember

                with ember.no_grad():
                    return operator.run_kernel(_unflat_lists(layout, flat))

            def setup_context(ctx, inputs, output):
                ctx._list_layout = inputs[0]
                if operator.setup_context is not None:
                    pos, kw = operator.split(_unflat_lists(inputs[0], inputs[1:]))
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
                grads = result + (None,) * (len(operator.schema.arguments) - npos)
                flat_grads = [None]  # the layout argument
                for grad, length in zip(grads, ctx._list_layout):
                    if length is None:
                        flat_grads.append(grad)
                    else:  # one gradient per list element (None: none for any)
                        flat_grads.extend([None] * length if grad is None else grad)
                return tuple(flat_grads)

            self._function_cls = type(f"GeneratedBackwardFor_{label}", (Function,), {
                "forward": staticmethod(forward), "setup_context": staticmethod(setup_context),
                "backward": staticmethod(backward)})
        return self._function_cls


def _detached(value):
    tensor = _tensor_type()
    if isinstance(value, tensor):
        return value.detach()
    if isinstance(value, (list, tuple)) and any(isinstance(v, tensor) for v in value):
        return type(value)(v.detach() if isinstance(v, tensor) else v for v in value)
    return value


def _flat_lists(values) -> list:
    flat = []
    for value in values:
        if isinstance(value, list):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def _unflat_lists(layout, flat) -> list:
    values, position = [], 0
    for length in layout:
        if length is None:
            values.append(flat[position])
            position += 1
        else:
            values.append(list(flat[position:position + length]))
            position += length
    return values


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
