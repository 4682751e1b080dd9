"""Stochastic Weight Averaging and EMA: AveragedModel, SWALR, update_bn.

The averaging functions come in PyTorch's two shapes: per tensor (returns the new
average) and per list (updates a list of averages in place, one call per device and
dtype). Both shapes compute the same values; floating tensors use ``lerp_``, integer
buffers the plain weighted sum.
"""

from __future__ import annotations

import itertools
import math
from copy import deepcopy

import ember

from ember.nn import Module

from ._inplace import copy_, lerp_
from .lr_scheduler import LRScheduler, _hparam_per_group

__all__ = [
    "AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
    "get_ema_avg_fn", "get_swa_avg_fn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def _ema_value(ema, current, decay):
    """The EMA step as a new tensor (for integer tensors, which cannot lerp)."""
    return ema * decay + current * (1 - decay)


def _mean_value(mean, current, count):
    """The running mean after one more sample, as a new tensor."""
    return mean + (current - mean) / (count + 1)


def _lerps(tensors) -> bool:
    """Whether a list of tensors (all of one dtype) can be updated with lerp_."""
    return tensors[0].is_floating_point() or tensors[0].is_complex()


def get_ema_multi_avg_fn(decay: float = 0.999):
    """In-place EMA over lists of tensors: ``ema = lerp(ema, current, 1 - decay)``."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged) -> None:
        with ember.no_grad():
            float_list = _lerps(ema_param_list)
            for ema, current in zip(ema_param_list, current_param_list):
                if float_list:
                    lerp_(ema, current, 1 - decay)
                else:
                    copy_(ema, _ema_value(ema, current, decay))

    return ema_update


def get_swa_multi_avg_fn():
    """In-place running mean over lists of tensors."""

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        with ember.no_grad():
            weight = 1 / (float(num_averaged) + 1)  # the new sample's share of the mean
            float_list = _lerps(averaged_param_list)
            for mean, current in zip(averaged_param_list, current_param_list):
                if float_list:
                    lerp_(mean, current, weight)
                else:
                    mean.add_(current.sub(mean), alpha=weight)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """EMA of one tensor: ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with ember.no_grad():
            return _ema_value(ema_param, current_param, decay)

    return ema_update


def get_swa_avg_fn():
    """Running mean of one tensor."""

    def swa_update(averaged_param, current_param, num_averaged):
        with ember.no_grad():
            return _mean_value(averaged_param, current_param, num_averaged)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers with ``use_buffers``) hold the
    running average of the model's, updated by ``update_parameters(model)``.

    By default the average is the equal-weight SWA mean; ``avg_fn`` (per tensor) or
    ``multi_avg_fn`` (per list, e.g. ``get_ema_multi_avg_fn(0.999)``) change it.
    """

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        copied = deepcopy(model)
        self.module = copied if device is None else copied.to(device)
        self.register_buffer("n_averaged", ember.tensor(0, dtype=ember.long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged_tensors(self, module: Module) -> list:
        """What is averaged: the parameters, and the buffers too with ``use_buffers``."""
        buffers = module.buffers() if self.use_buffers else ()
        return list(itertools.chain(module.parameters(), buffers))

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies)."""
        with ember.no_grad():
            pairs = [(mine.detach(), theirs.detach().to(mine.device))
                     for mine, theirs in zip(self._averaged_tensors(self.module),
                                             self._averaged_tensors(model))]
            count = self.n_averaged
            if int(count.item()) == 0:
                for mine, theirs in pairs:
                    copy_(mine, theirs)
            elif self.avg_fn is not None:
                for mine, theirs in pairs:
                    copy_(mine, self.avg_fn(mine, theirs, count))
            else:
                self._update_by_groups(pairs)
            if not self.use_buffers:
                # buffers not averaged follow the model (BatchNorm statistics, counters)
                for mine, theirs in zip(self.module.buffers(), model.buffers()):
                    copy_(mine.detach(), theirs.detach().to(mine.device))
            self.n_averaged.add_(1)

    def _update_by_groups(self, pairs) -> None:
        """The update without ``avg_fn``, grouped by (device, dtype) as PyTorch's: the given
        multi_avg_fn per group, else the SWA mean, as lists where PyTorch has foreach
        kernels (cuda) and tensor by tensor elsewhere (so an integer buffer on the cpu
        takes the truncating mean, as there)."""
        buckets: dict = {}
        for mine, theirs in pairs:
            key = (str(mine.device), str(mine.dtype))
            _, means, samples = buckets.setdefault(key, (mine.device, [], []))
            means.append(mine)
            samples.append(theirs)
        for device, means, samples in buckets.values():
            count = self.n_averaged.to(device)
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(means, samples, count)
            elif device.type == "cuda":
                get_swa_multi_avg_fn()(means, samples, count)
            else:
                for mean, sample in zip(means, samples):
                    copy_(mean, _mean_value(mean, sample, count))


def _is_batchnorm(module) -> bool:
    """BatchNorm1d/2d/3d (and SyncBatchNorm): what PyTorch finds as ``_BatchNorm``."""
    from ember.nn.modules.batchnorm import _BatchNorm

    return isinstance(module, _BatchNorm)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute BatchNorm running statistics with one pass over ``loader`` (needed after
    averaging weights, whose activations differ from any single model's)."""
    with ember.no_grad():
        saved_momentum = {}
        for norm in filter(_is_batchnorm, model.modules()):
            norm.reset_running_stats()
            saved_momentum[norm] = norm.momentum
        if not saved_momentum:
            return
        was_training = model.training
        model.train()
        for norm in saved_momentum:
            norm.momentum = None  # None: an equal-weight mean over the whole pass
        for batch in loader:
            inputs = batch[0] if isinstance(batch, (list, tuple)) else batch
            model(inputs if device is None else inputs.to(device))
        for norm, momentum in saved_momentum.items():
            norm.momentum = momentum
        model.train(was_training)


# anneal strategy -> the share of swa_lr in the lr at progress t in [0, 1]
_SWA_ANNEALS = {
    "cos": lambda t: (1 - math.cos(math.pi * t)) / 2,
    "linear": lambda t: t,
}


def _anneal_start(lr, swa_lr, alpha):
    """The lr the anneal started from, given lr = alpha * swa_lr + (1 - alpha) * start."""
    if alpha == 1:
        return swa_lr
    return (lr - alpha * swa_lr) / (1 - alpha)


class SWALR(LRScheduler):
    """Anneals each group's lr to ``swa_lr`` over ``anneal_epochs`` (cos or linear), then
    holds it. Chainable: each step recovers the lr the anneal started from out of the
    current lr, so another scheduler's changes carry through."""

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        swa_lrs = _hparam_per_group("swa_lr", optimizer, swa_lr)
        for group, lr in zip(optimizer.param_groups, swa_lrs):
            group["swa_lr"] = lr
        if anneal_strategy not in _SWA_ANNEALS:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_strategy = anneal_strategy  # saved; anneal_func follows from it
        if not (isinstance(anneal_epochs, int) and anneal_epochs >= 0):
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_func(self):
        """The anneal curve; derived, so state_dict holds only the strategy's name."""
        return _SWA_ANNEALS[self._anneal_strategy]

    def _progress(self, step) -> float:
        return max(0, min(1, step / max(1, self.anneal_epochs)))

    def _compute_lrs(self) -> list:
        step = self._step_count - 1  # 0 at the construction step
        if self.anneal_epochs == 0:
            step = max(1, step)  # no anneal: swa_lr from the first step
        before = self.anneal_func(self._progress(step - 1))
        now = self.anneal_func(self._progress(step))
        return [group["swa_lr"] * now
                + _anneal_start(group["lr"], group["swa_lr"], before) * (1 - now)
                for group in self.optimizer.param_groups]
