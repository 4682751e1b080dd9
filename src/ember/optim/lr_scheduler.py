"""Learning-rate schedulers: PyTorch's classes, arguments, lr sequences and state_dict format.

How they are put together here:

* A step computes each group's lr from the lr the optimizer holds now (the chainable
  form), so schedulers sharing an optimizer compose, and each formula is evaluated in the
  same order of operations as PyTorch's, so the sequences agree to the last bit.
* Most schedulers only multiply the current lr by a ratio that depends on the epoch. They
  state that ratio (``_ratio``) and the ratio of their closed form to ``base_lrs``
  (``_base_ratio``, used when ``step(epoch)`` jumps to an epoch); ``_RatioScheduler``
  does the rest.
* ``state_dict`` is the instance ``__dict__`` less the optimizer: that is PyTorch's saved
  format, so attribute names are PyTorch's and checkpoints move between the libraries.
  Attributes that hold callables or inner schedulers are saved as their own state
  (``_STATE_CODECS``).
"""

from __future__ import annotations

import math
import types
import warnings
from bisect import bisect_right
from collections import Counter
from typing import Any

from ember import Tensor

from .optimizer import Optimizer

__all__ = [
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler",
    "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
    "PolynomialLR", "LRScheduler",
]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated "
    "where possible. Please use `scheduler.step()` to step the scheduler. During the "
    "deprecation, if epoch is different from None, the closed form is used instead of the "
    "new chainable form, where available. Please open an issue if you are unable to "
    "replicate your use case: https://github.com/pytorch/pytorch/issues/new/choose."
)
_GET_LR_OUTSIDE_STEP = (
    "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
)
_STEP_BEFORE_OPTIMIZER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first "
    "value of the learning rate schedule. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


# ----------------------------------------------------------------------------------------
# per-group values
# ----------------------------------------------------------------------------------------

def _own_copy(value):
    """A tensor lr is later filled in place, so whatever the scheduler keeps is a copy."""
    return value.clone() if isinstance(value, Tensor) else value


def _group_values(optimizer: Optimizer, key: str) -> list:
    return [_own_copy(group[key]) for group in optimizer.param_groups]


def _set_group_value(group: dict, key: str, value) -> None:
    """A tensor lr stays the same tensor (compiled or fused steps hold on to it)."""
    held = group[key]
    if isinstance(held, Tensor):
        held.fill_(float(value))
    else:
        group[key] = value


def _per_group(optimizer: Optimizer, value, mismatch) -> list:
    """One entry per param group: a scalar is repeated, a list or tuple must already have
    one entry per group (``mismatch(expected, got)`` words the ValueError)."""
    expected = len(optimizer.param_groups)
    if not isinstance(value, (list, tuple)):
        return [value] * expected
    if len(value) != expected:
        raise ValueError(mismatch(expected, len(value)))
    return list(value)


def _hparam_per_group(name: str, optimizer: Optimizer, value) -> list:
    """A hyper-parameter given once or per group, as the list of per-group values."""
    values = _per_group(
        optimizer, value,
        lambda expected, got: f"{name} must have the same length as optimizer.param_groups. "
        f"{name} has {got} values, param_groups has {expected}.",
    )
    return [_own_copy(v) for v in values]


def _cosine_point(eta_min, base_lr, elapsed, period):
    """The lr ``elapsed`` into a half cosine that falls from base_lr to eta_min over period."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * elapsed / period)) / 2


def _require_optimizer(optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


class _flag:
    """Holds a boolean attribute True for a block (the names are PyTorch's: they are in
    the state_dict, saved as False). A plain class, not ``@contextmanager``: every step
    enters one, and a generator-based manager costs three times as much per entry."""

    __slots__ = ("scheduler", "name")

    def __init__(self, scheduler, name: str) -> None:
        self.scheduler = scheduler
        self.name = name

    def __enter__(self) -> None:
        setattr(self.scheduler, self.name, True)

    def __exit__(self, *exc) -> None:
        setattr(self.scheduler, self.name, False)


# ----------------------------------------------------------------------------------------
# saving attributes that are not plain data
# ----------------------------------------------------------------------------------------

def _callable_state(fn):
    """A plain function cannot be saved (None, as PyTorch); a callable object's fields can."""
    if fn is None or isinstance(fn, types.FunctionType):
        return None
    return fn.__dict__.copy()


def _restore_callable(fn, saved) -> None:
    if saved is not None:
        fn.__dict__.update(saved)


def _save_callables(fns) -> list:
    return [_callable_state(fn) for fn in fns]


def _load_callables(fns, saved) -> None:
    for fn, fields in zip(fns, saved):
        _restore_callable(fn, fields)


def _save_inner(schedulers) -> list:
    return [inner.state_dict() for inner in schedulers]


def _load_inner(schedulers, saved) -> None:
    for inner, state in zip(schedulers, saved):
        inner.load_state_dict(state)


# ----------------------------------------------------------------------------------------
# base class
# ----------------------------------------------------------------------------------------

class LRScheduler:
    """Base class: records ``initial_lr`` in each group and takes the epoch-0 step at
    construction. Built-in subclasses implement ``_compute_lrs``; a user subclass may
    override ``get_lr`` (and ``_get_closed_form_lr``) as with PyTorch."""

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False
    # attribute -> (save, load) for attributes saved as their own state, not as objects
    _STATE_CODECS: dict[str, tuple] = {}

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _require_optimizer(optimizer)
        self.optimizer = optimizer
        resuming = last_epoch != -1
        for index, group in enumerate(optimizer.param_groups):
            if not resuming:
                group.setdefault("initial_lr", _own_copy(group["lr"]))
            elif "initial_lr" not in group:
                raise KeyError(
                    f"param 'initial_lr' is not specified in param_groups[{index}] when "
                    "resuming scheduler with last_epoch >= 0.\nThis typically happens "
                    "when:\n1. You're trying to resume training from a checkpoint but "
                    "haven't properly loaded the optimizer state\n2. You're using "
                    "last_epoch >= 0 for a fresh training run (not recommended)"
                )
        self.base_lrs: list = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        # optimizer.step() records from now on that it ran (PyTorch wraps step for this),
        # so a first scheduler step taken before any optimizer step can warn
        optimizer.__dict__["_step_tracked_by_lr_scheduler"] = True
        self._initial_step()

    def _initial_step(self) -> None:
        """The construction step; ``_is_initial`` lets a chained form tell it apart from a
        real epoch (it must leave a resumed optimizer's lr alone)."""
        self._step_count = 0
        with _flag(self, "_is_initial"):
            self.step()

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (PyTorch's format)."""
        state = {key: value for key, value in self.__dict__.items() if key != "optimizer"}
        for key, (save, _) in self._STATE_CODECS.items():
            state[key] = save(state[key])
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        codecs = self._STATE_CODECS
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in codecs})
        for key, (_, load) in codecs.items():
            load(getattr(self, key), state_dict[key])

    def get_last_lr(self) -> list:
        """The lr of each group as last set by this scheduler."""
        return self._last_lr

    def get_lr(self) -> list:
        """The lrs for ``last_epoch``, called by ``step``. A direct call warns, as in
        PyTorch: chained forms read the lr in place, so calling twice moves it twice."""
        if not self._get_lr_called_within_step:
            warnings.warn(_GET_LR_OUTSIDE_STEP, UserWarning, stacklevel=2)
        return self._compute_lrs()

    def _compute_lrs(self) -> list:
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(_STEP_BEFORE_OPTIMIZER, UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        """One step, without the warnings. Jumping to an explicit epoch uses the closed
        form where there is one: the chained form needs the previous epoch's lr in place."""
        closed_form = None if epoch is None else getattr(self, "_get_closed_form_lr", None)
        with _flag(self, "_get_lr_called_within_step"):
            self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
            lrs = self.get_lr() if closed_form is None else closed_form()
        self._apply_lrs(lrs)

    def _apply_lrs(self, lrs) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")


class _LRScheduler(LRScheduler):
    pass


class _RatioScheduler(LRScheduler):
    """A schedule that multiplies every group's current lr by one ratio per step.

    ``_ratio()`` is that ratio at ``last_epoch``, or None to leave the lrs as they are;
    ``_base_ratio()`` is lr / base_lr at ``last_epoch`` (the closed form).
    """

    def _ratio(self):
        raise NotImplementedError

    def _base_ratio(self):
        raise NotImplementedError

    def _compute_lrs(self) -> list:
        ratio = self._ratio()
        if ratio is None:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list:
        ratio = self._base_ratio()
        return [base_lr * ratio for base_lr in self.base_lrs]


# ----------------------------------------------------------------------------------------
# schedules given by functions of the epoch
# ----------------------------------------------------------------------------------------

def _lambdas_for(optimizer: Optimizer, lr_lambda) -> list:
    return _per_group(optimizer, lr_lambda,
                      lambda expected, got: f"Expected {expected} lr_lambdas, but got {got}")


_LAMBDA_CODECS = {"lr_lambdas": (_save_callables, _load_callables)}


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch)."""

    _STATE_CODECS = _LAMBDA_CODECS

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas_for(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def _compute_lrs(self) -> list:
        epoch = self.last_epoch
        return [base_lr * fn(epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(LRScheduler):
    """lr *= lr_lambda(epoch) at every step after the construction step."""

    _STATE_CODECS = _LAMBDA_CODECS

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas_for(optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def _compute_lrs(self) -> list:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        epoch = self.last_epoch
        return [group["lr"] * fn(epoch) for fn, group in zip(self.lr_lambdas, groups)]


def _ramp_over(scheduler) -> bool:
    """A ramp over total_iters leaves the lr alone at construction (a resumed optimizer
    already holds it) and once the ramp is done."""
    return scheduler._is_initial or scheduler.last_epoch > scheduler.total_iters


def _require_unit_range(value, low_inclusive: bool, message: str) -> None:
    """ValueError unless value lies in [0, 1] (or (0, 1]); the comparisons are PyTorch's,
    so a NaN passes as it does there."""
    below = value < 0 if low_inclusive else value <= 0
    if below or value > 1.0:
        raise ValueError(message)


class StepLR(_RatioScheduler):
    """lr *= gamma every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _ratio(self):
        epoch = self.last_epoch
        return self.gamma if epoch != 0 and epoch % self.step_size == 0 else None

    def _base_ratio(self):
        return self.gamma ** (self.last_epoch // self.step_size)


class MultiStepLR(_RatioScheduler):
    """lr *= gamma at each milestone (a repeated milestone multiplies once per repeat)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)  # a Counter, as PyTorch saves it
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _ratio(self):
        repeats = self.milestones.get(self.last_epoch)
        return None if repeats is None else self.gamma ** repeats

    def _base_ratio(self):
        passed = sum(n for epoch, n in self.milestones.items() if epoch <= self.last_epoch)
        return self.gamma ** passed


class ConstantLR(_RatioScheduler):
    """lr * factor until ``total_iters``, then lr."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        _require_unit_range(factor, True,
                            "Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _ratio(self):
        if self.last_epoch == 0:
            return self.factor
        # undoing the factor multiplies by its reciprocal, as PyTorch does
        return 1.0 / self.factor if self.last_epoch == self.total_iters else None

    def _base_ratio(self):
        if self.last_epoch < self.total_iters:
            return self.factor
        return self.factor + (1 - self.factor)


class LinearLR(_RatioScheduler):
    """The lr multiplier moves linearly from start_factor to end_factor over total_iters."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        _require_unit_range(
            start_factor, False,
            "Starting multiplicative factor expected to be greater than 0 and less or equal "
            "to 1.",
        )
        _require_unit_range(end_factor, True,
                            "Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _ratio(self):
        if self.last_epoch == 0:
            return self.start_factor
        if _ramp_over(self):
            return None
        # multiplier(e) / multiplier(e - 1), written over a common denominator
        slope = self.end_factor - self.start_factor
        steps_done = self.last_epoch - 1
        return 1.0 + slope / (self.total_iters * self.start_factor + steps_done * slope)

    def _base_ratio(self):
        progress = min(self.total_iters, self.last_epoch)
        return (self.start_factor
                + (self.end_factor - self.start_factor) * progress / self.total_iters)


class ExponentialLR(_RatioScheduler):
    """lr *= gamma every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _ratio(self):
        return None if self._is_initial else self.gamma

    def _base_ratio(self):
        return self.gamma**self.last_epoch


class PolynomialLR(_RatioScheduler):
    """lr * (1 - t / total_iters) ** power, constant after total_iters."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def _remaining(self, epoch) -> float:
        return 1.0 - epoch / self.total_iters

    def _ratio(self):
        if _ramp_over(self):
            return None
        return (self._remaining(self.last_epoch) / self._remaining(self.last_epoch - 1)) \
            ** self.power

    def _base_ratio(self):
        return self._remaining(min(self.total_iters, self.last_epoch)) ** self.power


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base lr to eta_min over T_max, in PyTorch's recursive form
    (so it composes with other schedulers and continues past T_max as PyTorch does)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def _compute_lrs(self) -> list:
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        if self._step_count == 1 and self.last_epoch > 0:
            return self._get_closed_form_lr()  # nothing to chain from yet
        groups = self.optimizer.param_groups
        period = self.T_max
        epoch = self.last_epoch
        if (epoch - 1 - period) % (2 * period) == 0:
            # the step off the minimum: the ratio below would be 0 / 0, so add the rise
            rise = (1 - math.cos(math.pi / period)) / 2
            return [group["lr"] + (base_lr - self.eta_min) * rise
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = ((1 + math.cos(math.pi * epoch / period))
                 / (1 + math.cos(math.pi * (epoch - 1) / period)))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _get_closed_form_lr(self) -> list:
        return [_cosine_point(self.eta_min, base_lr, self.last_epoch, self.T_max)
                for base_lr in self.base_lrs]


# ----------------------------------------------------------------------------------------
# schedulers made of other schedulers
# ----------------------------------------------------------------------------------------

def _check_inner_schedulers(owner, optimizer: Optimizer, schedulers, wanted: str) -> None:
    """The checks SequentialLR and ChainedScheduler share, with PyTorch's messages."""
    kind = type(owner).__name__
    if len(schedulers) < 1:
        raise ValueError(f"{kind} expects at least one scheduler{wanted}, but got no scheduler.")
    for index, inner in enumerate(schedulers):
        if not hasattr(inner, "optimizer"):
            raise TypeError(f"{kind} at index {index} should have `optimizer` as its attribute.")
        if isinstance(inner, ReduceLROnPlateau):
            raise ValueError(
                f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires "
                "additional kwargs to be specified when calling `step`, but got one at index "
                f"{index} in the given schedulers sequence."
            )
        if inner.optimizer != optimizer:
            raise ValueError(
                f"{kind} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(inner).__name__} at index {index} has "
                f"{inner.optimizer}, which is different from {type(optimizer).__name__}."
            )


_NESTED_CODECS = {"_schedulers": (_save_inner, _load_inner)}


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` from ``milestones[i-1]`` until ``milestones[i]``."""

    _STATE_CODECS = _NESTED_CODECS

    def __init__(self, optimizer: Optimizer, schedulers: list, milestones: list[int],
                 last_epoch: int = -1) -> None:
        _check_inner_schedulers(self, optimizer, schedulers, "")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                "than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # every inner scheduler stepped once when it was built; start over from the
        # initial lrs, with only the scheduler that owns epoch 0 taking that step
        for group in optimizer.param_groups:
            _set_group_value(group, "lr", group["initial_lr"])
        self.recursive_undo()
        first = schedulers[bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched=None) -> None:
        """Take back one epoch from every scheduler nested below ``sched`` (default self)."""
        target = self if sched is None else sched
        nested = getattr(target, "_schedulers", None)
        if nested is not None:
            for inner in nested:
                self.recursive_undo(inner)
        elif hasattr(target, "last_epoch"):
            target.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        active = self._schedulers[index]
        if index > 0 and self.last_epoch == self._milestones[index - 1]:
            active._update_lr(0)  # taking over: start at its own epoch 0
        else:
            active.step()
        self._last_lr = active.get_last_lr()


class ChainedScheduler(LRScheduler):
    """Steps every scheduler in turn at each ``step()`` (their effects multiply)."""

    _STATE_CODECS = _NESTED_CODECS

    def __init__(self, schedulers, optimizer: Optimizer | None = None) -> None:
        if optimizer is None and len(schedulers) > 0:
            optimizer = schedulers[0].optimizer
        _check_inner_schedulers(self, optimizer, schedulers, " to be chained")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._read_last_lr()

    def _read_last_lr(self) -> None:
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:
        for inner in self._schedulers:
            inner.step()
        self._read_last_lr()


from ._lr_cyclic import (  # noqa: E402 - they subclass LRScheduler defined above
    CosineAnnealingWarmRestarts,
    CyclicLR,
    OneCycleLR,
    ReduceLROnPlateau,
)
