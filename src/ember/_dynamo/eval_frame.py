"""``torch._dynamo.eval_frame.OptimizedModule``: what ``torch.compile(module)`` returns.

ember compiles nothing (see ``ember.compiler``), but the wrapper itself is part of the
behaviour programs rely on, so ``ember.compile(module)`` returns one as PyTorch does:

- the original module is registered as the child ``_orig_mod``, so ``state_dict()`` keys
  carry the ``_orig_mod.`` prefix (the reason checkpoint loaders strip that prefix) and
  ``compiled._orig_mod`` is the module itself, sharing its parameters;
- attribute reads, writes and deletes that are not the wrapper's own go to the original
  module (``compiled.fc``, ``compiled.foo = 1``), ``len`` and ``training`` too;
- calling it calls the original module, hooks included (eagerly, here);
- pickling and deepcopy rebuild a wrapper around a copy of the module.
"""

from __future__ import annotations

import warnings

from ..nn.modules import _hooks
from ..nn.modules.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """Wraps ``mod``; ``dynamo_ctx`` records the ``compile`` options (PyTorch keeps its
    dynamo context there)."""

    _opt_mod_attributes = {
        "_orig_mod", "dynamo_ctx", "_torchdynamo_orig_callable", "_torchdynamo_wrapper_id",
        "get_compiler_config", "forward", "_forward", "__dict__", "named_children_walk",
        "_super_module_initialized",
    }

    def __init__(self, mod: Module, dynamo_ctx=None) -> None:
        # first, because attribute access on self goes through _orig_mod (as in PyTorch)
        object.__setattr__(self, "_orig_mod", mod)
        self._super_module_initialized = False
        super().__init__()
        self._super_module_initialized = True
        self._orig_mod = mod  # now registered as a child module
        self.dynamo_ctx = dynamo_ctx
        self._initialize()
        self.training = self._orig_mod.training

    def _initialize(self) -> None:
        # PyTorch installs the compiled callable here; eagerly it is the module's __call__,
        # so the original module's own hooks still run
        self.forward = self._orig_mod.__call__

    def __len__(self) -> int:
        if hasattr(type(self._orig_mod), "__len__"):
            return len(self._orig_mod)
        raise TypeError(f"{type(self._orig_mod).__name__} does not support len()")

    def __call__(self, *args, **kwargs):
        if _hooks.any_global_call_hooks():
            warnings.warn(
                "Using `torch.compile(module)` when there are global hooks on modules (e.g., "
                "from `register_module_forward_hook`); this will cause the hooks to fire an "
                "extra time for the `OptimizedModule` created by `torch.compile(module)`. If "
                "this causes undesired behavior, please try using `module.compile()`, or use "
                "the per-module hooks instead", stacklevel=2)
        return super().__call__(*args, **kwargs)

    def __reduce__(self):
        return (self.__class__, (self._orig_mod, self.dynamo_ctx))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("forward", None)
        state.pop("__call__", None)
        return state

    def __setstate__(self, state) -> None:
        self.__dict__ = state
        self._initialize()

    @property
    def training(self) -> bool:
        return self._orig_mod.training

    @training.setter
    def training(self, value: bool) -> None:
        # Module.__init__ sets the default before _orig_mod is mirrored: ignore that one
        if self._super_module_initialized:
            self._orig_mod.training = value

    def __getattr__(self, name: str):
        if name == "_orig_mod":
            return self._modules["_orig_mod"]
        return getattr(self._orig_mod, name)

    def __setattr__(self, name: str, value) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__setattr__(name, value)
        return setattr(self._orig_mod, name, value)

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name) or name in OptimizedModule._opt_mod_attributes:
            return super().__delattr__(name)
        return delattr(self._orig_mod, name)

    def __dir__(self):
        orig_mod_attrs = self._orig_mod.__dir__()
        return orig_mod_attrs + [attr for attr in super().__dir__() if attr not in orig_mod_attrs]
