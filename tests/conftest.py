import os
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))


def pytest_addoption(parser):
    parser.addoption(
        "--device", default=os.environ.get("EMBER_TEST_DEVICE", "cpu"), choices=("cpu", "cuda"),
        help="device the oracle (tests/oracle.py) builds ember's inputs on; torch's too when "
             "torch has it, else torch stays on cpu. cuda without a GPU runs on the NumPy "
             "CuPy double in tests/cuda_sim/fake_cupy.py. Default: $EMBER_TEST_DEVICE or cpu.")
    parser.addoption(
        "--time-budget", type=float, default=0.0,
        help="stop (with the usual summary) once this many seconds have passed; for "
             "scripts/gpu_check.sh, whose lent GPU has minutes, not hours")


def pytest_sessionstart(session):
    session.config._ember_started = time.monotonic()


def pytest_runtest_teardown(item, nextitem):
    budget = item.config.getoption("--time-budget")
    if budget and time.monotonic() - item.config._ember_started > budget:
        item.session.shouldstop = f"--time-budget of {budget:g} s spent"


def pytest_configure(config):
    """One BLAS thread per test process, for NumPy and torch alike: pytest-xdist already
    runs one worker per core, and oversubscribed OpenBLAS threads on a loaded machine
    slowed single GEMMs 3-40x here."""
    import threadpoolctl
    import torch

    threadpoolctl.threadpool_limits(1)
    torch.set_num_threads(1)
    device = config.getoption("--device")
    if device != "cpu":
        _use_device(device)


def _use_device(device):
    """Point the oracle at ``device``; for cuda without a GPU, install the CuPy double for
    the whole session (tests/cuda_sim's fixture swaps it per test and puts it back)."""
    import oracle

    if device == "cuda" and not _real_gpu():
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cuda_sim"))
        import fake_cupy

        from ember._backend import device as backend_device

        sys.modules.update(fake_cupy.modules())
        backend_device._cupy, backend_device._cupy_checked = None, False
    oracle.set_device(device)
    from hypothesis import settings

    # A GPU compiles each new kernel on first use: an example's time says nothing there.
    settings.register_profile("ember-device", deadline=None)
    settings.load_profile("ember-device")


def _real_gpu():
    if os.environ.get("EMBER_FAKE_CUPY") == "1":
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


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
