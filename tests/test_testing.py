"""ember.testing.assert_close against torch.testing.assert_close: what passes, what
fails, and the failure messages."""

import numpy as np
import pytest
import torch

import ember

CASES = [
    ("equal", lambda lib: (lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.0])), {}),
    ("within_default", lambda lib: (lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.0 + 1e-6])), {}),
    ("float_mismatch", lambda lib: (lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.5])), {}),
    ("int_mismatch", lambda lib: (lib.tensor([1, 2]), lib.tensor([1, 3])), {}),
    ("dtype", lambda lib: (lib.ones(2), lib.ones(2, dtype=lib.float64)), {}),
    ("dtype_unchecked", lambda lib: (lib.ones(2), lib.ones(2, dtype=lib.float64)),
     {"check_dtype": False}),
    ("shape", lambda lib: (lib.ones(2), lib.ones(3)), {}),
    ("scalars", lambda lib: (1.0, 1.1), {}),
    ("int_scalars", lambda lib: (3, 3), {}),
    ("zero_dim", lambda lib: (lib.tensor(1.0), lib.tensor(1.5)), {}),
    ("custom_tolerance", lambda lib: (lib.ones(2, 2), lib.ones(2, 2) + 1e-3),
     {"rtol": 0, "atol": 1e-2}),
    ("custom_tolerance_fails", lambda lib: (lib.ones(2, 2), lib.ones(2, 2) + 1e-3),
     {"rtol": 0, "atol": 1e-4}),
    ("msg", lambda lib: (lib.ones(3, 2), lib.ones(3, 2) * 1.1), {"msg": "custom"}),
    ("nan", lambda lib: (lib.tensor([float("nan")]), lib.tensor([float("nan")])), {}),
    ("equal_nan", lambda lib: (lib.tensor([float("nan")]), lib.tensor([float("nan")])),
     {"equal_nan": True}),
    ("sequence", lambda lib: ([lib.ones(2), lib.zeros(1)], [lib.ones(2), lib.zeros(1)]), {}),
    ("sequence_length", lambda lib: ([lib.ones(2)], [lib.ones(2), lib.ones(2)]), {}),
    ("mapping", lambda lib: ({"a": lib.ones(2)}, {"a": lib.ones(2) * 2}), {}),
    ("bool", lambda lib: (lib.tensor([True, False]), lib.tensor([True, True])), {}),
    ("bfloat16", lambda lib: (lib.ones(3, dtype=lib.bfloat16),
                              lib.full((3,), 1.01, dtype=lib.bfloat16)), {}),
    ("numpy_vs_tensor", lambda lib: (np.ones(2), lib.ones(2)), {}),
    ("numpy_arrays", lambda lib: (np.ones(2), np.ones(2) + 1e-3), {}),
    ("tensor_vs_number", lambda lib: (lib.ones(()), 1.0), {}),
]


def _outcome(lib, build, kwargs):
    actual, expected = build(lib)
    try:
        lib.testing.assert_close(actual, expected, **kwargs)
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error).__name__, str(error)
    return "passed", ""


@pytest.mark.parametrize("name, build, kwargs", CASES, ids=[c[0] for c in CASES])
def test_assert_close_like_torch(name, build, kwargs):
    ours = _outcome(ember, build, kwargs)
    theirs = _outcome(torch, build, kwargs)
    assert ours[0] == theirs[0], (ours, theirs)
    if theirs[0] == "AssertionError" and not name.startswith(("sequence", "mapping")):
        assert ours[1] == theirs[1]


def test_tolerances_must_come_in_pairs():
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        ember.testing.assert_close(ember.ones(1), ember.ones(1), rtol=1e-3)
