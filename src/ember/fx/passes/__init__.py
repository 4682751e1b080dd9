"""Graph passes (``ember.fx.passes.shape_prop.ShapeProp``), as ``torch.fx.passes``."""

from . import shape_prop  # noqa: F401
