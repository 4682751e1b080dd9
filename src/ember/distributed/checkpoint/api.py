"""The error every rank raises when any rank failed a step of a save or load."""

import traceback

__all__ = ["CheckpointException"]


def _wrap_exception(exc: BaseException) -> tuple:
    summary = traceback.extract_tb(exc.__traceback__)
    for frame in summary:  # code objects (Python 3.13) cannot cross ranks in a pickle
        if hasattr(frame, "_code"):
            object.__setattr__(frame, "_code", None)
    return (exc, summary)


def _is_wrapped_exception(obj) -> bool:
    return (isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], BaseException)
            and isinstance(obj[1], traceback.StackSummary))


class CheckpointException(BaseException):
    """Raised on every rank when one or more ranks failed ``step``; ``failures`` maps each
    failed rank to its (exception, traceback)."""

    def __init__(self, msg: str, failures: dict):
        super().__init__(msg, failures)
        self._failures = failures

    @property
    def failures(self) -> dict:
        return self._failures

    def __str__(self) -> str:
        text = f"CheckpointException ranks:{self._failures.keys()}\n"
        for rank, (exc, trace) in self._failures.items():
            text += f"Traceback (most recent call last): (RANK {rank})\n"
            if trace is not None:
                text += "".join(traceback.format_list(trace))
            text += "".join(traceback.format_exception_only(type(exc), value=exc))
        return text
