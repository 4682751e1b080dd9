"""``GlobGroup``: the patterns ``intern``/``extern``/``mock``/``deny`` and
``file_structure`` match names against.

A name is split into segments by ``separator`` ("." for modules, "/" for files). In a
pattern, a plain segment matches itself, ``*`` inside a segment matches any run of
characters within that segment, and a segment that is exactly ``**`` matches zero or more
whole segments: ``torch.**`` matches ``torch`` and everything under it, ``torch.*`` only
its direct children. A name matches the group when it matches an include pattern and no
exclude pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["GlobGroup", "GlobPattern"]

GlobPattern = str | Iterable[str]


def _segment_regex(segment: str, sep: str) -> str:
    """The regex for one pattern segment, including the separator that precedes it
    (names are matched with a separator in front, so ``**`` can match nothing)."""
    if segment == "**":
        return f"(?:{re.escape(sep)}[^{re.escape(sep)}]+)*"
    if "**" in segment:
        raise ValueError("** can only appear as an entire path segment")
    any_run = f"[^{re.escape(sep)}]*"
    return re.escape(sep) + any_run.join(re.escape(part) for part in segment.split("*"))


def _compile(pattern: str, sep: str):
    return re.compile("".join(_segment_regex(s, sep) for s in pattern.split(sep)))


class GlobGroup:
    """Names matching any of ``include`` and none of ``exclude``.

    Args:
        include: a pattern or patterns (``"my_package.**"``).
        exclude: patterns that take names back out.
        separator: what separates segments: "." for module names, "/" for paths.
    """

    def __init__(self, include: GlobPattern, *, exclude: GlobPattern = (),
                 separator: str = ".") -> None:
        self._dbg = f"GlobGroup(include={include}, exclude={exclude})"
        self.separator = separator
        self.include = self._patterns(include)
        self.exclude = self._patterns(exclude)

    def _patterns(self, patterns: GlobPattern) -> list:
        if isinstance(patterns, str):
            patterns = [patterns]
        return [_compile(p, self.separator) for p in patterns]

    def matches(self, candidate: str) -> bool:
        candidate = self.separator + candidate
        if not any(p.fullmatch(candidate) for p in self.include):
            return False
        return not any(p.fullmatch(candidate) for p in self.exclude)

    def __str__(self) -> str:
        return self._dbg

    __repr__ = __str__
