"""Regenerates golden.npz from torchvision 0.28 running on the oracle torch.

torchvision's wheel cannot be installed next to the oracle torch (its C extension does
not load), so this script imports its Python sources from an unpacked wheel and stands
in for the one C op the detection models call, ``torchvision::nms``, with a plain torch
loop (RoIAlign already falls back to torchvision's own pure-torch ``_roi_align``).

    python tests/vision/models/detection/_make_golden.py /path/to/unpacked/wheel
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def _install_nms() -> None:
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

    def nms(dets, scores, threshold):
        order = scores.argsort(descending=True, stable=True)
        x1, y1, x2, y2 = dets.unbind(1)
        area = (x2 - x1) * (y2 - y1)
        removed = torch.zeros(len(dets), dtype=torch.bool)
        keep = []
        for i in order.tolist():
            if removed[i]:
                continue
            keep.append(i)
            w = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)
            h = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
            removed |= w * h / (area[i] + area - w * h) > threshold
        return torch.tensor(keep, dtype=torch.long)

    impl = torch.library.Library("torchvision", "IMPL", "CPU")
    impl.impl("nms", nms)
    _install_nms.libs = (lib, impl)  # keep the registrations alive


def main(wheel_dir: str) -> None:
    sys.path.insert(0, wheel_dir)
    sys.path.insert(0, HERE)
    _install_nms()
    import torchvision
    import torchvision.extension
    import torchvision.ops.boxes

    torchvision.ops.boxes._assert_has_ops = lambda: None
    import _cases as C
    import torchvision.models.detection as det
    from torchvision import models, ops

    det._utils.BalancedPositiveNegativeSampler.__call__ = C.deterministic_sampler(torch)
    golden = {}

    def add(prefix, result):
        for k, v in result.items():
            golden[f"{prefix}/{k}"] = np.asarray(v)

    torch.manual_seed(0)
    add("anchors", C.case_anchors(torch, det))
    add("box_coder", C.case_box_coder(torch, det))
    add("matcher", C.case_matcher(torch, det, ops))
    add("transform", C.case_transform(torch, det))
    add("rpn", C.case_rpn(torch, det, ops))
    add("roi_heads", C.case_roi_heads(torch, det, ops))
    for kind in ("faster", "mask", "keypoint"):
        add(f"model_{kind}", C.case_model(torch, det, ops, models, kind))
    for kind in ("retinanet", "fcos", "ssd", "ssdlite"):
        add(f"one_stage_{kind}", C.case_one_stage(torch, det, ops, models, kind))
    add("weights", C.case_weights(det))
    add("errors", C.case_errors(torch, det, ops))
    add("reprs", C.case_reprs(torch, det, ops, models))
    add("backbones", C.case_backbones(torch, det))
    for name in C.BUILDERS:
        add(f"builder_{name}", C.case_builder(torch, det, name))
    np.savez_compressed(os.path.join(HERE, "golden.npz"), **golden)
    print(f"golden.npz: {len(golden)} arrays, torchvision {torchvision.__version__}")


if __name__ == "__main__":
    main(sys.argv[1])
