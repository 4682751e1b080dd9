"""Cases and helpers shared by the segmentation/video/optical-flow model tests.

torchvision 0.28 is the live oracle (loaded through ``vision._torchvision``: its C ops do
not load here, and these models need none). A case builds torchvision's model, gives it
the deterministic weights of :func:`fill` (random initialisation would leave the deep
nets' activations exploding or vanishing, and the same numbers must go into both
libraries anyway), copies its state_dict into ember's model of the same builder, and
compares the outputs (eval mode), the input gradient under a fixed upstream gradient and,
for a few cases, chosen parameter gradients.
"""

from __future__ import annotations

import contextlib
import functools
import zlib

import numpy as np
import torch
from vision._torchvision import load_torchvision

# name -> (builder, kwargs, input shapes, compare the input gradient). Small widths and
# inputs keep the tests fast; the full-size layout is checked separately (STRUCTURE).
_SEG = {"num_classes": 2, "aux_loss": True, "weights_backbone": None}
_VID = {"num_classes": 5}
_MVIT = {**_VID, "spatial_size": (32, 32), "temporal_size": 4}
_CLIP = [(1, 3, 4, 32, 32)]
_IMAGE = [(1, 3, 32, 32)]
# The input gradient is compared where it is well conditioned. In the dilated ResNets and
# RAFT-large a few pre-activations lie within float32 rounding (~1e-5) of a ReLU kink, so
# ember and torch may route a gradient differently there (torch in float64 agrees with
# torch in float32, ember differs by ~1e-2 in a few entries); those cases, and the
# largest models (checked for layout and one small forward), compare outputs only.
CASES = {
    "fcn_resnet50": ("fcn_resnet50", _SEG, _IMAGE, True),
    "deeplabv3_resnet50": ("deeplabv3_resnet50", _SEG, _IMAGE, False),
    "deeplabv3_mobilenet_v3_large": ("deeplabv3_mobilenet_v3_large", _SEG, [(1, 3, 64, 64)],
                                     True),
    "lraspp_mobilenet_v3_large": ("lraspp_mobilenet_v3_large",
                                  {"num_classes": 2, "weights_backbone": None},
                                  [(1, 3, 64, 64)], True),
    "fcn_resnet101": ("fcn_resnet101", {"num_classes": 2, "weights_backbone": None},
                      [(1, 3, 16, 16)], False),
    "deeplabv3_resnet101": ("deeplabv3_resnet101", _SEG, [(1, 3, 16, 16)], False),
    "r3d_18": ("r3d_18", _VID, _CLIP, True),
    "mc3_18": ("mc3_18", _VID, _CLIP, False),
    "r2plus1d_18": ("r2plus1d_18", _VID, _CLIP, True),
    # S3D's head pools a (2, 7, 7) window, so a whole forward needs 14x224x224 clips:
    # the features run on a small clip, the head on a feature map of the minimal size.
    "s3d_features": ("s3d", _VID, [(1, 3, 8, 32, 32)], True),
    "s3d_head": ("s3d", _VID, [(1, 1024, 2, 7, 7)], True),
    "mvit_v1_b": ("mvit_v1_b", _MVIT, _CLIP, True),
    "mvit_v2_s": ("mvit_v2_s", _MVIT, _CLIP, True),
    "swin3d_t": ("swin3d_t", _VID, _CLIP, True),
    "swin3d_b": ("swin3d_b", _VID, _CLIP, False),
    "raft_small": ("raft_small", {}, [(1, 3, 128, 128), (1, 3, 128, 128)], True),
    "raft_large": ("raft_large", {}, [(1, 3, 128, 128), (1, 3, 128, 128)], False),
}
FLOW_UPDATES = 2
# parameters whose gradients (under the same upstream gradient) are compared too
PARAM_GRADS = {
    "lraspp_mobilenet_v3_large": ["backbone.0.0.weight", "backbone.4.block.2.fc1.bias",
                                  "classifier.low_classifier.weight", "classifier.cbr.1.weight"],
    "mvit_v2_s": ["blocks.1.attn.rel_pos_h", "blocks.1.attn.rel_pos_t",
                  "blocks.0.attn.pool_q.pool.weight", "pos_encoding.class_token",
                  "blocks.15.mlp.3.bias", "norm.weight"],
    "swin3d_t": ["features.0.0.attn.relative_position_bias_table",
                 "patch_embed.proj.weight", "features.1.norm.weight"],
    "raft_small": ["update_block.recurrent_block.convgru1.convq.bias",
                   "context_encoder.convnormrelu.0.weight"],
}

# every builder of the three subpackages, compared at its default size for layout
STRUCTURE = {
    "segmentation": ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50",
                     "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
                     "lraspp_mobilenet_v3_large"],
    "video": ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s", "swin3d_t",
              "swin3d_s", "swin3d_b"],
    "optical_flow": ["raft_large", "raft_small"],
}
# with the aux head, as the segmentation checkpoints have it
STRUCTURE_KWARGS = {"fcn_resnet50": {"aux_loss": True, "weights_backbone": None},
                    "fcn_resnet101": {"aux_loss": True, "weights_backbone": None},
                    "deeplabv3_resnet50": {"aux_loss": True, "weights_backbone": None},
                    "deeplabv3_resnet101": {"aux_loss": True, "weights_backbone": None},
                    "deeplabv3_mobilenet_v3_large": {"aux_loss": True,
                                                     "weights_backbone": None},
                    "lraspp_mobilenet_v3_large": {"weights_backbone": None}}


def _rng(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


_POOL_SIZE = 1_000_003  # prime, so the cyclic pool never lines up with a layer's shape
_POOL = np.random.default_rng(20).standard_normal(2 * _POOL_SIZE, dtype=np.float32)


def _normal(key: str, shape: tuple) -> np.ndarray:
    """Standard-normal values for ``key``: the shared pool read cyclically from an offset
    set by the key's hash (drawing fresh numbers for 60M weights took seconds)."""
    count = int(np.prod(shape))
    start = zlib.crc32(key.encode()) % _POOL_SIZE
    if count <= _POOL_SIZE:
        return _POOL[start:start + count].reshape(shape).copy()
    return np.resize(_POOL[start:start + _POOL_SIZE], count).reshape(shape)


def fill(key: str, shape: tuple) -> np.ndarray:
    """Deterministic float32 values for one state_dict entry, scaled so that random nets
    keep O(1) activations: weights ~ N(0, 1/fan_in), norm scales ~ 1, running variances
    in [0.5, 1.5], other vectors small."""
    shape = tuple(shape)
    values = _normal(key, shape)
    if key.endswith("running_var"):
        return 1.0 + np.float32(0.5) * np.tanh(values)
    if len(shape) >= 2:
        values *= np.float32(1.0 / np.sqrt(max(1, int(np.prod(shape[1:])))))
        return values
    if key.endswith("weight"):  # norm scales
        return 1.0 + np.float32(0.1) * values
    return np.float32(0.1) * values


def inputs(name: str) -> list[np.ndarray]:
    rng = _rng(name, 1)
    return [rng.standard_normal(shape, dtype=np.float32) for shape in CASES[name][2]]


def projection(name: str, shape) -> np.ndarray:
    """The fixed upstream gradient for the main output (not all ones)."""
    return _rng(name, 2).standard_normal(tuple(shape), dtype=np.float32)


_TORCH_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_")


@contextlib.contextmanager
def _no_torch_init():
    """torch's random initialisation skipped while a model whose every floating state
    entry is then overwritten is built (Video Swin-B's trunc_normal_ alone takes ~10 s)."""
    saved = {name: getattr(torch.nn.init, name) for name in _TORCH_INITS}
    for name in _TORCH_INITS:
        setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def torchvision_model(builder: str, kwargs: dict):
    """torchvision's model from its builder. MViT's builders fix 16x224x224 clips; its
    ``spatial_size``/``temporal_size`` (ember's builders accept them) are passed through
    to the ``MViT`` class the builder constructs, as ember does."""
    mvit = load_torchvision().models.video.mvit
    kwargs = dict(kwargs)
    sizes = {k: kwargs.pop(k) for k in ("spatial_size", "temporal_size") if k in kwargs}
    original = mvit.MViT
    if sizes:
        mvit.MViT = lambda **options: original(**{**options, **sizes})
    try:
        return load_torchvision().models.get_model(builder, **kwargs)
    finally:
        mvit.MViT = original


def torchvision_layout(builder: str) -> tuple[list, int]:
    """(key, shape) list and parameter count of torchvision's full-size model, built on
    the meta device (shapes without memory or initialisation)."""
    with torch.device("meta"):
        model = torchvision_model(builder, STRUCTURE_KWARGS.get(builder, {}))
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    return keys, sum(p.numel() for p in model.parameters())


def list_torchvision_models(package: str) -> list[str]:
    models = load_torchvision().models
    return models.list_models(module=getattr(models, package))


def forward(model, name: str, tensors: list, lib) -> dict:
    """Run a case on ``model`` (an ember or a torchvision model; ``lib`` is ember or torch)
    and name its outputs; ``"main"`` is the one whose input gradient is compared."""
    if name == "s3d_features":
        return {"main": model.features(tensors[0])}
    if name == "s3d_head":
        return {"main": lib.mean(model.classifier(model.avgpool(tensors[0])), dim=(2, 3, 4))}
    if name.startswith("raft"):
        flows = model(*tensors, num_flow_updates=FLOW_UPDATES)
        return {"main": flows[-1], "first": flows[0]}
    out = model(*tensors)
    if isinstance(out, dict):
        return {"main": out["out"], **({"aux": out["aux"]} if "aux" in out else {})}
    return {"main": out}


def _run(model, name: str, arrays: list, lib, compare_grad: bool) -> tuple[dict, list, dict]:
    """Outputs, input gradient(s) and PARAM_GRADS' gradients of one case on ``model``
    (eval mode), as NumPy arrays. Only the listed parameters require grad: the rest of
    the weight gradients would cost time and are not compared."""
    model.eval()
    params = dict(model.named_parameters())
    model.requires_grad_(False)
    for key in PARAM_GRADS.get(name, []):
        params[key].requires_grad_(True)
    tensors = [lib.tensor(a, requires_grad=compare_grad) for a in arrays]
    with contextlib.nullcontext() if compare_grad else lib.no_grad():
        outs = forward(model, name, tensors, lib)
    values = {k: v.detach().numpy() for k, v in outs.items()}
    if not compare_grad:
        return values, None, {}
    main = outs["main"]
    (main * lib.from_numpy(projection(name, main.shape))).sum().backward()
    grads = {key: params[key].grad.numpy() for key in PARAM_GRADS.get(name, [])}
    return values, tensors[0].grad.numpy(), grads


def check(name: str, rtol: float | None = None, atol: float | None = None) -> None:
    """Build case ``name`` in torchvision with :func:`fill`'s weights, copy its state_dict
    into ember's model and compare layouts, outputs and gradients."""
    import ember
    import ember.vision.models as M

    builder, kwargs, _, compare_grad = CASES[name]
    with _no_torch_init():
        reference = torchvision_model(builder, kwargs)
    # assign: the filled arrays become the parameters (no copy into the unfilled memory)
    reference.load_state_dict({k: torch.from_numpy(fill(k, v.shape))
                               if v.is_floating_point() else v
                               for k, v in reference.state_dict().items()}, assign=True)
    state = reference.state_dict()
    model = M.get_model(builder, **kwargs)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == \
        [[k, list(v.shape)] for k, v in state.items()]
    model.load_state_dict({k: ember.from_numpy(v.numpy()) for k, v in state.items()})
    arrays = inputs(name)
    expected = _run(reference, name, arrays, torch, compare_grad)
    actual = _run(model, name, arrays, ember, compare_grad)
    assert sorted(actual[0]) == sorted(expected[0])
    pairs = [*zip(actual[0].values(), (expected[0][k] for k in actual[0])),
             (actual[1], expected[1]),
             *zip(actual[2].values(), (expected[2][k] for k in actual[2]))]
    for got, want in pairs:
        if want is None:
            continue
        torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(want),
                                   rtol=rtol, atol=atol)


def _preset_inputs() -> dict:
    """uint8 inputs for the inference presets (smaller sizes than the weights' own)."""
    rng = _rng("presets")
    return {"image": rng.integers(0, 256, (3, 30, 40), dtype=np.uint8),
            "clip": rng.integers(0, 256, (2, 4, 3, 30, 40), dtype=np.uint8),
            "pair": rng.integers(0, 256, (2, 3, 16, 24), dtype=np.uint8)}


def run_presets(seg_cls, video_cls, flow_cls, lib) -> dict:
    """Outputs of the three inference presets (torchvision's or ember's), as NumPy arrays
    of the presets' dtypes."""
    data = {k: lib.from_numpy(v) for k, v in _preset_inputs().items()}
    flow1, flow2 = flow_cls()(data["pair"][0], data["pair"][1])
    outs = {"segmentation": seg_cls(resize_size=24)(data["image"]),
            "segmentation_batched": seg_cls(resize_size=20)(data["image"][None]),
            "video": video_cls(crop_size=(16, 18), resize_size=(20, 26))(data["clip"]),
            "video_single": video_cls(crop_size=(16, 16), resize_size=(18,))(data["clip"][0]),
            "flow1": flow1, "flow2": flow2}
    return {k: v.numpy() for k, v in outs.items()}


@functools.cache
def torchvision_presets() -> dict:
    """torchvision's presets on the same inputs, computed once per process."""
    load_torchvision()
    from torchvision.transforms._presets import (
        OpticalFlow,
        SemanticSegmentation,
        VideoClassification,
    )

    return run_presets(SemanticSegmentation, VideoClassification, OpticalFlow, torch)


@functools.cache
def ember_presets() -> dict:
    """ember's presets, computed once per process (each test file compares a part)."""
    import ember
    from ember.vision.models.optical_flow._utils import OpticalFlow
    from ember.vision.models.segmentation._utils import SemanticSegmentation
    from ember.vision.models.video._utils import VideoClassification

    return run_presets(SemanticSegmentation, VideoClassification, OpticalFlow, ember)
