"""Shared by the segmentation/video/optical-flow model tests and by ``make_golden.py``.

torchvision is not a test dependency, so its outputs are recorded once: ``make_golden.py``
runs torchvision 0.28's own model code (its Python modules, on the local torch; these
models need none of its C ops) with weights from :func:`fill`, and stores, per case, the
outputs, the gradient of a fixed projection of the main output with respect to the
input, and torchvision's state_dict layout. The tests rebuild the same weights with
:func:`fill` for ember's model and compare.
"""

from __future__ import annotations

import json
import os
import zlib

import numpy as np

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "golden")

# name -> (builder, kwargs, input shapes). Small widths/inputs keep the tests fast; the
# full-size layout is checked separately through STRUCTURE.
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
# parameters whose gradients (under the same upstream gradient) are recorded too
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

# every builder at its default size: torchvision's (key, shape) list and parameter count
STRUCTURE = {
    "segmentation": ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50",
                     "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
                     "lraspp_mobilenet_v3_large"],
    "video": ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s", "swin3d_t",
              "swin3d_s", "swin3d_b"],
    "optical_flow": ["raft_large", "raft_small"],
}
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


def path(name: str) -> str:
    return os.path.join(GOLDEN_DIR, f"{name}.npz")


def load(name: str) -> dict:
    with np.load(path(name)) as data:
        record = {k: data[k] for k in data.files}
    record["keys"] = json.loads(str(record["keys"]))
    return record


def load_structure() -> dict:
    with open(os.path.join(GOLDEN_DIR, "structure.json")) as f:
        return json.load(f)


def forward(model, name: str, tensors: list, lib) -> dict:
    """Run a case on ``model`` (an ember or a torchvision model; ``lib`` is ember or torch)
    and name its outputs; ``"main"`` is the one whose input gradient is recorded."""
    if name == "s3d_features":
        return {"main": model.features(tensors[0])}
    if name == "s3d_head":
        return {"main": lib.mean(model.classifier(model.avgpool(tensors[0])), dim=(2, 3, 4))}
    if name.startswith("raft"):
        flows = model(*tensors, num_flow_updates=FLOW_UPDATES)
        # the first estimate subsampled 4x: enough to pin it, small to store
        return {"main": flows[-1], "first": flows[0][..., ::4, ::4]}
    out = model(*tensors)
    if isinstance(out, dict):
        return {"main": out["out"], **({"aux": out["aux"]} if "aux" in out else {})}
    return {"main": out}


def check(name: str, rtol: float | None = None, atol: float | None = None) -> None:
    """Build ember's model for case ``name`` with :func:`fill`'s weights, compare its
    state_dict layout, outputs (eval mode) and input gradient with torchvision's."""
    import torch

    import ember
    import ember.vision.models as M

    builder, kwargs, _, compare_grad = CASES[name]
    model = M.get_model(builder, **kwargs)
    state = model.state_dict()
    model.load_state_dict({k: ember.from_numpy(fill(k, v.shape)) if v.is_floating_point()
                           else v for k, v in state.items()})
    model.eval()
    # the input's gradient is compared, and the listed parameters' (sparing the time of
    # every weight gradient)
    params = dict(model.named_parameters())
    model.requires_grad_(False)
    for key in PARAM_GRADS.get(name, []):
        params[key].requires_grad_(True)
    record = load(name)
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == record["keys"]
    tensors = [ember.tensor(a, requires_grad=True) for a in inputs(name)]
    if compare_grad:
        outs = forward(model, name, tensors, ember)
    else:
        with ember.no_grad():
            outs = forward(model, name, tensors, ember)
    assert sorted(outs) == sorted(k for k in record
                                  if k not in ("keys", "grad") and not k.startswith("pgrad"))
    for key, value in outs.items():
        torch.testing.assert_close(torch.from_numpy(value.detach().numpy()),
                                   torch.from_numpy(record[key]), rtol=rtol, atol=atol)
    if not compare_grad:
        return
    main = outs["main"]
    (main * ember.from_numpy(projection(name, main.shape))).sum().backward()
    grad = tensors[0].grad.numpy()
    if name.startswith("raft"):
        grad = grad[..., ::4, ::4]
    torch.testing.assert_close(torch.from_numpy(grad), torch.from_numpy(record["grad"]),
                               rtol=rtol, atol=atol)
    for i, key in enumerate(PARAM_GRADS.get(name, [])):
        torch.testing.assert_close(torch.from_numpy(params[key].grad.numpy()),
                                   torch.from_numpy(record[f"pgrad_{i}"]), rtol=rtol, atol=atol)


def preset_inputs() -> dict:
    """uint8 inputs for the inference presets (smaller sizes than the weights' own)."""
    rng = _rng("presets")
    return {"image": rng.integers(0, 256, (3, 30, 40), dtype=np.uint8),
            "clip": rng.integers(0, 256, (2, 4, 3, 30, 40), dtype=np.uint8),
            "pair": rng.integers(0, 256, (2, 3, 16, 24), dtype=np.uint8)}


def run_presets(seg_cls, video_cls, flow_cls, lib) -> dict:
    """Outputs of torchvision's three presets (or ember's) on :func:`preset_inputs`."""
    data = {k: lib.from_numpy(v) for k, v in preset_inputs().items()}
    flow1, flow2 = flow_cls()(data["pair"][0], data["pair"][1])
    return {"segmentation": seg_cls(resize_size=24)(data["image"]),
            "segmentation_batched": seg_cls(resize_size=20)(data["image"][None]),
            "video": video_cls(crop_size=(16, 18), resize_size=(20, 26))(data["clip"]),
            "video_single": video_cls(crop_size=(16, 16), resize_size=(18,))(data["clip"][0]),
            "flow1": flow1, "flow2": flow2}
