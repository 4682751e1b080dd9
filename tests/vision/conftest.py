"""Fixtures shared by the vision model tests."""

import pytest

from ember.nn import init

_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
          "xavier_uniform_", "kaiming_uniform_", "kaiming_normal_")


@pytest.fixture
def no_init(monkeypatch):
    """Skip random initialisation where only the structure matters or the weights are
    overwritten by a load: drawing ~140M random numbers per big model dominates the time."""
    for name in _INITS:
        monkeypatch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)
