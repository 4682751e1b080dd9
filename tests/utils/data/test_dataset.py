"""Datasets, samplers and collation against torch.utils.data, side by side."""

from __future__ import annotations

import collections
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

Point = collections.namedtuple("Point", ["x", "y"])


def same_error(fn):
    """Both libraries raise the same exception type with the same message."""
    ember_error, torch_error = check_raises(fn)
    assert str(ember_error) == str(torch_error)


# -- datasets -----------------------------------------------------------------------------

def _tensor_pair(lib):
    x = lib.arange(24.0).reshape(6, 4)
    y = lib.arange(6)
    return x, y


DATASET_CASES = {
    "tensor_dataset": lambda lib: data(lib).TensorDataset(*_tensor_pair(lib)),
    "tensor_dataset_slice": lambda lib: data(lib).TensorDataset(*_tensor_pair(lib)),
    "stack_tuple": lambda lib: data(lib).StackDataset(
        data(lib).TensorDataset(_tensor_pair(lib)[0]), list(range(6))),
    "stack_dict": lambda lib: data(lib).StackDataset(
        a=data(lib).TensorDataset(_tensor_pair(lib)[0]), b=[str(i) for i in range(6)]),
    "concat": lambda lib: data(lib).ConcatDataset(
        [data(lib).TensorDataset(*_tensor_pair(lib)), data(lib).TensorDataset(*_tensor_pair(lib))]),
    "add": lambda lib: data(lib).TensorDataset(*_tensor_pair(lib)) + data(lib).TensorDataset(
        *_tensor_pair(lib)),
    "subset": lambda lib: data(lib).Subset(data(lib).TensorDataset(*_tensor_pair(lib)),
                                           [5, 0, 3]),
}


@pytest.mark.parametrize("name", list(DATASET_CASES))
def test_map_datasets_len_and_items(name):
    ember_ds, torch_ds = DATASET_CASES[name](ember), DATASET_CASES[name](torch)
    assert len(ember_ds) == len(torch_ds)
    for index in range(-len(torch_ds), len(torch_ds)):
        if name.startswith("stack") and index < 0:
            continue
        assert_same_tree(ember_ds[index], torch_ds[index], f"{name}[{index}]")
    if hasattr(torch_ds, "__getitems__"):
        indices = [0, len(torch_ds) - 1, 1]
        assert_same_tree(ember_ds.__getitems__(indices), torch_ds.__getitems__(indices))


def test_tensor_dataset_slices_and_concat_sizes():
    e, t = DATASET_CASES["tensor_dataset"](ember), DATASET_CASES["tensor_dataset"](torch)
    assert_same_tree(e[1:4], t[1:4])
    ec, tc = DATASET_CASES["concat"](ember), DATASET_CASES["concat"](torch)
    assert ec.cumulative_sizes == tc.cumulative_sizes == [6, 12]
    with pytest.warns(FutureWarning):
        assert ec.cummulative_sizes == [6, 12]


class _RangeStream:
    """Yields 0..n-1; mixed into each library's IterableDataset so both streams are one."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class _Stream(_RangeStream, ember.utils.data.IterableDataset):
    pass


class _TorchStream(_RangeStream, torch.utils.data.IterableDataset):
    pass


def test_chain_dataset():
    e = ember.utils.data.ChainDataset([_Stream(3), _Stream(2)])
    t = torch.utils.data.ChainDataset([_TorchStream(3), _TorchStream(2)])
    assert list(e) == list(t) and len(e) == len(t) == 5
    assert list(_Stream(2) + _Stream(3)) == [0, 1, 0, 1, 2]
    assert isinstance(_Stream(1) + _Stream(1), ember.utils.data.ChainDataset)


ERROR_CASES = {
    "tensor_size_mismatch": lambda lib: data(lib).TensorDataset(lib.zeros(3), lib.zeros(4)),
    "stack_both_kinds": lambda lib: data(lib).StackDataset([1], a=[1]),
    "stack_none": lambda lib: data(lib).StackDataset(),
    "stack_size": lambda lib: data(lib).StackDataset([1, 2], [1]),
    "concat_empty": lambda lib: data(lib).ConcatDataset([]),
    "concat_iterable": lambda lib: data(lib).ConcatDataset([data(lib).IterableDataset()]),
    "concat_negative": lambda lib: data(lib).ConcatDataset([[1, 2]])[-3],
    "chain_map_style": lambda lib: list(data(lib).ChainDataset([[1, 2]])),
    "chain_len_map_style": lambda lib: len(data(lib).ChainDataset([[1, 2]])),
    "dataset_getitem": lambda lib: data(lib).Dataset()[0],
    "split_sum": lambda lib: data(lib).random_split(range(10), [3, 3]),
    "split_fraction": lambda lib: data(lib).random_split(range(10), [1.5, -0.5]),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_dataset_errors(name):
    same_error(ERROR_CASES[name])


def test_subset_override_check():
    for lib in (ember, torch):
        class Bad(data(lib).Subset):
            def __getitem__(self, idx):
                return 0
        with pytest.raises(NotImplementedError, match="overrides __getitem__ but not"):
            Bad([1, 2], [0])


# -- random_split -------------------------------------------------------------------------

@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.5, 0.5]), (11, [0.3, 0.3, 0.4]), (7, [0.1, 0.2, 0.7]),
    (5, [1.0]), (10, [0, 10]), (3, [0.25, 0.25, 0.25, 0.25]),
])
def test_random_split_sizes(n, lengths):
    with warnings.catch_warnings(record=True) as torch_warns:
        warnings.simplefilter("always")
        torch_parts = torch.utils.data.random_split(range(n), lengths)
    with warnings.catch_warnings(record=True) as ember_warns:
        warnings.simplefilter("always")
        ember_parts = ember.utils.data.random_split(
            range(n), lengths, generator=ember.Generator().manual_seed(1))
    assert [len(p) for p in ember_parts] == [len(p) for p in torch_parts]
    assert [str(w.message) for w in ember_warns] == [str(w.message) for w in torch_warns]
    assert sorted(i for p in ember_parts for i in p) == list(range(n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = ember.utils.data.random_split(range(n), lengths,
                                              generator=ember.Generator().manual_seed(1))
    assert [list(p) for p in again] == [list(p) for p in ember_parts]


def test_random_split_default_generator_follows_manual_seed():
    ember.manual_seed(5)
    first = [list(p) for p in ember.utils.data.random_split(range(20), [0.5, 0.5])]
    ember.manual_seed(5)
    second = [list(p) for p in ember.utils.data.random_split(range(20), [0.5, 0.5])]
    assert first == second


# -- samplers -----------------------------------------------------------------------------

def _gen(lib, seed=0):
    return lib.Generator().manual_seed(seed)


SAMPLER_CASES = {
    "random": lambda lib, g: data(lib).RandomSampler(range(10), generator=g),
    "random_num_samples_more": lambda lib, g: data(lib).RandomSampler(
        range(4), num_samples=10, generator=g),
    "random_num_samples_less": lambda lib, g: data(lib).RandomSampler(
        range(10), num_samples=3, generator=g),
    "random_replacement": lambda lib, g: data(lib).RandomSampler(
        range(5), replacement=True, num_samples=70, generator=g),
    "subset_random": lambda lib, g: data(lib).SubsetRandomSampler([7, 3, 9, 11], generator=g),
    "weighted": lambda lib, g: data(lib).WeightedRandomSampler(
        [0.1, 0.9, 0.0, 2.0], 12, generator=g),
    "weighted_no_replacement": lambda lib, g: data(lib).WeightedRandomSampler(
        [0.1, 0.9, 0.0, 2.0], 3, replacement=False, generator=g),
    "batch_random": lambda lib, g: data(lib).BatchSampler(
        data(lib).RandomSampler(range(10), generator=g), 3, False),
}


@pytest.mark.parametrize("name", list(SAMPLER_CASES))
def test_random_samplers_deterministic_and_valid(name):
    make = SAMPLER_CASES[name]
    torch_order = list(make(torch, _gen(torch)))
    ember_order = list(make(ember, _gen(ember)))
    assert ember_order == list(make(ember, _gen(ember)))  # same seed, same order
    assert len(make(ember, _gen(ember))) == len(make(torch, _gen(torch)))
    assert len(ember_order) == len(torch_order)
    flat = lambda order: sorted(  # noqa: E731
        i for item in order for i in (item if isinstance(item, list) else [item]))
    if name in ("random", "subset_random", "batch_random"):
        assert flat(ember_order) == flat(torch_order)  # same multiset of indices
    if name == "random_num_samples_more":  # two full permutations, then 2 of a third
        assert sorted(ember_order[:8]) == sorted(list(range(4)) * 2)
        assert len(set(ember_order[8:])) == 2
    else:
        assert set(flat(ember_order)) <= set(range(12))
    if name.startswith("weighted"):
        assert 2 not in ember_order  # zero weight is never drawn
    if name == "weighted_no_replacement":
        assert len(set(ember_order)) == 3
    assert all(type(i) is int for i in flat(ember_order))


def test_random_sampler_without_generator_follows_manual_seed():
    ember.manual_seed(3)
    first = list(ember.utils.data.RandomSampler(range(50)))
    ember.manual_seed(3)
    assert list(ember.utils.data.RandomSampler(range(50))) == first
    assert list(ember.utils.data.RandomSampler(range(50))) != first  # state moved on


@pytest.mark.parametrize("n, batch_size, drop_last", [
    (10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True), (0, 2, False),
])
def test_sequential_and_batch_sampler_match_torch(n, batch_size, drop_last):
    results = []
    for lib in (ember, torch):
        sampler = data(lib).BatchSampler(data(lib).SequentialSampler(range(n)), batch_size,
                                         drop_last)
        results.append((list(sampler), len(sampler), list(data(lib).SequentialSampler(range(n)))))
    assert results[0] == results[1]


SAMPLER_ERRORS = {
    "random_replacement_type": lambda lib: data(lib).RandomSampler(range(3), replacement=1),
    "random_num_samples": lambda lib: data(lib).RandomSampler(range(3), num_samples=0),
    "random_empty": lambda lib: data(lib).RandomSampler([]),
    "weighted_num_samples": lambda lib: data(lib).WeightedRandomSampler([1.0], True),
    "weighted_replacement": lambda lib: data(lib).WeightedRandomSampler([1.0], 1, 0),
    "weighted_shape": lambda lib: data(lib).WeightedRandomSampler([[1.0, 2.0]], 1),
    "batch_size": lambda lib: data(lib).BatchSampler(range(3), 0, False),
    "batch_size_bool": lambda lib: data(lib).BatchSampler(range(3), True, False),
    "batch_drop_last": lambda lib: data(lib).BatchSampler(range(3), 2, 1),
    "base_iter": lambda lib: iter(data(lib).Sampler()),
}


@pytest.mark.parametrize("name", list(SAMPLER_ERRORS))
def test_sampler_errors(name):
    check_raises(SAMPLER_ERRORS[name])
    if name != "base_iter":
        same_error(SAMPLER_ERRORS[name])


@pytest.mark.parametrize("n, replicas, drop_last", [
    (10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True), (2, 4, False), (2, 4, True),
    (0, 2, False),
])
def test_distributed_sampler_matches_torch_without_shuffle(n, replicas, drop_last):
    for rank in range(replicas):
        got, expected = (data(lib).DistributedSampler(range(n), replicas, rank, shuffle=False,
                                                      drop_last=drop_last)
                         for lib in (ember, torch))
        assert list(got) == list(expected) and len(got) == len(expected)


def test_distributed_sampler_shuffle_partitions_and_follows_epoch():
    def shards(epoch):
        parts = []
        for rank in range(3):
            sampler = ember.utils.data.DistributedSampler(range(10), 3, rank, seed=4)
            sampler.set_epoch(epoch)
            parts.append(list(sampler))
        return parts

    first = shards(0)
    assert first == shards(0) and first != shards(1)
    assert set(sum(first, [])) == set(range(10))  # 12 slots: 2 indices repeated as padding
    assert [len(part) for part in first] == [4, 4, 4]


@pytest.mark.parametrize("kwargs", [dict(num_replicas=2, rank=2), dict(num_replicas=2, rank=-1)])
def test_distributed_sampler_rank_errors(kwargs):
    same_error(lambda lib: data(lib).DistributedSampler(range(4), **kwargs))


# -- collation ----------------------------------------------------------------------------

def _arrays(lib, dtype):
    return [np.arange(6, dtype=dtype).reshape(2, 3) + i for i in range(3)]


COLLATE_CASES = {
    "tensors_float": lambda lib: [lib.arange(3.0) + i for i in range(4)],
    "tensors_int_0d": lambda lib: [lib.tensor(i) for i in range(4)],
    "tensors_bool": lambda lib: [lib.tensor([True, False])] * 2,
    "tensors_float64_2d": lambda lib: [lib.ones(2, 3, dtype=lib.float64) * i for i in range(3)],
    "numpy_float64": lambda lib: _arrays(lib, np.float64),
    "numpy_int32": lambda lib: _arrays(lib, np.int32),
    "numpy_uint8": lambda lib: _arrays(lib, np.uint8),
    "numpy_bool": lambda lib: [np.array([True, False])] * 3,
    "numpy_scalar_float32": lambda lib: [np.float32(1.5), np.float32(2.5)],
    "numpy_scalar_int16": lambda lib: [np.int16(1), np.int16(-2)],
    "numpy_scalar_bool": lambda lib: [np.bool_(True), np.bool_(False)],
    "numpy_0d_array": lambda lib: [np.array(1.5), np.array(2.0)],
    "python_float": lambda lib: [1.5, 2.0, -3.0],
    "python_int": lambda lib: [1, 2, 3],
    "python_bool": lambda lib: [True, False],
    "strings": lambda lib: ["a", "bc"],
    "bytes": lambda lib: [b"a", b"bc"],
    "dict": lambda lib: [{"x": lib.ones(2) * i, "label": i, "name": f"n{i}"} for i in range(3)],
    "ordered_dict": lambda lib: [collections.OrderedDict(b=1.0, a=i) for i in range(2)],
    "tuple_sample": lambda lib: [(lib.zeros(2), i) for i in range(3)],
    "list_sample": lambda lib: [[lib.zeros(2), float(i)] for i in range(3)],
    "namedtuple": lambda lib: [Point(lib.ones(2) * i, i) for i in range(3)],
    "nested": lambda lib: [{"a": [(i, 2.0)], "b": {"c": np.ones(2) * i}} for i in range(2)],
    "single": lambda lib: [lib.arange(4)],
    # strings inside tuple/list samples come back as the tuple zip(*batch) made
    "tuple_with_strings": lambda lib: [(i, (2.0 * i, f"s{i}")) for i in range(3)],
    "list_with_strings": lambda lib: [[lib.ones(1) * i, f"s{i}", b"b"] for i in range(2)],
    "namedtuple_with_strings": lambda lib: [Point(f"p{i}", [f"q{i}", i]) for i in range(2)],
}


@pytest.mark.parametrize("name", list(COLLATE_CASES))
def test_default_collate_matches_torch(name):
    make = COLLATE_CASES[name]
    expected = torch.utils.data.default_collate(make(torch))
    got = ember.utils.data.default_collate(make(ember))
    assert_same_tree(got, expected, name)


@pytest.mark.parametrize("name", list(COLLATE_CASES))
def test_default_convert_matches_torch(name):
    make = COLLATE_CASES[name]
    expected_one = torch.utils.data.default_convert(make(torch)[0])
    got_one = ember.utils.data.default_convert(make(ember)[0])
    assert_same_tree(got_one, expected_one, name)
    expected_all = torch.utils.data.default_convert(make(torch))
    got_all = ember.utils.data.default_convert(make(ember))
    assert_same_tree(got_all, expected_all, name)


COLLATE_ERRORS = {
    "tensor_sizes": lambda lib: data(lib).default_collate([lib.zeros(3), lib.zeros(4)]),
    "tensor_ndim": lambda lib: data(lib).default_collate([lib.zeros(3), lib.zeros(1, 3)]),
    "sequence_lengths": lambda lib: data(lib).default_collate([[1, 2], [1]]),
    "object": lambda lib: data(lib).default_collate([object(), object()]),
    "none": lambda lib: data(lib).default_collate([None]),
    "numpy_strings": lambda lib: data(lib).default_collate([np.array(["a"]), np.array(["b"])]),
    "numpy_object": lambda lib: data(lib).default_collate([np.array([{}]), np.array([{}])]),
    "numpy_sizes": lambda lib: data(lib).default_collate([np.zeros(2), np.zeros(3)]),
}


@pytest.mark.parametrize("name", list(COLLATE_ERRORS))
def test_default_collate_errors(name):
    same_error(COLLATE_ERRORS[name])


def test_collate_keeps_mutable_container_types():
    class Record(dict):
        pass

    got = ember.utils.data.default_collate([Record(a=1), Record(a=2)])
    assert type(got) is Record and got["a"].tolist() == [1, 2]
    numpy_strings = ember.utils.data.default_convert(np.array(["a", "b"]))
    assert isinstance(numpy_strings, np.ndarray)
