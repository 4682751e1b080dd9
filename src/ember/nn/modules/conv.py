"""Conv1d/2d/3d, ConvTranspose1d/2d/3d and their Lazy forms (as torch.nn.modules.conv).

Same constructor checks, attribute names, registration order (weight, bias), default
initialisation and ``extra_repr`` as PyTorch, so state_dicts and reprs interchange.
One base holds what both directions share (checks, weight shape, init, repr); the
rank and the functional op are class attributes, so each public class is a few lines.
Non-zero padding modes pad explicitly with ``F.pad`` and convolve unpadded.
"""

from __future__ import annotations

import math

from ..._ops import conv as F
from ..._ops.creation import empty
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]

# Set literals in torch's insertion order: error messages print them.
_PADDING_WORDS = {"same", "valid"}
_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}
# extra_repr shows these only when they differ from the neutral value in every dimension
_QUIET_WHEN = (("padding", 0), ("dilation", 1), ("output_padding", 0))


def _per_dim(value, n):
    """An int broadcast to ``n`` dimensions; a sequence kept as a tuple."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * n


def _pad_with_mode(input, pads, mode):
    """F.pad with a non-constant mode (reflect/replicate/circular)."""
    from .. import functional

    return functional.pad(input, pads, mode=mode)


def _check_arguments(in_channels, out_channels, groups, stride, padding, padding_mode):
    if groups <= 0:
        raise ValueError("groups must be a positive integer")
    for label, count in (("in_channels", in_channels), ("out_channels", out_channels)):
        if count % groups:
            raise ValueError(f"{label} must be divisible by groups")
    if isinstance(padding, str):
        if padding not in _PADDING_WORDS:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             f"{_PADDING_WORDS}")
        if padding == "same" and set(stride) != {1}:
            raise ValueError("padding='same' is not supported for strided convolutions")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                         f"padding_mode='{padding_mode}'")


def _explicit_pads(padding, kernel_size, dilation):
    """``padding`` as F.pad wants it: last dimension first, (before, after) for each.
    'same' puts the odd element of an uneven total after, 'valid' pads nothing."""
    if padding == "valid":
        pairs = [(0, 0)] * len(kernel_size)
    elif padding == "same":
        spans = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
        pairs = [(span // 2, span - span // 2) for span in spans]
    else:
        pairs = [(p, p) for p in padding]
    return [amount for pair in pairs[::-1] for amount in pair]


class _ConvNd(Module):
    __constants__ = ["stride", "padding", "dilation", "groups", "padding_mode",
                     "output_padding", "in_channels", "out_channels", "kernel_size"]
    _num_dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_arguments(in_channels, out_channels, groups, stride, padding, padding_mode)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.transposed = dilation, transposed
        self.output_padding, self.groups = output_padding, groups
        self.padding_mode = padding_mode
        # the attribute name is torch's: it is pickled with the module
        self._reversed_padding_repeated_twice = _explicit_pads(padding, kernel_size, dilation)
        self.weight = Parameter(empty(self._weight_shape(), device=device, dtype=dtype))
        self.register_parameter(
            "bias", Parameter(empty(out_channels, device=device, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def _weight_shape(self):
        """(out, in / groups, *kernel); a transposed conv swaps the channel roles."""
        lead, follow = self.out_channels, self.in_channels
        if self.transposed:
            lead, follow = follow, lead
        return (lead, follow // self.groups, *self.kernel_size)

    def reset_parameters(self) -> None:
        # torch's default: He-uniform with a=sqrt(5), which is U(+-1/sqrt(fan_in)); the
        # bias takes the same bound (drawn after the weight, as torch draws)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is None:
            return
        fan_in = init._calculate_fan_in_and_fan_out(self.weight)[0]
        if fan_in:
            limit = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -limit, limit)

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}",
                 f"stride={self.stride}"]
        for name, neutral in _QUIET_WHEN:
            value = getattr(self, name)
            if value != (neutral,) * len(value):
                parts.append(f"{name}={value}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode}")
        return ", ".join(parts)

    def __setstate__(self, state):
        super().__setstate__(state)
        # modules pickled before padding modes existed
        vars(self).setdefault("padding_mode", "zeros")


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None) -> None:
        n = self._num_dims
        padding = padding if isinstance(padding, str) else _per_dim(padding, n)
        super().__init__(in_channels, out_channels, _per_dim(kernel_size, n),
                         _per_dim(stride, n), padding, _per_dim(dilation, n), False,
                         _per_dim(0, n), groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        """Zero padding is the convolution's own; other modes pad the input first."""
        if self.padding_mode == "zeros":
            source, padding = input, self.padding
        else:
            source = _pad_with_mode(input, self._reversed_padding_repeated_twice,
                                    self.padding_mode)
            padding = (0,) * self._num_dims
        return self._functional(source, weight, bias, self.stride, padding, self.dilation,
                                self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out).

    Args: in_channels, out_channels, kernel_size, stride=1, padding=0 (int, tuple, 'same'
    or 'valid'), dilation=1, groups=1, bias=True, padding_mode='zeros' ('reflect',
    'replicate', 'circular').
    """

    _num_dims = 1
    _functional = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out), e.g. 16 -> 33
    channels with a 3x3 kernel and stride 2 maps (20, 16, 50, 100) to (20, 33, 24, 49)."""

    _num_dims = 2
    _functional = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _num_dims = 3
    _functional = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{self.__class__.__name__}")
        per_dim = [_per_dim(v, self._num_dims)
                   for v in (kernel_size, stride, padding, dilation, output_padding)]
        kernel_size, stride, padding, dilation, output_padding = per_dim
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size, stride, padding, kernel_size,
                        num_spatial_dims, dilation=None):
        """The extra rows/columns that turn the smallest possible output into
        ``output_size`` (a stride > 1 leaves several sizes that one input could map back
        from). Name and signature are torch's: quantized and user subclasses call it."""
        n = num_spatial_dims
        if output_size is None:
            return _per_dim(self.output_padding, n)
        lead = 1 + (input.dim() == n + 2)            # channel dim, plus batch if present
        # sliced, not converted: torch's message shows the sequence type it was given
        requested = output_size[lead:] if len(output_size) == lead + n else output_size
        if len(requested) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.dim()}D input, output_size must have {n} or "
                f"{lead + n} elements (got {len(output_size)})")
        dilation = dilation if dilation is not None else (1,) * n
        smallest = [(input.size(lead + d) - 1) * stride[d] - 2 * padding[d]
                    + dilation[d] * (kernel_size[d] - 1) + 1 for d in range(n)]
        largest = [low + step - 1 for low, step in zip(smallest, stride)]
        if not all(low <= want <= high
                   for want, low, high in zip(requested, smallest, largest)):
            raise ValueError(
                f"requested an output size of {requested}, but valid sizes range from "
                f"{smallest} to {largest} (for an input of {input.size()[2:]})")
        return [want - low for want, low in zip(requested, smallest)]

    def forward(self, input, output_size=None):
        if self.padding_mode != "zeros":     # a mode set after construction
            raise ValueError(f"Only `zeros` padding mode is supported for "
                             f"{self.__class__.__name__}")
        extra = self._output_padding(input, output_size, self.stride, self.padding,
                                     self.kernel_size, self._num_dims, self.dilation)
        return self._functional(input, self.weight, self.bias, self.stride, self.padding,
                                extra, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution (the gradient of Conv1d with respect to its input)."""

    _num_dims = 1
    _functional = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution; ``forward(input, output_size)`` picks output_padding.
    16 -> 33 channels, 3x3 kernel, stride 2 maps (20, 16, 50, 100) to (20, 33, 101, 201)."""

    _num_dims = 2
    _functional = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution."""

    _num_dims = 3
    _functional = staticmethod(F.conv_transpose3d)


# -- lazy forms ---------------------------------------------------------------------------


class _LazyConvMixin(LazyModuleMixin):
    """in_channels from the first input's channel dimension."""

    def reset_parameters(self) -> None:
        if self.in_channels != 0 and not self.has_uninitialized_params():
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._channels_of(input)
        if self.in_channels % self.groups:
            raise ValueError("in_channels must be divisible by groups")
        self.weight.materialize(self._weight_shape())
        if self.bias is not None:
            self.bias.materialize(self.out_channels)
        self.reset_parameters()

    def _channels_of(self, input) -> int:
        """Dim 1 of a batched input, dim 0 of an unbatched one."""
        unbatched = self._num_dims + 1
        if input.dim() == unbatched + 1:
            return input.shape[1]
        if input.dim() == unbatched:
            return input.shape[0]
        raise RuntimeError(
            f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
            f"{self.__class__.__name__}, but got input of size: {input.shape}")


def _make_lazy(base, name):
    def __init__(self, out_channels, kernel_size, *args, bias=True, device=None, dtype=None,
                 **kwargs):
        # through LazyModuleMixin.__init__, which installs the first-input hook
        _LazyConvMixin.__init__(self, 0, 0, kernel_size, *args, bias=False, **kwargs)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    doc = f"{base.__name__} whose in_channels is taken from the first input."
    cls = type(name, (_LazyConvMixin, base), {"__init__": __init__, "cls_to_become": base,
                                               "__doc__": doc, "__module__": __name__})
    return cls


LazyConv1d = _make_lazy(Conv1d, "LazyConv1d")
LazyConv2d = _make_lazy(Conv2d, "LazyConv2d")
LazyConv3d = _make_lazy(Conv3d, "LazyConv3d")
LazyConvTranspose1d = _make_lazy(ConvTranspose1d, "LazyConvTranspose1d")
LazyConvTranspose2d = _make_lazy(ConvTranspose2d, "LazyConvTranspose2d")
LazyConvTranspose3d = _make_lazy(ConvTranspose3d, "LazyConvTranspose3d")
