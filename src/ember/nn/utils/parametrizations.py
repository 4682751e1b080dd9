"""``nn.utils.parametrizations``: weight_norm and spectral_norm as parametrizations
(state_dict keys ``parametrizations.weight.original0/1`` and ``...original``, as PyTorch)."""

from __future__ import annotations

from ..._ops.creation import empty
from ...autograd.grad_mode import no_grad
from .._functional import normalize
from ..modules.module import Module
from . import parametrize
from ._orthogonal import orthogonal
from ._norms import normalize_into, norm_except_dim, reshape_weight_to_matrix, weight_norm_compute

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_norm_compute(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``name`` as ``g * v / ||v||`` (g: original0, v: original1)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """``weight / sigma`` with sigma from power iteration on buffers ``_u``, ``_v``."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = reshape_weight_to_matrix(weight, self.dim)
            h, w = weight_mat.shape
            with no_grad():
                u = empty(h, dtype=weight.dtype, device=weight.device).normal_(0, 1)
                v = empty(w, dtype=weight.dtype, device=weight.device).normal_(0, 1)
                self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
                self._power_method(weight_mat, 15)

    def _power_method(self, weight_mat, n_power_iterations):
        matrix = weight_mat._data
        for _ in range(n_power_iterations):
            normalize_into(self._u, matrix @ self._v._data, self.eps)
            normalize_into(self._v, matrix.conj().T @ self._u._data, self.eps)

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = reshape_weight_to_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = (u * weight_mat.matmul(v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize ``name`` as ``weight / sigma(weight)``, sigma estimated by power
    iteration (one step per training forward)."""
    from ..._tensor import Tensor

    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
