"""``torch.export.unflatten``: an exported program as a module tree again."""

from __future__ import annotations

from .exported_program import ExportedProgram


def unflatten(module: ExportedProgram, flat_args_adapter=None):
    """A module holding the parameters and buffers under their original submodule paths
    that runs the exported graph.

    PyTorch rebuilds one ``InterpreterModule`` per original submodule, each with the part
    of the graph that submodule computed; ember does not record module boundaries, so the
    submodules here hold state only and the whole graph runs at the root (``ep.module()``).
    """
    return module.module()
