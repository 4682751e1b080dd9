"""``ember.distributions`` (PyTorch's ``torch.distributions``): probability
distributions with PyTorch's shapes, validation messages and methods, transforms,
``biject_to``/``transform_to`` and ``kl_divergence``.

Parameters and samples are ember tensors, so ``rsample`` (where a reparameterisation
exists, Gamma/Beta/Dirichlet through implicit gradients) and ``log_prob`` carry
gradients to the parameters, as policy-gradient and VAE code needs. Draws come from
ember's generator (``ember.manual_seed`` makes them reproducible); they are not
PyTorch's random streams."""

# kl_cross and kl_families register their KL pairs on import
from . import constraints, kl_cross, kl_families, transforms  # noqa: F401
from .bernoulli import Bernoulli
from .categorical import Categorical
from .cauchy import Cauchy, StudentT
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Beta, Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .extreme import GeneralizedPareto, Gumbel, Kumaraswamy, Pareto, Weibull
from .fishersnedecor import FisherSnedecor
from .gamma import Chi2, Gamma
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import HalfCauchy, HalfNormal, LogisticNormal, LogNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import LowRankMultivariateNormal, MultivariateNormal
from .normal import Normal
from .one_hot_categorical import Multinomial, OneHotCategorical, OneHotCategoricalStraightThrough
from .poisson import Binomial, Geometric, NegativeBinomial, Poisson
from .relaxed import RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .uniform import Uniform
from .von_mises import VonMises
from .wishart import LKJCholesky, Wishart

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform",
    "Categorical", "Cauchy", "Chi2", "ComposeTransform", "ContinuousBernoulli",
    "CorrCholeskyTransform", "CumulativeDistributionTransform", "Dirichlet", "Distribution",
    "ExpTransform", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
    "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent",
    "IndependentTransform", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace",
    "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "LowerCholeskyTransform",
    "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
    "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
    "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli",
    "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
    "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT",
    "TanhTransform", "Transform", "TransformedDistribution", "Uniform", "VonMises", "Weibull",
    "Wishart", "biject_to", "constraints", "identity_transform", "kl_divergence",
    "register_kl", "transform_to", "transforms",
]


def _alias_torch_module_paths():
    """PyTorch keeps one family per module (``torch.distributions.beta``); ember groups
    close relatives (Beta with Dirichlet, Binomial with Poisson). Registering PyTorch's
    module names for the grouped modules makes ``from ember.distributions.beta import
    Beta`` work as it does for PyTorch."""
    import sys
    from importlib import import_module

    grouped = {
        "beta": "dirichlet", "binomial": "poisson", "chi2": "gamma",
        "generalized_pareto": "extreme", "geometric": "poisson", "gumbel": "extreme",
        "half_cauchy": "log_normal", "half_normal": "log_normal", "kumaraswamy": "extreme",
        "lkj_cholesky": "wishart", "logistic_normal": "log_normal",
        "lowrank_multivariate_normal": "multivariate_normal",
        "multinomial": "one_hot_categorical", "negative_binomial": "poisson",
        "pareto": "extreme", "relaxed_bernoulli": "relaxed", "relaxed_categorical": "relaxed",
        "studentT": "cauchy", "weibull": "extreme",
    }
    for torch_name, module_name in grouped.items():
        module = import_module(f"{__name__}.{module_name}")
        sys.modules[f"{__name__}.{torch_name}"] = module
        globals()[torch_name] = module


_alias_torch_module_paths()
