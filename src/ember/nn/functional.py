"""``ember.nn.functional``: every functional op, gathered from the families that own them."""

from .._ops.activation import *  # noqa: F401,F403
from .._ops.conv import *  # noqa: F401,F403
from .._ops.loss import *  # noqa: F401,F403
from .._ops.norm import *  # noqa: F401,F403
from .._ops.pool import *  # noqa: F401,F403
from .._ops.resample import *  # noqa: F401,F403
from ._attention import *  # noqa: F401,F403
from ._functional import *  # noqa: F401,F403
from ._gumbel import gumbel_softmax  # noqa: F401
from ._linear_cross_entropy import linear_cross_entropy  # noqa: F401
from ._grouped_mm import (  # noqa: F401
    ScalingType, SwizzleType, grouped_mm, scaled_grouped_mm, scaled_mm)
from .._aliases import pdist  # noqa: F401 - F.pdist is torch.pdist
from .._ops.activation import sigmoid, tanh  # noqa: F401,E402 - F.tanh/F.sigmoid, not ember.X
