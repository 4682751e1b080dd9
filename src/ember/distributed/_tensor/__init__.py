"""``torch.distributed._tensor``: the name DTensor had before it became public, still
imported by older scripts; everything is ``ember.distributed.tensor``'s."""

from ..tensor import *  # noqa: F403
from ..tensor import __all__  # noqa: F401
