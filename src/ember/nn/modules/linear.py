"""Identity, Linear, Bilinear, LazyLinear (as torch.nn.modules.linear).

Same attribute names, registration order and default initialisation as PyTorch, so
``state_dict`` keys and the distribution of fresh weights match.
"""

from __future__ import annotations

import math

from ..._ops.creation import empty
from .. import _functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear", "LazyModuleMixin",
           "NonDynamicallyQuantizableLinear"]


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


def _bias(enabled: bool, out_features: int, device, dtype):
    """The ``bias`` parameter, or None (still registered, as PyTorch's ``bias=False``)."""
    return Parameter(empty(out_features, device=device, dtype=dtype)) if enabled else None


def _spread_uniform_(params, bound):
    """Draw each present parameter from U(-bound, bound), in order (the order fixes which
    random numbers each one gets)."""
    for param in params:
        if param is not None:
            init.uniform_(param, -bound, bound)


# PyTorch's default slope for Linear/Conv weights: kaiming_uniform_ with it draws from
# U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the same range the bias then uses.
_DEFAULT_SLOPE = math.sqrt(5)


class Linear(Module):
    """``y = x @ W.T + b``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).

    Shape: (*, in_features) -> (*, out_features).

    Example::

        >>> m = nn.Linear(20, 30)
        >>> m(torch.randn(128, 20)).shape
        torch.Size([128, 30])
    """

    __constants__ = ["in_features", "out_features"]

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), device=device, dtype=dtype))
        self.register_parameter("bias", _bias(bias, out_features, device, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=_DEFAULT_SLOPE)
        if self.bias is None:
            return
        fan_in = init._calculate_fan_in_and_fan_out(self.weight)[0]
        _spread_uniform_([self.bias], 1 / math.sqrt(fan_in) if fan_in else 0)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under the name MultiheadAttention's out_proj carries in PyTorch."""


class Bilinear(Module):
    """``y = x1 @ W @ x2 + b`` with W of shape (out, in1, in2).

    Shape: (*, in1_features), (*, in2_features) -> (*, out_features).
    """

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), device=device,
                                      dtype=dtype))
        self.register_parameter("bias", _bias(bias, out_features, device, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight, then bias, from U(±1/sqrt(in1_features)), in1 read off the weight's
        dim 1 as PyTorch does."""
        _spread_uniform_([self.weight, self.bias], 1 / math.sqrt(self.weight.shape[1]))

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose ``in_features`` is taken from the first input's last dimension."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        # nothing to draw until the first input has fixed in_features
        if self.in_features and not self.has_uninitialized_params():
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """Materialise weight (and bias) once the first input's last dimension is known,
        then initialise them as Linear does."""
        if not self.has_uninitialized_params():
            return
        self.in_features = input.shape[-1]
        shapes = {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}
        for name, shape in shapes.items():
            param = getattr(self, name)
            if param is not None:
                param.materialize(shape)
        self.reset_parameters()
