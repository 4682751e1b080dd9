"""testing.assert_allclose (deprecated): same verdicts, messages and warning as torch's."""

from __future__ import annotations

import re

import pytest
import torch

import ember

WARNING = re.escape("`torch.testing.assert_allclose()` is deprecated since 1.12")

CASES = [
    (lambda lib: (lib.ones(2), lib.ones(2)), {}),
    (lambda lib: (lib.ones(2), lib.ones(2) + 1e-3), {}),
    (lambda lib: (lib.ones(2), lib.ones(2) + 5e-5), {}),  # within 1e-4 rtol, not 1.3e-6
    (lambda lib: (lib.ones(2), [1, 1]), {}),
    (lambda lib: (lib.ones(2), lib.ones(2, dtype=lib.float64) + 5e-5), {}),
    (lambda lib: (lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64) + 5e-5), {}),
    (lambda lib: (lib.ones(2), lib.ones(3)), {}),
    (lambda lib: (lib.tensor([float("nan")]), lib.tensor([float("nan")])), {}),
    (lambda lib: (lib.tensor([float("nan")]), lib.tensor([float("nan")])), {"equal_nan": False}),
    (lambda lib: (lib.ones(2), lib.ones(2) + 1e-3), {"rtol": 1e-2}),
    (lambda lib: (lib.ones(2), lib.ones(2) + 1e-3), {"rtol": 1e-2, "atol": 0.0}),
    (lambda lib: (1.0, 1.0), {}),
    (lambda lib: (lib.ones(2, dtype=lib.int64), 1.0), {}),
    (lambda lib: (lib.arange(3), [0, 1, 3]), {}),
    (lambda lib: (lib.ones(2), lib.zeros(2)), {"msg": "custom words"}),
]


@pytest.mark.parametrize("make,kwargs", CASES)
def test_assert_allclose_matches_torch(make, kwargs):
    outcomes = []
    for lib in (torch, ember):
        with pytest.warns(FutureWarning, match=WARNING):
            try:
                lib.testing.assert_allclose(*make(lib), **kwargs)
                outcomes.append(None)
            except (AssertionError, ValueError) as exc:
                outcomes.append((type(exc), str(exc)))
    assert outcomes[1] == outcomes[0]
