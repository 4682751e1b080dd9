"""``torch.utils.show_pickle``: print what a pickle holds without importing anything it
names.

``DumpUnpickler`` resolves every global to a ``FakeClass`` (printing as
``module.name``), every object it would build to a ``FakeObject`` recording the class,
the constructor arguments and any ``__setstate__`` state, and every persistent id (how
checkpoints point at tensor storages) to ``pers.obj(pid)``. So a checkpoint from any
framework, or a pickle naming classes that are not installed, can be inspected safely.

Usage: ``python -m ember.utils.show_pickle FILE`` where FILE is a pickle file,
``archive.zip@member.pkl`` or ``archive.zip@*/glob.pkl`` (first matching member), e.g.
``python -m ember.utils.show_pickle model.pt@*/data.pkl``.
"""

from __future__ import annotations

import fnmatch
import pickle
import pprint
import struct
import sys
import zipfile

__all__ = ["FakeObject", "FakeClass", "DumpUnpickler", "main"]


class FakeObject:
    """Stands for an object of ``module.name`` built from ``args`` (and ``state``)."""

    def __init__(self, module, name, args) -> None:
        self.module = module
        self.name = name
        self.args = args
        self.state = None

    def __repr__(self) -> str:
        state = "" if self.state is None else f"(state={self.state!r})"
        return f"{self.module}.{self.name}{self.args!r}{state}"

    def __setstate__(self, state) -> None:
        self.state = state

    @staticmethod
    def pp_format(printer, obj, stream, indent, allowance, context, level) -> None:
        """A pprint dispatch entry laying out large arguments or state over lines."""
        if not obj.args and obj.state is None:
            stream.write(repr(obj))
        elif obj.state is None:
            stream.write(f"{obj.module}.{obj.name}")
            printer._format(obj.args, stream, indent + 1, allowance + 1, context, level)
        elif not obj.args:
            stream.write(f"{obj.module}.{obj.name}()(state=\n")
            indent += printer._indent_per_level
            stream.write(" " * indent)
            printer._format(obj.state, stream, indent, allowance + 1, context, level + 1)
            stream.write(")")
        else:
            raise Exception("Need to implement")  # noqa: TRY002 - PyTorch's exception


class FakeClass:
    """Stands for the global ``module.name``: calling it (or ``__new__``) makes a
    FakeObject."""

    def __init__(self, module, name) -> None:
        self.module = module
        self.name = name
        self.__new__ = self.fake_new

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"

    def __call__(self, *args):
        return FakeObject(self.module, self.name, args)

    def fake_new(self, *args):
        return FakeObject(self.module, self.name, args[1:])  # args[0] is the class


class DumpUnpickler(pickle._Unpickler):
    """An unpickler that imports nothing (see the module docstring).

    ``catch_invalid_utf8=True`` turns a string that is not valid UTF-8 (which a
    corrupted or non-Python pickle may hold) into ``builtin.UnicodeDecodeError(message)``
    instead of raising.
    """

    def __init__(self, file, *, catch_invalid_utf8=False, **kwargs) -> None:
        super().__init__(file, **kwargs)
        self.catch_invalid_utf8 = catch_invalid_utf8

    def find_class(self, module, name):
        return FakeClass(module, name)

    def persistent_load(self, pid):
        return FakeObject("pers", "obj", (pid,))

    # The pure-Python unpickler dispatches on opcode bytes; only BINUNICODE changes.
    dispatch = dict(pickle._Unpickler.dispatch)

    def load_binunicode(self) -> None:
        (length,) = struct.unpack("<I", self.read(4))
        if length > sys.maxsize:
            raise Exception("String too long.")  # noqa: TRY002 - PyTorch's exception
        raw = self.read(length)
        try:
            value = str(raw, "utf-8", "surrogatepass")
        except UnicodeDecodeError as error:
            if not self.catch_invalid_utf8:
                raise
            value = FakeObject("builtin", "UnicodeDecodeError", (str(error),))
        self.append(value)

    dispatch[pickle.BINUNICODE[0]] = load_binunicode

    @classmethod
    def dump(cls, in_stream, out_stream):
        """Unpickle ``in_stream`` and pretty-print the result to ``out_stream``."""
        value = cls(in_stream).load()
        pprint.pprint(value, stream=out_stream)
        return value


_USAGE = """usage: show_pickle PICKLE_FILE
  PICKLE_FILE can be any of:
    path to a pickle file
    file.zip@member.pkl
    file.zip@*/pattern.*
      (shell glob pattern for members)
      (only first match will be shown)
"""


def main(argv, output_stream=None) -> int | None:
    """``argv = [program, FILE]``: print FILE's contents (see the module docstring).
    Returns 2 after printing the usage when argv is malformed (raises instead when an
    ``output_stream`` is given, i.e. when called from code)."""
    if len(argv) != 2:
        if output_stream is not None:
            raise Exception("Pass argv of length 2.")  # noqa: TRY002 - PyTorch's exception
        sys.stderr.write(_USAGE)
        return 2
    target = argv[1]
    if "@" not in target:
        with open(target, "rb") as handle:
            DumpUnpickler.dump(handle, output_stream)
        return None
    archive, member = target.split("@", 1)
    with zipfile.ZipFile(archive) as zf:
        if "*" not in member:
            with zf.open(member) as handle:
                DumpUnpickler.dump(handle, output_stream)
            return None
        for info in zf.infolist():
            if fnmatch.fnmatch(info.filename, member):
                with zf.open(info) as handle:
                    DumpUnpickler.dump(handle, output_stream)
                return None
    raise Exception(f"Could not find member matching {member} in {archive}")  # noqa: TRY002


if __name__ == "__main__":
    pprint.PrettyPrinter._dispatch[FakeObject.__repr__] = FakeObject.pp_format
    sys.exit(main(sys.argv))
