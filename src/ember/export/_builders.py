"""Helpers around ``export``'s arguments (PyTorch's ``torch.export`` names):

- ``ShapesCollection``: dynamic-shape specs assigned to the input tensors themselves,
  turned into the ``dynamic_shapes`` structure matching ``args``/``kwargs``;
- ``AdditionalInputs``: more example inputs; a dimension whose size differs between them
  becomes ``Dim.DYNAMIC``, and ``verify`` checks a program accepts each of them;
- ``register_dataclass``: a dataclass as an input/output type (a pytree node);
- ``default_decompositions``: the table ``run_decompositions`` lowers with, to edit
  (``pop`` an op to keep it).
"""

from __future__ import annotations

import inspect

import ember

__all__ = ["AdditionalInputs", "CustomDecompTable", "ShapesCollection",
           "default_decompositions", "register_dataclass"]


def _combine_args(module, args, kwargs) -> dict:
    """``args``/``kwargs`` bound to the names of ``module.forward`` (or a function)."""
    from .exported_program import ExportedProgram

    if isinstance(module, ExportedProgram):
        module = module.module()
    target = module.forward if isinstance(module, ember.nn.Module) else module
    return inspect.signature(target).bind(*args, **(kwargs or {})).arguments


def _map_leaves(fn, value):
    """``fn`` over the leaves of nested lists, tuples and dicts (tensors are leaves)."""
    if isinstance(value, (list, tuple)) and not isinstance(value, ember.Size):
        return type(value)(_map_leaves(fn, v) for v in value)
    if isinstance(value, dict):
        return {k: _map_leaves(fn, v) for k, v in value.items()}
    return fn(value)


class ShapesCollection:
    """Dynamic shapes keyed by the input tensors: ``sc[x] = {0: batch}``, then
    ``export(m, args, dynamic_shapes=sc)`` (or ``sc.dynamic_shapes(m, args)``).

    Example::

        batch = Dim("batch")
        shapes = ShapesCollection()
        shapes[tensor_x] = (batch, 8)
        ep = export(model, ({"x": tensor_x, "y": tensor_y},), dynamic_shapes=shapes)
    """

    def __init__(self) -> None:
        self._shapes: dict = {}

    def __setitem__(self, t, shape) -> None:
        if not isinstance(t, ember.Tensor):
            raise AssertionError(
                f"Cannot assign shape to non-tensor or non-_IntWrapper type {type(t)}")
        known = self._shapes.get(id(t))
        if known is not None and shape != known:
            raise AssertionError(
                f"Shapes assigned to input do not match: expected {known}, got {shape}")
        self._shapes.setdefault(id(t), shape)

    def __getitem__(self, t):
        return self._shapes.setdefault(id(t), {})

    def __len__(self) -> int:
        return len(self._shapes)

    def dynamic_shapes(self, m, args, kwargs=None) -> dict:
        """The ``dynamic_shapes`` structure for these inputs: each assigned tensor's spec at
        its place, None elsewhere."""
        found = set()

        def spec_of(value):
            if id(value) in self._shapes:
                found.add(id(value))
                return self._shapes[id(value)]
            return None

        shapes = _map_leaves(spec_of, dict(_combine_args(m, args, kwargs)))
        if any(key not in found for key in self._shapes):
            raise ValueError(
                "Some tensors that were assigned shapes were not found in args. Maybe such "
                "tensors were copied when passing them as args? Maybe such tensors are "
                "contained in classes that were not registered with pytree?")
        return shapes


class AdditionalInputs:
    """Representative inputs besides export's example: dims that differ are dynamic.

    Example::

        extra = AdditionalInputs()
        extra.add((ember.randn(5, 8),))
        ep = export(model, (ember.randn(3, 8),), dynamic_shapes=extra)   # dim 0 dynamic
        extra.verify(ep)
    """

    def __init__(self) -> None:
        self._examples: list = []

    def add(self, args, kwargs=None) -> None:
        """One more ``(args, kwargs)`` example."""
        if type(args) is not tuple:
            raise AssertionError(f"Representative args {args} must be a tuple")
        if kwargs is not None and type(kwargs) is not dict:
            raise AssertionError(f"Representative kwargs {kwargs} must be None or a dict")
        self._examples.append((args, kwargs))

    def dynamic_shapes(self, m, args, kwargs=None) -> dict:
        """Merge the shapes of the example and of every added input: a tensor dim whose
        size varies is ``Dim.DYNAMIC``, one that never does is None."""
        from .dynamic_shapes import Dim

        def shapes_of(a, k):
            return _map_leaves(lambda v: tuple(v.shape) if isinstance(v, ember.Tensor) else v,
                               dict(_combine_args(m, a, k)))

        first, *others = [shapes_of(a, k) for a, k in [(args, kwargs), *self._examples]]

        def merge(value, *alternatives):
            if not all(type(value) is type(other) for other in alternatives):
                raise ValueError("The following inputs were found to have differing types, so "
                                 f"they cannot be marked as dynamic: {(value, *alternatives)}.")
            if isinstance(value, (tuple, list)):
                if any(len(other) != len(value) for other in alternatives):
                    raise ValueError("The following inputs were found to have differing "
                                     "values, but they cannot be marked as dynamic: "
                                     f"{(value, *alternatives)}.")
                return type(value)(merge(*items) for items in zip(value, *alternatives))
            if isinstance(value, dict):
                return {k: merge(value[k], *(o[k] for o in alternatives)) for k in value}
            if isinstance(value, int) and not isinstance(value, bool):
                return None if all(o == value for o in alternatives) else Dim.DYNAMIC
            if not all(o == value for o in alternatives):
                raise ValueError("The following inputs were found to have differing values, "
                                 "but they cannot be marked as dynamic: "
                                 f"{(value, *alternatives)}.")
            return None

        return merge(first, *others)

    def verify(self, ep) -> None:
        """Check that ``ep`` accepts every added input (structure and shape guards)."""
        from ember.utils._pytree import tree_flatten

        from .exported_program import _check_guards

        for args, kwargs in self._examples:
            flat, spec = tree_flatten((tuple(args), dict(kwargs or {})))
            if spec != ep._in_spec:
                raise ValueError(
                    "Trying to flatten user inputs with exported input tree spec: \n"
                    f"{ep._in_spec}\nbut actually got inputs with tree spec of: \n{spec}.\n"
                    "Please check that the inputs have the same number and type of args and "
                    "kwargs as the ones you used when tracing.")
            _check_guards(ep._input_guards, flat)


def register_dataclass(cls: type, *, serialized_type_name: str | None = None) -> None:
    """Let ``export`` take and return instances of the dataclass ``cls`` (its fields are
    flattened as a pytree node).

    Example::

        @dataclass
        class Batch:
            feature: Tensor
            bias: int

        register_dataclass(Batch)
        ep = export(model, (Batch(ember.ones(2, 2), 1),))
    """
    from ember.utils._pytree import register_dataclass as register

    register(cls, serialized_type_name=serialized_type_name)


class CustomDecompTable(dict):
    """The op -> decomposition table ``ExportedProgram.run_decompositions`` applies. Holds
    the lowerings ember implements (``linear``, ``flatten.using_ints``, ``sum.default``,
    inference ``batch_norm``); removing an op keeps it in the decomposed program."""

    def copy(self) -> CustomDecompTable:
        return CustomDecompTable(self)

    def materialize(self) -> dict:
        return dict(self)


def default_decompositions() -> CustomDecompTable:
    """A fresh table of the decompositions ``run_decompositions()`` uses by default."""
    from ._decompositions import LOWERINGS

    return CustomDecompTable(LOWERINGS())
