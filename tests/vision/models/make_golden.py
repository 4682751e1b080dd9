"""Record torchvision 0.28's outputs for the segmentation/video/optical-flow tests.

Not a test: run it by hand where torchvision's wheel is unpacked (its C extension need
not load; these models use none of its C ops)::

    TORCHVISION_SRC=/path/to/unpacked/wheel python tests/vision/models/make_golden.py

It writes ``golden/<case>.npz`` (inputs' gradient, outputs, state_dict keys) and
``golden/structure.json`` (every builder's full-size (key, shape) list and parameter count).
"""

from __future__ import annotations

import json
import os
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.environ["TORCHVISION_SRC"])
sys.path.insert(0, os.path.dirname(__file__))
# its meta-kernel registrations need the C ops; the model code does not
sys.modules["torchvision._meta_registrations"] = types.ModuleType("_meta_registrations")

import _golden as G
import torchvision.models as TM
import torchvision.models.video.mvit as tv_mvit


def _small_mvit(spatial_size, temporal_size):
    """torchvision's mvit builders fix 224x224x16 inputs; build the same tables smaller."""
    original = tv_mvit.MViT

    def patched(**kwargs):
        kwargs.update(spatial_size=spatial_size, temporal_size=temporal_size)
        return original(**kwargs)
    return original, patched


def build(builder: str, kwargs: dict):
    kwargs = dict(kwargs)
    if builder.startswith("mvit"):
        original, patched = _small_mvit(kwargs.pop("spatial_size"), kwargs.pop("temporal_size"))
        tv_mvit.MViT = patched
        try:
            return TM.get_model(builder, **kwargs)
        finally:
            tv_mvit.MViT = original
    return TM.get_model(builder, **kwargs)


def load_filled(model) -> None:
    state = model.state_dict()
    filled = {k: torch.from_numpy(G.fill(k, v.shape)) if v.is_floating_point() else v
              for k, v in state.items()}
    model.load_state_dict(filled)


def record(name: str) -> None:
    builder, kwargs = G.CASES[name][:2]
    torch.manual_seed(0)
    model = build(builder, kwargs)
    load_filled(model)
    model.eval()
    params = dict(model.named_parameters())
    model.requires_grad_(False)
    for key in G.PARAM_GRADS.get(name, []):
        params[key].requires_grad_(True)
    tensors = [torch.from_numpy(a).requires_grad_() for a in G.inputs(name)]
    outs = G.forward(model, name, tensors, torch)
    main = outs["main"]
    (main * torch.from_numpy(G.projection(name, main.shape))).sum().backward()
    arrays = {k: v.detach().numpy() for k, v in outs.items()}
    grad = tensors[0].grad.numpy()
    arrays["grad"] = grad[..., ::4, ::4] if name.startswith("raft") else grad
    for i, key in enumerate(G.PARAM_GRADS.get(name, [])):
        arrays[f"pgrad_{i}"] = params[key].grad.numpy()
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    np.savez_compressed(G.path(name), keys=json.dumps(keys), **arrays)
    print(name, {k: v.shape for k, v in arrays.items()})


def structure() -> None:
    layout = {}
    for package, builders in G.STRUCTURE.items():
        names = TM.list_models(module=getattr(TM, package))
        assert sorted(builders) == names, (package, names)
        for builder in builders:
            model = TM.get_model(builder, **G.STRUCTURE_KWARGS.get(builder, {}))
            layout[builder] = {
                "num_params": sum(p.numel() for p in model.parameters()),
                "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()]}
    layout["list_models"] = {package: TM.list_models(module=getattr(TM, package))
                             for package in G.STRUCTURE}
    with open(os.path.join(G.GOLDEN_DIR, "structure.json"), "w") as f:
        json.dump(layout, f, separators=(",", ":"))


def presets() -> None:
    from torchvision.transforms._presets import (
        OpticalFlow,
        SemanticSegmentation,
        VideoClassification,
    )

    outs = G.run_presets(SemanticSegmentation, VideoClassification, OpticalFlow, torch)
    np.savez_compressed(os.path.join(G.GOLDEN_DIR, "presets.npz"),
                        **{k: v.numpy() for k, v in outs.items()})


if __name__ == "__main__":
    os.makedirs(G.GOLDEN_DIR, exist_ok=True)
    structure()
    presets()
    for case in sys.argv[1:] or G.CASES:
        record(case)
