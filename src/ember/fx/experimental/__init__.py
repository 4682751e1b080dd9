"""``ember.fx.experimental``: FX utilities PyTorch keeps under ``torch.fx.experimental``."""

from . import optimization  # noqa: F401
