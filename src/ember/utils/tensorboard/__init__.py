"""ember.utils.tensorboard: SummaryWriter for TensorBoard (the ``tensorboard`` extra)."""

try:
    import tensorboard  # noqa: F401
except ImportError:
    raise ImportError(
        "TensorBoard logging requires TensorBoard version 1.15 or above") from None

from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
