"""AugMix (Hendrycks et al.): a Dirichlet-weighted mix of several short chains of v1's
auto-augment ops, blended with the original by a Beta weight. Images and videos only."""

from __future__ import annotations

import ember
from ember.vision import tv_tensors

from .. import _functional_pil as F_pil
from .. import autoaugment as _v1_aa
from . import functional as F
from ._augment import _AutoAugmentBase
from ._utils import _get_fill, _setup_fill_arg
from .functional._geometry import _interpolation
from .functional._utils import unwrap


def _space(num_bins, height, width, all_ops):
    """op -> (magnitude bins or None, signed), AugMix's ranges."""
    linspace = _v1_aa._linspace
    space = {
        "ShearX": (linspace(0.0, 0.3, num_bins), True),
        "ShearY": (linspace(0.0, 0.3, num_bins), True),
        "TranslateX": (linspace(0.0, width / 3.0, num_bins), True),
        "TranslateY": (linspace(0.0, height / 3.0, num_bins), True),
        "Rotate": (linspace(0.0, 30.0, num_bins), True),
        "Posterize": (_v1_aa._posterize_bits(num_bins, 4) - 4, False),
        "Solarize": (linspace(1.0, 0.0, num_bins), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
    }
    if all_ops:
        for name in ("Brightness", "Color", "Contrast", "Sharpness"):
            space[name] = (linspace(0.0, 0.9, num_bins), True)
    return space


class AugMix(_AutoAugmentBase):
    """AugMix on the sample's single uint8 image or video (a plain tensor, Image, Video or
    PIL image); ``chain_depth=-1`` draws each chain's depth from [1, 3]."""

    _PARAMETER_MAX = 10

    def __init__(self, severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, all_ops=True,
                 interpolation="bilinear", fill=None):
        super(_AutoAugmentBase, self).__init__()
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got "
                             f"{severity} instead.")
        self.interpolation = _interpolation(interpolation)
        self.fill = fill
        self._fill = _setup_fill_arg(fill)
        self.severity, self.mixture_width, self.chain_depth = severity, mixture_width, chain_depth
        self.alpha, self.all_ops = alpha, all_ops

    def _sample_dirichlet(self, params):
        from ember.distributions import Dirichlet
        return Dirichlet(params).sample()

    def _apply(self, orig):
        is_pil = F_pil.is_pil_image(orig)
        image = F.pil_to_tensor(orig) if is_pil else unwrap(orig) \
            if isinstance(orig, tv_tensors.TVTensor) else orig
        height, width = image.shape[-2:]
        space = _space(self._PARAMETER_MAX, height, width, self.all_ops)
        names = tuple(space)
        orig_dims = list(image.shape)
        expected_ndim = 5 if isinstance(orig, tv_tensors.Video) else 4
        batch = image.reshape([1] * max(expected_ndim - image.ndim, 0) + orig_dims)
        batch_dims = [batch.shape[0]] + [1] * (batch.ndim - 1)
        # Beta(alpha, alpha) as a 2-way Dirichlet: column 0 weighs the original
        m = self._sample_dirichlet(ember.tensor([self.alpha, self.alpha], device=batch.device)
                                   .expand(batch_dims[0], -1))
        weights = self._sample_dirichlet(
            ember.tensor([self.alpha] * self.mixture_width, device=batch.device)
            .expand(batch_dims[0], -1)) * m[:, 1].reshape([batch_dims[0], -1])
        fill = _v1_aa._fill_for(batch, _get_fill(self._fill, type(orig)))
        mix = m[:, 0].reshape(batch_dims) * batch
        for i in range(self.mixture_width):
            aug = batch
            depth = self.chain_depth if self.chain_depth > 0 else int(
                ember.randint(low=1, high=4, size=(1,)).item())
            for _ in range(depth):
                name = names[int(ember.randint(0, len(names), ()).item())]
                magnitudes, signed = space[name]
                if magnitudes is not None:
                    magnitude = float(magnitudes[int(ember.randint(0, self.severity, ()).item())])
                    if signed and float(ember.rand(()).item()) <= 0.5:
                        magnitude *= -1
                else:
                    magnitude = 0.0
                if name == "Solarize":  # AugMix's thresholds are fractions of full scale
                    magnitude *= 255.0 if is_pil else F._misc.F_t.max_value(aug.dtype)
                if name == "Posterize":
                    magnitude = int(magnitude)
                aug = _v1_aa._apply_op(aug, name, magnitude, self.interpolation, fill)
            mix = mix + weights[:, i].reshape(batch_dims) * aug
        mix = mix.reshape(orig_dims).to(image.dtype)
        if is_pil:
            return F.to_pil_image(mix)
        if isinstance(orig, tv_tensors.TVTensor):
            return tv_tensors.wrap(mix, like=orig)
        return mix

    def extra_repr(self) -> str:
        return (f"severity={self.severity}, mixture_width={self.mixture_width}, "
                f"chain_depth={self.chain_depth}, alpha={self.alpha}, all_ops={self.all_ops}, "
                f"interpolation={self.interpolation}, fill={self.fill}")


