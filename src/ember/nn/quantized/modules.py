"""Static quantized modules, as ``torch.ao.nn.quantized`` (``torch.nn.quantized``).

They take and return quantized tensors (quint8 activations) and hold int8 weights with
the same attribute names, ``repr`` and ``state_dict`` keys as PyTorch's
(``fc._packed_params._packed_params`` is the ``(weight, bias)`` tuple), so a converted
model prints and saves like PyTorch's. The integer arithmetic lives in
``ember._ops._quantized_kernels``; the modules only hold parameters and route calls.
"""

from __future__ import annotations

import ember

from ..._ops import _quantized_kernels as _k
from ...nn.modules.module import Module
from ...nn.modules.utils import _pair, _single

__all__ = [
    "Conv1d", "Conv2d", "DeQuantize", "Dropout", "FloatFunctional", "Linear",
    "LinearPackedParams", "QFunctional",
    "Quantize", "ReLU6",
]


def _empty_qweight(shape, dtype=None):
    """A zero int8 weight with scale 1, as PyTorch's _empty_affine_quantized."""
    return ember.quantize_per_tensor(ember.zeros(tuple(shape)), 1.0, 0, dtype or ember.qint8)


def _quantize_weight(weight, observer):
    """The weight quantized with its observer's parameters (symmetric schemes become
    affine with zero point 0, as PyTorch stores them)."""
    scale, zero_point = observer.calculate_qparams()
    if observer.qscheme in (ember.per_tensor_affine, ember.per_tensor_symmetric):
        return ember.quantize_per_tensor(weight, float(scale), int(zero_point), observer.dtype)
    if observer.qscheme in (ember.per_channel_affine, ember.per_channel_symmetric):
        return ember.quantize_per_channel(weight, scale.double(), zero_point.long(),
                                          observer.ch_axis, observer.dtype)
    if observer.qscheme is ember.per_channel_affine_float_qparams:  # embedding rows
        return ember.quantize_per_channel(weight, scale.float(), zero_point.float(),
                                          observer.ch_axis, observer.dtype)
    raise ValueError(f"Unsupported qscheme {observer.qscheme} for a quantized weight")


def _post_processes(mod):
    """(module holding the weight, weight observer, activation observer) for
    ``from_float``. A quantization-aware-training module brings its trained weight
    fake-quantizer, and a QAT conv-bn / linear-bn first has its BatchNorm folded into
    the weight by the running statistics (PyTorch mutates the QAT module the same way);
    an observed float module gets a fresh weight observer from its qconfig."""
    activation_post_process = mod.activation_post_process
    if hasattr(mod, "weight_fake_quant"):
        if hasattr(mod, "bn") and hasattr(mod, "freeze_bn"):
            from ...nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

            fuse = fuse_linear_bn_weights if mod.weight.dim() == 2 else fuse_conv_bn_weights
            mod.weight, mod.bias = fuse(mod.weight, mod.bias, mod.bn.running_mean,
                                        mod.bn.running_var, mod.bn.eps, mod.bn.weight,
                                        mod.bn.bias)
        return mod, mod.weight_fake_quant, activation_post_process
    weight_post_process = mod.qconfig.weight()
    if isinstance(mod, ember.nn.Sequential):  # fused LinearReLU / ConvReLU2d: part [0]
        mod = mod[0]
    return mod, weight_post_process, activation_post_process


class LinearPackedParams(Module):
    """The (weight, bias) pair of a quantized Linear, prepared for the integer GEMM."""

    _version = 3

    def __init__(self, dtype=None):
        super().__init__()
        self.dtype = dtype or ember.qint8
        if self.dtype is ember.float16:
            weight = ember.zeros(1, 1, dtype=ember.float16)
        else:
            weight = _empty_qweight((1, 1), self.dtype)
        self.set_weight_bias(weight, None)

    def set_weight_bias(self, weight, bias) -> None:
        if self.dtype is ember.float16:
            _k.refuse_on_device("quantized::linear_prepack_fp16", weight)
            self._packed_params = (weight.to(ember.float16), bias)
            self._kernel = None
        else:
            self._packed_params = (weight, bias)
            self._kernel = _k.PackedWeight(weight, bias)

    def _weight_bias(self):
        return self._packed_params

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.dtype = state_dict.pop(prefix + "dtype", self.dtype)
        weight, bias = state_dict.pop(prefix + "_packed_params")
        self.set_weight_bias(weight, bias)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    def __repr__(self):
        return repr(self._weight_bias())


class _WeightedQuantized(Module):
    """Shared by quantized Linear and Conv: output scale/zero point saved as tensors."""

    def _save_scale(self, destination, prefix):
        destination[prefix + "scale"] = ember.tensor(self.scale)
        destination[prefix + "zero_point"] = ember.tensor(self.zero_point)

    def _load_scale(self, state_dict, prefix):
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))


class Linear(_WeightedQuantized):
    """y = x W^T + b on quint8 activations and int8 weights, re-quantized to
    ``scale``/``zero_point``."""

    _version = 3
    _FLOAT_MODULE = None  # (nn.Linear, NonDynamicallyQuantizableLinear): set below

    def __init__(self, in_features, out_features, bias_=True, dtype=None):
        super().__init__()
        dtype = dtype or ember.qint8
        self.in_features, self.out_features = in_features, out_features
        bias = ember.zeros(out_features) if bias_ else None
        if dtype is ember.qint8:
            weight = _empty_qweight((out_features, in_features))
        elif dtype is ember.float16:
            weight = ember.zeros(out_features, in_features)
        else:
            raise RuntimeError("Unsupported dtype specified for quantized Linear!")
        self._packed_params = LinearPackedParams(dtype)
        self._packed_params.set_weight_bias(weight, bias)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return "QuantizedLinear"

    def __repr__(self):
        """PyTorch hides the packed-params child: one line, like a float Linear."""
        extra = self.extra_repr()
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()
                    if not isinstance(child, LinearPackedParams)]
        if not children:
            return f"{self._get_name()}({extra})"
        lines = [extra, *children] if extra else children
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"scale={self.scale}, zero_point={self.zero_point}, "
                f"qscheme={self.weight().qscheme()}")

    def forward(self, x):
        return _k.linear_quantized(x, self._packed_params._kernel, self.scale, self.zero_point,
                                   relu=self._relu)

    _relu = False

    def weight(self):
        return self._packed_params._weight_bias()[0]

    def bias(self):
        return self._packed_params._weight_bias()[1]

    def set_weight_bias(self, weight, bias) -> None:
        self._packed_params.set_weight_bias(weight, bias)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        self._save_scale(destination, prefix)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self._load_scale(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized module of an observed float Linear (or fused LinearReLU)."""
        mod, weight_post_process, activation_post_process = _post_processes(mod)
        weight_post_process(mod.weight)
        qweight = _quantize_weight(mod.weight.detach().float(), weight_post_process)
        act_scale, act_zp = activation_post_process.calculate_qparams()
        qlinear = cls(mod.in_features, mod.out_features, dtype=weight_post_process.dtype)
        qlinear.set_weight_bias(qweight, mod.bias)
        qlinear.scale = float(act_scale)
        qlinear.zero_point = int(act_zp)
        return qlinear


class Conv2d(_WeightedQuantized):
    """2-D convolution of quint8 activations with int8 weights (zero padding only)."""

    _version = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__()
        if padding_mode != "zeros":
            raise NotImplementedError("quantized Conv2d supports padding_mode='zeros' only")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.output_padding = (0, 0)
        self.transposed, self.groups, self.padding_mode = False, groups, padding_mode
        weight = _empty_qweight((out_channels, in_channels // groups) + self.kernel_size)
        self.set_weight_bias(weight, ember.zeros(out_channels) if bias else None)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return "QuantizedConv2d"

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias() is None:
            s += ", bias=False"
        return s

    _relu = False

    def forward(self, x):
        if x.dim() != 4:
            raise ValueError("Input shape must be `(N, C, H, W)`!")
        return _k.conv2d_quantized(x, self._kernel, self.stride, self.padding, self.dilation,
                                   self.groups, self.scale, self.zero_point, relu=self._relu)

    def set_weight_bias(self, weight, bias) -> None:
        self._weight_bias_pair = (weight, bias)
        self._kernel = _k.PackedWeight(weight, bias, "quantized::conv2d_prepack")

    def _weight_bias(self):
        return self._weight_bias_pair

    def weight(self):
        return self._weight_bias_pair[0]

    def bias(self):
        return self._weight_bias_pair[1]

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        weight, bias = self._weight_bias()
        destination[prefix + "weight"] = weight
        destination[prefix + "bias"] = bias
        self._save_scale(destination, prefix)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.set_weight_bias(state_dict.pop(prefix + "weight"), state_dict.pop(prefix + "bias"))
        self._load_scale(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        """The quantized conv of an observed float Conv2d (or fused ConvReLU2d)."""
        mod, weight_post_process, activation_post_process = _post_processes(mod)
        weight_post_process(mod.weight)
        qweight = _quantize_weight(mod.weight.detach().float(), weight_post_process)
        qconv = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride,
                    mod.padding, mod.dilation, mod.groups, mod.bias is not None,
                    mod.padding_mode)
        qconv.set_weight_bias(qweight, mod.bias)
        act_scale, act_zp = activation_post_process.calculate_qparams()
        qconv.scale = float(act_scale)
        qconv.zero_point = int(act_zp)
        return qconv


class Conv1d(Conv2d):
    """1-D convolution of quint8 activations with int8 weights, run as a 2-D one over a
    unit height (as PyTorch's kernels run it); the weight keeps its 3-D shape."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=None):
        Module.__init__(self)
        if padding_mode != "zeros":
            raise NotImplementedError("quantized Conv1d supports padding_mode='zeros' only")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _single(kernel_size), _single(stride)
        self.padding, self.dilation = _single(padding), _single(dilation)
        self.output_padding = (0,)
        self.transposed, self.groups, self.padding_mode = False, groups, padding_mode
        weight = _empty_qweight((out_channels, in_channels // groups) + self.kernel_size)
        self.set_weight_bias(weight, ember.zeros(out_channels) if bias else None)
        self.scale = 1.0
        self.zero_point = 0

    def _get_name(self):
        return "QuantizedConv1d"

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}, scale={self.scale}, zero_point={self.zero_point}")
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias() is None:
            s += ", bias=False"
        return s

    def forward(self, x):
        if x.dim() != 3:
            raise ValueError("Input shape must be `(N, C, L)`!")
        out = _k.conv2d_quantized(x.unsqueeze(2), self._kernel, (1, *self.stride),
                                  (0, *self.padding), (1, *self.dilation), self.groups,
                                  self.scale, self.zero_point, relu=self._relu)
        return out.squeeze(2)

    def set_weight_bias(self, weight, bias) -> None:
        self._weight_bias_pair = (weight, bias)
        self._kernel = _k.PackedWeight(weight.unsqueeze(2), bias, "quantized::conv1d_prepack")


class Quantize(Module):
    """Float to quantized at the model's entry (what a QuantStub becomes)."""

    def __init__(self, scale, zero_point, dtype, factory_kwargs=None):
        super().__init__()
        self.register_buffer("scale", ember.tensor([scale]))
        self.register_buffer("zero_point", ember.tensor([zero_point], dtype=ember.int64))
        self.dtype = dtype

    def forward(self, x):
        return ember.quantize_per_tensor(x, float(self.scale), int(self.zero_point), self.dtype)

    def extra_repr(self):
        return f"scale={self.scale!r}, zero_point={self.zero_point!r}, dtype={self.dtype}"

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        return cls(float(scale), int(zero_point), mod.activation_post_process.dtype)


class DeQuantize(Module):
    """Quantized to float at the model's exit (what a DeQuantStub becomes)."""

    def forward(self, x):
        return x.dequantize()

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls()


class _QuantizedReLU(Module):
    """ReLU on a quantized tensor: integers below the zero point become the zero point
    (PyTorch's relu kernel does this on a quantized tensor; ember swaps the module so
    the float op never sees integers). Prints as ``ReLU()`` like the module it replaces."""

    _upper = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def _get_name(self):
        return "ReLU"

    def forward(self, x):
        if not x.is_quantized:  # a ReLU outside the quantized region sees floats
            return ember.nn.functional.relu(x) if self._upper is None else \
                ember.nn.functional.relu6(x)
        return _k.relu_quantized(x, self._upper)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(getattr(mod, "inplace", False))


class ReLU6(_QuantizedReLU):
    """min(max(x, 0), 6) on a quantized tensor, in its integers."""

    _upper = 6.0

    def _get_name(self):
        return "QuantizedReLU6"


class _QuantizedPool:
    """Pooling on a quantized tensor, swapped in by ``convert`` (ember's float pooling does
    not read quantizers) and printed as the float module. Max pooling commutes with the
    increasing affine map, so the integers are pooled as they are; average pooling
    averages ``q - zero_point`` (so zero padding stands for 0.0) and rounds half to even,
    as PyTorch's quantized kernels do. The input's scale and zero point are kept."""

    _average = False

    def _get_name(self):
        return type(self).__mro__[2].__name__

    def forward(self, x):
        if not x.is_quantized:
            return super().forward(x)
        zero_point = x.q_zero_point()
        ints = x.int_repr().float()  # integers are exact in float32
        if not self._average:
            return _k.rewrap_quantized(x, super().forward(ints))
        # the zero point is added before rounding (PyTorch's kernels round the shifted
        # value): with an odd zero point a tie then goes the other way
        pooled = (super().forward(ints - zero_point) + zero_point).round()
        low, high = (0, 255) if x.dtype is ember.quint8 else (-128, 127)
        return _k.rewrap_quantized(x, pooled.clamp(low, high))

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        new = cls.__new__(cls)
        new.__dict__.update(mod.__dict__)
        return new


class _QuantizedMaxPool2d(_QuantizedPool, ember.nn.MaxPool2d):
    pass


class _QuantizedAvgPool2d(_QuantizedPool, ember.nn.AvgPool2d):
    _average = True


class _QuantizedAdaptiveAvgPool2d(_QuantizedPool, ember.nn.AdaptiveAvgPool2d):
    _average = True


class Dropout(ember.nn.Dropout):
    """Dropout on a quantized tensor: in evaluation the input itself (PyTorch's
    quantized Dropout, what FX graph mode quantization swaps in)."""

    def _get_name(self):
        return "QuantizedDropout"

    def forward(self, input):
        return input

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        return cls(mod.p, mod.inplace)


class FloatFunctional(Module):
    """Float add/mul/cat whose outputs an observer can watch (residual connections in a
    model to be quantized): ``self.skip = FloatFunctional(); self.skip.add(x, y)``."""

    def __init__(self):
        super().__init__()
        self.activation_post_process = ember.nn.Identity()

    def forward(self, x):
        raise RuntimeError(
            "FloatFunctional is not intended to use the 'forward'. Please use the underlying "
            "operation")

    def add(self, x, y):
        return self.activation_post_process(ember.add(x, y))

    def add_scalar(self, x, y):
        return ember.add(x, y)  # not observed: PyTorch keeps the input's parameters

    def mul(self, x, y):
        return self.activation_post_process(ember.mul(x, y))

    def mul_scalar(self, x, y):
        return ember.mul(x, y)

    def cat(self, x, dim=0):
        return self.activation_post_process(ember.cat(x, dim=dim))

    def add_relu(self, x, y):
        return self.activation_post_process(ember.relu(ember.add(x, y)))

    def matmul(self, x, y):
        return self.activation_post_process(ember.matmul(x, y))


class QFunctional(Module):
    """FloatFunctional's quantized counterpart: add/mul by PyTorch's quantized kernels
    (``ember.ops.quantized``) onto ``scale``/``zero_point``; cat re-quantizes the floats."""

    def __init__(self):
        super().__init__()
        self.scale = 1.0
        self.zero_point = 0
        self.activation_post_process = ember.nn.Identity()

    def _get_name(self):
        return "QFunctional"

    def extra_repr(self):
        return f"scale={self.scale}, zero_point={self.zero_point}"

    def forward(self, x):
        raise RuntimeError(
            "Functional is not intended to use the 'forward'. Please use the underlying "
            "operation")

    def _requantize(self, real, like):
        return ember.quantize_per_tensor(real, self.scale, self.zero_point, like.dtype)

    def _quantized_op(self, name, x, y):
        """``ember.ops.quantized.<name>``, as PyTorch's QFunctional calls its kernels: their
        integer arithmetic, not a float op re-quantized, is what matches bit for bit."""
        from ...ao.quantization.fx import _quantized_ops  # noqa: F401 - registers the ops

        return getattr(ember.ops.quantized, name)(x, y, self.scale, self.zero_point)

    def add(self, x, y):
        return self._quantized_op("add", x, y)

    def add_relu(self, x, y):
        return self._quantized_op("add_relu", x, y)

    def mul(self, x, y):
        return self._quantized_op("mul", x, y)

    def cat(self, x, dim=0):
        return self._requantize(ember.cat([t.dequantize() for t in x], dim=dim), x[0])

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "scale"] = ember.tensor(self.scale)
        destination[prefix + "zero_point"] = ember.tensor(self.zero_point)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        self.scale = float(state_dict.pop(prefix + "scale"))
        self.zero_point = int(state_dict.pop(prefix + "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, False, missing_keys,
                                      unexpected_keys, error_msgs)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        scale, zero_point = mod.activation_post_process.calculate_qparams()
        new = cls()
        new.scale = float(scale)
        new.zero_point = int(zero_point)
        return new
