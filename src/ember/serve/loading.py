"""What ``ember serve`` loads: a whole pickled module (``torch.save(model)``), or a
state_dict / checkpoint dict together with ``--model package.module:factory`` that builds
the module to load it into."""

from __future__ import annotations

import importlib
import os
import sys


def _factory(spec: str):
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--model must look like package.module:factory, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    finally:
        sys.path.pop(0)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{module_name} has no attribute {attribute!r}") from None


def load_model(path, factory: str | None = None, map_location="cpu"):
    """The module to serve, from a checkpoint file."""
    import ember

    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    loaded = ember.load(path, map_location=map_location, weights_only=factory is not None)
    if isinstance(loaded, ember.nn.Module):
        return loaded
    if factory is None:
        raise ValueError(
            f"{path} holds a {type(loaded).__name__}, not a module: pass --model "
            "package.module:factory to build the module its state_dict loads into")
    if isinstance(loaded, dict) and "model" in loaded and isinstance(loaded["model"], dict):
        loaded = loaded["model"]  # a training checkpoint {"model": state_dict, ...}
    model = _factory(factory)()
    model.load_state_dict(loaded)
    return model
