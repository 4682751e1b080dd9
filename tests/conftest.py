import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))


def pytest_configure(config):
    """One BLAS thread per test process, for NumPy and torch alike: pytest-xdist already
    runs one worker per core, and oversubscribed OpenBLAS threads on a loaded machine
    slowed single GEMMs 3-40x here."""
    import threadpoolctl
    import torch

    threadpoolctl.threadpool_limits(1)
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same NumPy, ember and torch seeds."""
    import torch

    import ember

    import oracle

    # Inputs drawn from the oracle's generator depend only on the test, not on which
    # tests ran before it in this worker (pytest-xdist distributes tests differently).
    oracle.RNG.bit_generator.state = np.random.default_rng(1234).bit_generator.state
    np.random.seed(0)
    torch.manual_seed(0)
    if hasattr(ember, "manual_seed"):
        ember.manual_seed(0)
    yield
