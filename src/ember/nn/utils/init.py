"""``nn.utils.skip_init``: build a module without running its parameter initialisation.

The module is constructed on the meta device, where initialisers cost nothing, then given
uninitialised storage on the requested device with ``to_empty``. ember's storage is
zero-filled rather than left as whatever memory held, so results are reproducible; the
values are still not the module's initialisation, which is the point.
"""

from __future__ import annotations

import inspect

from ..modules.module import Module


def skip_init(module_cls, *args, **kwargs):
    """Instantiate ``module_cls(*args, **kwargs)`` without initialising its parameters.

    Args:
        module_cls: a Module subclass whose constructor accepts ``device``.
        args, kwargs: the constructor's arguments; ``device`` (default cpu) is where the
            parameters end up.

    Example::

        >>> linear = nn.utils.skip_init(nn.Linear, 5, 1)
    """
    if not isinstance(module_cls, type) or not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")  # noqa: TRY004 - PyTorch's type
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)


__all__ = ["skip_init"]
