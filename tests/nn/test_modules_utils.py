"""torch.nn.modules.utils' tuple helpers, as custom layers import them."""

import pytest
import torch.nn.modules.utils as torch_utils

import ember.nn.modules.utils as ember_utils


@pytest.mark.parametrize("name", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, (1, 2), [4, 5, 6]])
def test_ntuple_helpers(name, value):
    assert getattr(ember_utils, name)(value) == getattr(torch_utils, name)(value)


def test_reverse_repeat_tuple():
    assert ember_utils._reverse_repeat_tuple((1, 2), 2) == torch_utils._reverse_repeat_tuple(
        (1, 2), 2)
