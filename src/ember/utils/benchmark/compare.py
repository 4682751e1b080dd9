"""Compare: many Measurements as one table per label, as torch.utils.benchmark prints them.

Rows are sub-labels (or statements) grouped by thread count, columns are descriptions; all
times in one unit, optionally trimmed to the digits their spread supports, colored against
the best of each column or row, and flagged where their spread is large.
"""

from __future__ import annotations

import collections
import enum
import math

from . import common

__all__ = ["Colorize", "Compare"]

_BEST, _GOOD, _BAD, _VERY_BAD = "\033[92m", "\033[34m", "\033[2m\033[91m", "\033[31m"
_BOLD, _END = "\033[1m", "\033[0m"


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


def _color(text, value, best):
    if value <= best * 1.01 or value <= best + 100e-9:
        return _BEST + _BOLD + text + _END * 2
    if value <= best * 1.1:
        return _GOOD + _BOLD + text + _END * 2
    if value >= best * 5:
        return _VERY_BAD + _BOLD + text + _END * 2
    if value >= best * 2:
        return _BAD + text + _END * 2
    return text


class _Table:
    """One label's measurements laid out in rows (threads, env, name) and columns."""

    def __init__(self, results, colorize, trim, highlight):
        self.results, self.colorize, self.trim = results, colorize, trim
        self.highlight = highlight and any(r.has_warnings for r in results)
        self.label = results[0].label
        self.unit, self.scale = common.select_unit(min(r.median for r in results))
        rows = common.ordered_unique((r.num_threads, r.env, r.as_row_name) for r in results)
        self.rows = sorted(rows, key=lambda key: key[:2])  # stable: statements keep order
        self.columns = common.ordered_unique(r.description for r in results)
        self.cells = {((r.num_threads, r.env, r.as_row_name), r.description): r
                      for r in results}

    def _format(self, column):
        """A number format shared by one column: enough integer digits for its largest
        value and the decimals its least certain value supports; a column holding a noisy
        measurement gives every cell a 7-wide spread slot (blank for the steady ones)."""
        values = [m for m in (self.cells.get((row, column)) for row in self.rows) if m]
        leading = [math.ceil(math.log10(m.median / self.scale)) for m in values]
        decimals = (min(max(m.significant_figures - d, 0) for m, d in zip(values, leading))
                    if self.trim else 1)
        width = max(leading) + decimals + (1 if decimals else 0)
        flagged = self.highlight and any(m.has_warnings for m in values)

        def cell(m):
            value = (common.trim_sigfig(m.median / self.scale, m.significant_figures)
                     if self.trim else m.median / self.scale)
            spread = f" (! {m.iqr / m.median * 100:.0f}%)" if m.has_warnings else ""
            return f"{value:>{width}.{decimals}f}" + (f"{spread:>7}" if flagged else "")

        return cell

    def render(self) -> str:
        formats = {column: self._format(column) for column in self.columns}
        envs = {row[1] for row in self.rows}
        show_env = len(envs) > 1
        env_width = max(len(str(e)) for e in envs) if show_env else 0
        table = [[""] + [str(c) if c is not None else "" for c in self.columns]]
        for row in self.rows:
            name = (f"({row[1]})" if show_env else "").ljust(env_width + 4) + row[2]
            cells = [self.cells.get((row, column)) for column in self.columns]
            table.append(["  " + name] + [formats[c](m) if m else "" for c, m in
                                          zip(self.columns, cells)])
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        header = "  |  ".join(text.center(w) for text, w in zip(table[0], widths))
        lines, threads = [header], None
        for row, line in zip(self.rows, table[1:]):
            if row[0] != threads:
                threads = row[0]
                lines.append(f"{threads} threads: ".ljust(len(header), "-"))
            cells = [self.cells.get((row, column)) for column in self.columns]
            texts = [line[0].ljust(widths[0])]
            for text, width, cell, column in zip(line[1:], widths[1:], cells, self.columns):
                text = text.center(width)
                if self.colorize != Colorize.NONE and cell is not None:
                    peers = ([m for m in cells if m] if self.colorize == Colorize.ROWWISE else
                             [m for m in (self.cells.get((r, column)) for r in self.rows
                                          if r[0] == row[0]) if m])
                    text = _color(text, cell.median, min(m.median for m in peers))
                texts.append(text)
            lines.append("  |  ".join(texts))
        title = f"[{(' ' + (self.label or '') + ' ').center(len(header) - 2, '-')}]"
        notes = ["", f"Times are in {common.unit_to_english(self.unit)}s ({self.unit})."]
        if self.highlight:
            notes.append("(! XX%) Measurement has high variance, where XX is the IQR / median "
                         "* 100.")
        return "\n".join([title, *lines, *notes]) + "\n"


class Compare:
    def __init__(self, results) -> None:
        self._results = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def extend_results(self, results) -> None:
        for result in results:
            if not isinstance(result, common.Measurement):
                raise ValueError(  # noqa: TRY004 - PyTorch raises ValueError here
                    f"Expected an instance of `Measurement`, got {type(result)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        self._trim_significant_figures = True

    def colorize(self, rowwise=False) -> None:
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        self._highlight_warnings = True

    def __str__(self) -> str:
        groups = collections.defaultdict(list)
        for result in common.Measurement.merge(self._results):
            groups[result.label].append(result)
        return "\n".join(_Table(group, self._colorize, self._trim_significant_figures,
                                self._highlight_warnings).render()
                         for group in groups.values())

    def print(self) -> None:
        print(str(self))
