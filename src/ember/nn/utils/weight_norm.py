"""The original hook-based ``weight_norm`` / ``spectral_norm`` (keys ``weight_g`` /
``weight_v`` and ``weight_orig`` / ``weight_u`` / ``weight_v``, as PyTorch's).

Both keep their inputs under suffixed names and recompute ``module.<name>`` in a forward
pre-hook that is the method object itself; the hooks' attribute names (``name``, ``dim``,
``n_power_iterations``, ``eps``, ``_version``) are PyTorch's because pickled modules
carry them.
"""

from __future__ import annotations

import warnings

from ..._ops.creation import empty
from ...autograd.grad_mode import no_grad
from .._functional import normalize
from ..parameter import Parameter, UninitializedParameter
from ._norms import normalize_into, norm_except_dim, reshape_weight_to_matrix, weight_norm_compute

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm", "SpectralNorm", "spectral_norm",
           "remove_spectral_norm"]


def _find(hooks, kind, name):
    """Key of the ``kind`` hook acting on ``name`` in a hook dict, or None."""
    return next((key for key, hook in hooks.items()
                 if isinstance(hook, kind) and hook.name == name), None)


def _refuse_second(module, kind, name, label):
    if _find(module._forward_pre_hooks, kind, name) is not None:
        raise RuntimeError(f"Cannot register two {label} hooks on the same parameter {name}")


def _take_off(module, kind, name, label):
    """Undo the ``kind`` hook on ``name`` (the weight becomes a plain parameter again)."""
    key = _find(module._forward_pre_hooks, kind, name)
    if key is None:
        raise ValueError(f"{label} of '{name}' not found in {module}")
    module._forward_pre_hooks[key].remove(module)
    del module._forward_pre_hooks[key]


class _ReparamHook:
    """Shared by both hooks: the pieces live at ``<name><suffix>``; each forward
    recomputes ``<name>`` from them; ``remove`` freezes the current value into a
    parameter."""

    _SUFFIXES: tuple = ()

    def _piece(self, module, suffix):
        return getattr(module, self.name + suffix)

    def _current(self, module, training):
        raise NotImplementedError

    def __call__(self, module, inputs):
        setattr(module, self.name, self._current(module, module.training))

    def remove(self, module):
        with no_grad():
            frozen = self._current(module, False)
        for attr in (self.name, *(self.name + s for s in self._SUFFIXES)):
            delattr(module, attr)
        module.register_parameter(self.name, Parameter(frozen.detach()))


class WeightNorm(_ReparamHook):
    """Forward pre-hook recomputing ``name`` from ``name_g`` and ``name_v``."""

    _SUFFIXES = ("_g", "_v")

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        return weight_norm_compute(self._piece(module, "_v"), self._piece(module, "_g"),
                                   self.dim)

    def _current(self, module, training):
        return self.compute_weight(module)

    @staticmethod
    def apply(module, name, dim):
        _refuse_second(module, WeightNorm, name, "weight_norm")
        hook = WeightNorm(name, dim)
        direction = getattr(module, name)
        if isinstance(direction, UninitializedParameter):
            raise ValueError(
                "The module passed to `WeightNorm` can't have uninitialized parameters. Make "
                "sure to run the dummy forward before applying weight normalization")
        del module._parameters[name]
        with no_grad():
            magnitude = norm_except_dim(direction, 2, hook.dim)
        module.register_parameter(f"{name}_g", Parameter(magnitude.detach()))
        module.register_parameter(f"{name}_v", Parameter(direction.detach()))
        hook(module, None)
        module.register_forward_pre_hook(hook)
        return hook


def weight_norm(module, name="weight", dim=0):
    """Deprecated in PyTorch in favour of parametrizations.weight_norm; same keys."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    _take_off(module, WeightNorm, name, "weight_norm")
    return module


class SpectralNorm(_ReparamHook):
    """Forward pre-hook: ``name = name_orig / sigma``, power iteration in training."""

    _version = 1
    _SUFFIXES = ("_u", "_v", "_orig")

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.eps = name, dim, eps
        self.n_power_iterations = n_power_iterations

    def compute_weight(self, module, do_power_iteration):
        """``weight / sigma`` with sigma = u^T W v; training refines u and v in place
        first (they are buffers, updated without autograd as in PyTorch)."""
        weight = self._piece(module, "_orig")
        left, right = self._piece(module, "_u"), self._piece(module, "_v")
        matrix = reshape_weight_to_matrix(weight, self.dim)
        if do_power_iteration:
            raw = matrix._data
            for _step in range(self.n_power_iterations):
                normalize_into(right, raw.T @ left._data, self.eps)
                normalize_into(left, raw @ right._data, self.eps)
        sigma = (left.clone() * matrix.matmul(right.clone())).sum()
        return weight / sigma

    def _current(self, module, training):
        return self.compute_weight(module, training)

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        _refuse_second(module, SpectralNorm, name, "spectral_norm")
        hook = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with no_grad():
            rows, cols = reshape_weight_to_matrix(weight, dim).shape
            left, right = (
                normalize(empty(n, dtype=weight.dtype, device=weight.device).normal_(0, 1),
                          dim=0, eps=eps) for n in (rows, cols))
        delattr(module, name)
        module.register_parameter(f"{name}_orig", weight)
        # the plain attribute the hook overwrites each forward (not a parameter)
        object.__setattr__(module, name, weight.detach())
        module.register_buffer(f"{name}_u", left)
        module.register_buffer(f"{name}_v", right)
        module.register_forward_pre_hook(hook)
        module._register_state_dict_hook(_SpectralNormStateDictHook(hook))
        return hook


class _SpectralNormStateDictHook:
    """Records the hook's version in the state dict's metadata, where PyTorch's loader
    looks for it."""

    def __init__(self, fn):
        self.fn = fn

    @property
    def name(self):
        return self.fn.name

    def __call__(self, module, state_dict, prefix, local_metadata):
        versions = local_metadata.setdefault("spectral_norm", {})
        versions[f"{self.fn.name}.version"] = self.fn._version


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    if dim is None:
        # transposed convolutions keep output channels in dim 1
        dim = int(type(module).__name__.startswith("ConvTranspose"))
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    _take_off(module, SpectralNorm, name, "spectral_norm")
    stale = [key for key, hook in module._state_dict_hooks.items()
             if isinstance(hook, _SpectralNormStateDictHook) and hook.name == name]
    for key in stale:
        del module._state_dict_hooks[key]
    return module
