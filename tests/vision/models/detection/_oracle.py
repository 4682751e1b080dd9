"""torchvision's side of the detection cases, computed live on the oracle torch.

torchvision 0.28 is imported through the shared loader (``vision._torchvision``), which
stubs its meta registrations because the wheel's C extension does not load with the local
torch build. The detection models reach two of those C ops, so for the oracle only this
module supplies them as kernels written here in plain torch, following the C kernels:

- ``torchvision::nms`` (called by ``ops.nms`` / ``batched_nms``) is registered as a CPU
  op (greedy suppression in descending score order, IoU > threshold removed), and
  ``ops.boxes`` is let past its "C ops loaded?" assertion while a case runs;
- RoIAlign: without the extension ``ops.roi_align`` calls torchvision's pure-torch
  fallback ``_roi_align`` under torch.compile, which is too slow here (see
  :func:`_roi_align`); that fallback is swapped for :func:`_roi_align` while a case runs
  (a test checks the two agree).

Everything else is torchvision's own code; any other C op still fails loudly if called.
Each case of ``_cases.py`` runs once per test module (the tests keep one
:class:`TorchvisionSide` in a module-scoped fixture) and its result is cached.
"""

from __future__ import annotations

import contextlib
import sys

import pytest
import torch
from vision._torchvision import load_torchvision
from vision.models.detection import _cases as C

# the initialisers tests/vision/conftest.py's no_init fixture turns off on ember's side
_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
          "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_")
_LIBRARIES = []  # torch.library registrations live as long as these objects


def _nms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the kept boxes, highest score first (torchvision::nms's contract)."""
    order = scores.argsort(descending=True, stable=True)
    x1, y1, x2, y2 = dets.unbind(1)
    area = (x2 - x1) * (y2 - y1)
    removed = torch.zeros(len(dets), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if removed[i]:
            continue
        keep.append(i)
        width = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)
        height = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
        inter = width * height
        removed |= inter / (area[i] + area - inter) > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def _roi_align(input, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio,
               aligned):
    """RoIAlign as torchvision's C kernel computes it, in differentiable plain torch.

    torchvision's own pure-torch ``_roi_align`` (its fallback without the extension)
    samples every roi on an input-sized grid and masks the unused points, so one Mask
    R-CNN case gathers ~10^8 values eagerly; it is meant to run under torch.compile, which
    takes 10-60 s per model case here. This kernel bounds the grid by the largest roi's
    sample count instead, and zeroes samples that fall more than one pixel outside the
    map, as the C kernel does (the fallback omits that test).
    """
    _, _, height, width = input.shape
    rois = rois.detach()  # as the C kernel: no gradient for the boxes
    offset = 0.5 if aligned else 0.0
    batch_index = rois[:, 0].long()
    start_w, start_h, end_w, end_h = (rois[:, 1:] * spatial_scale - offset).unbind(1)
    roi_width, roi_height = end_w - start_w, end_h - start_h
    if not aligned:
        roi_width, roi_height = roi_width.clamp(min=1.0), roi_height.clamp(min=1.0)
    bin_h, bin_w = roi_height / pooled_height, roi_width / pooled_width
    if sampling_ratio > 0:
        grid_h = torch.full_like(roi_height, sampling_ratio)
        grid_w = torch.full_like(roi_width, sampling_ratio)
    else:
        grid_h, grid_w = torch.ceil(roi_height / pooled_height), torch.ceil(roi_width / pooled_width)
    steps_h = torch.arange(max(int(grid_h.max()), 1) if len(rois) else 1)
    steps_w = torch.arange(max(int(grid_w.max()), 1) if len(rois) else 1)

    def points(start, bin_size, grid, pooled, steps):  # [K, P, S] sample coordinates
        return (start[:, None, None] + torch.arange(pooled)[None, :, None] * bin_size[:, None, None]
                + (steps + 0.5).to(input.dtype) * (bin_size / grid)[:, None, None])

    y = points(start_h, bin_h, grid_h, pooled_height, steps_h)
    x = points(start_w, bin_w, grid_w, pooled_width, steps_w)
    y_used = (steps_h[None, None, :] < grid_h[:, None, None]) & (y >= -1.0) & (y <= height)
    x_used = (steps_w[None, None, :] < grid_w[:, None, None]) & (x >= -1.0) & (x <= width)

    def corners(coord, size):  # low/high neighbours and the weight of the high one
        coord = coord.clamp(min=0)
        low = coord.long()
        at_edge = low >= size - 1
        low = torch.where(at_edge, size - 1, low)
        high = torch.where(at_edge, size - 1, low + 1)
        frac = torch.where(at_edge, 0.0, coord - low)
        return low, high, frac

    y_low, y_high, ly = corners(y, height)
    x_low, x_high, lx = corners(x, width)
    ly, lx = ly * y_used, lx * x_used
    hy, hx = (1.0 - ly) * y_used, (1.0 - lx) * x_used
    channels = torch.arange(input.shape[1])[None, :, None, None, None, None]
    roi = batch_index[:, None, None, None, None, None]

    def gather(ys, xs):  # [K, C, PH, PW, SH, SW]
        return input[roi, channels, ys[:, None, :, None, :, None], xs[:, None, None, :, None, :]]

    def outer(wy, wx):
        return wy[:, None, :, None, :, None] * wx[:, None, None, :, None, :]

    value = (outer(hy, hx) * gather(y_low, x_low) + outer(hy, lx) * gather(y_low, x_high)
             + outer(ly, hx) * gather(y_high, x_low) + outer(ly, lx) * gather(y_high, x_high))
    count = (grid_h * grid_w).clamp(min=1)
    return value.sum((-1, -2)) / count[:, None, None, None]


def _install_nms() -> None:
    """Registers the plain-torch ``torchvision::nms`` once per process, unless a real
    kernel is already there (a torchvision whose C extension did load)."""
    try:
        torch.ops.torchvision.nms  # noqa: B018 - probing whether the op exists
    except (AttributeError, RuntimeError):
        definition = torch.library.Library("torchvision", "FRAGMENT")
        definition.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        kernel = torch.library.Library("torchvision", "IMPL", "CPU")
        kernel.impl("nms", _nms)
        _LIBRARIES.extend([definition, kernel])


def _on_meta(case, *args):
    """Runs a layout-only case with torch's tensors on the meta device: the full-size
    builders then allocate nothing, and SSD300's probe forward through VGG-16 (run to
    read its feature maps' channels) costs no convolution."""
    with torch.device("meta"):
        return case(*args)


class TorchvisionSide:
    """``side(prefix)`` -> the {name: array} dict torchvision gives for that case
    ("anchors", "rpn", "model_mask", "one_stage_fcos", "builder_ssd300_vgg16", ...)."""

    def __init__(self) -> None:
        torchvision = load_torchvision()
        _install_nms()
        self.det = torchvision.models.detection
        self.ops = torchvision.ops
        self.models = torchvision.models
        self._results: dict[str, dict] = {}
        torch.manual_seed(0)

    def __call__(self, prefix: str) -> dict:
        if prefix not in self._results:
            self._results[prefix] = self._compute(prefix)
        return self._results[prefix]

    @contextlib.contextmanager
    def _patched(self, fixed_sampler: bool, no_init: bool):
        """torchvision as the oracle runs it: nms past its "C ops loaded?" check, RoIAlign
        through :func:`_roi_align` and, where the ember run does the same, a deterministic
        sampler and no random initialisation (it is overwritten by ``C.init_weights`` or
        unused in the layout-only cases, where VGG-16's classifier alone draws 120M
        numbers)."""
        with pytest.MonkeyPatch.context() as patch:
            if no_init:
                for name in _INITS:
                    patch.setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
            # ops.boxes.nms asserts that the C extension loaded before calling the op
            patch.setattr(self.ops.boxes, "_assert_has_ops", lambda: None)
            # without the extension ops.roi_align calls its fallback _roi_align
            roi_align = sys.modules[self.ops.roi_align.__module__]
            patch.setattr(roi_align, "_roi_align", _roi_align)
            if fixed_sampler:
                patch.setattr(self.det._utils.BalancedPositiveNegativeSampler, "__call__",
                              C.deterministic_sampler(torch))
            yield

    def _compute(self, prefix: str) -> dict:
        det, ops, models = self.det, self.ops, self.models
        cases = {
            "anchors": lambda: C.case_anchors(torch, det),
            "box_coder": lambda: C.case_box_coder(torch, det),
            "matcher": lambda: C.case_matcher(torch, det, ops),  # the real sampler
            "transform": lambda: C.case_transform(torch, det),
            "weights": lambda: C.case_weights(det),
            "errors": lambda: C.case_errors(torch, det, ops),
            "reprs": lambda: C.case_reprs(torch, det, ops, models),
            "backbones": lambda: C.case_backbones(torch, det),
        }
        for kind in ("retinanet", "fcos", "ssd", "ssdlite"):
            cases[f"one_stage_{kind}"] = (
                lambda kind=kind: C.case_one_stage(torch, det, ops, models, kind))
        for name in C.BUILDERS:
            cases[f"builder_{name}"] = lambda name=name: _on_meta(C.case_builder, torch, det,
                                                                  name)
        sampled = {
            "rpn": lambda: C.case_rpn(torch, det, ops),
            "roi_heads": lambda: C.case_roi_heads(torch, det, ops),
        }
        for kind in ("faster", "mask", "keypoint"):
            sampled[f"model_{kind}"] = lambda kind=kind: C.case_model(torch, det, ops, models,
                                                                      kind)
        # init_weights overwrites every float entry of the models that run
        no_init = not prefix.startswith(("errors", "matcher", "transform", "anchors"))
        with self._patched(fixed_sampler=prefix in sampled, no_init=no_init):
            return {**cases, **sampled}[prefix]()
