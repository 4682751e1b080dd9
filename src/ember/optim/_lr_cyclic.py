"""The schedulers with stepping rules of their own: ReduceLROnPlateau (driven by a metric),
CyclicLR, CosineAnnealingWarmRestarts and OneCycleLR (re-exported by
``optim.lr_scheduler``). Their saved attributes are PyTorch's, as in the base module."""

from __future__ import annotations

import math
import warnings
from typing import Any

from . import lr_scheduler as _base
from .optimizer import Optimizer

LRScheduler = _base.LRScheduler
_group_values = _base._group_values
_set_group_value = _base._set_group_value
_hparam_per_group = _base._hparam_per_group


class ReduceLROnPlateau(LRScheduler):
    """lr *= factor once a metric has not improved for more than ``patience`` epochs."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        _base._require_optimizer(optimizer)
        self.optimizer = optimizer
        self.min_lrs = _base._per_group(
            optimizer, min_lr, lambda expected, got: f"expected {expected} min_lrs, got {got}")
        # a single floor can be repeated for groups added later; a list cannot
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._set_criterion(mode, threshold, threshold_mode)
        self._forget_history()

    def _set_criterion(self, mode, threshold, threshold_mode) -> None:
        if mode not in ("min", "max"):
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.mode_worse = -math.inf if mode == "max" else math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def _forget_history(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a, best) -> bool:
        """Whether ``a`` beats ``best`` by the threshold. 'min' is 'max' on negated values,
        so one comparison serves both; 'rel' moves the bar by a fraction of best, 'abs' by
        the threshold itself (the same float operations as PyTorch's four cases)."""
        sign = 1.0 if self.mode == "max" else -1.0
        if self.threshold_mode == "rel":
            bar = best * (1.0 + sign * self.threshold)
        else:
            bar = best + sign * self.threshold
        return sign * a > sign * bar

    def step(self, metrics, epoch=None) -> None:
        current = float(metrics)
        if epoch is not None:
            warnings.warn(_base.EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        improved = self._is_better(current, self.best)
        if improved:
            self.best = current
        self.num_bad_epochs = 0 if improved else self.num_bad_epochs + 1
        if self.in_cooldown:
            # epochs right after a reduction do not count against the new lr
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._lower_lrs()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _lower_lrs(self) -> None:
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length of the `optimizer` param "
                    "groups."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            before = float(group["lr"])
            after = max(before * self.factor, floor)
            if before - after > self.eps:  # changes below eps are not worth making
                _set_group_value(group, "lr", after)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._set_criterion(self.mode, self.threshold, self.threshold_mode)


# ----------------------------------------------------------------------------------------
# momentum cycling, shared by CyclicLR and OneCycleLR
# ----------------------------------------------------------------------------------------

def _set_momentum(group: dict, use_beta1: bool, value) -> None:
    """Adam-style optimizers cycle beta1, SGD-style ones their momentum."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _start_momentum_cycle(scheduler, optimizer, base_momentum, max_momentum, last_epoch):
    """Validates the optimizer, records ``use_beta1`` and, on a fresh start, puts the
    momentum bounds in each group (where a resumed run finds them). Returns the per-group
    (base, max) momentums."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
        )
    scheduler.use_beta1 = "betas" in optimizer.defaults
    highs = _hparam_per_group("max_momentum", optimizer, max_momentum)
    lows = _hparam_per_group("base_momentum", optimizer, base_momentum)
    if last_epoch == -1:
        for group, high, low in zip(optimizer.param_groups, highs, lows):
            _set_momentum(group, scheduler.use_beta1, high)
            group["max_momentum"] = high
            group["base_momentum"] = low
    return lows, highs


# mode -> (what the amplitude scale is a function of, the scale as f(gamma, x))
_CYCLE_MODES = {
    "triangular": ("cycle", lambda gamma, x: 1.0),
    "triangular2": ("cycle", lambda gamma, x: 1 / (2.0 ** (x - 1))),
    "exp_range": ("iterations", lambda gamma, x: gamma**x),
}


class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith): triangular, triangular2 or exp_range between
    base_lr and max_lr, stepped every batch; momentum cycles inversely."""

    _STATE_CODECS = {"_scale_fn_custom": (_base._callable_state, _base._restore_callable)}

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn=None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, last_epoch: int = -1) -> None:
        _base._require_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _hparam_per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                _set_group_value(group, "lr", lr)
        self.max_lrs = _hparam_per_group("max_lr", optimizer, max_lr)
        rise = float(step_size_up)
        fall = rise if step_size_down is None else float(step_size_down)
        self.total_size = rise + fall
        self.step_ratio = rise / self.total_size  # the rising share of a cycle
        if scale_fn is None and mode not in _CYCLE_MODES:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # a built-in mode decides what its scale is a function of
        self.scale_mode = scale_mode if scale_fn is not None else _CYCLE_MODES[mode][0]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentums, self.max_momentums = _start_momentum_cycle(
                self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x) -> float:
        """The amplitude scale at ``x`` (a cycle number or an iteration, per scale_mode)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return _CYCLE_MODES[self.mode][1](self.gamma, x)

    def _compute_lrs(self) -> list:
        position = self.last_epoch / self.total_size
        cycle = math.floor(1 + position)
        within = 1.0 + position - cycle  # fraction of the current cycle done, in [0, 1)
        if within <= self.step_ratio:
            height = within / self.step_ratio
        else:
            height = (within - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [low + (high - low) * height * scale
               for low, high in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums):
                _set_momentum(group, self.use_beta1, high - (high - low) * height * scale)
        return lrs


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every T_i epochs, T_i growing by T_mult (SGDR)."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1,  # noqa: N803
                 eta_min: float = 0.0, last_epoch: int = -1) -> None:
        # the comparison comes first, as in PyTorch, so a non-number raises TypeError
        _require(T_0 > 0 and isinstance(T_0, int), f"Expected positive integer T_0, but got {T_0}")
        _require(T_mult >= 1 and isinstance(T_mult, int),
                 f"Expected integer T_mult >= 1, but got {T_mult}")
        _require(isinstance(eta_min, (float, int)),
                 f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _compute_lrs(self) -> list:
        return [_base._cosine_point(self.eta_min, base_lr, self.T_cur, self.T_i)
                for base_lr in self.base_lrs]

    def _advance(self) -> None:
        """One epoch on; at the end of a period restart with a period T_mult times longer."""
        self.T_cur += 1
        if self.T_cur >= self.T_i:
            self.T_cur %= self.T_i
            self.T_i *= self.T_mult

    def _seek(self, epoch) -> None:
        """Place a (possibly fractional) epoch in its period: periods are T_0 * T_mult**k,
        so the number of finished periods follows from a geometric sum."""
        if epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        if epoch < self.T_0:
            self.T_i = self.T_0
            self.T_cur = epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            growth = self.T_mult
            restarts = int(math.log(epoch / self.T_0 * (growth - 1) + 1, growth))
            self.T_cur = epoch - self.T_0 * (growth**restarts - 1) / (growth - 1)
            self.T_i = self.T_0 * growth**restarts

    def step(self, epoch=None) -> None:
        if epoch is None and self.last_epoch >= 0:
            epoch = self.last_epoch + 1
            self._advance()
        else:
            if epoch is None:
                epoch = 0  # the construction step
            self._seek(epoch)
        self.last_epoch = math.floor(epoch)
        with _base._flag(self, "_get_lr_called_within_step"):
            lrs = self.get_lr()
        self._apply_lrs(lrs)


def _cos_anneal(start, end, pct):
    """Half a cosine from start (pct 0) to end (pct 1)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _linear_anneal(start, end, pct):
    return (end - start) * pct + start


_ANNEALERS = {"cos": _cos_anneal, "linear": _linear_anneal}

# OneCycleLR phases: (phase end as f(pct_start, total_steps), lr from, lr to,
# momentum from, momentum to); the names are param-group keys
_PHASE_KEYS = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
_TWO_PHASES = (
    (lambda pct, total: float(pct * total) - 1,
     "initial_lr", "max_lr", "max_momentum", "base_momentum"),
    (lambda pct, total: total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
)
_THREE_PHASES = (
    _TWO_PHASES[0],
    (lambda pct, total: float(2 * pct * total) - 2,
     "max_lr", "initial_lr", "base_momentum", "max_momentum"),
    (lambda pct, total: total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
)


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up to max_lr then anneal far below the initial lr, with
    momentum moving inversely; stepped every batch for ``total_steps``."""

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        _base._require_optimizer(optimizer)
        self.optimizer = optimizer
        self.total_steps = self._count_steps(total_steps, epochs, steps_per_epoch)
        # the phase table is saved in the state_dict as PyTorch's list of dicts
        self._schedule_phases = [
            dict(zip(_PHASE_KEYS, (end(pct_start, self.total_steps), *keys)))
            for end, *keys in (_THREE_PHASES if three_phase else _TWO_PHASES)
        ]
        # written so that a NaN float passes, as in PyTorch
        _require(isinstance(pct_start, float) and not (pct_start < 0 or pct_start > 1),
                 f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        _require(anneal_strategy in _ANNEALERS,
                 f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        max_lrs = _hparam_per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _start_momentum_cycle(self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _count_steps(total_steps, epochs, steps_per_epoch) -> int:
        if total_steps is not None:
            _require(total_steps > 0 and isinstance(total_steps, int),
                     f"Expected positive integer total_steps, but got {total_steps}")
            return total_steps
        if epochs is None or steps_per_epoch is None:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        _require(isinstance(epochs, int) and epochs > 0,
                 f"Expected positive integer epochs, but got {epochs}")
        _require(isinstance(steps_per_epoch, int) and steps_per_epoch > 0,
                 f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
        return epochs * steps_per_epoch

    def _phase_at(self, step):
        """The phase ``step`` falls in and the fraction of it done (the last phase takes
        whatever is past the others' ends)."""
        phases = self._schedule_phases
        start = 0.0
        for phase in phases[:-1]:
            if step <= phase["end_step"]:
                break
            start = phase["end_step"]
        else:
            phase = phases[-1]
        return phase, (step - start) / (phase["end_step"] - start)

    def _compute_lrs(self) -> list:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        phase, pct = self._phase_at(step)
        anneal = _ANNEALERS[self._anneal_func_type]
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = anneal(group[phase["start_momentum"]], group[phase["end_momentum"]],
                                  pct)
                _set_momentum(group, self.use_beta1, momentum)
        return lrs
