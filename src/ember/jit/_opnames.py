"""``torch.jit.export_opnames``: the ATen operators a scripted or traced module calls.

PyTorch reads the names off the module's compiled TorchScript graph. ember has no
compiler, so it learns them the way ``ember.export`` builds its graphs: by running the
module once on example inputs and naming each recorded call as ATen does
(``ember.export._aten`` picks the overload from the arguments). The example inputs are
the ones ``trace`` ran, ``script(..., example_inputs=...)``'s first entry, or else
zeros shaped as the arguments of the scripted module's first call; a scripted module
that has not run yet has nothing to name and raises a RuntimeError saying so.

What this reproduces and what it cannot:

- Traced modules: PyTorch's tracer records the ops that ran, as ember does, so the lists
  agree for modules without Python-level shape arithmetic. The tracer sits below the
  convolution entry points, so ``conv2d`` & co. are listed as ``aten::_convolution``.
- Scripted modules: TorchScript compiles every branch, including the ``inplace=True``
  branch of functionals such as ``F.relu`` (so ``aten::relu_`` is listed too), and names
  ``x * 2`` ``aten::mul.Scalar`` where the tracer sees a Tensor. Inlined submodules have
  their ``inplace`` flag folded to a constant and the dead branch dropped, so only the
  scripted module's own forward keeps both. Both are reproduced: the op of a scripted
  module with an ``inplace`` attribute (nn.ReLU, nn.ELU, ...), called from its own
  forward, is listed with its in-place twin, and a binary op whose second operand is a
  Python number takes the ``Scalar`` overload. ``F.relu`` called in a user's forward keeps
  the twin in TorchScript too, but ember sees the same op as from ``torch.relu`` and
  lists only ``aten::relu``. What stays out of reach is the integer and list
  arithmetic TorchScript compiles from Python code (``aten::size``, ``aten::eq.int``,
  ``prim::unchecked_cast`` in nn.LSTM or nn.BatchNorm1d's argument checks): ember runs
  that code as Python and it leaves no ops behind, and only the taken branch of a
  user-written ``if`` is seen.
"""

from __future__ import annotations

import copy
import numbers

__all__ = ["export_opnames"]

# binary ops whose (Tensor, Scalar) schema TorchScript picks for a Python-number operand
_SCALAR_OVERLOADS = {"add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "remainder",
                     "eq", "ne", "lt", "le", "gt", "ge", "pow", "fmod"}

# the tracer sits below conv2d & co., which reach it as ATen's _convolution
_TRACED_AS = {name: "_convolution" for name in (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "convolution")}


class _TensorSpec:
    """A first call's tensor argument, kept as its shape, dtype and device only: the
    scripted module (and each scripted child) must not hold a batch of activations alive
    for as long as it lives. Naming runs on zeros of that spec."""

    __slots__ = ("shape", "dtype", "device")

    def __init__(self, tensor) -> None:
        self.shape, self.dtype, self.device = tuple(tensor.shape), tensor.dtype, tensor.device


def _specs(value):
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        return _TensorSpec(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_specs(v) for v in value)
    if isinstance(value, dict):
        return {k: _specs(v) for k, v in value.items()}
    return value


def _materialized(value):
    if isinstance(value, _TensorSpec):
        import ember

        return ember.zeros(value.shape, dtype=value.dtype, device=value.device)
    if isinstance(value, (tuple, list)):
        return type(value)(_materialized(v) for v in value)
    if isinstance(value, dict):
        return {k: _materialized(v) for k, v in value.items()}
    return value


def remember_call(args: tuple, kwargs: dict) -> tuple:
    """What a scripted module keeps of its first call's (args, kwargs) for naming."""
    return _specs(args), _specs(kwargs)


def _example_of(module):
    """The (args, kwargs) the module was (or will be) run with, or None."""
    example = getattr(module, "_example_inputs", None)
    return None if example is None else _materialized(example)


def _owner(root, stack) -> object | None:
    """The innermost module of a node's ``nn_module_stack`` (where the call was made)."""
    if not stack:
        return None
    path = list(stack.values())[-1][0]
    try:
        return root.get_submodule(path) if path else root
    except AttributeError:
        return None


def _names_of(node, root, scripted: bool) -> list[str]:
    target = node.target
    namespace = getattr(target, "namespace", None)
    if namespace is None:  # operator.getitem on a tuple result: no ATen op
        return []
    name, overload = target._opname, target._overloadname
    if not scripted and name in _TRACED_AS:
        name, overload = _TRACED_AS[name], "default"
    if scripted and overload == "Tensor" and name in _SCALAR_OVERLOADS and len(node.args) > 1 \
            and isinstance(node.args[1], numbers.Number) and not isinstance(node.args[1], bool):
        overload = "Scalar"
    qualified = f"{namespace}::{name}" + ("" if overload == "default" else f".{overload}")
    names = [qualified]
    if scripted and not name.endswith("_") and hasattr(root, "inplace") \
            and _owner(root, node.meta.get("nn_module_stack")) is root:
        names.append(f"{namespace}::{name}_")  # the functional's inplace branch
    return names


def export_opnames(m) -> list[str]:
    """The sorted, distinct ATen operator names (``"aten::linear"``, ``"aten::add.Tensor"``)
    that the scripted or traced module ``m`` calls.

    Args:
        m: a ScriptModule from ``ember.jit.script`` or ``ember.jit.trace``.

    Example::

        >>> ember.jit.export_opnames(ember.jit.trace(nn.Linear(3, 2), ember.randn(1, 3)))
        ['aten::linear']
    """
    from . import RecursiveScriptModule, TopLevelTracedModule

    if not isinstance(m, RecursiveScriptModule):
        raise AttributeError(f"'{type(m).__name__}' object has no attribute '_c'")
    example = _example_of(m)
    if example is None:
        raise RuntimeError(
            "export_opnames: ember learns a scripted module's operators by running it "
            "(it has no TorchScript compiler), and this module has not run yet. Call it "
            "once, or pass example_inputs=[(inputs, ...)] to ember.jit.script.")
    args, kwargs = example
    import ember

    # a copy runs the export, so buffers the forward updates (BatchNorm's running stats)
    # stay as they are on the user's module
    program = ember.export.export(copy.deepcopy(m._original), tuple(args), dict(kwargs))
    scripted = not isinstance(m, TopLevelTracedModule)
    names = set()
    for node in program.graph.nodes:
        if node.op == "call_function":
            names.update(_names_of(node, m._original, scripted))
    return sorted(names)
