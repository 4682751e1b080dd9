"""``ember.distributions`` (PyTorch's ``torch.distributions``): Normal, Uniform,
Categorical, Bernoulli, Independent, ``kl_divergence`` and ``constraints``.

Parameters and samples are ember tensors, so ``rsample`` (Normal, Uniform) and
``log_prob`` carry gradients to the parameters, as policy-gradient and VAE code needs.
Arguments are validated like PyTorch's (``validate_args``), with its messages."""

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Categorical", "Distribution", "Independent", "Normal", "Uniform",
    "constraints", "kl_divergence", "register_kl",
]
