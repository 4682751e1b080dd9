"""``torch.profiler.RecordScope`` and ``KinetoStepTracker``: the scope codes profiler
events carry, and the global step count that profiler ``step()`` calls and optimizers
share (each requester counts its own steps; the global step is the largest count)."""

from __future__ import annotations

import enum
import warnings
from collections import defaultdict

__all__ = ["KinetoStepTracker", "RecordScope"]


class RecordScope(enum.IntEnum):
    FUNCTION = 0
    BACKWARD_FUNCTION = 1
    TORCHSCRIPT_FUNCTION = 2
    KERNEL_FUNCTION_DTYPE = 3
    CUSTOM_CLASS = 4
    BUILD_FEATURE = 5
    LITE_INTERPRETER = 6
    USER_SCOPE = 7
    STATIC_RUNTIME_OP = 8
    STATIC_RUNTIME_MODEL = 9


class KinetoStepTracker:
    """``increment_step("Optimizer1Step")`` returns the global step: the maximum over the
    requesters' counts, so a profiler ``step()`` and an optimizer step in the same
    iteration count once. A jump of more than one warns, as in PyTorch."""

    _current_step = 0
    _step_dict: dict = defaultdict(int)

    @classmethod
    def init_step_count(cls, requester: str) -> None:
        cls._step_dict[requester] = cls._current_step

    @classmethod
    def erase_step_count(cls, requester: str) -> bool:
        return cls._step_dict.pop(requester, None) is not None

    @classmethod
    def increment_step(cls, requester: str) -> int:
        if requester not in cls._step_dict:
            cls.init_step_count(requester)
        cls._step_dict[requester] += 1
        highest = max(cls._step_dict.values())
        if highest > cls._current_step:
            if highest - cls._current_step > 1:
                warnings.warn("Profiler step count has increased more than 1 - current_step = "
                              f"{cls._current_step} step dict =  {cls._step_dict}",
                              stacklevel=2)
            cls._current_step = highest
        return cls._current_step

    @classmethod
    def current_step(cls) -> int:
        return cls._current_step
