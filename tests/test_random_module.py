import torch

import ember


def test_fork_rng_restores_state_like_torch():
    for lib in (ember, torch):
        lib.random.manual_seed(3)
        with lib.random.fork_rng():
            inside = lib.rand(3).tolist()
        after = lib.rand(3).tolist()
        assert inside == after


def test_return_types_namespace():
    values, indices = ember.max(ember.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1)
    result = ember.max(ember.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1)
    assert isinstance(result, ember.return_types.max)
    assert repr(result).startswith("torch.return_types.max(")
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
