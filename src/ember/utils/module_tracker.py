"""``torch.utils.module_tracker``: which modules are running right now, forward or
backward.

``ModuleTracker`` installs global forward pre/post hooks. Entering a module's forward
adds its name to ``parents``; leaving removes it. For backward the order is mirrored with
multi-grad hooks: when gradients reach a module's outputs its name is added back, and when
they reach the inputs it is removed. Names are fully qualified from the outermost module
seen (``Net.encoder.0``), as in a state_dict; ``"Global"`` is always present. After a
backward pass ends, ``parents`` is reset to ``{"Global"}`` (an end-of-backward callback,
as PyTorch queues one on its engine).
"""

from __future__ import annotations

import logging
import weakref

from ..autograd import engine as _engine_state
from ..autograd.graph import register_multi_grad_hook
from ..nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from ._pytree import tree_flatten

__all__ = ["ModuleTracker"]

logger = logging.getLogger(__name__)


class ModuleTracker:
    """Context manager tracking the nn.Module hierarchy during execution.

    ``parents``: the set of fully qualified names of the modules whose forward (or
    backward) is running, always containing ``"Global"``. ``is_bw``: True while a
    backward pass runs.

    Example::

        >>> mod = ember.nn.Linear(2, 2)
        >>> with ModuleTracker() as tracker:
        ...     def my_linear(m1, m2, bias):
        ...         print(f"Current modules: {tracker.parents}")
        ...         return ember.mm(m1, m2.t()) + bias
        ...     ember.nn.functional.linear = my_linear
        ...     mod(ember.rand(2, 2))
        Current modules: {'Global', 'Linear'}
    """

    parents: set

    def __init__(self) -> None:
        self.parents = {"Global"}
        self._known_modules: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._seen_modules: weakref.WeakSet = weakref.WeakSet()
        self._has_callback = False
        self._hooks: list = []

    def _maybe_set_engine_callback(self) -> None:
        if self._has_callback:
            return

        def callback() -> None:
            self.parents = {"Global"}
            self._has_callback = False

        _engine_state.queue_callback(callback)
        self._has_callback = True

    @property
    def is_bw(self) -> bool:
        """A boolean marking if this is currently running during the backward pass or not"""
        return bool(_engine_state._graph_tasks)

    def _get_mod_name(self, mod) -> str:
        """The module's name: its class for the first module seen, parent name + "." +
        attribute for the children found under it."""
        if mod not in self._known_modules:
            self._known_modules[mod] = type(mod).__name__
        mod_name = self._known_modules[mod]
        if mod not in self._seen_modules:
            for name, submod in mod.named_children():
                self._known_modules[submod] = f"{mod_name}.{name}"
                self._get_mod_name(submod)
            self._seen_modules.add(mod)
        return mod_name

    def _get_append_fn(self, name: str, is_bw: bool):
        def fn(*args) -> None:
            if is_bw:
                self._maybe_set_engine_callback()
            if name in self.parents:
                logger.info("The module hierarchy tracking seems to be broken as this Module "
                            "was already entered. %s during %s", name,
                            "backward" if is_bw else "forward")
            self.parents.add(name)

        return fn

    def _get_pop_fn(self, name: str, is_bw: bool):
        def fn(*args) -> None:
            if name in self.parents:
                self.parents.remove(name)
            else:
                logger.info("The Module hierarchy tracking is confused as we're exiting a "
                            "Module that was never entered. %s during %s", name,
                            "backward" if is_bw else "forward")

        return fn

    def _grad_tensors(self, values) -> list:
        from .._tensor import Tensor

        leaves, _ = tree_flatten(values)
        return [t for t in leaves if isinstance(t, Tensor) and t.requires_grad]

    def _fw_pre_hook(self, mod, input) -> None:
        name = self._get_mod_name(mod)
        self._get_append_fn(name, False)()
        tensors = self._grad_tensors(input)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._get_pop_fn(name, True)))

    def _fw_post_hook(self, mod, input, output) -> None:
        name = self._get_mod_name(mod)
        self._get_pop_fn(name, False)()
        tensors = self._grad_tensors(output)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors,
                                                        self._get_append_fn(name, True)))

    def __enter__(self):
        self._fw_pre_handle = register_module_forward_pre_hook(self._fw_pre_hook)
        self._fw_post_handle = register_module_forward_hook(self._fw_post_hook)
        return self

    def __exit__(self, *args) -> None:
        self._fw_pre_handle.remove()
        self._fw_post_handle.remove()
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
