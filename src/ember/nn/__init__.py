"""``ember.nn``: modules, functional, init, utils, as ``torch.nn``."""

from . import functional, grad, init, modules, parallel, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import *  # noqa: F401,F403
from .parallel import *  # noqa: F401,F403
