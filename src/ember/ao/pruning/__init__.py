"""``torch.ao.pruning``: sparsifiers that mask weights through parametrizations, and
schedulers of their sparsity levels."""

from .scheduler.base_scheduler import BaseScheduler
from .scheduler.lambda_scheduler import CubicSL, LambdaSL
from .sparsifier.base_sparsifier import BaseSparsifier
from .sparsifier.utils import (
    FakeSparsity,
    fqn_to_module,
    get_arg_info_from_tensor_fqn,
    module_to_fqn,
)
from .sparsifier.weight_norm_sparsifier import NearlyDiagonalSparsifier, WeightNormSparsifier

__all__ = [
    "BaseScheduler",
    "BaseSparsifier",
    "CubicSL",
    "FakeSparsity",
    "LambdaSL",
    "NearlyDiagonalSparsifier",
    "WeightNormSparsifier",
    "fqn_to_module",
    "get_arg_info_from_tensor_fqn",
    "module_to_fqn",
]
