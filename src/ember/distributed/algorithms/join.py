"""The generic join context manager (PyTorch's ``torch.distributed.algorithms.join``):
training with uneven inputs across ranks.

A rank that runs out of inputs leaves the ``with Join([...])`` body early and waits in
``__exit__``. Every iteration of the ranks still training starts with one all-reduce of
a 1 (``notify_join_context``); the joined rank answers it with a 0, learns how many ranks
are still training, and runs its joinables' ``main_hook``s, which issue the same
collectives a training iteration does (DDP: zero gradients into each bucket's
all-reduce). When the count drops to 0, every rank runs the ``post_hook``s (DDP: copy
the model of a rank that joined last into every rank) and leaves.

With ``throw_on_early_termination=True`` the first rank to run out makes every rank
raise instead, through one extra all-reduce per iteration.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

__all__ = ["Join", "JoinHook", "Joinable"]

_SKEW_WARNING_ITERATIONS = 1000


class JoinHook:
    """The two entry points a joinable gives the join context manager: ``main_hook``
    runs once per iteration the other ranks still train; ``post_hook(is_last_joiner)``
    runs once when every rank has joined. Both do nothing by default."""

    def main_hook(self) -> None:
        """Shadow one training iteration's collectives of the ranks still training."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run after every rank joined; ``is_last_joiner`` tells whether this rank was
        among the last to run out of inputs."""


class _JoinConfig(NamedTuple):
    enable: bool
    throw_on_early_termination: bool
    is_first_joinable: bool

    @staticmethod
    def construct_disabled_join_config():
        return _JoinConfig(enable=False, throw_on_early_termination=False,
                           is_first_joinable=False)


class Joinable(ABC):
    """A class that takes part in ``Join``: implement ``join_hook(**kwargs)`` (returns
    a ``JoinHook``), and the ``join_device`` and ``join_process_group`` properties, and
    call ``Join.notify_join_context(self)`` before each iteration's collectives."""

    @abstractmethod
    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig.construct_disabled_join_config()

    @abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        """The hook that shadows this joinable's collectives once its rank joined."""

    @property
    @abstractmethod
    def join_device(self):
        """The device the join context manager's own all-reduces use."""

    @property
    @abstractmethod
    def join_process_group(self) -> Any:
        """The process group the join context manager's own all-reduces use."""


class Join:
    """Context manager for training with uneven inputs across ranks.

    Args:
        joinables: the participating ``Joinable``s (a DDP model, ...); their hooks run in
            this order, and the first one's device and group carry the join's own
            all-reduces.
        enable: False turns the context manager into a no-op (inputs known to be even).
        throw_on_early_termination: raise on every rank as soon as one runs out of
            inputs, instead of shadowing it.
        **kwargs: passed to every joinable's ``join_hook``.

    Example::

        >>> model = DDP(net)
        >>> with Join([model]):              # or: with model.join():
        ...     for x in my_batches:         # a different count on each rank
        ...         model(x).sum().backward()
    """

    def __init__(self, joinables: list, enable: bool = True,
                 throw_on_early_termination: bool = False, **kwargs):
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = list(joinables)
        self._join_hooks = [joinable.join_hook(**kwargs) for joinable in self._joinables]
        self._enable = enable
        self._throw_on_early_termination = throw_on_early_termination
        for position, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(enable, throw_on_early_termination,
                                                position == 0)
        self._process_group, self._device = None, None
        for joinable in self._joinables:
            group = joinable.join_process_group
            if self._process_group is None:
                self._process_group = group
            elif group != self._process_group:
                raise ValueError("Using join context manager with multiple process groups")
            if self._device is None:
                self._device = joinable.join_device
        from .. import get_rank
        self._rank = get_rank(self._process_group)

    def __enter__(self):
        return None

    def __exit__(self, exc_type, exc_value, traceback):
        if not self._enable or exc_type is not None:
            return  # an error in the body propagates as it is
        is_last_joiner = True
        iterations = 0
        while self._count_nonjoined() != 0:
            if iterations > _SKEW_WARNING_ITERATIONS:
                warnings.warn(f"Detected uneven input skew of greater than "
                              f"{_SKEW_WARNING_ITERATIONS}. This means that rank {self._rank} "
                              f"has at least {_SKEW_WARNING_ITERATIONS} fewer inputs than "
                              f"other currently-active ranks. This level of skew could lead "
                              f"to performance degradation during training.", stacklevel=2)
            if self._throw_on_early_termination:
                self._notify_procs_to_terminate()
            for hook in self._join_hooks:
                hook.main_hook()
            is_last_joiner = False
            iterations += 1
        for hook in self._join_hooks:
            hook.post_hook(is_last_joiner)
        return

    def _count_nonjoined(self) -> float:
        """Answer the training ranks' ``notify_join_context`` all-reduce with a 0: the
        sum is how many ranks still train."""
        from ... import zeros
        from .. import all_reduce
        count = zeros(1, device=self._device)
        all_reduce(count, group=self._process_group)
        return count.item()

    def _notify_procs_to_terminate(self):
        from ... import ones
        from .. import all_reduce
        all_reduce(ones(1, device=self._device), group=self._process_group)
        raise RuntimeError(f"Rank {self._rank} exhausted all inputs.")

    @staticmethod
    def notify_join_context(joinable: Joinable):
        """Tell the join context manager that this rank has not joined yet (call it at
        the start of each iteration, before the joinable's own collectives). Only the
        first joinable of a ``Join`` communicates; returns the all-reduce's Work (its
        tensor sums to the number of ranks still training) or None."""
        if not hasattr(joinable, "_join_config"):
            raise AssertionError(f"Check that the {type(joinable)} constructor calls the "
                                 "``Joinable`` constructor")
        config = joinable._join_config
        if not config.is_first_joinable or not config.enable:
            return None
        from ... import ones, zeros
        from .. import all_reduce
        device, group = joinable.join_device, joinable.join_process_group
        work = all_reduce(ones(1, device=device), group=group, async_op=True)
        if config.throw_on_early_termination:
            flag = zeros(1, device=device)
            all_reduce(flag, group=group)
            if flag.item():
                raise RuntimeError("Detected at least one rank that exhausted inputs. "
                                   "Throwing across all ranks.")
        return work
