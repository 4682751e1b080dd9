"""DataLoader semantics in the main process (num_workers=0) against torch's DataLoader."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember

sys.path.insert(0, os.path.dirname(__file__))
from data_oracle import assert_same_tree, data  # noqa: E402


class MapSamples:
    """A map-style dataset of mixed samples, written once for both libraries."""

    def __init__(self, lib, n=10):
        self.lib, self.n = lib, n

    def __getitem__(self, i):
        if i >= self.n:
            raise IndexError(i)
        return {"image": self.lib.full((2, 3), float(i)), "label": i, "weight": i / 2,
                "array": np.arange(3, dtype=np.int32) * i, "name": f"s{i}"}

    def __len__(self):
        return self.n


def make_stream(lib, n, with_len=True):
    base = data(lib).IterableDataset

    class Stream(base):
        def __iter__(self):
            return iter([lib.tensor([float(i), -float(i)]) for i in range(n)])

    if with_len:
        Stream.__len__ = lambda self: n
    return Stream()


def _tensors(lib):
    return data(lib).TensorDataset(lib.arange(30.0).reshape(10, 3), lib.arange(10))


LOADER_CASES = {
    "tensor_b4": lambda lib: data(lib).DataLoader(_tensors(lib), batch_size=4),
    "tensor_b4_drop": lambda lib: data(lib).DataLoader(_tensors(lib), batch_size=4,
                                                       drop_last=True),
    "tensor_b1": lambda lib: data(lib).DataLoader(_tensors(lib)),
    "tensor_b10": lambda lib: data(lib).DataLoader(_tensors(lib), batch_size=10),
    "tensor_b32": lambda lib: data(lib).DataLoader(_tensors(lib), batch_size=32),
    "tensor_no_batch": lambda lib: data(lib).DataLoader(_tensors(lib), batch_size=None),
    "mixed_b3": lambda lib: data(lib).DataLoader(MapSamples(lib), batch_size=3),
    "mixed_no_batch": lambda lib: data(lib).DataLoader(MapSamples(lib, 3), batch_size=None),
    "list_dataset": lambda lib: data(lib).DataLoader([(i, float(i)) for i in range(5)],
                                                     batch_size=2),
    "sampler": lambda lib: data(lib).DataLoader(_tensors(lib), batch_size=3,
                                                sampler=[9, 1, 4, 4, 0]),
    "batch_sampler": lambda lib: data(lib).DataLoader(_tensors(lib),
                                                      batch_sampler=[[1, 2], [7], [0, 9, 3]]),
    "subset": lambda lib: data(lib).DataLoader(data(lib).Subset(_tensors(lib), [2, 5, 8]),
                                               batch_size=2),
    "collate_fn": lambda lib: data(lib).DataLoader(list(range(7)), batch_size=3,
                                                   collate_fn=lambda batch: sum(batch)),
    "stream_b3": lambda lib: data(lib).DataLoader(make_stream(lib, 7), batch_size=3),
    "stream_b3_drop": lambda lib: data(lib).DataLoader(make_stream(lib, 7), batch_size=3,
                                                       drop_last=True),
    "stream_no_batch": lambda lib: data(lib).DataLoader(make_stream(lib, 3), batch_size=None),
    "stream_b8": lambda lib: data(lib).DataLoader(make_stream(lib, 7), batch_size=8),
}


@pytest.mark.parametrize("name", list(LOADER_CASES))
def test_batches_match_torch(name):
    ember_loader, torch_loader = LOADER_CASES[name](ember), LOADER_CASES[name](torch)
    assert len(ember_loader) == len(torch_loader)
    expected = list(torch_loader)
    got = list(ember_loader)
    assert len(got) == len(expected)
    for i, (e, t) in enumerate(zip(got, expected)):
        assert_same_tree(e, t, f"{name} batch {i}")
    assert_same_tree(list(ember_loader), expected, f"{name} second epoch")


@pytest.mark.parametrize("n, batch_size, drop_last", [
    (7, 3, False), (7, 3, True), (6, 3, True), (7, None, False), (0, 2, False), (2, 5, True),
])
def test_len_iterable_with_len(n, batch_size, drop_last):
    lengths = [len(data(lib).DataLoader(make_stream(lib, n), batch_size=batch_size,
                                        drop_last=drop_last)) for lib in (ember, torch)]
    assert lengths[0] == lengths[1]


def test_len_iterable_without_len_raises_type_error():
    check_raises(lambda lib: len(data(lib).DataLoader(make_stream(lib, 3, with_len=False))))


def test_len_map_style_variants():
    for make in (lambda lib: data(lib).DataLoader(range(10), batch_size=3, shuffle=True),
                 lambda lib: data(lib).DataLoader(range(10), batch_size=3, drop_last=True),
                 lambda lib: data(lib).DataLoader(range(10), batch_size=None),
                 lambda lib: data(lib).DataLoader(range(10), batch_sampler=[[0], [1, 2]])):
        assert len(make(ember)) == len(make(torch))
        assert len(iter(make(ember))) == len(iter(make(torch)))


def test_iterable_longer_than_len_warns_like_torch():
    messages = []
    for lib in (ember, torch):
        stream = make_stream(lib, 4)
        stream.__class__.__len__ = lambda self: 2
        loader = data(lib).DataLoader(stream, batch_size=None)
        len(loader)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(loader)
        messages.append([str(w.message).split(" was reported")[1] for w in caught])
    assert messages[0] == messages[1] and len(messages[0]) == 2


def test_shuffle_is_deterministic_for_a_generator_seed():
    def order(seed):
        loader = ember.utils.data.DataLoader(range(20), batch_size=4, shuffle=True,
                                             generator=ember.Generator().manual_seed(seed))
        return [batch.tolist() for batch in loader]

    first = order(7)
    assert first == order(7)
    assert first != order(8)
    assert sorted(sum(first, [])) == list(range(20))
    ember.manual_seed(1)
    unseeded = [b.tolist() for b in ember.utils.data.DataLoader(range(20), 4, shuffle=True)]
    ember.manual_seed(1)
    assert unseeded == [b.tolist() for b in ember.utils.data.DataLoader(range(20), 4,
                                                                       shuffle=True)]


def test_epochs_reshuffle_with_one_generator():
    loader = ember.utils.data.DataLoader(range(30), batch_size=30, shuffle=True,
                                         generator=ember.Generator().manual_seed(0))
    first, second = next(iter(loader)).tolist(), next(iter(loader)).tolist()
    assert first != second and sorted(first) == sorted(second)


CONSTRUCTOR_ERRORS = {
    "num_workers": lambda lib: data(lib).DataLoader(range(3), num_workers=-1),
    "timeout": lambda lib: data(lib).DataLoader(range(3), timeout=-1),
    "prefetch_without_workers": lambda lib: data(lib).DataLoader(range(3), prefetch_factor=2),
    "prefetch_negative": lambda lib: data(lib).DataLoader(range(3), num_workers=1,
                                                          prefetch_factor=-1),
    "persistent_without_workers": lambda lib: data(lib).DataLoader(range(3),
                                                                   persistent_workers=True),
    # torch's checks are an if/elif chain: a later option is never compared (which would
    # raise TypeError for a string) once an earlier check has failed or decided
    "prefetch_str_without_workers": lambda lib: data(lib).DataLoader(range(3),
                                                                     prefetch_factor="2"),
    "prefetch_float_without_workers": lambda lib: data(lib).DataLoader(range(3),
                                                                       prefetch_factor=1.5),
    "prefetch_negative_without_workers": lambda lib: data(lib).DataLoader(
        range(3), prefetch_factor=-1),
    "prefetch_negative_float": lambda lib: data(lib).DataLoader(range(3), num_workers=1,
                                                                prefetch_factor=-0.5),
    "prefetch_str_with_workers": lambda lib: data(lib).DataLoader(range(3), num_workers=1,
                                                                  prefetch_factor="2"),
    "num_workers_before_prefetch": lambda lib: data(lib).DataLoader(
        range(3), num_workers=-1, prefetch_factor="2"),
    "num_workers_before_timeout": lambda lib: data(lib).DataLoader(
        range(3), num_workers=-1, timeout="1"),
    "timeout_before_prefetch": lambda lib: data(lib).DataLoader(range(3), timeout=-1,
                                                                prefetch_factor="2"),
    "prefetch_before_persistent": lambda lib: data(lib).DataLoader(
        range(3), prefetch_factor="2", persistent_workers=True),
    "num_workers_none": lambda lib: data(lib).DataLoader(range(3), num_workers=None),
    "iterable_shuffle": lambda lib: data(lib).DataLoader(make_stream(lib, 3), shuffle=True),
    "iterable_sampler": lambda lib: data(lib).DataLoader(make_stream(lib, 3), sampler=[0]),
    "iterable_batch_sampler": lambda lib: data(lib).DataLoader(make_stream(lib, 3),
                                                               batch_sampler=[[0]]),
    "sampler_and_shuffle": lambda lib: data(lib).DataLoader(range(3), sampler=[0],
                                                            shuffle=True),
    "batch_sampler_and_size": lambda lib: data(lib).DataLoader(range(3), batch_size=2,
                                                               batch_sampler=[[0]]),
    "batch_sampler_and_drop": lambda lib: data(lib).DataLoader(range(3), drop_last=True,
                                                               batch_sampler=[[0]]),
    "no_batch_and_drop": lambda lib: data(lib).DataLoader(range(3), batch_size=None,
                                                          drop_last=True),
    "batch_size_zero": lambda lib: data(lib).DataLoader(range(3), batch_size=0),
    "context_without_workers": lambda lib: data(lib).DataLoader(
        range(3), multiprocessing_context="spawn"),
    "context_bad_name": lambda lib: data(lib).DataLoader(
        range(3), num_workers=1, multiprocessing_context="nope"),
    "context_bad_type": lambda lib: data(lib).DataLoader(
        range(3), num_workers=1, multiprocessing_context=3),
    "set_batch_size": lambda lib: setattr(data(lib).DataLoader(range(3)), "batch_size", 2),
    "set_dataset": lambda lib: setattr(data(lib).DataLoader(range(3)), "dataset", []),
    "timeout_single_process": lambda lib: iter(data(lib).DataLoader(range(3), timeout=1)),
    "dataset_index_error": lambda lib: list(data(lib).DataLoader(MapSamples(lib, 3),
                                                                 sampler=[5])),
}


@pytest.mark.parametrize("name", list(CONSTRUCTOR_ERRORS))
def test_constructor_errors_match_torch(name):
    ember_error, torch_error = check_raises(CONSTRUCTOR_ERRORS[name])
    assert type(ember_error) is type(torch_error)
    assert str(ember_error) == str(torch_error)


@pytest.mark.parametrize("num_workers, prefetch_factor", [
    (0, None), (1, None), (2, 0), (1, 1.5), (1, True), (2, 5), (True, None)])
def test_accepted_prefetch_factor_like_torch(num_workers, prefetch_factor):
    """Values the constructor lets through, and the default it fills in (2 with
    workers): torch range-checks only a given factor and leaves its type alone."""
    stored = [data(lib).DataLoader(range(3), num_workers=num_workers,
                                   prefetch_factor=prefetch_factor).prefetch_factor
              for lib in (ember, torch)]
    assert stored[0] == stored[1] and type(stored[0]) is type(stored[1])


def test_attributes_like_torch():
    for lib in (ember, torch):
        loader = data(lib).DataLoader(range(5), batch_size=2, num_workers=2)
        assert loader.prefetch_factor == 2 and loader.batch_size == 2
        assert isinstance(loader.batch_sampler, data(lib).BatchSampler)
        assert isinstance(loader.sampler, data(lib).SequentialSampler)
        assert loader.collate_fn is data(lib).default_collate
        loader.num_workers = 0  # allowed: not one of the frozen attributes
        shuffled = data(lib).DataLoader(range(5), shuffle=True)
        assert isinstance(shuffled.sampler, data(lib).RandomSampler)
        unbatched = data(lib).DataLoader(range(5), batch_size=None)
        assert unbatched.batch_sampler is None and unbatched.collate_fn is data(lib).default_convert


def test_pin_memory_without_accelerator_warns_like_torch(monkeypatch):
    # both sides see no accelerator: ember's on the CuPy double (--device cuda) and torch's
    # on a GPU machine would otherwise find one and pin without a warning
    monkeypatch.setattr(ember.accelerator, "is_available", lambda: False)
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)
    texts = []
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            batches = list(data(lib).DataLoader(range(4), batch_size=2, pin_memory=True))
        texts.append([str(w.message) for w in caught])
        assert [b.tolist() for b in batches] == [[0, 1], [2, 3]]
    assert texts[0] == texts[1] and texts[0]


def test_getitems_is_used_for_batches():
    class Batched(ember.utils.data.Dataset):
        calls = []

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should be used")

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [ember.tensor(i) for i in indices]

        def __len__(self):
            return 5

    batches = [b.tolist() for b in ember.utils.data.DataLoader(Batched(), batch_size=2)]
    assert batches == [[0, 1], [2, 3], [4]] and Batched.calls == [[0, 1], [2, 3], [4]]


def test_dataloader_is_generic_and_iterator_not_picklable():
    import pickle

    assert ember.utils.data.DataLoader[int] is not None
    assert ember.utils.data.Dataset[int] is not None
    with pytest.raises(NotImplementedError):
        pickle.dumps(iter(ember.utils.data.DataLoader(range(3))))
