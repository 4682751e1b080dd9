"""``torch.utils.serialization``: the ``config`` of ``ember.save`` / ``ember.load``."""

from . import config  # noqa: F401
