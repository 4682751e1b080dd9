"""What tracing records inside ember.nn's built-in modules when they are not leaves.

ember's built-in ``forward``s call ember's internal ops directly (the fast path), which a
trace cannot see; PyTorch's call ``torch.nn.functional``. When a custom ``Tracer`` traces
through a built-in module, these functions stand in for its ``forward``: the same
functional calls, with the same arguments, that PyTorch's ``forward`` makes, so the graph
and generated code are PyTorch's. They run through ``ember.nn.functional`` looked up at
call time, so the tracer's recorders see them. Modules missing here run their own
``forward`` (which traces when it uses only public functions and methods).
"""

from __future__ import annotations

import ember
import ember.nn.functional as F


def _linear(self, input):
    return F.linear(input, self.weight, self.bias)


def _conv(name):
    def forward(self, input):
        return getattr(ember, name)(input, self.weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.groups)

    return forward


def _max_pool(name):
    def forward(self, input):
        return getattr(F, name)(input, self.kernel_size, self.stride, self.padding,
                                self.dilation, ceil_mode=self.ceil_mode,
                                return_indices=self.return_indices)

    return forward


def _avg_pool2d(self, input):
    return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                        self.count_include_pad, self.divisor_override)


def _adaptive(name):
    def forward(self, input):
        return getattr(F, name)(input, self.output_size)

    return forward


def _dropout(name):
    def forward(self, input):
        return getattr(F, name)(input, self.p, self.training, self.inplace)

    return forward


def _inplace_activation(name):
    def forward(self, input):
        return getattr(F, name)(input, inplace=self.inplace)

    return forward


def _softmax(name):
    def forward(self, input):
        return getattr(F, name)(input, self.dim, _stacklevel=5)

    return forward


FORWARDS = {
    "Linear": _linear,
    "Conv1d": _conv("conv1d"),
    "Conv2d": _conv("conv2d"),
    "Conv3d": _conv("conv3d"),
    "MaxPool1d": _max_pool("max_pool1d"),
    "MaxPool2d": _max_pool("max_pool2d"),
    "MaxPool3d": _max_pool("max_pool3d"),
    "AvgPool2d": _avg_pool2d,
    "AdaptiveAvgPool1d": _adaptive("adaptive_avg_pool1d"),
    "AdaptiveAvgPool2d": _adaptive("adaptive_avg_pool2d"),
    "AdaptiveAvgPool3d": _adaptive("adaptive_avg_pool3d"),
    "Dropout": _dropout("dropout"),
    "Dropout1d": _dropout("dropout1d"),
    "Dropout2d": _dropout("dropout2d"),
    "Dropout3d": _dropout("dropout3d"),
    "ReLU": _inplace_activation("relu"),
    "SiLU": _inplace_activation("silu"),
    "Hardswish": _inplace_activation("hardswish"),
    "Hardsigmoid": _inplace_activation("hardsigmoid"),
    "Mish": _inplace_activation("mish"),
    "SELU": _inplace_activation("selu"),
    "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"),
    "Softmin": _softmax("softmin"),
    "Flatten": lambda self, input: input.flatten(self.start_dim, self.end_dim),
    "Unflatten": lambda self, input: input.unflatten(self.dim, self.unflattened_size),
    "Identity": lambda self, input: input,
    "Sigmoid": lambda self, input: ember.sigmoid(input),
    "Tanh": lambda self, input: ember.tanh(input),
    "GELU": lambda self, input: F.gelu(input, approximate=self.approximate),
    "LeakyReLU": lambda self, input: F.leaky_relu(input, self.negative_slope, self.inplace),
    "ReLU6": lambda self, input: F.hardtanh(input, 0.0, 6.0, self.inplace),
    "Hardtanh": lambda self, input: F.hardtanh(input, self.min_val, self.max_val,
                                               self.inplace),
    "ELU": lambda self, input: F.elu(input, self.alpha, self.inplace),
    "CELU": lambda self, input: F.celu(input, self.alpha, self.inplace),
    "Softplus": lambda self, input: F.softplus(input, self.beta, self.threshold),
    "PReLU": lambda self, input: F.prelu(input, self.weight),
    "LayerNorm": lambda self, input: F.layer_norm(input, self.normalized_shape, self.weight,
                                                  self.bias, self.eps),
    "GroupNorm": lambda self, input: F.group_norm(input, self.num_groups, self.weight,
                                                  self.bias, self.eps),
    "Embedding": lambda self, input: F.embedding(
        input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
        self.scale_grad_by_freq, self.sparse),
    "Upsample": lambda self, input: F.interpolate(
        input, self.size, self.scale_factor, self.mode, self.align_corners,
        recompute_scale_factor=self.recompute_scale_factor),
}


def _annotate(name: str, forward):
    """PyTorch's forwards are annotated ``(self, input: Tensor) -> Tensor`` (max pooling
    has no return annotation); a traced root's signature shows them."""
    annotations = {"input": ember.Tensor}
    if not name.startswith("MaxPool"):
        annotations["return"] = ember.Tensor
    def annotated(self, input):
        return forward(self, input)

    annotated.__name__ = annotated.__qualname__ = "forward"
    annotated.__annotations__ = annotations
    return annotated


FORWARDS = {name: _annotate(name, forward) for name, forward in FORWARDS.items()}


def traced_forward(module):
    """The PyTorch-shaped forward for a built-in ember.nn module, or None."""
    cls = type(module)
    if not cls.__module__.startswith("ember.nn."):
        return None
    forward = FORWARDS.get(cls.__name__)
    if forward is None or getattr(ember.nn, cls.__name__, None) is not cls:
        return None
    if cls.__name__.startswith("Conv") and module.padding_mode != "zeros":
        return None
    return forward
