"""Loss modules (as torch.nn.modules.loss).

Thin wrappers over ``ember.nn.functional``: the same constructor arguments, the
deprecated ``size_average``/``reduce`` pair mapped to ``reduction`` at construction, and
class weights (``weight``, ``pos_weight``) registered as buffers, so a module's
``state_dict`` has PyTorch's keys.

Each class is declarative: ``_fn`` is its functional and ``_SETTINGS`` the attributes
passed to it as keywords of the same name, so ``forward`` is written once in ``_Loss``
(subclasses only restate it where the inputs are not ``(input, target)``, to keep
PyTorch's argument names for keyword callers).
"""

from __future__ import annotations

import warnings
from operator import attrgetter

from ..._ops import loss as F
from .module import Module

__all__ = [
    "L1Loss", "NLLLoss", "NLLLoss2d", "PoissonNLLLoss", "GaussianNLLLoss", "KLDivLoss",
    "MSELoss", "BCELoss", "BCEWithLogitsLoss", "HingeEmbeddingLoss", "MultiLabelMarginLoss",
    "SmoothL1Loss", "HuberLoss", "SoftMarginLoss", "CrossEntropyLoss",
    "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "MultiMarginLoss",
    "TripletMarginLoss", "TripletMarginWithDistanceLoss", "CTCLoss",
]

# settings that are tensors or modules, not TorchScript constants
_NOT_CONSTANT = frozenset({"weight", "pos_weight", "distance_function"})


def _settings_reader(names):
    """``obj -> {name: obj.<name>}``, built once per class so a forward reads its settings
    with one ``attrgetter`` call instead of a per-call getattr loop."""
    if not names:
        return lambda obj: {}
    get = attrgetter(*names)
    if len(names) == 1:
        (name,) = names
        return lambda obj: {name: get(obj)}
    return lambda obj: dict(zip(names, get(obj)))


class _Loss(Module):
    """Holds ``reduction`` and calls ``_fn(*inputs, reduction=..., **settings)``."""

    reduction: str
    _fn = None
    _SETTINGS: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__constants__" not in vars(cls):       # TorchScript's list: plain settings
            cls.__constants__ = [s for s in cls._SETTINGS if s not in _NOT_CONSTANT]
            cls.__constants__.append("reduction")
        cls._settings = staticmethod(_settings_reader(cls._SETTINGS))

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        legacy = size_average is None and reduce is None
        self.reduction = reduction if legacy else F._legacy_reduction(size_average, reduce)

    def _loss(self, *inputs):
        return self._fn(*inputs, reduction=self.reduction, **self._settings(self))

    def forward(self, input, target):  # _loss inlined: the common two-input case
        return self._fn(input, target, reduction=self.reduction, **self._settings(self))


class _WeightedLoss(_Loss):
    """A loss with an optional per-class ``weight`` buffer (None is registered too, so
    the key is there once a weight is loaded)."""

    _SETTINGS = ("weight",)

    def __init__(self, weight=None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class _MarginLoss(_Loss):
    """A loss with a ``margin`` (HingeEmbedding, CosineEmbedding, MarginRanking)."""

    _SETTINGS = ("margin",)

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


def _require_positive_margin(owner, margin):
    if margin <= 0:
        raise ValueError(
            f"{owner}: expected margin to be greater than 0, got {margin} instead")


class L1Loss(_Loss):
    """Mean absolute error."""

    _fn = staticmethod(F.l1_loss)


class MSELoss(_Loss):
    """Mean squared error."""

    _fn = staticmethod(F.mse_loss)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of class indices, given log-probabilities."""

    _fn = staticmethod(F.nll_loss)
    _SETTINGS = ("weight", "ignore_index")

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index


class NLLLoss2d(NLLLoss):
    """PyTorch's legacy name for NLLLoss over (N, C, H, W) inputs; NLLLoss handles them."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
            "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for "
            "more details.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + NLL in one fused op; class indices or probabilities as target.

    Shape: input (N, C) or (N, C, d1, ...) or (C,); target (N,) / (N, d1, ...) / () of
    class indices, or probabilities shaped like input.
    """

    _fn = staticmethod(F.cross_entropy)
    _SETTINGS = ("weight", "ignore_index", "label_smoothing")

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing


class PoissonNLLLoss(_Loss):
    """exp(input) - target * input (log_input) or input - target * log(input + eps), plus
    Stirling's term for target > 1 when ``full``."""

    _fn = staticmethod(F.poisson_nll_loss)
    _SETTINGS = ("log_input", "full", "eps")

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return self._loss(log_input, target)


class GaussianNLLLoss(_Loss):
    """Negative log likelihood of ``target`` under N(input, var)."""

    _fn = staticmethod(F.gaussian_nll_loss)
    _SETTINGS = ("full", "eps")

    def __init__(self, *, full: bool = False, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return self._loss(input, target, var)


class KLDivLoss(_Loss):
    """KL(target || input) with ``input`` given as log-probabilities."""

    _fn = staticmethod(F.kl_div)
    _SETTINGS = ("log_target",)

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target


class BCELoss(_WeightedLoss):
    """Binary cross entropy on probabilities (logs clamped at -100)."""

    _fn = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy, computed stably from logits."""

    _fn = staticmethod(F.binary_cross_entropy_with_logits)
    _SETTINGS = ("weight", "pos_weight")

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        for name, value in (("weight", weight), ("pos_weight", pos_weight)):
            self.register_buffer(name, value)


class HingeEmbeddingLoss(_MarginLoss):
    """x where y = 1, max(0, margin - x) where y = -1."""

    _fn = staticmethod(F.hinge_embedding_loss)

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(margin, size_average, reduce, reduction)


class MultiLabelMarginLoss(_Loss):
    """Hinge loss between each target class (listed first, -1 ends the list) and each
    non-target class."""

    _fn = staticmethod(F.multilabel_margin_loss)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error (minus beta/2) above."""

    _fn = staticmethod(F.smooth_l1_loss)
    _SETTINGS = ("beta",)

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta


class HuberLoss(_Loss):
    """SmoothL1Loss scaled by ``delta``: quadratic below delta, linear above."""

    _fn = staticmethod(F.huber_loss)
    _SETTINGS = ("delta",)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta


class SoftMarginLoss(_Loss):
    """log(1 + exp(-y * x)): logistic loss on +-1 targets."""

    _fn = staticmethod(F.soft_margin_loss)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-vs-all logistic loss over classes, averaged per sample."""

    _fn = staticmethod(F.multilabel_soft_margin_loss)


class CosineEmbeddingLoss(_MarginLoss):
    """1 - cos(x1, x2) for similar pairs (y=1), max(0, cos - margin) for dissimilar."""

    _fn = staticmethod(F.cosine_embedding_loss)

    def forward(self, input1, input2, target):
        return self._loss(input1, input2, target)


class MarginRankingLoss(_MarginLoss):
    """max(0, -y * (x1 - x2) + margin): rank x1 above x2 where y=1, below where y=-1."""

    _fn = staticmethod(F.margin_ranking_loss)

    def forward(self, input1, input2, target):
        return self._loss(input1, input2, target)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (p = 1 or 2), optionally weighted per class."""

    _fn = staticmethod(F.multi_margin_loss)
    _SETTINGS = ("p", "margin", "weight")

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(
                "MultiMarginLoss: expected weight to be None or 1D tensor, got "
                f"{weight.dim()}D instead")
        self.p, self.margin = p, margin


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) with the p-norm distance."""

    _fn = staticmethod(F.triplet_margin_loss)
    _SETTINGS = ("margin", "p", "eps", "swap")

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        _require_positive_margin("TripletMarginLoss", margin)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return self._loss(anchor, positive, negative)


class TripletMarginWithDistanceLoss(_Loss):
    """TripletMarginLoss with any distance; the default is a PairwiseDistance submodule
    (so it shows in the repr, as in PyTorch)."""

    _fn = staticmethod(F.triplet_margin_with_distance_loss)
    _SETTINGS = ("distance_function", "margin", "swap")

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        _require_positive_margin("TripletMarginWithDistanceLoss", margin)
        if distance_function is None:
            from .distance import PairwiseDistance

            distance_function = PairwiseDistance()
        self.distance_function = distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return self._loss(anchor, positive, negative)


class CTCLoss(_Loss):
    """Connectionist temporal classification, from (T, N, C) log-probabilities."""

    _fn = staticmethod(F.ctc_loss)
    _SETTINGS = ("blank", "zero_infinity")

    def __init__(self, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return self._loss(log_probs, targets, input_lengths, target_lengths)


# torch.nn.modules.loss's path to it; the class lives with its functional (needs _WeightedLoss)
from .linear_cross_entropy import LinearCrossEntropyLoss  # noqa: E402,F401
