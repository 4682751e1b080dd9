"""Activation modules (as torch.nn.modules.activation).

Each module is a thin wrapper over its function in ``ember.nn.functional`` (the one
source of truth), with PyTorch's constructor arguments, attribute names and
``extra_repr`` text, so reprs and ``state_dict`` keys (PReLU's ``weight``) match. The
wrapping itself is declared, not written out: a class names its function, the attributes
passed to it and the ones its repr shows (``_Activation``).
``MultiheadAttention`` also lives under this module path in PyTorch; it is implemented in
``ember.nn._attention`` and resolved lazily here (see ``__getattr__`` at the bottom).
"""

from __future__ import annotations

import warnings
from operator import attrgetter

from ..._ops import activation as F
from ..._ops.creation import empty
from ..parameter import Parameter
from .module import Module

__all__ = [
    "Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh",
    "SiLU", "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink",
    "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink", "PReLU", "Softsign", "Tanhshrink",
    "Softmin", "Softmax", "Softmax2d", "LogSoftmax",
]


def _tuple_getter(names):
    """``obj -> tuple of obj.<name>``, built once per class so a forward reads its settings
    in one C call (``attrgetter``) instead of a per-call getattr loop."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        single = attrgetter(names[0])
        return lambda obj: (single(obj),)
    return lambda obj: ()


class _Activation(Module):
    """Declarative wrapper. ``_fn(input, *attrs(_ARGS))`` is the forward;
    ``extra_repr`` lists ``name=value`` for ``_SHOWN`` and ends with ``inplace=True`` when
    the module has it set (PyTorch's repr texts all follow that shape). TorchScript's
    ``__constants__`` are the configuration attributes, derived from ``_ARGS``."""

    _fn = None
    _ARGS: tuple = ()
    _SHOWN: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__constants__" not in vars(cls):
            cls.__constants__ = [a for a in cls._ARGS if a != "training"]
        cls._settings = staticmethod(_tuple_getter(cls._ARGS))

    def forward(self, input):
        return self._fn(input, *self._settings(self))

    def extra_repr(self):
        shown = []
        for attr in self._SHOWN:
            value = getattr(self, attr)
            shown.append(f"{attr}={value!r}" if isinstance(value, str) else f"{attr}={value}")
        if getattr(self, "inplace", False):
            shown.append("inplace=True")
        return ", ".join(shown)


class Threshold(_Activation):
    """y = x if x > threshold else value."""

    _fn = staticmethod(F.threshold)
    _ARGS = ("threshold", "value", "inplace")
    _SHOWN = ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace


class _InplaceOnly(_Activation):
    """Activations whose only argument is ``inplace``."""

    _ARGS = ("inplace",)

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # the common ReLU/SiLU case: one plain read, no getter call
        return self._fn(input, self.inplace)


class ReLU(_InplaceOnly):
    _fn = staticmethod(F.relu)


class SiLU(_InplaceOnly):
    _fn = staticmethod(F.silu)


class Mish(_InplaceOnly):
    _fn = staticmethod(F.mish)


class SELU(_InplaceOnly):
    _fn = staticmethod(F.selu)


class Hardsigmoid(_InplaceOnly):
    _fn = staticmethod(F.hardsigmoid)

    def extra_repr(self):  # PyTorch prints no inplace flag for these two
        return ""


class Hardswish(_InplaceOnly):
    _fn = staticmethod(F.hardswish)
    extra_repr = Hardsigmoid.extra_repr


class RReLU(_Activation):
    """Leaky relu with a random negative slope while training, the mean slope in eval."""

    _fn = staticmethod(F.rrelu)
    _ARGS = ("lower", "upper", "training", "inplace")
    _SHOWN = ("lower", "upper")

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace


def _renamed_bound(new, old, name_new, name_old):
    """Hardtanh's deprecated ``min_value``/``max_value`` keywords win when given."""
    if old is None:
        return new
    warnings.warn(f"keyword argument `{name_old}` is deprecated and renamed to `{name_new}`",
                  FutureWarning, stacklevel=3)
    return old


class Hardtanh(_Activation):
    _fn = staticmethod(F.hardtanh)
    _ARGS = ("min_val", "max_val", "inplace")
    _SHOWN = ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        self.min_val = _renamed_bound(min_val, min_value, "min_val", "min_value")
        self.max_val = _renamed_bound(max_val, max_value, "max_val", "max_value")
        self.inplace = inplace
        assert self.max_val > self.min_val


class ReLU6(Hardtanh):
    _SHOWN = ()

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)


class Sigmoid(Module):
    def forward(self, input):
        return input.sigmoid()


class Tanh(Module):
    def forward(self, input):
        return input.tanh()


class ELU(_Activation):
    _fn = staticmethod(F.elu)
    _ARGS = ("alpha", "inplace")
    _SHOWN = ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace


class CELU(ELU):
    _fn = staticmethod(F.celu)


class LeakyReLU(_Activation):
    _fn = staticmethod(F.leaky_relu)
    _ARGS = ("negative_slope", "inplace")
    _SHOWN = ("negative_slope",)

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace


class GLU(_Activation):
    _fn = staticmethod(F.glu)
    _ARGS = _SHOWN = ("dim",)

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim


class GELU(_Activation):
    _fn = staticmethod(F.gelu)
    _ARGS = _SHOWN = ("approximate",)

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate


class Hardshrink(_Activation):
    _fn = staticmethod(F.hardshrink)
    _ARGS = ("lambd",)

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self):  # the bare value, no "lambd="
        return str(self.lambd)


class Softshrink(Hardshrink):
    _fn = staticmethod(F.softshrink)


class Softplus(_Activation):
    _fn = staticmethod(F.softplus)
    _ARGS = _SHOWN = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold


class LogSigmoid(_Activation):
    _fn = staticmethod(F.logsigmoid)


class Softsign(_Activation):
    _fn = staticmethod(F.softsign)


class Tanhshrink(_Activation):
    _fn = staticmethod(F.tanhshrink)


class PReLU(_Activation):
    """Leaky relu with a learned slope: one shared, or one per channel (dim 1)."""

    _fn = staticmethod(F.prelu)
    _ARGS = ("weight",)
    _SHOWN = ("num_parameters",)
    __constants__ = ["num_parameters"]

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        self.num_parameters = num_parameters  # before Module.__init__, as PyTorch does
        super().__init__()
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        from ..init import constant_

        constant_(self.weight, self.init)


class _SoftmaxBase(_Activation):
    """Softmax family over ``dim``; ``_stacklevel`` points the implicit-dim warning at
    the caller of the module."""

    _ARGS = _SHOWN = ("dim",)

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):
        """Modules pickled before ``dim`` existed load with ``dim=None``."""
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def forward(self, input):
        return self._fn(input, self.dim, _stacklevel=5)


class Softmin(_SoftmaxBase):
    _fn = staticmethod(F.softmin)


class Softmax(_SoftmaxBase):
    _fn = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxBase):
    _fn = staticmethod(F.log_softmax)


class Softmax2d(Module):
    """Softmax over the channels of each spatial location: (N, C, H, W) or (C, H, W)."""

    def forward(self, input):
        rank = input.dim()
        if rank not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {rank}D instead")
        channels = -3
        return F.softmax(input, channels, _stacklevel=5)


# MultiheadAttention: PyTorch defines it in this module; ember implements it in
# nn/_attention.py. Resolve it from there so ``ember.nn.modules.activation.
# MultiheadAttention`` names the same class as ``ember.nn.MultiheadAttention``.
def __getattr__(name):
    if name == "MultiheadAttention":
        from .. import _attention

        if hasattr(_attention, "MultiheadAttention"):
            return _attention.MultiheadAttention
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
