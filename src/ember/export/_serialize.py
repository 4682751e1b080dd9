"""``ember.export.save`` / ``load``: an ExportedProgram in PyTorch's ``.pt2`` archive.

``save`` writes the archive ``torch.export.save`` writes (``pt2_archive``): the program
as JSON in torch's serialization schema (``_pt2_write``), the weights and constants as
raw bytes, the example inputs, extra files. ``torch.export.load`` reads it and runs it;
``load`` reads archives written by torch or by ember (``_pt2_read``). Files written by
ember before it wrote ``.pt2`` (an ``ember.save`` pickle tagged ``ember.export/1``) are
still read.
"""

from __future__ import annotations

import os

import ember

from .exported_program import ExportedProgram

_FORMAT = "ember.export/1"  # the format of ember's earlier files (read only)


def save(ep: ExportedProgram, f, *, extra_files: dict | None = None,
         opset_version: dict | None = None, pickle_protocol: int = 2) -> None:
    """Write ``ep`` to ``f`` (a path or a writable, seekable binary file) as a ``.pt2``
    archive that ``torch.export.load`` and ``ember.export.load`` read.

    Raises ``RuntimeError`` naming the node when the graph calls something torch's
    format cannot name (an op ember records under its own Python signature).
    """
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got "
                        f"'{type(ep).__name__}' instead.")
    from .pt2_archive._package import package_pt2

    if isinstance(f, (str, os.PathLike)):
        f = os.fspath(f)
    package_pt2(f, exported_programs={"model": ep}, extra_files=extra_files,
                opset_version=opset_version, pickle_protocol=pickle_protocol)


def load(f, *, extra_files: dict | None = None,
         expected_opset_version: dict | None = None) -> ExportedProgram:
    """Read a program written by ``torch.export.save`` or ``ember.export.save``."""
    from .pt2_archive import is_pt2_package
    from .pt2_archive._package import load_pt2

    if isinstance(f, (str, os.PathLike)):
        f = os.fspath(f)
    if _is_pt2(f, is_pt2_package):
        contents = load_pt2(f, expected_opset_version=expected_opset_version)
        if extra_files is not None:
            for key in extra_files:
                extra_files[key] = contents.extra_files.get(key, "")
        if "model" not in contents.exported_programs:
            raise RuntimeError("ember.export.load: the .pt2 archive holds no program named "
                               f"'model' (it has {sorted(contents.exported_programs)}); use "
                               "ember.export.pt2_archive._package.load_pt2")
        return contents.exported_programs["model"]
    return _load_ember_format(f, extra_files)


def _is_pt2(f, is_pt2_package) -> bool:
    if isinstance(f, str):
        return is_pt2_package(f)
    start = f.tell()
    try:
        return is_pt2_package(f)  # zipfile reads the directory only, not every record
    finally:
        f.seek(start)


def _load_ember_format(f, extra_files: dict | None) -> ExportedProgram:
    """A program saved by ember before ``.pt2`` support: ``ember.save`` of a dict."""
    payload = ember.load(f, weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise RuntimeError("ember.export.load: not a program written by ember.export.save "
                           "or torch.export.save (no .pt2 archive, no ember program)")
    from ember.fx import GraphModule
    from ember.nn import Module

    if extra_files is not None:
        for key in extra_files:
            extra_files[key] = payload["extra_files"].get(key, "")
    return ExportedProgram(GraphModule(Module(), payload["graph"]), payload["signature"],
                           payload["state_dict"], payload["range_constraints"],
                           payload["constants"], payload["in_spec"], payload["out_spec"],
                           payload["guards"])
