"""``torch.export.draft_export``: an export that does not stop at the first problem.

Where ``export`` refuses Python control flow on a traced tensor's value
(``if x.sum() > 0``), the draft follows the branch the example takes, records the guard as
a data-dependent failure, and returns the program with a ``DraftExportReport`` in
``ep._report``. Such a program is right for inputs that take the same branches, which is
what the report warns about; a draft without failures is an ordinary export.
"""

from __future__ import annotations

import warnings
from enum import IntEnum

from . import _symbolic

__all__ = ["DraftExportReport", "FailureReport", "FailureType", "draft_export"]


class FailureType(IntEnum):
    MISSING_FAKE_KERNEL = 1
    DATA_DEPENDENT_ERROR = 2
    GUARD_ADDED = 3
    MISMATCHED_FAKE_KERNEL = 4

    def __str__(self) -> str:
        return self.name


class FailureReport:
    """One problem met while tracing: its type and what PyTorch reports with it."""

    def __init__(self, failure_type: FailureType, data: dict, xfail: bool = False) -> None:
        self.failure_type, self.data, self.xfail = failure_type, data, xfail

    def __repr__(self) -> str:
        return (f"FailureReport(failure_type={self.failure_type}, xfail={self.xfail}, "
                f"data={self.data})")

    def print(self, str_to_filename: dict) -> str:
        if self.failure_type == FailureType.DATA_DEPENDENT_ERROR:
            return ("Data dependent error.\n    When exporting, we were unable to evaluate the "
                    f"value of `{self.data['expr']}`.\n    This was encountered "
                    f"{self.data['occurrences']} times.")
        return f"{self.failure_type}: {self.data}"


class DraftExportReport:
    """What ``draft_export`` found: ``failures``, and ``successful()`` when there are none."""

    def __init__(self, failures: list, str_to_filename: dict, expressions_created: dict,
                 op_profiles: dict) -> None:
        self.failures, self.str_to_filename = failures, str_to_filename
        self.expressions_created, self.op_profiles = expressions_created, op_profiles

    def successful(self) -> bool:
        return len(self.failures) == 0 or all(f.xfail for f in self.failures)

    def __repr__(self) -> str:
        return f"DraftExportReport({self.failures})"

    def __str__(self) -> str:
        rule = "#" * 94
        if self.successful():
            return ("\033[92m\n" + rule + "\nCongratulations: No issues are found during export, "
                    "and it was able to soundly produce a graph.\nYou can now change back to "
                    "torch.export.export()\n" + rule + "\n\033[0m")
        issues = "\n\n".join(f"{i}. {f.print(self.str_to_filename)}"
                             for i, f in enumerate(self.failures, 1))
        return ("\033[93m\n" + rule + f"\nWARNING: {len(self.failures)} issue(s) found during "
                "export, and it was not able to soundly produce a graph.\nPlease follow the "
                "instructions to fix the errors.\n" + rule + "\n\n" + issues + "\n\033[0m")

    def apply_suggested_fixes(self) -> None:
        raise NotImplementedError("Not implemented yet")


def draft_export(mod, args: tuple, kwargs=None, *, dynamic_shapes=None,
                 preserve_module_call_signature: tuple = (), strict: bool = False,
                 prefer_deferred_runtime_asserts_over_guards: bool = False):
    """``export`` that follows the example through data-dependent branches and reports
    them in ``ep._report`` instead of raising."""
    from ._export import export

    previous = _symbolic.draft_failures[0]
    guards: list = []
    _symbolic.draft_failures[0] = guards
    try:
        program = export(mod, args, kwargs, dynamic_shapes=dynamic_shapes, strict=strict,
                         preserve_module_call_signature=preserve_module_call_signature)
    finally:
        _symbolic.draft_failures[0] = previous
    counts: dict = {}
    for expr in guards:
        counts[expr] = counts.get(expr, 0) + 1
    failures = [FailureReport(FailureType.DATA_DEPENDENT_ERROR,
                              {"expr": expr, "occurrences": n, "stack": []})
                for expr, n in counts.items()]
    program._report = DraftExportReport(failures, {}, {}, {})
    if failures:
        warnings.warn(f"{len(failures)} issue(s) found during export, and it was not able to "
                      "soundly produce a graph. You can view the errors in python by "
                      "inspecting `print(ep._report)`.", stacklevel=2)
    return program
