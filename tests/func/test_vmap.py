"""ember.vmap / ember.func.vmap against torch.func.vmap: values, shapes, gradients
through the map, and PyTorch's errors."""

import numpy as np
import oracle
import pytest
import torch
from oracle import as_numpy, assert_same, check, check_raises, randn

import ember


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


B, N = 4, 3
X = randn(B, N, dtype=np.float64)
Y = randn(B, N, dtype=np.float64)
XT = randn(N, B, dtype=np.float64)
W = randn(N, N, dtype=np.float64)
V = randn(N, dtype=np.float64)
X3 = randn(2, B, N, dtype=np.float64)


def vm(lib, *args, **kw):
    return lib.func.vmap(*args, **kw)


# (name, fn(lib, *tensors), inputs); every case also compares input gradients
CASES = [
    ("dot", lambda lib, x, y: vm(lib, lib.dot)(x, y), (X, Y)),
    ("unary_sum", lambda lib, x: vm(lib, lambda a: a.sin().sum())(x), (X,)),
    ("in_dim_1", lambda lib, x: vm(lib, lambda a: a * 2, in_dims=1)(x), (XT,)),
    ("in_dim_negative", lambda lib, x: vm(lib, lambda a: a.exp(), in_dims=-1)(x), (XT,)),
    ("in_dims_tuple_none", lambda lib, x, w: vm(lib, lambda a, m: m @ a, in_dims=(0, None))(x, w),
     (X, W)),
    ("in_dims_mixed", lambda lib, x, y: vm(lib, lambda a, b: a * b, in_dims=(1, 0))(x, y),
     (XT, Y)),
    ("out_dim_1", lambda lib, x: vm(lib, lambda a: a.outer(a), out_dims=1)(x), (X,)),
    ("out_dim_negative", lambda lib, x: vm(lib, lambda a: a * a, out_dims=-1)(x), (X,)),
    ("out_dims_tuple", lambda lib, x: vm(lib, lambda a: (a.sum(), a * 3), out_dims=(0, 1))(x),
     (X,)),
    ("out_dims_one_tuple", lambda lib, x: vm(lib, lambda a: a + 1, out_dims=(1,))(x), (X,)),
    ("tuple_output", lambda lib, x, y: vm(lib, lambda a, b: (a + b, a - b))(x, y), (X, Y)),
    ("dict_output", lambda lib, x: tuple(vm(lib, lambda a: {"s": a.sum(), "p": a * a})(x)
                                         .values()), (X,)),
    ("dict_input", lambda lib, x, y: vm(lib, lambda d: d["a"] * d["b"])({"a": x, "b": y}),
     (X, Y)),
    ("nested_tuple_input", lambda lib, x, y, w: vm(
        lib, lambda p, m: p[0] @ m + p[1], in_dims=((0, 0), None))((x, y), w), (X, Y, W)),
    ("nested_in_dims_prefix", lambda lib, x, y: vm(lib, lambda p: p[0] * p[1],
                                                   in_dims=(0,))((x, y)), (X, Y)),
    ("kwargs_not_batched", lambda lib, x, v: vm(lib, lambda a, scale: a * scale)(x, scale=v),
     (X, V)),
    ("unbatched_output", lambda lib, x: vm(lib, lambda a: lib.ones(2, dtype=a.dtype))(x), (X,)),
    ("out_dims_none_constant", lambda lib, x, v: vm(
        lib, lambda a, c: (a * 2, c), in_dims=(0, None), out_dims=(0, None))(x, v), (X, V)),
    ("nested_vmap", lambda lib, x: vm(lib, vm(lib, lambda a: a ** 2 + 1))(x), (X3,)),
    ("nested_vmap_dims", lambda lib, x, y: vm(lib, vm(lib, lambda a, b: a * b, in_dims=(0, None)),
                                              in_dims=(1, None))(x, y[0]), (X3, Y)),
    ("matmul_batch", lambda lib, x, w: vm(lib, lambda a: lib.nn.functional.linear(a, w))(x),
     (X, W)),
    ("chunked", lambda lib, x, y: vm(lib, lambda a, b: (a * b).sum(), chunk_size=3)(x, y),
     (X, Y)),
    ("chunk_one", lambda lib, x: vm(lib, lambda a: a.cumsum(0), chunk_size=1)(x), (X,)),
    ("scalar_per_sample", lambda lib, x: vm(lib, lambda a: a * 2)(x[:, 0]), (X,)),
    ("none_argument", lambda lib, x: vm(lib, lambda a, n: a * 2 if n is None else a,
                                        in_dims=(0, None))(x, None), (X,)),
    ("select_in_sample", lambda lib, x: vm(lib, lambda a: a[1:] - a[:-1])(x), (X,)),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_vmap_matches_torch(name, fn, inputs):
    check(fn, *inputs)


def test_vmap_is_ember_vmap():
    assert ember.vmap is ember.func.vmap
    x = ember.tensor(X)
    assert_same(ember.vmap(lambda a: a.sum())(x), torch.func.vmap(lambda a: a.sum())(
        torch.tensor(X)))


def test_vmap_float32_dtype_and_shape():
    e, _ = check(lambda lib, x: vm(lib, lambda a: a.mean(), in_dims=1)(x),
                 randn(N, 5), grad=False)
    assert tuple(e.shape) == (5,) and e.dtype == ember.float32


def test_empty_batch():
    check(lambda lib, x: vm(lib, lambda a: a * 2)(x), np.zeros((0, 3)), grad=False)
    check(lambda lib, x: vm(lib, lambda a: a.sum(), out_dims=0)(x), np.zeros((0, 3)), grad=False)


def test_in_place_on_sample_writes_input():
    for lib in (ember, torch):
        x = lib.zeros(3, 2)
        vm(lib, lambda a: a.add_(1))(x)
        assert float(x.sum()) == 6.0


def test_wraps_name():
    def my_function(a):
        return a

    assert ember.vmap(my_function).__name__ == "my_function"


# (name, fn(lib, *tensors), inputs, match)
ERRORS = [
    ("in_dims_list", lambda lib, x: vm(lib, lambda a: a, in_dims=[0])(x), (X,),
     "expected `in_dims` to be int or a"),
    ("in_dims_none", lambda lib, x: vm(lib, lambda a: a, in_dims=None)(x), (X,),
     "expected `in_dims` to be int"),
    ("in_dims_float", lambda lib, x: vm(lib, lambda a: a, in_dims=(0.5,))(x), (X,),
     "Got in_dim=0.5 for an input but in_dim must be either an integer dimension or None"),
    ("in_dims_structure", lambda lib, x: vm(lib, lambda a: a, in_dims=(0, 1))(x), (X,),
     "in_dims is not compatible with the structure of `inputs`"),
    ("in_dim_out_of_range", lambda lib, x: vm(lib, lambda a: a, in_dims=2)(x), (X,),
     "expected in_dim to satisfy -2 <= in_dim < 2"),
    ("in_dim_on_non_tensor", lambda lib, x: vm(lib, lambda a, b: a)(x, 1), (X,),
     "We cannot vmap over non-Tensor arguments"),
    ("none_is_a_leaf", lambda lib, x: vm(lib, lambda a, n: a)(x, None), (X,),
     "the input is of type <class 'NoneType'>"),
    ("returns_none", lambda lib, x: vm(lib, lambda a: (a, None))(x), (X,),
     "must only return Tensors, got type <class 'NoneType'>"),
    ("batch_size_mismatch", lambda lib, x, v: vm(lib, lambda a, b: a)(x, v), (X, V),
     r"got sizes \[4, 3\] for the mapped dimension"),
    ("nothing_to_map", lambda lib, x: vm(lib, lambda a: a, in_dims=(None,))(x), (X,),
     "Expected at least one Tensor to vmap over"),
    ("no_inputs", lambda lib: vm(lib, lambda: 1)(), (), "got no inputs"),
    ("returns_int", lambda lib, x: vm(lib, lambda a: 1)(x), (X,),
     "must only return Tensors, got type <class 'int'>"),
    ("batched_output_out_dim_none", lambda lib, x: vm(lib, lambda a: a, out_dims=None)(x), (X,),
     "can not return a BatchedTensor when out_dim is None"),
    ("out_dims_type", lambda lib, x: vm(lib, lambda a: a, out_dims="a")(x), (X,),
     "`out_dims` must be an int, None or a python collection of ints"),
    ("out_dims_structure", lambda lib, x: vm(lib, lambda a: (a, a), out_dims=(0, 0, 0))(x), (X,),
     "out_dims is not compatible with the structure of `outputs`"),
    ("out_dim_out_of_range", lambda lib, x: vm(lib, lambda a: a, out_dims=3)(x), (X,),
     "Dimension out of range"),
    ("bad_randomness", lambda lib: vm(lib, lambda a: a, randomness="foo"), (),
     "Only allowed values for randomness are 'error', 'different', or 'same'. Got foo"),
    ("bad_chunk_size", lambda lib: vm(lib, lambda a: a, chunk_size=0), (),
     r"chunk_size should be None or greater than 0. \(got 0\)"),
    ("random_in_error_mode", lambda lib, x: vm(lib, lambda a: a + lib.rand(3))(x), (X,),
     "called random operation while in randomness error mode"),
    ("explicit_generator_in_error_mode", lambda lib, x: vm(
        lib, lambda a: a + lib.rand(3, generator=lib.Generator()))(x), (X,),
     "called random operation while in randomness error mode"),
    ("dropout_in_error_mode", lambda lib, x: vm(lib, lambda a: lib.nn.functional.dropout(a))(x),
     (X,), "randomness error mode"),
    ("random_in_inner_vmap_of_error_outer", lambda lib, x: vm(
        lib, vm(lib, lambda a: a + lib.rand(()), randomness="different"))(x), (X3,),
     "randomness error mode"),
]


@pytest.mark.parametrize("name,fn,inputs,match", ERRORS, ids=[c[0] for c in ERRORS])
def test_vmap_errors(name, fn, inputs, match):
    check_raises(fn, *inputs, match=match)


def test_random_error_mode_restores_generator():
    x = ember.tensor(X)
    generator = ember.Generator().manual_seed(5)
    with pytest.raises(RuntimeError):
        ember.vmap(lambda a: a + ember.randn(3))(x)
    with pytest.raises(RuntimeError):
        ember.vmap(lambda a: a + ember.randn(3, generator=generator))(x)
    ember.rand(2)  # drawing works again outside vmap
    reseeded = ember.Generator().manual_seed(5)
    assert_same(ember.rand(4, generator=generator),
                torch.from_numpy(as_numpy(ember.rand(4, generator=reseeded))))
    # a generator seeded inside an error-mode vmap keeps its stream
    inside = []
    ember.vmap(lambda a: inside.append(ember.Generator().manual_seed(5)) or a)(x)
    assert_same(inside[0].get_state(), torch.from_numpy(reseeded.manual_seed(5).get_state()
                                                        .numpy()))


def test_randomness_same_and_different():
    x = ember.zeros(5, 3)
    same = ember.vmap(lambda a: a + ember.rand(3), randomness="same")(x)
    assert bool((same == same[0]).all())
    ember.manual_seed(0)
    different = ember.vmap(lambda a: a + ember.rand(3), randomness="different")(x)
    assert not bool((different == different[0]).all())
    ember.manual_seed(0)
    same_chunks = ember.vmap(lambda a: a + ember.rand(3), randomness="same", chunk_size=2)(x)
    assert bool((same_chunks == same_chunks[0]).all())
    # torch agrees on the structure of the results
    t = torch.zeros(5, 3)
    t_same = torch.func.vmap(lambda a: a + torch.rand(3), randomness="same")(t)
    assert bool((t_same == t_same[0]).all())


def test_randomness_same_advances_stream_once():
    ember.manual_seed(3)
    ember.vmap(lambda a: a + ember.rand(3), randomness="same")(ember.zeros(4, 3))
    after_vmap = ember.rand(2)
    ember.manual_seed(3)
    ember.rand(3)
    assert_same(after_vmap, torch.from_numpy(as_numpy(ember.rand(2))))


def test_gradient_through_vmap_backward():
    """loss.backward() through vmap puts the same .grad on leaves as torch."""
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(X, requires_grad=True)
        w = lib.tensor(W, requires_grad=True)
        out = lib.func.vmap(lambda a, m: (m @ a).tanh(), in_dims=(0, None))(x, w)
        (out * out).sum().backward()
        grads.append((x.grad, w.grad))
    assert_same(grads[0], grads[1])


def test_gradcheck_through_vmap():
    x = ember.tensor(X, requires_grad=True)
    w = ember.tensor(W, requires_grad=True)
    f = ember.vmap(lambda a, m: (m @ a).sin(), in_dims=(0, None))
    assert ember.autograd.gradcheck(f, (x, w))
    assert ember.autograd.gradgradcheck(f, (x, w))


def test_randomness_same_covers_explicit_generators():
    generator = ember.Generator().manual_seed(1)
    out = ember.vmap(lambda a: a + ember.rand(3, generator=generator), randomness="same")(
        ember.zeros(4, 3))
    assert bool((out == out[0]).all())
    # the generator ends one sample's draws further on
    reference = ember.Generator().manual_seed(1)
    ember.rand(3, generator=reference)
    assert_same(ember.rand(2, generator=generator),
                torch.from_numpy(as_numpy(ember.rand(2, generator=reference))))


@pytest.mark.parametrize("outer,inner", [("same", "different"), ("different", "same"),
                                         ("same", "same")])
def test_nested_randomness_modes(outer, inner):
    """Which levels see the same numbers follows each level's mode, in ember and torch."""
    def run(lib):
        x = lib.zeros(3, 4, 2)
        f = lib.func.vmap(lambda a: a + lib.rand(2), randomness=inner)
        out = lib.func.vmap(f, randomness=outer)(x)
        same_outer = bool((out == out[0:1]).all())
        same_inner = bool((out == out[:, 0:1]).all())
        return same_outer, same_inner

    assert run(ember) == run(torch)
