"""Lines of ember's sources that also appear verbatim in PyTorch's Python sources.

ember must not copy code from other projects. Error texts, signatures and the names a
state dict or pickle carries are PyTorch's API and must match, but control flow copied
line by line is a copy. This lists, per file, the substantive lines (over 30 characters;
not def/class lines, imports, decorators, strings, raise statements, comments or
``self.x = x``) found word for word in the installed torch's ``.py`` files, so a change
can be checked before it lands and the worst files found.

    python scripts/torch_overlap.py [-q] [--worst N] [FILE ...]   (default: src/ember)
"""

from __future__ import annotations

import argparse
import os
import re
import sys

_SKIP = re.compile(r'^(raise|"|f"|#|\'|def |class |from |import |@|return self\b|'
                   r'super\(\)\.__init__)')
_SELF_ASSIGN = re.compile(r"^self\.(\w+)\s*=\s*\1\s*$")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def substantive(line):
    line = line.strip()
    return line if len(line) > 30 and not _SKIP.match(line) and \
        not _SELF_ASSIGN.match(line) else None


def torch_lines():
    import torch

    lines = set()
    for folder, _, files in os.walk(os.path.dirname(torch.__file__)):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), errors="ignore") as source:
                    lines.update(filter(None, map(substantive, source)))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("-q", action="store_true", help="counts only, not the lines")
    parser.add_argument("--worst", type=int, default=0, help="only the N worst files")
    args = parser.parse_args(argv)
    files = args.files or [os.path.join(folder, name)
                           for folder, _, names in os.walk(os.path.join(ROOT, "src", "ember"))
                           for name in names if name.endswith(".py")]
    known = torch_lines()
    rows, total, shared = [], 0, 0
    for path in files:
        with open(path) as source:
            lines = list(filter(None, map(substantive, source)))
        same = [line for line in lines if line in known]
        total, shared = total + len(lines), shared + len(same)
        rows.append((len(same), len(lines), path, same))
    rows.sort(key=lambda row: -row[0])
    for count, of, path, same in rows[:args.worst or None]:
        if count:
            print(f"{count:5d} of {of:5d}  {os.path.relpath(path, ROOT)}")
            if not args.q:
                print("".join(f"        {line}\n" for line in same), end="")
    print(f"total: {shared} of {total} substantive lines verbatim in torch "
          f"({shared / max(total, 1):.1%})")


if __name__ == "__main__":
    sys.exit(main())
