import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same NumPy, ember and torch seeds."""
    import torch

    import ember

    np.random.seed(0)
    torch.manual_seed(0)
    if hasattr(ember, "manual_seed"):
        ember.manual_seed(0)
    yield
