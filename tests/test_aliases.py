"""Top-level spellings of nn.functional ops, with torch's top-level argument orders."""

import pytest

from oracle import check, randn

CASES = {
    "conv2d": (lambda lib, x, w: lib.conv2d(x, w, None, 1, 1), (randn(2, 3, 5, 5), randn(4, 3, 3, 3))),
    "conv1d": (lambda lib, x, w: lib.conv1d(x, w, stride=2), (randn(2, 3, 7), randn(4, 3, 3))),
    "max_pool2d": (lambda lib, x: lib.max_pool2d(x, 2), (randn(1, 2, 4, 4),)),
    "avg_pool1d": (lambda lib, x: lib.avg_pool1d(x, 2), (randn(1, 2, 6),)),
    "adaptive_max_pool1d": (lambda lib, x: lib.adaptive_max_pool1d(x, 2)[0], (randn(1, 2, 6),)),
    "layer_norm": (lambda lib, x, w, b: lib.layer_norm(x, (4,), w, b), (randn(3, 4), randn(4), randn(4))),
    "group_norm": (lambda lib, x: lib.group_norm(x, 2), (randn(2, 4, 3),)),
    "batch_norm": (lambda lib, x, w: lib.batch_norm(
        x, w, None, lib.tensor([0.5, -0.2, 0.1]), lib.tensor([1.5, 0.7, 2.0]), False, 0.1, 1e-5,
        True), (randn(4, 3), randn(3))),
    "dropout_eval": (lambda lib, x: lib.dropout(x, 0.5, False), (randn(3, 3),)),
    "embedding": (lambda lib, w: lib.embedding(w, lib.tensor([[0, 2], [1, 1]])), (randn(3, 4),)),
    "pixel_shuffle": (lambda lib, x: lib.pixel_shuffle(x, 2), (randn(1, 8, 2, 2),)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_top_level_alias_matches_torch(name):
    fn, inputs = CASES[name]
    check(fn, *inputs)
