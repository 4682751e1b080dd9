"""``LambdaSL`` and ``CubicSL`` sparsity schedules."""

from __future__ import annotations

from .base_scheduler import BaseScheduler

__all__ = ["LambdaSL", "CubicSL"]


class LambdaSL(BaseScheduler):
    """Sparsity level = target level * ``sl_lambda(epoch)`` (one function, or one per group).
    """

    def __init__(self, sparsifier, sl_lambda, last_epoch: int = -1, verbose: bool = False):
        self.sparsifier = sparsifier
        if not isinstance(sl_lambda, (list, tuple)):
            self.sl_lambdas = [sl_lambda] * len(sparsifier.groups)
        else:
            if len(sl_lambda) != len(sparsifier.groups):
                raise ValueError(
                    f"Expected {len(sparsifier.groups)} lr_lambdas, but got {len(sl_lambda)}"
                )
            self.sl_lambdas = list(sl_lambda)
        super().__init__(sparsifier, last_epoch, verbose)

    def get_sl(self) -> list[float]:
        self._warn_outside_step()
        return [base * fn(self.last_epoch) for fn, base in zip(self.sl_lambdas, self.base_sl)]


class CubicSL(BaseScheduler):
    """Zhu & Gupta's cubic ramp (arXiv:1710.01878) from ``init_sl`` to the target level:
    ``s_f + (s_0 - s_f) * (1 - (t - t_0) / (n * dt)) ** 3``, clamped between them.

    Args:
        init_sl, init_t, delta_t, total_t, initially_zero: scalars or one per group;
            ``initially_zero`` gives level 0 before ``init_t``.
    """

    def __init__(self, sparsifier, init_sl=0.0, init_t=0, delta_t=10, total_t=100,
                 initially_zero=False, last_epoch=-1, verbose=False):
        self.sparsifier = sparsifier
        self.init_sl = self._make_sure_a_list(init_sl)
        self.init_t = self._make_sure_a_list(init_t)
        self.delta_t = self._make_sure_a_list(delta_t)
        self.total_t = self._make_sure_a_list(total_t)
        self.initially_zero = self._make_sure_a_list(initially_zero)
        super().__init__(sparsifier, last_epoch, verbose)

    @staticmethod
    def sparsity_compute_fn(s_0, s_f, t, t_0, dt, n, initially_zero=False):
        """The level at step ``t``."""
        if initially_zero and t < t_0:
            return 0
        s_t = s_f + (s_0 - s_f) * (1.0 - (t - t_0) / (dt * n)) ** 3
        # clamp as PyTorch's (lower bound s_0, then upper bound s_f)
        return max(s_0, min(s_f, s_t))

    def get_sl(self):
        self._warn_outside_step()
        return [
            self.sparsity_compute_fn(s_0, s_f, self.last_epoch, t_0, dt, n, zero)
            for s_0, s_f, t_0, dt, n, zero in zip(
                self.init_sl, self.base_sl, self.init_t, self.delta_t, self.total_t,
                self.initially_zero,
            )
        ]
