"""ember.vision.models.detection against torchvision 0.28 on the oracle torch.

Each case in ``_cases.py`` is written against the PyTorch API; ``_make_golden.py`` ran it
with torch + torchvision (its Python sources, nms standing in for the C op) and saved
the results in ``golden.npz``; here the same case runs on ember with the same seeded
inputs and weights. The balanced sampler is made deterministic in both runs so the
training losses and gradients are comparable value for value.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from vision.models.detection import _cases as C

import ember
import ember.vision.models.detection as det
from ember.vision import models, ops

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden.npz"))


def golden(prefix: str) -> dict:
    return {k.split("/", 1)[1]: GOLDEN[k] for k in GOLDEN.files if k.startswith(prefix + "/")}


def assert_matches(result: dict, prefix: str, rtol=1.3e-6, atol=1e-5, loose=()) -> None:
    """Same keys, shapes, dtypes and values as torchvision's; names in ``loose`` get
    rtol/atol 1e-4 (values that went through a few float32 layers)."""
    expected = golden(prefix)
    assert sorted(result) == sorted(expected)
    for key, want in expected.items():
        got = np.asarray(result[key])
        assert got.shape == want.shape, (key, got.shape, want.shape)
        assert got.dtype == want.dtype, (key, got.dtype, want.dtype)
        if want.dtype.kind in "US":
            assert (got == want).all(), (key, got, want)
            continue
        tol = (1e-4, 1e-4) if key in loose else (rtol, atol)
        np.testing.assert_allclose(got, want, rtol=tol[0], atol=tol[1], err_msg=key)


@pytest.fixture
def fixed_sampler(monkeypatch):
    monkeypatch.setattr(det._utils.BalancedPositiveNegativeSampler, "__call__",
                        C.deterministic_sampler(ember))


def test_anchor_generators():
    assert_matches(C.case_anchors(ember, det), "anchors")


def test_box_coders():
    assert_matches(C.case_box_coder(ember, det), "box_coder")


def test_matchers_and_random_sampler():
    # the real (randperm) sampler: counts and validity equal torchvision's
    assert_matches(C.case_matcher(ember, det, ops), "matcher")


def test_transform_resize_batch_postprocess():
    assert_matches(C.case_transform(ember, det), "transform", loose=("post_masks",))


def test_rpn_proposals_losses_and_grads(fixed_sampler):
    assert_matches(C.case_rpn(ember, det, ops), "rpn",
                   loose=("grad_cls", "grad_conv", "loss_objectness", "loss_rpn_box_reg"))


def test_roi_heads_box_mask_keypoint(fixed_sampler):
    assert_matches(C.case_roi_heads(ember, det, ops), "roi_heads",
                   loose=("eval0_masks", "eval1_masks", "eval0_keypoints_scores",
                          "eval1_keypoints_scores", "grad_cls", "grad_mask", "grad_kp",
                          "loss_classifier", "loss_box_reg", "loss_mask", "loss_keypoint"))


@pytest.mark.parametrize("kind", ["faster", "mask", "keypoint"])
def test_model_end_to_end(kind, fixed_sampler):
    result = C.case_model(ember, det, ops, models, kind)
    expected = golden(f"model_{kind}")
    loose = tuple(k for k in expected if k != "loss_keys")
    assert_matches(result, f"model_{kind}", loose=loose)


@pytest.mark.parametrize("name", C.BUILDERS)
def test_builder_layout(name, no_init):
    """Parameter count, trainable count and state_dict layout (keys and shapes) equal
    torchvision's for each builder."""
    assert_matches(C.case_builder(ember, det, name), f"builder_{name}")
