"""FSDP1's configuration types (PyTorch's ``torch.distributed.fsdp.api``): the sharding
strategy, prefetch and offload switches, the mixed-precision policy and the state-dict
types with their configs. Plain enums and dataclasses with PyTorch's names, fields and
defaults, so configuration code written for PyTorch runs unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, auto

__all__ = ["BackwardPrefetch", "CPUOffload", "FullOptimStateDictConfig", "FullStateDictConfig",
           "LocalOptimStateDictConfig", "LocalStateDictConfig", "MixedPrecision",
           "OptimStateDictConfig", "OptimStateKeyType", "ShardedOptimStateDictConfig",
           "ShardedStateDictConfig", "ShardingStrategy", "StateDictConfig",
           "StateDictSettings", "StateDictType"]


class ShardingStrategy(Enum):
    """What is sharded: FULL_SHARD parameters, gradients and optimizer state (ZeRO-3);
    SHARD_GRAD_OP gradients and optimizer state, parameters stay gathered between forward
    and backward (ZeRO-2); NO_SHARD nothing (DDP-like all-reduce); HYBRID_SHARD full
    sharding inside the intra-node group, replication across nodes."""

    FULL_SHARD = auto()
    SHARD_GRAD_OP = auto()
    NO_SHARD = auto()
    HYBRID_SHARD = auto()
    _HYBRID_SHARD_ZERO2 = auto()


class BackwardPrefetch(Enum):
    """When backward all-gathers the next unit's parameters. ember's collectives run
    in order on the calling thread, so the choice changes no result (accepted for API
    compatibility)."""

    BACKWARD_PRE = auto()
    BACKWARD_POST = auto()


@dataclass
class MixedPrecision:
    """Dtypes for the gathered parameters (forward/backward compute), the gradient
    reduction and buffers; ``None`` keeps the parameter's own dtype. Sharded parameters
    and their gradients stay in full precision unless ``keep_low_precision_grads``."""

    param_dtype: object = None
    reduce_dtype: object = None
    buffer_dtype: object = None
    keep_low_precision_grads: bool = False
    cast_forward_inputs: bool = False
    cast_root_forward_inputs: bool = True
    _module_classes_to_ignore: Sequence = ()

    def __post_init__(self):
        if not self._module_classes_to_ignore:
            from ...nn.modules.batchnorm import _BatchNorm
            self._module_classes_to_ignore = (_BatchNorm,)


@dataclass
class CPUOffload:
    """``offload_params=True`` asks PyTorch to keep the sharded parameters and gradients
    on the CPU. ember accepts it and keeps them where the module is: on the CPU (the only
    place PyTorch 2.13 runs it without an accelerator) that is the same; ember does not yet
    offload CUDA shards."""

    offload_params: bool = False


class StateDictType(Enum):
    """FULL_STATE_DICT: every parameter whole, keys as the unwrapped module's;
    SHARDED_STATE_DICT: the same keys, each value this rank's dim-0 chunk as a
    ShardedTensor; LOCAL_STATE_DICT: each unit's flat parameter shard."""

    FULL_STATE_DICT = auto()
    LOCAL_STATE_DICT = auto()
    SHARDED_STATE_DICT = auto()


@dataclass
class StateDictConfig:
    offload_to_cpu: bool = False


@dataclass
class FullStateDictConfig(StateDictConfig):
    """``rank0_only=True``: only rank 0 returns the state dict, the others an empty one."""

    rank0_only: bool = False


@dataclass
class LocalStateDictConfig(StateDictConfig):
    pass


@dataclass
class ShardedStateDictConfig(StateDictConfig):
    _use_dtensor: bool = False


@dataclass
class OptimStateDictConfig:
    offload_to_cpu: bool = True


@dataclass
class FullOptimStateDictConfig(OptimStateDictConfig):
    rank0_only: bool = False


@dataclass
class LocalOptimStateDictConfig(OptimStateDictConfig):
    offload_to_cpu: bool = False


@dataclass
class ShardedOptimStateDictConfig(OptimStateDictConfig):
    _use_dtensor: bool = False


@dataclass
class StateDictSettings:
    state_dict_type: StateDictType
    state_dict_config: StateDictConfig
    optim_state_dict_config: OptimStateDictConfig


class OptimStateKeyType(Enum):
    """How an optimizer state dict is keyed: by parameter name or by parameter id."""

    PARAM_NAME = auto()
    PARAM_ID = auto()
