"""ember.vision.models: state_dict keys, shapes and parameter counts equal torchvision's,
outputs match torchvision's own models on copied weights, weight enums load from the cache
or download.

Expected layouts come from torchvision 0.28 itself (built on the meta device); expected
counts are torchvision's documented ``num_params``.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
import warnings

import numpy as np
import pytest
import torch
from vision.torch_models import no_torch_init, tv_layout, tv_models, tv_reference

import ember
from ember.nn import init
from ember.vision import models as M
from ember.vision.models.densenet import _rename_old_keys

ARCHS = [
    # builder, documented num_params, (name, shape) spot checks; the layout is torchvision's
    ("resnet18", 11689512,
     [("fc.weight", (1000, 512)), ("layer2.0.downsample.0.weight", (128, 64, 1, 1))]),
    ("resnet34", 21797672, []),
    ("resnet50", 25557032,
     [("layer1.0.downsample.0.weight", (256, 64, 1, 1)), ("fc.weight", (1000, 2048))]),
    ("resnet101", 44549160, []),
    ("resnet152", 60192808, []),
    ("resnext50_32x4d", 25028904,
     [("layer1.0.conv2.weight", (128, 4, 3, 3))]),
    ("resnext101_32x8d", 88791336,
     [("layer1.0.conv2.weight", (256, 8, 3, 3))]),
    ("resnext101_64x4d", 83455272,
     [("layer1.0.conv2.weight", (256, 4, 3, 3))]),
    ("wide_resnet50_2", 68883240,
     [("layer1.0.conv2.weight", (128, 128, 3, 3))]),
    ("wide_resnet101_2", 126886696, []),
    ("alexnet", 61100840, [("classifier.1.weight", (4096, 9216))]),
    ("vgg11", 132863336, [("classifier.0.weight", (4096, 25088))]),
    ("vgg11_bn", 132868840, []),
    ("vgg13", 133047848, []),
    ("vgg13_bn", 133053736, []),
    ("vgg16", 138357544, []),
    ("vgg16_bn", 138365992, []),
    ("vgg19", 143667240, []),
    ("vgg19_bn", 143678248, []),
    ("mobilenet_v2", 3504872,
     [("features.2.conv.1.0.weight", (96, 1, 3, 3)), ("classifier.1.weight", (1000, 1280))]),
    ("mobilenet_v3_large", 5483032,
     [("features.4.block.2.fc1.weight", (24, 72, 1, 1)),
      ("classifier.0.weight", (1280, 960))]),
    ("mobilenet_v3_small", 2542856,
     [("features.1.block.1.fc1.weight", (8, 16, 1, 1)),
      ("classifier.0.weight", (1024, 576))]),
    ("squeezenet1_0", 1248424, [("features.0.weight", (96, 3, 7, 7))]),
    ("squeezenet1_1", 1235496, [("features.0.weight", (64, 3, 3, 3))]),
    ("densenet121", 7978856,
     [("classifier.weight", (1000, 1024))]),
    ("densenet161", 28681000, []),
    ("densenet169", 14149480, []),
    ("densenet201", 20013928, []),
    ("efficientnet_b0", 5288548,
     [("features.1.0.block.1.fc1.weight", (8, 32, 1, 1)),
      ("classifier.1.weight", (1000, 1280))]),
    ("vit_b_16", 86567656,
     [("encoder.pos_embedding", (1, 197, 768)), ("conv_proj.weight", (768, 3, 16, 16)),
      ("encoder.layers.encoder_layer_0.self_attention.in_proj_weight", (2304, 768))]),
]


@pytest.mark.parametrize("name,num_params,shapes", ARCHS, ids=[a[0] for a in ARCHS])
def test_state_dict_keys_and_param_count(no_init, name, num_params, shapes):
    model = M.get_model(name)
    state = model.state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == tv_layout(name)
    assert sum(p.numel() for p in model.parameters()) == num_params
    for key, shape in shapes:
        assert tuple(state[key].shape) == shape
    weights = M.get_model_weights(name)
    assert weights.DEFAULT.meta["num_params"] == num_params
    assert name in M.list_models()


FORWARD = [
    # builder, kwargs, input size, whether real init is cheap enough to keep
    ("resnet18", {}, 64, True),
    ("resnet50", {"num_classes": 10}, 64, False),
    ("resnext50_32x4d", {"num_classes": 10}, 32, False),
    ("alexnet", {"num_classes": 7}, 64, False),
    ("vgg11_bn", {"num_classes": 7}, 32, False),
    ("squeezenet1_0", {"num_classes": 5}, 64, True),
    ("squeezenet1_1", {"num_classes": 5}, 64, True),
    ("mobilenet_v2", {"num_classes": 5}, 64, True),
    ("mobilenet_v3_large", {"num_classes": 5}, 64, True),
    ("mobilenet_v3_small", {"num_classes": 5}, 64, True),
    ("densenet121", {"num_classes": 5}, 32, True),
    ("efficientnet_b0", {"num_classes": 5}, 64, True),
]


def _zero_fill(tensor, *args, **kwargs):
    with ember.no_grad():
        tensor.zero_()
    return tensor


@pytest.mark.parametrize("name,kwargs,size,real_init", FORWARD, ids=[f[0] for f in FORWARD])
def test_forward_shapes(monkeypatch, name, kwargs, size, real_init):
    if not real_init:
        for fn in ("normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
                   "trunc_normal_", "uniform_"):
            monkeypatch.setattr(init, fn, _zero_fill)
    model = M.get_model(name, **kwargs).eval()
    with ember.no_grad():
        out = model(ember.randn(2, 3, size, size))
    assert tuple(out.shape) == (2, kwargs.get("num_classes", 1000))
    assert out.dtype == ember.float32
    if real_init:
        assert bool(ember.isfinite(out).all())


def test_mobilenet_v3_small_trains():
    """Train mode: BN batch stats, dropout, every parameter receives a gradient."""
    model = M.mobilenet_v3_small(num_classes=3)
    loss = model(ember.randn(2, 3, 32, 32)).sum()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_efficientnet_stochastic_depth_probabilities():
    model = M.efficientnet_b0()
    probs = [m.stochastic_depth.p for m in model.modules() if hasattr(m, "stochastic_depth")]
    assert probs == pytest.approx([0.2 * i / 16 for i in range(16)])


def test_vit_rejects_wrong_size_and_small_config_runs():
    model = M.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                hidden_dim=16, mlp_dim=32, num_classes=4)
    assert model(ember.randn(3, 3, 32, 32)).shape == (3, 4)
    with pytest.raises(ValueError, match="Wrong image height! Expected 32 but got 16!"):
        model(ember.randn(1, 3, 16, 32))
    with pytest.raises(ValueError, match="Input shape indivisible by patch size!"):
        M.VisionTransformer(30, 8, 1, 1, 8, 8)


def _copy_torch_into_ember(torch_model, ember_model):
    state = {k: ember.from_numpy(v.detach().numpy().copy())
             for k, v in torch_model.state_dict().items()}
    ember_model.load_state_dict(state)


def test_resnet18_matches_torch(no_init):
    """Same weights in: same logits (eval) and, in float64 so BN's batch statistics on a
    tiny batch do not amplify rounding, the same parameter gradients and running stats."""
    torch_model = tv_reference(lambda tv: tv.resnet18(num_classes=10)).double()
    ember_model = M.resnet18(num_classes=10).double()
    _copy_torch_into_ember(torch_model, ember_model)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16))
    torch_model.eval()
    ember_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-7)

    torch_model.train()
    ember_model.train()
    upstream = np.random.default_rng(1).standard_normal((2, 10))
    torch_model(torch.from_numpy(x)).backward(torch.from_numpy(upstream))
    ember_model(ember.from_numpy(x)).backward(ember.from_numpy(upstream))
    ember_params = dict(ember_model.named_parameters())
    for name, p in torch_model.named_parameters():
        # BN over 2 values per channel deep in the net cancels large terms; judge each
        # gradient relative to its own scale.
        scale = float(p.grad.abs().max())
        np.testing.assert_allclose(ember_params[name].grad.numpy(), p.grad.numpy(),
                                   rtol=1e-6, atol=1e-7 * scale, err_msg=name)
    ember_buffers = dict(ember_model.named_buffers())
    for name, b in torch_model.named_buffers():
        np.testing.assert_allclose(ember_buffers[name].numpy(), b.numpy(), rtol=1e-7,
                                   atol=1e-9, err_msg=name)


def test_resnet50_matches_torch_eval(no_init):
    torch_model = tv_reference(lambda tv: tv.resnet50(num_classes=10)).eval()
    ember_model = M.resnet50(num_classes=10).eval()
    _copy_torch_into_ember(torch_model, ember_model)
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# -- weights enums and loading --------------------------------------------------------------

def test_weights_enum_api():
    W = M.ResNet50_Weights
    assert [w.name for w in W] == ["IMAGENET1K_V1", "IMAGENET1K_V2"]
    assert W.DEFAULT is W.IMAGENET1K_V2 and W["DEFAULT"] is W.IMAGENET1K_V2
    assert M.ResNet18_Weights.DEFAULT is M.ResNet18_Weights.IMAGENET1K_V1
    assert W.IMAGENET1K_V1.url == "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    assert repr(W.IMAGENET1K_V1) == "ResNet50_Weights.IMAGENET1K_V1"
    assert W.verify("IMAGENET1K_V1") is W.IMAGENET1K_V1
    assert W.verify("ResNet50_Weights.IMAGENET1K_V2") is W.IMAGENET1K_V2
    with pytest.raises(ValueError, match="Failed to find Weights NOPE in ResNet50_Weights"):
        W.verify("NOPE")
    with pytest.raises(TypeError, match="expected ResNet50_Weights"):
        W.verify(M.ResNet18_Weights.IMAGENET1K_V1)
    assert M.get_weight("ResNet50_Weights.IMAGENET1K_V1") is W.IMAGENET1K_V1
    assert M.get_model_weights("resnet50") is W
    assert W.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 76.130
    with pytest.raises(ValueError, match="Unknown model nope"):
        M.get_model("nope")


def test_weights_transforms_preset():
    preset = M.ResNet50_Weights.IMAGENET1K_V2.transforms()
    assert preset.resize_size == [232] and preset.crop_size == [224]
    img = ember.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 240, 320),
                                                             dtype=np.uint8))
    out = preset(img)
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == ember.float32
    # Same pipeline in torch: antialiased bilinear resize, center crop, normalize.
    t = torch.from_numpy(img.numpy()).float()[None] / 255
    t = torch.nn.functional.interpolate(t, size=(232, 309), mode="bilinear",
                                        align_corners=False, antialias=True)
    t = t[..., 4:228, 42:266]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    np.testing.assert_allclose(out.numpy(), ((t - mean) / std)[0].numpy(), atol=1e-4)
    from PIL import Image

    pil = Image.fromarray(img.numpy().transpose(1, 2, 0))
    np.testing.assert_allclose(preset(pil).numpy(), out.numpy(), atol=1e-6)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty, private cache: EMBER_HOME / TORCH_HOME / XDG cache all under tmp_path."""
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "ember_home"))
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _torch_checkpoint(path):
    model = tv_reference("resnet18")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(model.state_dict(), path)
    return model


def _same_logits(torch_model, ember_model):
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    torch_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model.eval()(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("home_var", ["TORCH_HOME", "XDG_torch"])
def test_weights_load_from_torch_hub_cache(hub, monkeypatch, home_var, no_init):
    if home_var == "TORCH_HOME":
        monkeypatch.setenv("TORCH_HOME", str(hub / "torch_home"))
        folder = hub / "torch_home" / "hub" / "checkpoints"
    else:
        folder = hub / "xdg" / "torch" / "hub" / "checkpoints"
    torch_model = _torch_checkpoint(str(folder / "resnet18-f37072fd.pth"))
    model = M.resnet18(weights=M.ResNet18_Weights.IMAGENET1K_V1)
    _same_logits(torch_model, model)
    expected = {k: v.numpy() for k, v in torch_model.state_dict().items()}
    with warnings.catch_warnings(record=True):
        legacy = M.resnet18(pretrained=True)
    for other in (legacy, M.resnet18(weights="DEFAULT", progress=False)):
        for key, value in other.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), expected[key], err_msg=key)


class _FileHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FileHandler)
    httpd.files = {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_weights_download_into_cache_with_hash_check(hub, server, monkeypatch, tmp_path,
                                                    no_init):
    torch_model = _torch_checkpoint(str(tmp_path / "ckpt.pth"))
    body = (tmp_path / "ckpt.pth").read_bytes()
    prefix = hashlib.sha256(body).hexdigest()[:8]
    server.files[f"/models/resnet18-{prefix}.pth"] = body
    server.files["/models/resnet18-deadbeef.pth"] = body
    value = M.ResNet18_Weights.IMAGENET1K_V1.value
    monkeypatch.setattr(value, "url", f"{server.url}/models/resnet18-{prefix}.pth")
    model = M.resnet18(weights=M.ResNet18_Weights.IMAGENET1K_V1, progress=False)
    _same_logits(torch_model, model)
    assert (hub / "ember_home" / "hub" / "checkpoints" / f"resnet18-{prefix}.pth").exists()
    monkeypatch.setattr(value, "url", f"{server.url}/models/resnet18-deadbeef.pth")
    with pytest.raises(RuntimeError, match='invalid hash value .expected "deadbeef"'):
        M.resnet18(weights=M.ResNet18_Weights.IMAGENET1K_V1, progress=False)


def test_weights_missing_and_offline_is_a_clear_error(hub, monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    value = M.ResNet18_Weights.IMAGENET1K_V1.value
    monkeypatch.setattr(value, "url", f"http://127.0.0.1:{port}/resnet18-f37072fd.pth")
    with pytest.raises(RuntimeError) as info:
        M.resnet18(weights=M.ResNet18_Weights.IMAGENET1K_V1)
    text = str(info.value)
    assert "resnet18-f37072fd.pth was not found in" in text
    assert str(hub / "ember_home" / "hub" / "checkpoints") in text
    assert f"could not be downloaded from http://127.0.0.1:{port}/" in text


def test_num_classes_must_agree_with_weights():
    with pytest.raises(ValueError) as info:
        M.resnet18(weights=M.ResNet18_Weights.IMAGENET1K_V1, num_classes=10)
    assert str(info.value) == ("The parameter 'num_classes' expected value 1000 but got 10 "
                               "instead.")


def test_densenet_old_checkpoint_keys_are_renamed():
    old = {"features.denseblock1.denselayer1.norm.1.weight": 1,
           "features.denseblock2.denselayer3.conv.2.weight": 2,
           "features.norm0.weight": 3}
    assert list(_rename_old_keys(old)) == ["features.denseblock1.denselayer1.norm1.weight",
                                           "features.denseblock2.denselayer3.conv2.weight",
                                           "features.norm0.weight"]


# -- forward semantics vs torchvision's models ----------------------------------------------

@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0"])
def test_mobile_architectures_match_torch(no_init, name):
    """Loading the PyTorch model's state_dict needs identical keys and shapes; equal
    eval-mode logits then confirm strides, paddings, activations, SE gates, residuals."""
    torch_model = tv_reference(lambda tv: tv.get_model(name, num_classes=6)).eval()
    ember_model = M.get_model(name, num_classes=6).eval()
    _copy_torch_into_ember(torch_model, ember_model)
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_vit_matches_torch_transformer_layers(no_init):
    """A small ViT against torch's pre-norm TransformerEncoderLayer stack (same math,
    keys mapped: ln_1->norm1, self_attention->self_attn, mlp.0/3->linear1/2, ln_2->norm2)."""
    torch.manual_seed(0)
    hidden, layers, heads, mlp, patch, size = 32, 2, 4, 64, 8, 32
    conv = torch.nn.Conv2d(3, hidden, patch, patch)
    enc = torch.nn.ModuleList(
        torch.nn.TransformerEncoderLayer(hidden, heads, mlp, dropout=0.0, activation="gelu",
                                         layer_norm_eps=1e-6, batch_first=True,
                                         norm_first=True) for _ in range(layers))
    ln, head = torch.nn.LayerNorm(hidden, eps=1e-6), torch.nn.Linear(hidden, 5)
    cls_token = torch.randn(1, 1, hidden)
    pos = torch.randn(1, (size // patch) ** 2 + 1, hidden) * 0.02
    state = {"class_token": cls_token, "conv_proj.weight": conv.weight,
             "conv_proj.bias": conv.bias, "encoder.pos_embedding": pos,
             "encoder.ln.weight": ln.weight, "encoder.ln.bias": ln.bias,
             "heads.head.weight": head.weight, "heads.head.bias": head.bias}
    names = {"norm1": "ln_1", "norm2": "ln_2", "self_attn": "self_attention",
             "linear1": "mlp.0", "linear2": "mlp.3"}
    for i, layer in enumerate(enc):
        for key, value in layer.state_dict().items():
            first, rest = key.split(".", 1)
            state[f"encoder.layers.encoder_layer_{i}.{names[first]}.{rest}"] = value
    model = M.VisionTransformer(size, patch, layers, heads, hidden, mlp, num_classes=5).eval()
    model.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                           for k, v in state.items()})
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        tokens = conv(torch.from_numpy(x)).flatten(2).transpose(1, 2)
        tokens = torch.cat([cls_token.expand(2, -1, -1), tokens], 1) + pos
        for layer in enc:
            layer.train()  # the slow path: same math as the fused inference kernel
            tokens = layer(tokens)
        expected = head(ln(tokens)[:, 0]).numpy()
    with ember.no_grad():
        got = model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ember_builder,torch_builder,size", [
    (M.mobilenet_v2, lambda tv, num_classes: tv.mobilenet_v2(num_classes=num_classes), 64),
    (M.squeezenet1_1, lambda tv, num_classes: tv.squeezenet1_1(num_classes=num_classes), 64),
    # a narrow DenseNet: same code path as densenet121 (whose keys are checked above)
    (lambda num_classes: M.DenseNet(8, (2, 3, 2), 16, num_classes=num_classes),
     lambda tv, num_classes: tv.DenseNet(8, (2, 3, 2), 16, num_classes=num_classes), 32),
], ids=["mobilenet_v2", "squeezenet1_1", "densenet"])
def test_more_architectures_match_torch(no_init, ember_builder, torch_builder, size):
    torch_model = tv_reference(lambda tv: torch_builder(tv, num_classes=6)).eval()
    ember_model = ember_builder(num_classes=6).eval()
    _copy_torch_into_ember(torch_model, ember_model)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = ember_model(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_pretrained_flag_is_deprecated_and_means_v1(hub, monkeypatch):
    value = M.ResNet50_Weights.IMAGENET1K_V1.value
    monkeypatch.setattr(value, "url", "http://127.0.0.1:9/resnet50-0676ba61.pth")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="resnet50-0676ba61.pth was not found"):
            M.resnet50(pretrained=True)
    texts = [str(w.message) for w in caught]
    assert texts[0].startswith("The parameter 'pretrained' is deprecated since 0.13")
    assert "equivalent to passing `weights=ResNet50_Weights.IMAGENET1K_V1`" in texts[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert M.resnet18(pretrained=False, num_classes=3).fc.out_features == 3
    assert len(caught) == 1


def test_ember_checkpoint_loads_into_torch_resnet(tmp_path):
    """The reverse direction: ember.save(model.state_dict()) is a torchvision-layout file."""
    model = M.resnet18(num_classes=4).eval()
    ember.save(model.state_dict(), tmp_path / "r18.pth")
    with no_torch_init():  # the weights are loaded next
        torch_model = tv_models().resnet18(num_classes=4)
    torch_model.load_state_dict(torch.load(tmp_path / "r18.pth", weights_only=True))
    _same_logits(torch_model, model)
