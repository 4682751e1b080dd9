"""Random numbers: seeding, generator state, and every sampler's shape, dtype,
distribution and errors against PyTorch (values differ: ember's streams are its own)."""

import numpy as np
import pytest
import torch
from oracle import check_raises

import ember


def _meta(t):
    return tuple(t.shape), str(t.dtype).replace("torch.", ""), bool(t.requires_grad)


# Each row: a sampler written once for both libraries (lib, gen) -> tensor.
SAMPLERS = {
    "rand": lambda lib, g: lib.rand(2, 3, generator=g),
    "rand_tuple": lambda lib, g: lib.rand((4,), generator=g),
    "rand_size": lambda lib, g: lib.rand(lib.Size([2, 2]), generator=g),
    "rand_0d": lambda lib, g: lib.rand((), generator=g),
    "rand_0d_f64": lambda lib, g: lib.rand((), dtype=lib.float64, generator=g),
    "rand_0d_f16": lambda lib, g: lib.rand((), dtype=lib.float16, generator=g),
    "rand_np_int": lambda lib, g: lib.rand(np.int64(2), generator=g),
    "randint_0d": lambda lib, g: lib.randint(0, 9, (), generator=g),
    "randint_1x1": lambda lib, g: lib.randint(0, 9, (1, 1), generator=g),
    "randint_3": lambda lib, g: lib.randint(-4, 9, [3], generator=g),
    "rand_empty": lambda lib, g: lib.rand(0, 3, generator=g),
    "rand_f64_grad": lambda lib, g: lib.rand(3, dtype=lib.float64, requires_grad=True,
                                             generator=g),
    "rand_f16": lambda lib, g: lib.rand(5, dtype=lib.float16, generator=g),
    "rand_bf16": lambda lib, g: lib.rand(5, dtype=lib.bfloat16, generator=g),
    "rand_c64": lambda lib, g: lib.rand(5, dtype=lib.complex64, generator=g),
    "randn": lambda lib, g: lib.randn(3, 4, generator=g),
    "randn_f64": lambda lib, g: lib.randn(3, dtype=lib.float64, generator=g),
    "randn_c64": lambda lib, g: lib.randn(3, dtype=lib.complex64, generator=g),
    "randint_high": lambda lib, g: lib.randint(10, (3, 2), generator=g),
    "randint_low_high": lambda lib, g: lib.randint(-5, 5, (7,), generator=g),
    "randint_list_size": lambda lib, g: lib.randint(10, [2, 2], generator=g),
    "randint_Size": lambda lib, g: lib.randint(10, lib.Size([2]), generator=g),
    "normal_list_size": lambda lib, g: lib.normal(0.0, 1.0, [3], generator=g),
    "randint_kw": lambda lib, g: lib.randint(low=2, high=10, size=(2,), generator=g),
    "randint_i32": lambda lib, g: lib.randint(0, 3, (4,), dtype=lib.int32, generator=g),
    "randint_f32": lambda lib, g: lib.randint(0, 3, (4,), dtype=lib.float32, generator=g),
    "randint_bool": lambda lib, g: lib.randint(0, 2, (4,), dtype=lib.bool, generator=g),
    "randperm": lambda lib, g: lib.randperm(6, generator=g),
    "randperm_0": lambda lib, g: lib.randperm(0, generator=g),
    "randperm_f32": lambda lib, g: lib.randperm(4, dtype=lib.float32, generator=g),
    "normal_ff": lambda lib, g: lib.normal(2.0, 3.0, (4, 2), generator=g),
    "normal_ff_f64": lambda lib, g: lib.normal(2.0, 3.0, size=(2,), dtype=lib.float64,
                                               generator=g),
    "normal_tf": lambda lib, g: lib.normal(lib.zeros(3, 2), 1.0, generator=g),
    "normal_ft": lambda lib, g: lib.normal(0.0, lib.ones(5, dtype=lib.float64), generator=g),
    "normal_tt": lambda lib, g: lib.normal(lib.zeros(2, 1), lib.ones(3), generator=g),
    "normal_mean_only": lambda lib, g: lib.normal(mean=lib.zeros(2), generator=g),
    "bernoulli": lambda lib, g: lib.bernoulli(lib.full((3, 3), 0.5), generator=g),
    "bernoulli_p": lambda lib, g: lib.bernoulli(lib.zeros(4, dtype=lib.float64), 0.3,
                                                generator=g),
    "bernoulli_method": lambda lib, g: lib.full((3,), 0.2).bernoulli(generator=g),
    "poisson": lambda lib, g: lib.poisson(lib.full((4,), 3.0), generator=g),
    "multinomial_1d": lambda lib, g: lib.multinomial(lib.tensor([0.2, 0.3, 0.5]), 2,
                                                     generator=g),
    "multinomial_2d_repl": lambda lib, g: lib.multinomial(lib.ones(3, 4), 7, True,
                                                          generator=g),
    "multinomial_method": lambda lib, g: lib.ones(2, 5).multinomial(5, generator=g),
    "uniform_": lambda lib, g: lib.empty(3).uniform_(-2, 2, generator=g),
    "normal_": lambda lib, g: lib.empty(3, dtype=lib.float64).normal_(1, 2, generator=g),
    "bernoulli_": lambda lib, g: lib.empty(4).bernoulli_(0.3, generator=g),
    "bernoulli_int": lambda lib, g: lib.zeros(4, dtype=lib.int64).bernoulli_(0.5,
                                                                             generator=g),
    "bernoulli_tensor_p": lambda lib, g: lib.empty(3).bernoulli_(lib.tensor([0.5, 0.1, 1.0]),
                                                                 generator=g),
    "random_": lambda lib, g: lib.empty(3).random_(generator=g),
    "random_to": lambda lib, g: lib.empty(3, dtype=lib.int32).random_(7, generator=g),
    "random_range": lambda lib, g: lib.empty(3).random_(3, 9, generator=g),
    "random_bool": lambda lib, g: lib.empty(5, dtype=lib.bool).random_(generator=g),
    "exponential_": lambda lib, g: lib.empty(4).exponential_(2.0, generator=g),
    "geometric_": lambda lib, g: lib.empty(4).geometric_(0.3, generator=g),
    "uniform_c64": lambda lib, g: lib.empty(3, dtype=lib.complex64).uniform_(generator=g),
    "normal_c64": lambda lib, g: lib.empty(3, dtype=lib.complex64).normal_(generator=g),
    "bernoulli_bool": lambda lib, g: lib.zeros(3, dtype=lib.bool).bernoulli_(0.5, generator=g),
    "geometric_int": lambda lib, g: lib.empty(4, dtype=lib.int64).geometric_(0.3,
                                                                             generator=g),
    "log_normal_": lambda lib, g: lib.empty(4).log_normal_(generator=g),
    "cauchy_": lambda lib, g: lib.empty(4).cauchy_(generator=g),
    "rand_like": lambda lib, g: lib.rand_like(lib.zeros(2, 3, dtype=lib.float64),
                                              generator=g),
    "randn_like": lambda lib, g: lib.randn_like(lib.zeros(2), requires_grad=True,
                                                generator=g),
    "randint_like": lambda lib, g: lib.randint_like(lib.zeros(2), 10, generator=g),
    "randint_like_lo": lambda lib, g: lib.randint_like(lib.zeros(3, dtype=lib.int32), 3, 9,
                                                       generator=g),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_shape_dtype_and_determinism(name):
    sampler = SAMPLERS[name]
    expected = sampler(torch, torch.Generator().manual_seed(1))
    first = sampler(ember, ember.Generator().manual_seed(1))
    assert _meta(first) == _meta(expected)
    again = sampler(ember, ember.Generator().manual_seed(1))
    np.testing.assert_array_equal(first.detach().numpy().astype(np.complex128),
                                  again.detach().numpy().astype(np.complex128))


def test_global_seed_reproduces_and_generators_are_independent():
    ember.manual_seed(7)
    a = ember.randn(5)
    ember.manual_seed(7)
    g = ember.Generator().manual_seed(99)
    ember.rand(3, generator=g)  # drawing from g must not advance the default stream
    b = ember.randn(5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert ember.initial_seed() == 7
    assert not np.array_equal(ember.rand(5).numpy(), ember.rand(5).numpy())


def test_rng_state_roundtrip():
    state = ember.get_rng_state()
    assert state.dtype == ember.uint8 and state.dim() == 1
    first = ember.rand(4)
    ember.set_rng_state(state)
    np.testing.assert_array_equal(first.numpy(), ember.rand(4).numpy())
    g = ember.Generator()
    g.manual_seed(3)
    saved = g.get_state()
    x = ember.randint(0, 100, (6,), generator=g)
    g.set_state(saved)
    np.testing.assert_array_equal(x.numpy(), ember.randint(0, 100, (6,), generator=g).numpy())
    assert g.initial_seed() == 3


def test_generator_api():
    g = ember.Generator()
    assert g.manual_seed(5) is g
    assert g.initial_seed() == 5
    assert g.device == ember.device("cpu")
    new_seed = g.seed()
    assert g.initial_seed() == new_seed
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()
    ember.manual_seed(-1)
    torch.manual_seed(-1)
    assert ember.initial_seed() == torch.initial_seed()
    assert isinstance(ember.seed(), int)
    assert isinstance(ember.default_generator, ember.Generator)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.rand(2, dtype=lib.int64),
    lambda lib: lib.randn(2, dtype=lib.int64),
    lambda lib: lib.randint(5, 5, (2,)),
    lambda lib: lib.randint(-1, 5, (2,), dtype=lib.uint8),
    lambda lib: lib.randint(2.5, (2,)),
    lambda lib: lib.randint(10, (2,), requires_grad=True),
    lambda lib: lib.randperm(-1),
    lambda lib: lib.randperm(3, requires_grad=True),
    lambda lib: lib.rand(-1),
    lambda lib: lib.rand(2, generator=1),
    lambda lib: lib.rand_like(lib.zeros(2, dtype=lib.int64)),
    lambda lib: lib.randn_like(lib.zeros(2, dtype=lib.int64)),
    lambda lib: lib.multinomial(lib.tensor([0.2, 0.8]), 3),
    lambda lib: lib.multinomial(lib.tensor([-0.2, 0.8]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.2, float("inf")]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([[0.2, 0.3], [0.0, 0.0]]), 1),
    lambda lib: lib.multinomial(lib.tensor([[[0.0, 1.0]]]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 1.0]), 0),
    lambda lib: lib.multinomial(lib.tensor([1, 1]), 1),
    lambda lib: lib.bernoulli(lib.tensor([1.5])),
    lambda lib: lib.bernoulli(lib.tensor([1, 0])),
    lambda lib: lib.poisson(lib.tensor([-1.0])),
    lambda lib: lib.poisson(lib.tensor([1])),
    lambda lib: lib.normal(0.0, -1.0, (2,)),
    lambda lib: lib.normal(0.0, 1.0),
    lambda lib: lib.normal(lib.zeros(2), lib.tensor([-1.0, 1.0])),
    lambda lib: lib.normal(lib.zeros(2), lib.ones(3)),
    lambda lib: lib.normal(lib.zeros(2, dtype=lib.int64), 1.0),
    lambda lib: lib.zeros(3).uniform_(2, 1),
    lambda lib: lib.zeros(3, dtype=lib.int64).uniform_(),
    lambda lib: lib.zeros(3).normal_(0, -1),
    lambda lib: lib.zeros(3, dtype=lib.int64).normal_(),
    lambda lib: lib.zeros(3).bernoulli_(1.5),
    lambda lib: lib.zeros(3).bernoulli_(lib.tensor([0.5, 0.1, 2.0])),
    lambda lib: lib.zeros(3).random_(5, 2),
    lambda lib: lib.zeros(3, dtype=lib.float16).random_(0, 2 ** 20),
    lambda lib: lib.zeros(3).exponential_(-1),
    lambda lib: lib.zeros(3).geometric_(0),
    lambda lib: lib.zeros(3).geometric_(1.5),
    lambda lib: lib.zeros(3).log_normal_(1, -2),
    lambda lib: lib.zeros(3).cauchy_(0, -1),
    lambda lib: lib.zeros(3, dtype=lib.int64).exponential_(),
    lambda lib: lib.zeros(3, dtype=lib.complex64).exponential_(),
    lambda lib: lib.zeros(3, dtype=lib.int64).log_normal_(),
    lambda lib: lib.zeros(3, dtype=lib.int64).cauchy_(),
    lambda lib: lib.zeros(3, dtype=lib.bool).geometric_(0.5),
    lambda lib: lib.zeros(3, dtype=lib.bool).uniform_(),
    lambda lib: lib.zeros(3, dtype=lib.complex64).random_(),
    lambda lib: lib.zeros(3, dtype=lib.bool).random_(0, 3),
    lambda lib: lib.bernoulli(lib.zeros(2, dtype=lib.complex64)),
    lambda lib: lib.zeros(3, requires_grad=True).uniform_(),
    lambda lib: lib.zeros(3, requires_grad=True).normal_(),
    lambda lib: lib.Generator().set_state(lib.zeros(3)),
    lambda lib: lib.Generator().set_state(lib.zeros(3, dtype=lib.uint8)),
    lambda lib: lib.Generator().set_state([1, 2]),
    lambda lib: lib.set_rng_state(lib.zeros(3)),
    lambda lib: lib.manual_seed(2 ** 64),
    lambda lib: lib.randint(10, 3),
    lambda lib: lib.randint(0, 10, 3),
    lambda lib: lib.randint(10, size=3),
    lambda lib: lib.normal(0.0, 1.0, 3),
    lambda lib: lib.rand(2, -1),
    lambda lib: lib.rand((2, -1)),
    lambda lib: lib.rand(2.0),
    lambda lib: lib.randn((2, 3.0)),
    lambda lib: lib.randint(0, 5, (2, -3)),
    lambda lib: lib.randint(0, 5, (2, 1.5)),
], ids=lambda f: "")
def test_errors_match_torch(fn):
    check_raises(fn)


def test_error_messages():
    for make in (lambda lib: lib.zeros(3, dtype=lib.int64).exponential_(),
                 lambda lib: lib.zeros(3, dtype=lib.int64).cauchy_(),
                 lambda lib: lib.zeros(3, dtype=lib.complex64).random_(),
                 lambda lib: lib.zeros(3, dtype=lib.bool).random_(0, 3),
                 lambda lib: lib.bernoulli(lib.zeros(2, dtype=lib.complex64))):
        _, torch_error = check_raises(make)
        with pytest.raises(type(torch_error)) as info:
            make(ember)
        assert str(info.value) == str(torch_error)
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        ember.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        ember.multinomial(ember.tensor([0.2, 0.8]), 3)
    wanted = "\"check_uniform_bounds\" not implemented for 'Long'"
    with pytest.raises(NotImplementedError, match=wanted):
        ember.rand(2, dtype=ember.int64)


def _moments(t):
    values = np.asarray(t.detach().numpy() if isinstance(t, ember.Tensor) else t, np.float64)
    return values.mean(), values.std()


@pytest.mark.parametrize("name, make, mean, std", [
    ("rand", lambda g: ember.rand(20000, generator=g), 0.5, (1 / 12) ** 0.5),
    ("randn", lambda g: ember.randn(20000, generator=g), 0.0, 1.0),
    ("normal", lambda g: ember.normal(3.0, 2.0, (20000,), generator=g), 3.0, 2.0),
    ("normal_t", lambda g: ember.normal(ember.full((20000,), -1.0), 0.5, generator=g), -1.0, 0.5),
    ("uniform_", lambda g: ember.empty(20000).uniform_(2, 4, generator=g), 3.0, (4 / 12) ** 0.5),
    ("normal_", lambda g: ember.empty(20000).normal_(1, 3, generator=g), 1.0, 3.0),
    ("exponential_", lambda g: ember.empty(20000).exponential_(2, generator=g), 0.5, 0.5),
    ("bernoulli_", lambda g: ember.empty(20000).bernoulli_(0.25, generator=g), 0.25,
     (0.25 * 0.75) ** 0.5),
    ("geometric_", lambda g: ember.empty(20000).geometric_(0.5, generator=g), 2.0, 2 ** 0.5),
    ("poisson", lambda g: ember.poisson(ember.full((20000,), 4.0), generator=g), 4.0, 2.0),
    ("randint", lambda g: ember.randint(0, 10, (20000,), generator=g), 4.5, (99 / 12) ** 0.5),
    ("randn_c64", lambda g: ember.randn(20000, dtype=ember.complex64, generator=g).numpy().real,
     0.0, 0.5 ** 0.5),
])
def test_distribution_moments(name, make, mean, std):
    got_mean, got_std = _moments(make(ember.Generator().manual_seed(0)))
    assert abs(got_mean - mean) < 0.05 * max(std, 1.0)
    assert abs(got_std - std) < 0.05 * std


def test_ranges_and_permutations():
    g = ember.Generator().manual_seed(0)
    u = ember.empty(1000).uniform_(-2, 3, generator=g).numpy()
    assert u.min() >= -2 and u.max() < 3
    r = ember.randint(-3, 4, (1000,), generator=g).numpy()
    assert set(np.unique(r)) == set(range(-3, 4))
    assert sorted(ember.randperm(50, generator=g).tolist()) == list(range(50))
    ints = ember.empty(1000, dtype=ember.int64).random_(2, 5, generator=g).numpy()
    assert set(np.unique(ints)) == {2, 3, 4}
    full = ember.empty(1000).random_(generator=g).numpy()
    assert full.min() >= 0 and full.max() <= 2 ** 24 and np.all(full == np.round(full))


def test_multinomial_samples():
    g = ember.Generator().manual_seed(0)
    probs = ember.tensor([[0.1, 0.0, 0.6, 0.3], [0.0, 0.0, 1.0, 0.0]])
    draws = ember.multinomial(probs, 4000, replacement=True, generator=g).numpy()
    freq = np.bincount(draws[0], minlength=4) / 4000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.03)
    assert np.all(draws[1] == 2)
    picks = ember.multinomial(ember.ones(3, 6), 6, generator=g).numpy()
    assert all(sorted(row) == list(range(6)) for row in picks)
    # zero-weight categories come only after the positive ones are exhausted, as in torch
    picks = ember.multinomial(ember.tensor([0.0, 0.3, 0.0]), 2, generator=g).tolist()
    assert picks[0] == 1 and picks[1] in (0, 2)
    unnormalised = ember.multinomial(ember.tensor([2.0, 0.0, 6.0]), 1000, True, generator=g)
    assert abs((unnormalised.numpy() == 2).mean() - 0.75) < 0.05


def test_sampler_gradients_are_zero_with_torch_node_names():
    for mean_grad, std_grad, node in [(True, True, "NormalBackward3"),
                                      (True, False, "NormalBackward1"),
                                      (False, True, "NormalBackward2")]:
        mean = ember.zeros(3, requires_grad=mean_grad)
        std = ember.ones(3, requires_grad=std_grad)
        out = ember.normal(mean if mean_grad else 0.0, std if std_grad else 1.0)
        assert out.grad_fn.name() == node
        out.sum().backward()
        for t, wanted in ((mean, mean_grad), (std, std_grad)):
            if wanted:
                np.testing.assert_array_equal(t.grad.numpy(), np.zeros(3))
    p = ember.full((3,), 0.5, requires_grad=True)
    out = ember.bernoulli(p)
    assert out.requires_grad and out.grad_fn.name() == "BernoulliBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3))
    assert ember.poisson(p).grad_fn.name() == "PoissonBackward0"
    assert not ember.multinomial(p, 2).requires_grad


def test_inplace_samplers_bump_version_and_write_through_views():
    base = ember.zeros(4, 4)
    view = base[1]
    version = base._version
    view.normal_()
    assert base._version == version + 1
    assert np.all(base.numpy()[1] != 0) and np.all(base.numpy()[0] == 0)
    with ember.no_grad():
        leaf = ember.zeros(3, requires_grad=True)
        assert leaf.uniform_() is leaf


def test_fill_in_half_and_bfloat16():
    g = ember.Generator().manual_seed(0)
    for dt in (ember.float16, ember.bfloat16):
        t = ember.empty(100, dtype=dt).uniform_(generator=g)
        assert t.dtype == dt
        values = t.float().numpy()
        assert values.min() >= 0 and values.max() <= 1
        low_precision = ember.rand(20000, dtype=dt, generator=g).float().numpy()
        assert low_precision.max() < 1 and 0.45 < low_precision.mean() < 0.55


@pytest.mark.parametrize("method, args, node", [
    ("uniform_", (), "UniformBackward0"), ("normal_", (), "NormalBackward0"),
    ("bernoulli_", (), "BernoulliBackward2"), ("random_", (), "RandomBackward2"),
    ("exponential_", (), "ExponentialBackward0"), ("geometric_", (0.5,), "GeometricBackward0"),
    ("log_normal_", (), "LogNormalBackward0"), ("cauchy_", (), "CauchyBackward0"),
])
def test_inplace_sampler_on_graph_gives_zero_gradient(method, args, node):
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    getattr(y, method)(*args)
    assert y.requires_grad and y.grad_fn.name() == node
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))
    scalar = (ember.ones((), requires_grad=True) * 2).normal_()
    assert scalar.shape == ()


SPANS = [(0, 9), (-5, 3), (0, 2 ** 31), (0, 2 ** 31 + 1), (0, 3 * 2 ** 30), (0, 2 ** 32 - 1),
         (-(2 ** 31), 2 ** 31), (0, 2 ** 32 + 1), (-(2 ** 40), 2 ** 40), (7, 8),
         (-(2 ** 63), 2 ** 63 - 1)]


@pytest.mark.parametrize("low, high", SPANS)
def test_small_draws_continue_the_same_stream(low, high):
    """A few values are drawn one by one (faster than numpy's size= draw; for spans up to
    2**32 by ember's replay of numpy's routine): the concatenated small draws equal one
    large draw from the same seed."""
    g = ember.Generator().manual_seed(3)
    sizes = [(2,), (), (1, 1), (3,), (0,), (1,), (2, 0), (5,), (2, 4), (9,), (7,)]
    parts = [ember.randint(low, high, size, generator=g).reshape(-1) for size in sizes]
    ints = ember.empty(1, dtype=ember.int64).random_(low, high, generator=g)
    small = ember.cat(parts + [ints])
    g.manual_seed(3)
    whole = ember.randint(low, high, (small.numel(),), generator=g)
    assert small.tolist() == whole.tolist()
    assert all(low <= v < high for v in small.tolist())


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_small_draws_are_numpys_stream(seed):
    """ember samples from numpy's PCG64 Generator: small randint draws (replayed by ember
    for spans up to 2**32) give exactly numpy's values, interleaved with other draws that
    share the bit generator (next_uint32 keeps half a 64-bit word buffered)."""
    g = ember.Generator().manual_seed(seed)
    reference = np.random.Generator(np.random.PCG64(seed))
    for low, high in SPANS * 3:
        for count in (1, 2, 5, 8):
            got = ember.randint(low, high, (count,), generator=g).tolist()
            assert got == reference.integers(low, high, size=count).tolist()
        assert ember.rand((), generator=g).item() == reference.random(dtype=np.float32)
        assert ember.randint(0, 7, (), generator=g).item() == reference.integers(0, 7)


def test_small_draws_under_threads_use_the_generator_lock():
    import threading

    g = ember.Generator().manual_seed(7)
    drawn = []

    def work():
        for _ in range(500):
            drawn.extend(ember.randint(0, 1000, (2,), generator=g).tolist())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reference = np.random.Generator(np.random.PCG64(7)).integers(0, 1000, size=len(drawn))
    assert sorted(drawn) == sorted(reference.tolist())


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float32", "bool"])
def test_small_randint_dtypes(dtype):
    g = ember.Generator().manual_seed(4)
    high = 2 if dtype == "bool" else 100
    small = [ember.randint(0, high, (2,), dtype=getattr(ember, dtype), generator=g)
             for _ in range(3)]
    g.manual_seed(4)
    whole = ember.randint(0, high, (6,), dtype=getattr(ember, dtype), generator=g)
    assert all(t.dtype == whole.dtype for t in small)
    assert ember.cat(small).tolist() == whole.tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rand_0d_continues_the_same_stream(dtype):
    g = ember.Generator().manual_seed(5)
    dt = getattr(ember, dtype)
    scalars = [ember.rand((), dtype=dt, generator=g) for _ in range(3)]
    assert all(s.shape == () and s.dtype == dt for s in scalars)
    g.manual_seed(5)
    whole = ember.rand(3, dtype=dt, generator=g)
    assert [s.item() for s in scalars] == whole.tolist()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bounds", [(0.0, 1.0), (0.1, 0.5), (-3, 2), (np.float64(-1.5), 2.25)])
def test_one_value_uniform_matches_the_array_path(dtype, bounds):
    """One-element draws take a scalar path; values equal the array path's bit for bit."""
    dt = getattr(ember, dtype)
    g = ember.Generator().manual_seed(6)
    single = [ember.empty(1, dtype=dt).uniform_(*bounds, generator=g) for _ in range(2)]
    single.append(ember.empty(1, 1, dtype=dt).uniform_(*bounds, generator=g).reshape(1))
    single.append(ember.empty((), dtype=dt).uniform_(*bounds, generator=g).reshape(1))
    g.manual_seed(6)
    whole = ember.empty(4, dtype=dt).uniform_(*bounds, generator=g)
    assert ember.cat(single).tolist() == whole.tolist()
    assert all(s.dtype == dt for s in single)
