"""torchvision's own classifiers as the oracle of the classifier tests, and the weights they
are compared with.

torchvision 0.28 is loaded through ``vision._torchvision`` (its C ops do not load next to
the CPU torch; no classifier calls one). A reference is built with torch's random
initialisation skipped, then every parameter and BatchNorm statistic is given the
deterministic values of ``vision.models._tv_cases.fill`` (weights ~ N(0, 1/fan_in), norm
scales ~ 1, running variances in [0.5, 1.5]): activations stay O(1) in deep nets, layer
scales and zero-initialised heads (ConvNeXt, ViT) stop hiding their branches, and the
same numbers go into ember through the state_dict.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

import torch
from torch import nn
from vision._torchvision import load_torchvision
from vision.models._tv_cases import fill


def tv_models():
    """``torchvision.models`` (the real package)."""
    return load_torchvision().models


_TORCH_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                "orthogonal_")


@contextlib.contextmanager
def no_torch_init():
    """torch's random initialisation skipped while building a model whose weights are
    overwritten next (drawing them costs more than the comparison)."""
    saved = {name: getattr(torch.nn.init, name) for name in _TORCH_INITS}
    for name in _TORCH_INITS:
        setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def fill_weights(model: nn.Module) -> nn.Module:
    """Give every parameter and BatchNorm running statistic of ``model`` :func:`fill`'s
    values for its key; other buffers (index tables, coordinate tables, counters) stay
    as the model computed them."""
    params = {name for name, _ in model.named_parameters()}
    state = model.state_dict()
    new = OrderedDict((key, torch.from_numpy(fill(key, value.shape)).to(value.dtype)
                       if key in params or key.endswith(("running_mean", "running_var"))
                       else value) for key, value in state.items())
    new._metadata = state._metadata  # module versions (MNASNet checks its own)
    model.load_state_dict(new, assign=True)
    return model


def tv_reference(build) -> nn.Module:
    """``build(torchvision.models)`` built without torch's init, with :func:`fill_weights`.
    ``build`` may also be a builder name (called with no arguments)."""
    models = tv_models()
    with no_torch_init():
        model = models.get_model(build) if isinstance(build, str) else build(models)
    return fill_weights(model)


def tv_layout(build) -> list:
    """(key, shape) pairs of torchvision's model, built on the meta device (shapes only;
    torch's init skipped too: on meta it draws nothing but still costs its Python)."""
    models = tv_models()
    with torch.device("meta"), no_torch_init():
        model = models.get_model(build) if isinstance(build, str) else build(models)
    return [(key, tuple(value.shape)) for key, value in model.state_dict().items()]
