"""``ember.export.save`` / ``load``: an ExportedProgram in a zip file.

PyTorch's ``.pt2`` archive stores its graph in torch's serialization schema (ATen op
schemas, fake-tensor metadata, symbolic shape expressions); ember cannot produce or read
that faithfully, so it writes its own format with ``ember.save``: the graph (nodes with
their ATen targets by name), the signature, the pytree specs, the guards, the range
constraints, and the tensors of the state dict and constants. A program saved by ember
loads and runs in ember.
"""

from __future__ import annotations

import ember

from .exported_program import ExportedProgram

_FORMAT = "ember.export/1"


def save(ep: ExportedProgram, f, *, extra_files: dict | None = None,
         opset_version: dict | None = None, pickle_protocol: int = 2) -> None:
    """Write ``ep`` to ``f`` (a path or a writable binary file)."""
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got "
                        f"'{type(ep).__name__}' instead.")
    payload = {
        "format": _FORMAT,
        "graph": ep.graph,
        "signature": ep.graph_signature,
        "state_dict": dict(ep.state_dict),
        "constants": dict(ep.constants),
        "range_constraints": ep.range_constraints,
        "in_spec": ep._in_spec,
        "out_spec": ep._out_spec,
        "guards": ep._input_guards,
        "extra_files": dict(extra_files or {}),
    }
    ember.save(payload, f, pickle_protocol=pickle_protocol)


def load(f, *, extra_files: dict | None = None,
         expected_opset_version: dict | None = None) -> ExportedProgram:
    """Read a program written by ``save``."""
    payload = ember.load(f, weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise RuntimeError("ember.export.load: not a program written by ember.export.save "
                           "(PyTorch's .pt2 archives are not readable by ember)")
    from ember.fx import GraphModule
    from ember.nn import Module

    if extra_files is not None:
        for key in extra_files:
            extra_files[key] = payload["extra_files"].get(key, "")
    return ExportedProgram(GraphModule(Module(), payload["graph"]), payload["signature"],
                           payload["state_dict"], payload["range_constraints"],
                           payload["constants"], payload["in_spec"], payload["out_spec"],
                           payload["guards"])
