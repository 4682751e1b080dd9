"""``package_pt2`` / ``load_pt2``: exported programs, their weights and extra files in
one ``.pt2`` archive, in the layout ``torch.export.pt2_archive._package`` writes.

Each tensor of the state dict and constants is written as its own record of raw
contiguous bytes (torch groups tensors sharing storage into one record; ember's copies
are separate, so tied weights load untied). AOTInductor artifacts are PyTorch's
compiler output and cannot be run by ember: archives holding them are read for their
exported programs only, and ``aoti_files`` is refused when writing.
"""

from __future__ import annotations

import dataclasses
import io
import json

import ember

from . import (
    AOTINDUCTOR_DIR,
    ARCHIVE_VERSION_PATH,
    ARCHIVE_VERSION_VALUE,
    CONSTANTS_CONFIG_FILENAME_FORMAT,
    CONSTANTS_DIR,
    EXTRA_DIR,
    MODELS_DIR,
    MODELS_FILENAME_FORMAT,
    SAMPLE_INPUTS_FILENAME_FORMAT,
    TENSOR_CONSTANT_FILENAME_PREFIX,
    WEIGHT_FILENAME_PREFIX,
    WEIGHTS_CONFIG_FILENAME_FORMAT,
    WEIGHTS_DIR,
    PT2ArchiveReader,
    PT2ArchiveWriter,
)

__all__ = ["PT2ArchiveContents", "load_pt2", "package_pt2"]


@dataclasses.dataclass
class PT2ArchiveContents:
    exported_programs: dict
    aoti_runners: dict
    extra_files: dict


def _raw_bytes(tensor) -> bytes:
    if tensor.numel() == 0:
        return b""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return flat.view(ember.uint8).numpy().tobytes()


def _write_payloads(writer: PT2ArchiveWriter, tensors: dict, directory: str,
                    prefix: str, what: str) -> dict:
    from .._pt2_write import tensor_meta

    config = {}
    first = writer.count_prefix(directory + prefix)  # programs packaged before this one
    for index, (fqn, tensor) in enumerate(tensors.items(), start=first):
        if not isinstance(tensor, ember.Tensor):
            raise RuntimeError(f"ember.export.save: {what} {fqn!r} is a "
                               f"{type(tensor).__name__}, not a tensor; only tensors can be "
                               "written to a .pt2 file")
        path = f"{prefix}{index}"
        writer.write_bytes(directory + path, _raw_bytes(tensor))
        config[fqn] = {"path_name": path,
                       "is_param": isinstance(tensor, ember.nn.Parameter),
                       "use_pickle": False,
                       "tensor_meta": tensor_meta(tuple(tensor.shape), tensor.dtype,
                                                  tensor.device, tensor.requires_grad)}
    return {"config": config}


def _write_program(writer: PT2ArchiveWriter, name: str, program,
                   pickle_protocol: int) -> None:
    from .._pt2_lower import lower
    from .._pt2_write import program_json

    program = lower(program)  # calls torch records as their ATen parts
    document, lifted = program_json(program)  # first: an unsupported node writes nothing
    weights = _write_payloads(writer, program.state_dict, WEIGHTS_DIR,
                              WEIGHT_FILENAME_PREFIX, "state_dict entry")
    writer.write_string(WEIGHTS_CONFIG_FILENAME_FORMAT.format(name), json.dumps(weights))
    constants = _write_payloads(writer, {**program.constants, **lifted}, CONSTANTS_DIR,
                                TENSOR_CONSTANT_FILENAME_PREFIX, "constant")
    writer.write_string(CONSTANTS_CONFIG_FILENAME_FORMAT.format(name), json.dumps(constants))
    writer.write_bytes(MODELS_FILENAME_FORMAT.format(name), document)
    samples = b""
    if program.example_inputs is not None:
        buffer = io.BytesIO()
        ember.save(program.example_inputs, buffer, pickle_protocol=pickle_protocol)
        samples = buffer.getvalue()
    writer.write_bytes(SAMPLE_INPUTS_FILENAME_FORMAT.format(name), samples)


def package_pt2(f, *, exported_programs=None, aoti_files=None, extra_files=None,
                opset_version=None, pickle_protocol: int = 2, executorch_files=None):
    """Write ``exported_programs`` (one program, saved as ``model``, or a dict of them)
    and ``extra_files`` to ``f`` (a path or a seekable binary file); returns ``f``."""
    from ..exported_program import ExportedProgram

    if exported_programs is None and aoti_files is None and extra_files is None:
        raise AssertionError(
            "No value passed in for `exported_programs`, `aoti_files`, and `extra_files`, "
            "implying that you do not plan on saving anything.")
    if aoti_files is not None:
        raise RuntimeError("ember.export: AOTInductor files are PyTorch compiler output; "
                           "ember cannot package them")
    if isinstance(exported_programs, ExportedProgram):
        exported_programs = {"model": exported_programs}
    with PT2ArchiveWriter(f) as writer:
        for name, program in (exported_programs or {}).items():
            _write_program(writer, name, program, pickle_protocol)
        for name, content in (extra_files or {}).items():
            data = content.encode() if isinstance(content, str) else bytes(content)
            writer.write_bytes(EXTRA_DIR + name, data)
        for name, content in (executorch_files or {}).items():
            writer.write_bytes("data/executorch/" + name, content)
    if hasattr(f, "seek"):
        f.seek(0)
    return f


def load_pt2(f, *, expected_opset_version=None, run_single_threaded: bool = False,
             num_runners: int = 1, device_index: int = -1,
             load_weights_from_disk: bool = False) -> PT2ArchiveContents:
    """Read every exported program and extra file of a ``.pt2`` archive; AOTInductor
    models in it are not loadable by ember (``aoti_runners`` stays empty)."""
    from .._pt2_read import read_program

    with PT2ArchiveReader(f) as reader:
        version = reader.read_string(ARCHIVE_VERSION_PATH) \
            if ARCHIVE_VERSION_PATH in reader.get_file_names() else ARCHIVE_VERSION_VALUE
        if version != ARCHIVE_VERSION_VALUE:
            raise ValueError(f"Saved archive version {version} does not match our current "
                             f"archive version {ARCHIVE_VERSION_VALUE}.")
        names = reader.get_file_names()
        programs = {}
        for name in names:
            if name.startswith(MODELS_DIR) and name.endswith(".json"):
                model = name[len(MODELS_DIR):-len(".json")]
                programs[model] = read_program(reader, model)
        extra = {name[len(EXTRA_DIR):]: reader.read_string(name) for name in names
                 if name.startswith(EXTRA_DIR)}
        if not programs and any(name.startswith(AOTINDUCTOR_DIR) for name in names):
            raise RuntimeError("ember.export.load: this .pt2 holds only AOTInductor "
                               "compiled models (PyTorch compiler output), which ember "
                               "cannot run")
    if hasattr(f, "seek"):
        f.seek(0)
    return PT2ArchiveContents(programs, {}, extra)


