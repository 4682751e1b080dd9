"""DDP communication hooks (PyTorch's ``torch.distributed.algorithms.ddp_comm_hooks``):
functions ``hook(state, bucket) -> Future[Tensor]`` that replace DDP's gradient
all-reduce, registered with ``DistributedDataParallel.register_comm_hook`` or by name
with ``register_ddp_comm_hook(DDPCommHookType.FP16_COMPRESS, model)``."""

import enum
from functools import partial

from . import debugging_hooks, default_hooks, powerSGD_hook

__all__ = ["DDPCommHookType", "debugging_hooks", "default_hooks", "powerSGD_hook",
           "register_ddp_comm_hook"]

# functools.partial becomes a method descriptor in Python 3.13; enum.member keeps it a value
_member = getattr(enum, "member", lambda value: value)


def _ddp_comm_hook_wrapper(comm_hook, model, state):
    model.register_comm_hook(state, comm_hook)


def _powerSGD_comm_hook_wrapper(comm_hook, model, state, matrix_approximation_rank,
                                start_powerSGD_iter=1_000):
    """``state`` is the process group here; PowerSGD's own state is built from it."""
    power_state = powerSGD_hook.PowerSGDState(
        process_group=state, matrix_approximation_rank=matrix_approximation_rank,
        start_powerSGD_iter=start_powerSGD_iter)
    model.register_comm_hook(power_state, comm_hook)


class DDPCommHookType(enum.Enum):
    """The built-in hooks by name, for ``register_ddp_comm_hook``."""

    ALLREDUCE = _member(partial(_ddp_comm_hook_wrapper, default_hooks.allreduce_hook))
    FP16_COMPRESS = _member(partial(_ddp_comm_hook_wrapper, default_hooks.fp16_compress_hook))
    BF16_COMPRESS = _member(partial(_ddp_comm_hook_wrapper, default_hooks.bf16_compress_hook))
    POWER_SGD = _member(partial(_powerSGD_comm_hook_wrapper, powerSGD_hook.powerSGD_hook,
                                matrix_approximation_rank=1))
    POWER_SGD_RANK2 = _member(partial(_powerSGD_comm_hook_wrapper, powerSGD_hook.powerSGD_hook,
                                      matrix_approximation_rank=2))
    NOOP = _member(partial(_ddp_comm_hook_wrapper, debugging_hooks.noop_hook))


def register_ddp_comm_hook(comm_hook_type: DDPCommHookType, model, state=None) -> None:
    """Register the hook ``comm_hook_type`` names on the DDP ``model``; ``state`` is the
    process group (None: the world)."""
    comm_hook_type.value(model=model, state=state)
