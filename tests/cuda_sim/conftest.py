"""Give tests/cuda_sim a "GPU": real CuPy where it sees one, else the NumPy-backed fake.

On a GPU machine (scripts/gpu_check.sh) the same tests run against real CuPy; in CI the
fake is put in ``sys.modules['cupy']`` for each test and taken out afterwards, so no test
outside this folder ever sees a GPU. ``EMBER_FAKE_CUPY=1`` forces the fake on a GPU machine
(to check the fake itself).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def _real_cupy_has_gpu():
    if os.environ.get("EMBER_FAKE_CUPY") == "1":
        return False
    try:
        import cupy

        if cupy.__version__.endswith("-fake"):  # installed by tests/conftest.py --device cuda
            return False
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


REAL_GPU = _real_cupy_has_gpu()


@pytest.fixture(autouse=True)
def cupy_backend():
    """The CuPy module ember's backend sees during the test (real or fake)."""
    import importlib

    backend_device = importlib.import_module("ember._backend.device")

    if REAL_GPU:
        import cupy

        backend_device._cupy, backend_device._cupy_checked = None, False
        yield cupy
        return
    import fake_cupy

    fake_modules = fake_cupy.modules()
    saved = {name: sys.modules.get(name) for name in fake_modules}
    saved_backend = backend_device._cupy, backend_device._cupy_checked
    fake_cupy.reset()
    sys.modules.update(fake_modules)
    backend_device._cupy, backend_device._cupy_checked = None, False
    try:
        yield fake_cupy
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        backend_device._cupy, backend_device._cupy_checked = saved_backend
        fake_cupy.reset()


@pytest.fixture
def launched_kernels(monkeypatch, cupy_backend):
    """The names of the compiled kernels (``ElementwiseKernel``) launched during the test,
    in order: what the tests of ember's kernels check they ran. Real CuPy's kernel type
    is immutable, so the spy wraps the factory that ember's ``kernels.elementwise`` calls,
    with an empty kernel cache for the test."""
    from ember._backend import kernels

    names = []
    factory = cupy_backend.ElementwiseKernel

    class SpiedKernel:
        def __init__(self, *args, **kwargs):
            self._kernel = factory(*args, **kwargs)

        def __call__(self, *args, **kwargs):
            names.append(self._kernel.name)
            return self._kernel(*args, **kwargs)

        def __getattr__(self, attribute):
            return getattr(self._kernel, attribute)

    monkeypatch.setattr(cupy_backend, "ElementwiseKernel", SpiedKernel)
    monkeypatch.setattr(kernels, "_KERNELS", {})
    return names
