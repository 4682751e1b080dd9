"""Python protocols on tensors that PyTorch programs lean on (``in``)."""

import pytest
import torch

import ember


@pytest.mark.parametrize("element", [2, 2.5, 3.0, True, "tensor", "str", "list"])
def test_contains_like_torch(element):
    def run(lib):
        values = lib.arange(4.0)
        probe = {"tensor": lib.tensor(1.0), "str": "a", "list": [1, 2]}.get(element, element) \
            if isinstance(element, str) else element
        try:
            return probe in values
        except RuntimeError as error:
            return str(error)

    assert run(ember) == run(torch)
