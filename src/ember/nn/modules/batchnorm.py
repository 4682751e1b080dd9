"""BatchNorm1d/2d/3d, their lazy forms and SyncBatchNorm (as torch.nn.modules.batchnorm).

Same attributes, buffers (running_mean, running_var, num_batches_tracked), defaults and
state_dict keys as PyTorch, registered in the same order so checkpoints interchange.
SyncBatchNorm is a single-process BatchNorm here: with one process the synchronised
statistics are the local ones.
"""

from __future__ import annotations

from typing import Any

from ..._backend.dtypes import int64
from ..._ops.creation import empty, ones, tensor, zeros
from .. import init
from ..._ops.norm import batch_norm
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d",
           "LazyBatchNorm3d", "SyncBatchNorm"]

# Per-channel running statistics and the value each starts (and resets) at.
_RUNNING_STATS = (("running_mean", zeros, 0), ("running_var", ones, 1))
_COUNTER = "num_batches_tracked"


def _new_counter(device=None):
    """The 0-d int64 count of training batches (it drives momentum=None's average)."""
    return tensor(0, dtype=int64, device=device)


class _NormBase(Module):
    """Parameters and running-statistics buffers shared by batch and instance norm."""

    _version = 2
    __constants__ = ["track_running_stats", "momentum", "eps", "num_features", "affine"]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        where = {"device": device, "dtype": dtype}
        # absent parameters and buffers are registered as None: the keys' order stays fixed
        for name, wanted in (("weight", affine), ("bias", affine and bias)):
            self.register_parameter(
                name, Parameter(empty(num_features, **where)) if wanted else None)
        for name, fill, _ in _RUNNING_STATS:
            self.register_buffer(name, fill(num_features, **where) if track_running_stats
                                 else None)
        self.register_buffer(_COUNTER, _new_counter(device) if track_running_stats else None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            for name, _, start in (*_RUNNING_STATS, (_COUNTER, None, 0)):
                getattr(self, name).fill_(start)

    def reset_parameters(self) -> None:
        """Running stats to (0, 1, 0); affine weight to 1 and bias to 0 (the identity)."""
        self.reset_running_stats()
        if self.affine:
            for param, value in ((self.weight, 1.0), (self.bias, 0.0)):
                if param is not None:
                    init.constant_(param, value)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # Checkpoints older than the counter (format version < 2) have no
        # num_batches_tracked: keep this module's count (or 0) instead of reporting it missing.
        counter_key = prefix + _COUNTER
        predates_counter = (local_metadata.get("version") or 0) < 2
        if predates_counter and self.track_running_stats and counter_key not in state_dict:
            current = getattr(self, _COUNTER)
            state_dict[counter_key] = _new_counter() if current is None else current
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class _BatchNorm(_NormBase):
    """Batch statistics in training (and whenever there are no buffers to use instead).

    Subclasses name the input ranks they accept in ``_accepted_ranks``."""

    _accepted_ranks: tuple = ()

    def _check_input_dim(self, input):
        if input.dim() not in self._accepted_ranks:
            ranks = " or ".join(f"{r}D" for r in self._accepted_ranks)
            raise ValueError(f"expected {ranks} input (got {input.dim()}D input)")

    def _momentum_for_step(self):
        """The averaging factor of this step: momentum, or 1/num_batches_tracked for the
        cumulative average when momentum is None; counts the batch in training."""
        counter = getattr(self, _COUNTER)
        counting = self.training and self.track_running_stats and counter is not None
        if counting:
            counter.add_(1)
        if self.momentum is not None:
            return self.momentum
        return 1.0 / float(counter) if counting else 0.0

    def forward(self, input):
        self._check_input_dim(input)
        factor = self._momentum_for_step()
        # in training without tracking, the buffers (if any) must not be updated
        if self.training and not self.track_running_stats:
            mean = var = None
        else:
            mean, var = self.running_mean, self.running_var   # each read once per call
        batch_stats = self.training or (mean is None and var is None)
        return batch_norm(input, mean, var, self.weight, self.bias, batch_stats, factor,
                          self.eps)


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """num_features is taken from ``input.shape[1]`` on the first call."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True) -> None:
        where = {"device": device, "dtype": dtype}
        # build with nothing registered but None slots, then put placeholders in them
        super().__init__(0, eps, momentum, False, False, **where, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        learned = (("weight", "bias") if bias else ("weight",)) if affine else ()
        for name in learned:
            setattr(self, name, UninitializedParameter(**where))
        if track_running_stats:
            for name, _, _ in _RUNNING_STATS:
                setattr(self, name, UninitializedBuffer(**where))
            setattr(self, _COUNTER, _new_counter(device))

    def reset_parameters(self) -> None:
        if self.num_features != 0 and not self.has_uninitialized_params():
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[1]
        for name in ("weight", "bias", *(stat for stat, _, _ in _RUNNING_STATS)):
            placeholder = getattr(self, name)
            if placeholder is not None and is_lazy(placeholder):
                placeholder.materialize((self.num_features,))
        self.reset_parameters()


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs.

    Args:
        num_features: C.
        eps: added to the variance (default 1e-5).
        momentum: running-statistics factor, or None for a cumulative average (0.1).
        affine: learn weight and bias (True).
        track_running_stats: keep running_mean/running_var buffers (True).

    Example::

        >>> m = nn.BatchNorm1d(100)
        >>> m(torch.randn(20, 100)).shape
        torch.Size([20, 100])
    """

    _accepted_ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs (see BatchNorm1d for the arguments)."""

    _accepted_ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) inputs (see BatchNorm1d for the arguments)."""

    _accepted_ranks = (5,)


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    cls_to_become = BatchNorm1d
    _accepted_ranks = BatchNorm1d._accepted_ranks


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    cls_to_become = BatchNorm2d
    _accepted_ranks = BatchNorm2d._accepted_ranks


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    cls_to_become = BatchNorm3d
    _accepted_ranks = BatchNorm3d._accepted_ranks


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, +) inputs whose statistics would be synchronised across
    processes; in a single process it is BatchNorm."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any | None = None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        return super().forward(input)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Return ``module`` with every BatchNorm*d replaced by a SyncBatchNorm sharing its
        parameters and buffers (the same tensors, so either sees the other's updates)."""
        if not isinstance(module, _BatchNorm):
            result = module
        else:
            result = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                   module.affine, module.track_running_stats, process_group,
                                   bias=module.bias is not None)
            learned = ("weight", "bias") if module.affine else ()
            shared = (*learned, *(name for name, _, _ in _RUNNING_STATS), _COUNTER)
            for name in shared:
                setattr(result, name, getattr(module, name))
            result.training = module.training
            if hasattr(module, "qconfig"):
                result.qconfig = module.qconfig
        for child_name, child in module.named_children():
            result.add_module(child_name, cls.convert_sync_batchnorm(child, process_group))
        return result
