"""``torch.distributed._tensor.placement_types``: the placements under their old path."""

from ..tensor.placement_types import *  # noqa: F403
from ..tensor.placement_types import __all__  # noqa: F401
