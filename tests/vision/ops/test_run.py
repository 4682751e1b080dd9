"""A PyTorch program that imports ``torchvision.ops`` runs unchanged under ``ember run``."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import torch
    from torchvision.ops import box_iou, nms, roi_align
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
    from torchvision.ops import boxes as box_ops
    from torchvision.ops.focal_loss import sigmoid_focal_loss
    from torchvision.ops.misc import FrozenBatchNorm2d
    from torchvision.ops.poolers import MultiScaleRoIAlign

    boxes = torch.tensor([[0., 0., 2., 2.], [1., 1., 3., 3.], [0., 0., 2., 2.1]])
    print("iou", round(float(box_iou(boxes[:1], boxes[1:2])), 4))
    print("nms", nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist())
    ramp = (torch.arange(8.0)[None, :] + 10 * torch.arange(8.0)[:, None])[None, None]
    box = [torch.tensor([[1., 1., 5., 5.]])]
    print("align", roi_align(ramp, box, 2, sampling_ratio=2).flatten().tolist())
    print("layers", FrozenBatchNorm2d(2), LastLevelMaxPool.__name__)
    print("paths", box_ops.batched_nms(boxes, torch.ones(3), torch.tensor([0, 1, 0]), 0.5).tolist(),
          round(sigmoid_focal_loss(torch.zeros(2), torch.ones(2), reduction="sum").item(), 6),
          MultiScaleRoIAlign(["0"], 7, 2))
''')


def test_ember_run_resolves_torchvision_ops(tmp_path):
    script = tmp_path / "detect.py"
    script.write_text(SCRIPT)
    result = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False,
                            env=dict(os.environ, TQDM_DISABLE="1"))
    assert result.returncode == 0, result.stderr
    # IoU 1/7; box 2 overlaps box 0 by 4/4.2 and goes; the ramp x + 10y averages to its
    # value at each bin centre
    assert result.stdout.splitlines() == [
        "iou 0.1429",
        "nms [0, 1]",
        "align [22.0, 24.0, 42.0, 44.0]",
        "layers FrozenBatchNorm2d(2, eps=1e-05) LastLevelMaxPool",
        # focal loss of logit 0 on a positive: 0.25 * 0.5**2 * log(2) each
        (f"paths [0, 1] {round(2 * 0.25 * 0.25 * math.log(2), 6)} "
         "MultiScaleRoIAlign(featmap_names=['0'], output_size=(7, 7), sampling_ratio=2)"),
    ]
