import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_prototype():
    """torch.masked (and ember.masked, mirroring it) warn that MaskedTensor is a prototype."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The PyTorch API of MaskedTensors")
        warnings.filterwarnings("ignore", message="It is not recommended to create a MaskedTensor")
        warnings.filterwarnings("ignore", message=".* is not implemented in __torch_dispatch__")
        yield


@pytest.fixture(autouse=True, scope="module")
def _protocol_off_afterwards():
    """Building a MaskedTensor installs the __torch_function__ trampolines; later test
    modules should find ember as plain as it starts."""
    yield
    from ember import overrides

    overrides._uninstall()
