"""``Directory``: the tree of files in a package, as ``PackageImporter.file_structure``
returns it (printable as a tree, queried with ``has_file``)."""

from __future__ import annotations

from .glob_group import GlobGroup, GlobPattern

__all__ = ["Directory"]

_TEE, _LAST, _BAR, _GAP = "├── ", "└── ", "│   ", "    "


class Directory:
    """A folder (``is_dir``) or file of a package; ``children`` maps names to entries."""

    def __init__(self, name: str, is_dir: bool) -> None:
        self.name = name
        self.is_dir = is_dir
        self.children: dict[str, Directory] = {}

    def _get_dir(self, dirs: list[str]) -> Directory:
        folder = self
        for name in dirs:
            if name not in folder.children:
                folder.children[name] = Directory(name, True)
            folder = folder.children[name]
        return folder

    def _add_file(self, file_path: str) -> None:
        *dirs, name = file_path.split("/")
        self._get_dir(dirs).children[name] = Directory(name, False)

    def has_file(self, filename: str) -> bool:
        """Whether ``filename`` (a "/"-separated path below this folder) is present."""
        head, _, rest = filename.partition("/")
        child = self.children.get(head)
        if child is None:
            return False
        return True if not rest else child.has_file(rest)

    def __str__(self) -> str:
        lines: list[str] = []
        self._render(lines, "", "─── ")
        return "".join(lines)

    def _render(self, lines: list[str], indent: str, pointer: str) -> None:
        """This entry's line, then its folders (sorted) and files (sorted) below it."""
        lines.append(f"{indent}{pointer}{self.name}\n")
        indent += _BAR if pointer == _TEE else _GAP
        folders = sorted(k for k, v in self.children.items() if v.is_dir)
        files = sorted(k for k, v in self.children.items() if not v.is_dir)
        for i, key in enumerate(folders):
            last = i == len(folders) - 1 and not files
            self.children[key]._render(lines, indent, _LAST if last else _TEE)
        for i, key in enumerate(files):
            lines.append(f"{indent}{_LAST if i == len(files) - 1 else _TEE}{key}\n")


def _create_directory_from_file_list(filename: str, file_list: list[str],
                                     include: GlobPattern = "**",
                                     exclude: GlobPattern = ()) -> Directory:
    """A Directory named ``filename`` holding the files of ``file_list`` that match."""
    pattern = GlobGroup(include, exclude=exclude, separator="/")
    top = Directory(filename, True)
    for name in file_list:
        if pattern.matches(name):
            top._add_file(name)
    return top
