"""``torch.utils.benchmark.Fuzzer``: draw random problem sizes and input tensors for
benchmarks, reproducibly from a seed.

The sizes, layouts (permutation orders, steps) and any custom-distribution choices come
from one ``numpy.random.RandomState(seed)``, consumed call for call in PyTorch's order, so
a seed gives the same parameters and tensor shapes, strides and properties as PyTorch.
Tensor values come from ember's generator, seeded from the same stream (as PyTorch seeds
its own): reproducible within ember, but not PyTorch's numbers, since ember's random
number generator is not PyTorch's.

One deliberate difference: torch 2.13's FuzzedParameter raises "Distribution is not
normalized" for every custom distribution that *is* normalized (its test is inverted), so
none can be built there; ember applies the documented rule (probabilities sum to one).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

__all__ = ["FuzzedParameter", "FuzzedTensor", "Fuzzer", "ParameterAlias"]

_DISTRIBUTIONS = ("loguniform", "uniform")


class FuzzedParameter:
    """A named value drawn per sample: ``"loguniform"`` / ``"uniform"`` between ``minval``
    and ``maxval`` (integers when both bounds are ints), or ``{choice: probability}``.
    A ``strict`` parameter keeps its first draw while the Fuzzer resamples the others."""

    def __init__(self, name: str, minval=None, maxval=None, distribution=None,
                 strict: bool = False) -> None:
        self._name, self._minval, self._maxval = name, minval, maxval
        self._distribution = self._check_distribution(distribution)
        self.strict = strict

    @property
    def name(self):
        return self._name

    def _check_distribution(self, distribution):
        if not isinstance(distribution, dict):
            if distribution not in _DISTRIBUTIONS:
                raise AssertionError(f"Unknown distribution: {distribution}")
            return distribution
        if any(p < 0 for p in distribution.values()):
            raise AssertionError("Probabilities cannot be negative")
        if abs(sum(distribution.values()) - 1) > 1e-5:
            raise AssertionError("Distribution is not normalized")
        if self._minval is not None:
            raise AssertionError("When passing a custom distribution, 'minval' must be None")
        if self._maxval is not None:
            raise AssertionError("When passing a custom distribution, 'maxval' must be None")
        return distribution

    def sample(self, state):
        if self._distribution == "loguniform":
            low = None if self._minval is None else np.log2(self._minval)
            high = None if self._maxval is None else np.log2(self._maxval)
            value = int(2 ** state.uniform(low=low, high=high))
            if self._minval is not None and value < self._minval:
                return self._minval
            if self._maxval is not None and value > self._maxval:
                return self._maxval
            return value
        if self._distribution == "uniform":
            if isinstance(self._minval, int) and isinstance(self._maxval, int):
                return int(state.randint(low=self._minval, high=self._maxval + 1))
            return state.uniform(low=self._minval, high=self._maxval)
        choices = list(self._distribution)
        picked = state.choice(np.arange(len(choices)), p=tuple(self._distribution.values()))
        return choices[picked]


class ParameterAlias:
    """A custom-distribution choice meaning "the value of parameter ``alias_to``"."""

    def __init__(self, alias_to) -> None:
        self.alias_to = alias_to

    def __repr__(self) -> str:
        return f"ParameterAlias[alias_to: {self.alias_to}]"


def _product(values, start=1):
    """In Python ints: a numpy product could overflow and pass the size checks."""
    return functools.reduce(lambda a, b: int(a) * int(b), values, start)


def _itemsize(dtype):
    from ... import bool as bool_dtype, finfo, iinfo

    if dtype == bool_dtype:
        return 1
    if dtype.is_floating_point or dtype.is_complex:
        return finfo(dtype).bits // 8
    return iinfo(dtype).bits // 8


class FuzzedTensor:
    """A tensor drawn per sample: ``size`` (and ``steps``) entries are ints or parameter
    names; with probability ``1 - probability_contiguous`` its memory is laid out in a
    random dim order; ``steps`` slice it out of a larger allocation; the element and byte
    limits reject parameter sets (the Fuzzer redraws)."""

    def __init__(self, name: str, size, steps=None, probability_contiguous: float = 0.5,
                 min_elements=None, max_elements=None, max_allocation_bytes=None,
                 dim_parameter=None, roll_parameter=None, dtype=None, cuda=False,
                 tensor_constructor=None) -> None:
        from ... import float32

        self._name, self._size, self._steps = name, size, steps
        self._probability_contiguous = probability_contiguous
        self._min_elements, self._max_elements = min_elements, max_elements
        self._max_allocation_bytes = max_allocation_bytes
        self._dim_parameter = dim_parameter
        self._dtype = float32 if dtype is None else dtype
        self._cuda = cuda
        self._tensor_constructor = tensor_constructor

    @property
    def name(self):
        return self._name

    @staticmethod
    def default_tensor_constructor(size, dtype, **kwargs):
        import ember

        if dtype.is_floating_point or dtype.is_complex:
            return ember.rand(size=size, dtype=dtype, device="cpu")
        return ember.randint(1, 127, size=size, dtype=dtype, device="cpu")

    def _get_size_and_steps(self, params):
        dim = len(self._size) if self._dim_parameter is None else params[self._dim_parameter]

        def resolve(values):
            values = tuple(params.get(v, v) for v in values)[:dim]
            return values + (1,) * (dim - len(values))

        size, steps = resolve(self._size), resolve(self._steps or ())
        return size, steps, tuple(s * step for s, step in zip(size, steps))

    def satisfies_constraints(self, params) -> bool:
        size, _, allocation = self._get_size_and_steps(params)
        numel = _product(size)
        if numel < 0:
            raise AssertionError("Computed number of elements is negative")
        nbytes = _product(allocation, _itemsize(self._dtype))

        def over(value, limit):
            return value is not None and limit is not None and value > limit

        return not (over(numel, self._max_elements) or over(self._min_elements, numel)
                    or over(nbytes, self._max_allocation_bytes))

    def _make_tensor(self, params, state):
        size, steps, allocation = self._get_size_and_steps(params)
        make = self._tensor_constructor or self.default_tensor_constructor
        raw = make(size=allocation, dtype=self._dtype, **params)
        if self._cuda:
            raw = raw.cuda()
        dim = len(size)
        order = np.arange(dim)
        if state.rand() > self._probability_contiguous:
            while dim > 1 and np.all(order == np.arange(dim)):
                order = state.permutation(raw.dim())
            laid_out = raw.permute(tuple(int(i) for i in order)).contiguous()
            raw = laid_out.permute(tuple(int(i) for i in np.argsort(order)))
        tensor = raw[tuple(slice(0, s * step, step) for s, step in zip(size, steps))]
        return tensor, {"numel": int(tensor.numel()), "order": order, "steps": steps,
                        "is_contiguous": tensor.is_contiguous(), "dtype": str(self._dtype)}


class Fuzzer:
    """``Fuzzer(parameters, tensors, constraints=None, seed=None).take(n)`` yields ``n``
    triples ``(tensors, tensor_properties, params)``; parameter sets failing a constraint
    (a callable of the params as keywords) or a tensor's limits are redrawn."""

    def __init__(self, parameters, tensors, constraints=None, seed=None) -> None:
        if seed is None:
            seed = int(np.random.RandomState().randint(0, 2 ** 32 - 1, dtype=np.int64))
        self._seed = seed
        self._parameters = self._unpack(parameters, FuzzedParameter)
        self._tensors = self._unpack(tensors, FuzzedTensor)
        self._constraints = constraints or ()
        overlap = {p.name for p in self._parameters} & {t.name for t in self._tensors}
        if overlap:
            raise ValueError(f"Duplicate names in parameters and tensors: {overlap}")
        self._rejections = 0
        self._total_generated = 0

    @staticmethod
    def _unpack(values, cls):
        return tuple(itertools.chain.from_iterable(
            [value] if isinstance(value, cls) else value for value in values))

    def take(self, n):
        import ember

        state = np.random.RandomState(self._seed)
        ember.manual_seed(int(state.randint(low=0, high=2 ** 63, dtype=np.int64)))
        for _ in range(n):
            params = self._generate(state)
            tensors, properties = {}, {}
            for spec in self._tensors:
                tensors[spec.name], properties[spec.name] = spec._make_tensor(params, state)
            yield tensors, properties, params

    @property
    def rejection_rate(self):
        return self._rejections / self._total_generated if self._total_generated else 0.0

    def _generate(self, state):
        kept = {}  # strict parameters keep their first draw across retries
        for _ in range(1000):
            candidate = {}
            for parameter in self._parameters:
                if parameter.strict and parameter.name in kept:
                    candidate[parameter.name] = kept[parameter.name]
                    continue
                candidate[parameter.name] = parameter.sample(state)
                if parameter.strict:
                    kept[parameter.name] = candidate[parameter.name]
            candidate = self._resolve_aliases(candidate)
            self._total_generated += 1
            if not all(check(candidate) for check in self._constraints) or not all(
                    spec.satisfies_constraints(candidate) for spec in self._tensors):
                self._rejections += 1
                continue
            return candidate
        raise ValueError("Failed to generate a set of valid parameters.")

    @staticmethod
    def _resolve_aliases(params):
        params = dict(params)

        def pending():
            return sum(isinstance(v, ParameterAlias) for v in params.values())

        count = pending()
        while count:
            for key in list(params):
                if isinstance(params[key], ParameterAlias):
                    params[key] = params[params[key].alias_to]
            new_count = pending()
            if new_count == count:
                raise ValueError(f"ParameterAlias cycle detected\n{params}")
            count = new_count
        return params


