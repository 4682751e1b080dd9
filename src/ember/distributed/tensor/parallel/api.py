"""``parallelize_module``: apply a ParallelStyle to a module, or a plan of styles to its
submodules by dotted name (``*`` and other ``fnmatch`` patterns match names)."""

from __future__ import annotations

import fnmatch
import warnings

from .style import ParallelStyle

__all__ = ["parallelize_module"]


def parallelize_module(module, device_mesh=None, parallelize_plan=None, *,
                       src_data_rank: int | None = 0):
    """Parallelize ``module`` over a 1-D ``device_mesh`` by ``parallelize_plan`` (a style
    or ``{"fqn": style}``); returns the module."""
    if device_mesh is None:
        raise RuntimeError("No device mesh is currently active!")  # as _api's default
    if parallelize_plan is None:
        warnings.warn("No parallelize_plan is provided and auto-parallel is not supported "
                      "at the moment, so this parallelize_module call will do nothing.",
                      stacklevel=2)
        return module
    if isinstance(parallelize_plan, ParallelStyle):
        parallelize_plan.src_data_rank = src_data_rank
        return parallelize_plan._apply(module, device_mesh)
    if not isinstance(parallelize_plan, dict):
        raise TypeError("Expect Union[ParallelStyle, Dict[str, ParallelStyle]] for "
                        f"parallelize_plan, {type(parallelize_plan)} found!")
    for module_path, style in parallelize_plan.items():
        atoms = module_path.split(".")
        if not module_path or not atoms[0]:
            raise ValueError("Expect module path to be non-empty, but got empty string!")
        first, rest = atoms[0], ".".join(atoms[1:])
        matched = False
        for name, child in module.named_children():
            if fnmatch.fnmatch(name, first):
                matched = True
                parallelize_module(child, device_mesh, {rest: style} if rest else style,
                                   src_data_rank=src_data_rank)
        if not matched:
            warnings.warn(f"Parallelize plan key '{module_path}' could not be resolved: no "
                          f"submodule matching token '{first}' in module {module}, skipping "
                          f"this plan entry.", stacklevel=2)
    return module
