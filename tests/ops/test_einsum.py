"""einsum (_ops/einsum.py) in bfloat16 against PyTorch: NumPy's einsum turns ml_dtypes'
bfloat16 into float32 (or refuses one operand), torch keeps bfloat16; autocast's
einsum and tensordot depend on it."""

import numpy as np
import pytest
import oracle
from oracle import check, randn


@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij->j", [(3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("ii", [(3, 3)]),
])
def test_einsum_keeps_bfloat16(equation, shapes):
    check(lambda lib, *ops: lib.einsum(equation, *[o.to(lib.bfloat16) for o in ops]),
          *[randn(*s) for s in shapes], rtol=2e-2, atol=2e-2)


def test_tensordot_keeps_bfloat16():
    check(lambda lib, a, b: lib.tensordot(a.to(lib.bfloat16), b.to(lib.bfloat16), dims=1),
          randn(3, 4), randn(4, 5), rtol=2e-2, atol=2e-2)


def test_einsum_under_autocast_is_bfloat16():
    """On the inputs' device: cpu autocast's bfloat16, cuda autocast's float16 (CuPy has
    no bfloat16)."""
    check(lambda lib, a, b: _autocast(lib, a.device.type, lambda: lib.einsum("ij,jk->ik", a, b)),
          randn(3, 4), randn(4, 2).astype(np.float32), rtol=2e-2, atol=2e-2)


def _autocast(lib, device_type, fn):
    # the ember inputs' device picks the dtype (torch's may stay on the cpu)
    dtype = lib.bfloat16 if oracle.DEVICE == "cpu" else lib.float16
    with lib.autocast(device_type, dtype=dtype):
        return fn()
