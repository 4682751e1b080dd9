"""A config namespace like PyTorch's ``torch._dynamo.config`` / ``torch.compiler.config``:
a module object whose known keys read and write as attributes, where an unknown key is an
AttributeError (a typo in ``config.suppress_erors = True`` must not pass silently), and
``patch(...)`` sets keys for a ``with`` block or a decorated function.

ember compiles nothing, so most keys are only recorded: scripts that set them before
``compile`` run unchanged. Aliases let two namespaces share one value, as PyTorch's
``torch._dynamo.config.recompile_limit`` is ``torch.compiler.config.recompile_limit``.
"""

from __future__ import annotations

import copy
import functools
import sys
import types


class ConfigModule(types.ModuleType):
    """Keys live in ``_values``; ``_aliases`` maps a key to ``(other ConfigModule, key)``."""

    def __init__(self, name: str, defaults: dict, aliases: dict | None = None):
        super().__init__(name)
        object.__setattr__(self, "_defaults", dict(defaults))
        object.__setattr__(self, "_values", copy.deepcopy(dict(defaults)))
        object.__setattr__(self, "_aliases", dict(aliases or {}))

    def _owner(self, key):
        if key in self._aliases:
            target, target_key = self._aliases[key]
            return target._owner(target_key)
        if key in self._values:
            return self, key
        raise AttributeError(f"{self.__name__}.{key} does not exist")

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        owner, owner_key = self._owner(key)
        return owner._values[owner_key]

    def __setattr__(self, key, value):
        if key.startswith("__"):
            object.__setattr__(self, key, value)
            return
        owner, owner_key = self._owner(key)
        owner._values[owner_key] = value

    def __dir__(self):
        return sorted(set(self._values) | set(self._aliases) | set(super().__dir__()))

    def get_config_copy(self) -> dict:
        return copy.deepcopy(self._values)

    def load_config(self, config: dict) -> None:
        for key, value in config.items():
            setattr(self, key, value)

    def patch(self, arg1=None, arg2=None, **changes):
        """``with config.patch(key=value):``, ``config.patch("key", value)`` or
        ``config.patch({"key": value})``; also a decorator. Unknown keys raise on entry."""
        if isinstance(arg1, str):
            changes[arg1] = arg2
        elif isinstance(arg1, dict):
            changes.update(arg1)
        return _Patch(self, changes)


class _Patch:
    def __init__(self, config: ConfigModule, changes: dict):
        self.config, self.changes, self.saved = config, changes, []

    def __enter__(self):
        saved = []
        try:
            for key, value in self.changes.items():
                saved.append((key, getattr(self.config, key)))
                setattr(self.config, key, value)
        except AttributeError:
            for key, value in reversed(saved):
                setattr(self.config, key, value)
            raise
        self.saved.append(saved)

    def __exit__(self, *exc):
        for key, value in reversed(self.saved.pop()):
            setattr(self.config, key, value)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


def install(name: str, defaults: dict, aliases: dict | None = None) -> ConfigModule:
    """Make the namespace and register it in sys.modules (so ``import`` finds it)."""
    module = ConfigModule(name, defaults, aliases)
    sys.modules[name] = module
    return module
