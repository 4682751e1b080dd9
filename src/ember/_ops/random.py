"""Random numbers: the global generator, Generator objects, and the sampling ops.

Every sampler draws from a ``numpy.random.Generator`` over PCG64 owned by an ember
``Generator``; the same seed gives the same numbers in ember (PyTorch's exact streams are
not reproduced). Samples are drawn on the host and moved to the target device, so CPU
and CUDA tensors seeded alike hold the same values, with one exception: Bernoulli draws
with a float ``p`` on a CUDA tensor (every dropout mask) are computed on the device by
``_device_bernoulli`` from one 64-bit key taken from the same host stream. Seeded runs
repeat there too, but those values differ from the CPU's (as PyTorch's CUDA and CPU
streams differ); drawing megabytes on the host and copying them over took 40% of a
Transformer training step on an H200.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.dtypes import COMPLEX32_NP
from .._backend.kernels import elementwise, launch
from .._backend.float8 import FLOAT8_NP
from .._complex32 import to_complex32
from .._backend import get_default_device, get_default_dtype, to_device, to_dtype
from .._memory_format import contiguous_format, preserve_format
from ..autograd.function import Function
from . import random_meta as _meta
from ._util import Tensor, _make, type_name, xp_of
from .creation import _module_and_device, _on_device, _pin_created, _size, sizes_given, supports_out
from .generator import (  # noqa: F401 - re-exported: the seed API lives here too
    Generator, _rng, default_generator, get_rng_state, initial_seed, manual_seed, seed,
    set_rng_state,
)


# ---------------------------------------------------------------------------
# Drawing helpers: host arrays of a given NumPy dtype
# ---------------------------------------------------------------------------


def _float_np(dtype, op_name):
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else get_default_dtype().np
    if np_dtype.kind not in "fcV" or np_dtype in FLOAT8_NP:
        raise NotImplementedError(f'"{op_name}" not implemented for \'{type_name(np_dtype)}\'')
    return np_dtype


def _shape(size, name="empty"):
    """``_size`` with a fast path for the usual plain non-negative ints."""
    plain = size[0] if len(size) == 1 and type(size[0]) is tuple else size
    for s in plain:
        if type(s) is not int or s < 0:
            return _size(size, name)
    return plain


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_CPU = to_device("cpu")


def _uniform(rng, shape, np_dtype, low=0.0, high=1.0):
    """Uniform in [low, high); complex dtypes draw real and imaginary parts."""
    if (np_dtype is _F32 or np_dtype is _F64) and math.prod(shape) == 1:
        # One value: the scalar draw (a Python float holding the exact float32 or float64
        # sample) skips random(size)'s array set-up; same stream, and the same arithmetic
        # as below on a NumPy scalar of the work dtype.
        value = rng.random(dtype=np_dtype)
        if low != 0.0 or high != 1.0:
            value = np_dtype.type(value) * (high - low) + low
        value = np.array(value, np_dtype)
        return value if shape == () else value.reshape(shape)
    if np_dtype is COMPLEX32_NP:  # drawn as complex64, rounded to float16 pairs
        return to_complex32(_uniform(rng, shape, np.dtype(np.complex64), low, high))
    if np_dtype.kind == "c":
        real = np.dtype(np.float32 if np_dtype.itemsize == 8 else np.float64)
        pair = _uniform(rng, shape + (2,), real, low, high)
        return (pair[..., 0] + 1j * pair[..., 1]).astype(np_dtype)
    if np_dtype in (np.float32, np.float64):
        work = np_dtype
        values = rng.random(shape, dtype=work)
    else:
        # float16/bfloat16: multiples of 2**-digits, so rounding never yields 1.0
        work = np.dtype(np.float32)
        digits = 11 if np_dtype == np.float16 else 8
        values = rng.integers(0, 2 ** digits, shape, dtype=np.int32).astype(work) * (
            work.type(2.0 ** -digits)
        )
    if low != 0.0 or high != 1.0:
        values = (values * (high - low) + low).astype(work)
    return values.astype(np_dtype)


def _normal(rng, shape, np_dtype, mean=0.0, std=1.0):
    if np_dtype is COMPLEX32_NP:  # drawn as complex64, rounded to float16 pairs
        return to_complex32(_normal(rng, shape, np.dtype(np.complex64), mean, std))
    if np_dtype.kind == "c":  # PyTorch: each part has variance 1/2
        real = np.dtype(np.float32 if np_dtype.itemsize == 8 else np.float64)
        pair = _normal(rng, shape + (2,), real) * np.sqrt(0.5).astype(real)
        return ((pair[..., 0] + 1j * pair[..., 1]) * std + mean).astype(np_dtype)
    work = np_dtype if np_dtype in (np.float32, np.float64) else np.dtype(np.float32)
    values = rng.standard_normal(shape, dtype=work)
    if mean != 0.0 or std != 1.0:
        values = (values * std + mean).astype(work)
    return values.astype(np_dtype)


def _finish(array, dev, requires_grad):
    t = _make(array if dev.type == "cpu" else _on_device(array, dev))
    if requires_grad:
        if array.dtype.kind not in "fcV":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        t._requires_grad = True
    return t


# ---------------------------------------------------------------------------
# Factories
# ---------------------------------------------------------------------------


@supports_out
def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    size = sizes_given(sizes, size, "rand")
    _, dev = _module_and_device(device)
    if dev.type == "meta":  # nothing drawn, the generator untouched; any dtype, as torch's
        return _meta.sample(_shape(size, "rand"), _meta.np_dtype_of(dtype), requires_grad)
    np_dtype = _float_np(dtype, "check_uniform_bounds")
    array = _uniform(_rng(generator), _shape(size, "rand"), np_dtype)
    result = _finish(array, dev, requires_grad)
    return _pin_created(result) if pin_memory else result


@supports_out
def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None,
          device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples."""
    size = sizes_given(sizes, size, "randn")
    _, dev = _module_and_device(device)
    if dev.type == "meta":  # nothing drawn, the generator untouched
        np_dtype = _meta.np_dtype_of(dtype)
        _meta.check_floating(np_dtype)
        return _meta.sample(_shape(size, "randn"), np_dtype, requires_grad)
    np_dtype = _float_np(dtype, "normal_kernel_cpu")
    array = _normal(_rng(generator), _shape(size, "randn"), np_dtype)
    result = _finish(array, dev, requires_grad)
    return _pin_created(result) if pin_memory else result


_INT64 = np.dtype(np.int64)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _int_bounds_check(low, high, np_dtype):
    if np_dtype is _INT64 and _INT64_MIN <= low < high and high - 1 <= _INT64_MAX:
        return  # the default dtype: one comparison chain instead of the table lookups
    if np_dtype.kind == "c":
        raise RuntimeError(
            "check_random_bounds handles only integral, floating-point and boolean types")
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    if np_dtype.kind in "iub":
        info = np.iinfo(np_dtype) if np_dtype.kind != "b" else None
        lo, hi = (0, 1) if info is None else (info.min, info.max)
        name = {"uint8": "unsigned char", "int8": "signed char", "int16": "short",
                "int32": "int", "int64": "long", "bool": "bool"}[str(np_dtype)]
        if low < lo or low > hi:
            raise RuntimeError(f"from is out of bounds for {name}")
        if high - 1 > hi or high - 1 < lo:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")
    elif np_dtype.kind in "fV":
        digits = {2: 11, 4: 24, 8: 53}[np_dtype.itemsize]
        if np_dtype.kind == "V":
            digits = 8
        limit = 2 ** digits
        name = {np.dtype(np.float16): "c10::Half", np.dtype(np.float32): "float",
                np.dtype(np.float64): "double"}.get(np_dtype, "c10::BFloat16")
        if low < -limit or low > limit:
            raise RuntimeError(f"from is out of bounds for {name}")
        if high - 1 > limit or high - 1 < -limit:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")


# Generator.integers costs ~1 us per call before drawing, ~4 us with size= (np.prod(size),
# operand arrays). A few values in a span of at most 2**32 are drawn by _small_ints at
# ~0.3 us each; a few in a wider span one call at a time. All give the same stream.
_SMALL_DRAWS = 8
_SCALAR_DRAWS = 3


def _small_ints(rng, low, high, count):
    """``count`` values of ``rng.integers(low, high)`` bit for bit, for ``high - low <=
    2**32``: numpy's bounded-integer routine for such spans (Lemire's multiply-shift with
    rejection, on the bit generator's next_uint32) replayed here, calling next_uint32
    through the bit generator's ctypes interface under the generator's lock."""
    span = high - low
    if span == 1:
        return [low] * count  # numpy draws nothing for a one-value range
    bit_generator = rng.bit_generator
    interface = bit_generator.ctypes
    next_uint32, state = interface.next_uint32, interface.state
    values = []
    with bit_generator.lock:
        if span == 1 << 32:
            return [low + next_uint32(state) for _ in range(count)]
        for _ in range(count):
            scaled = next_uint32(state) * span
            leftover = scaled & 0xFFFFFFFF
            if leftover < span:  # maybe in the biased zone: reject below the threshold
                threshold = ((1 << 32) - span) % span
                while leftover < threshold:
                    scaled = next_uint32(state) * span
                    leftover = scaled & 0xFFFFFFFF
            values.append(low + (scaled >> 32))
    return values


def _integers(rng, low, high, shape, np_dtype):
    count = math.prod(shape)
    if (count <= _SMALL_DRAWS and type(low) is int and type(high) is int
            and high - low <= 1 << 32):
        values = np.array(_small_ints(rng, low, high, count), _INT64)
    elif count <= _SCALAR_DRAWS:
        draw = rng.integers
        values = np.array([draw(low, high) for _ in range(count)], _INT64)
    else:
        values = rng.integers(low, high, size=shape, dtype=np.int64, endpoint=False)
    if values.shape != shape:
        values = values.reshape(shape)
    return values if np_dtype is _INT64 else values.astype(np_dtype)


def _int_arg(value, name, position):
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"randint(): argument '{name}' (position {position}) must be int, not "
            f"{type(value).__name__}"
        )
    return int(value)


@supports_out
def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:  # randint(high, size)
        if high is None:
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    if type(low) is not int:
        low = _int_arg(low, "low", 1)
    if type(high) is not int:
        high = _int_arg(high, "high", 2)
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else _INT64
    _int_bounds_check(low, high, np_dtype)
    dev = to_device(device) if device is not None else get_default_device()
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"randint(): argument 'size' must be tuple of ints, not {type(size).__name__}"
        )
    shape = _shape(tuple(size))
    if dev.type == "meta":  # nothing drawn, the generator untouched
        return _meta.sample(shape, np_dtype, requires_grad)
    array = _integers(_rng(generator), low, high, shape, np_dtype)
    result = _finish(array, dev, requires_grad)
    return _pin_created(result) if pin_memory else result


@supports_out
def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of 0..n-1."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    np_dtype = to_dtype(dtype).numpy_dtype if dtype is not None else np.dtype(np.int64)
    _, dev = _module_and_device(device)
    if dev.type == "meta":  # nothing drawn, the generator untouched; any dtype, as torch's
        return _meta.sample((n,), np_dtype, requires_grad)
    if np_dtype.kind in "bc":
        raise NotImplementedError(
            f"\"randperm\" not implemented for '{type_name(np_dtype)}'")
    if np_dtype.kind in "iu" and n - 1 > np.iinfo(np_dtype).max:
        c_name = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t",
                  "int32": "int"}.get(np_dtype.name, np_dtype.name)
        raise RuntimeError(f"value cannot be converted to type {c_name} without overflow")
    array = _rng(generator).permutation(n).astype(np_dtype)
    result = _finish(array, dev, requires_grad)
    return _pin_created(result) if pin_memory else result


def _like(input, dtype, device):
    dt = to_dtype(dtype) if dtype is not None else input.dtype
    dev = to_device(device) if device is not None else input.device
    return dt, dev


def _laid_out_like(input, memory_format, result):
    """``result`` (fresh, contiguous) moved into the layout ``memory_format`` asks for;
    preserve_format keeps ``input``'s strides as PyTorch's *_like (one flag read when the
    input is contiguous and no format is named)."""
    from .copies import empty_like_array, plain_layout

    if memory_format is None or memory_format is preserve_format:
        if plain_layout(input._data):
            return result
    elif memory_format is contiguous_format:
        return result

    array = result._data
    laid_out = empty_like_array(input._data, array.dtype, memory_format, xp_of(array))
    laid_out[...] = array
    result._data = laid_out
    return result


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    if dev.type == "meta":  # the input's layout, nothing drawn
        return _meta.like(input._data, dt.numpy_dtype, requires_grad)
    return _laid_out_like(input, memory_format, rand(
        tuple(input.shape), generator=generator, dtype=dt, device=dev,
        requires_grad=requires_grad))


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    if dev.type == "meta":  # the input's layout, nothing drawn
        _meta.check_floating(dt.numpy_dtype)
        return _meta.like(input._data, dt.numpy_dtype, requires_grad)
    return _laid_out_like(input, memory_format, randn(
        tuple(input.shape), generator=generator, dtype=dt, device=dev,
        requires_grad=requires_grad))


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None) -> Tensor:
    if high is None:
        low, high = 0, low
    dt, dev = _like(input, dtype, device)
    if dev.type == "meta":  # the input's layout, nothing drawn
        _int_bounds_check(low, high, dt.numpy_dtype)
        return _meta.like(input._data, dt.numpy_dtype, requires_grad)
    return _laid_out_like(input, memory_format, randint(
        low, high, tuple(input.shape), generator=generator, dtype=dt, device=dev,
        requires_grad=requires_grad))


# ---------------------------------------------------------------------------
# Samplers of tensor parameters: their gradient is zero, as PyTorch defines it
# ---------------------------------------------------------------------------


class _ZeroGradSample(Function):
    """A sample whose parameters get a zero gradient (NormalBackward, BernoulliBackward)."""

    _array_io = True

    @staticmethod
    def forward(ctx, sample, *params):
        ctx.param_count = len(params)
        return sample

    @staticmethod
    def backward(ctx, grad):
        zero = grad * 0
        return (None,) + (zero,) * ctx.param_count


class NormalTensorFloat(_ZeroGradSample):
    _node_name = "NormalBackward1"


class NormalFloatTensor(_ZeroGradSample):
    _node_name = "NormalBackward2"


class NormalTensorTensor(_ZeroGradSample):
    _node_name = "NormalBackward3"


class Bernoulli(_ZeroGradSample):
    pass


class Poisson(_ZeroGradSample):
    pass


def _with_zero_grad(fn_class, sample_array, *params):
    tensors = [p for p in params if isinstance(p, Tensor)]
    if any(t._requires_grad for t in tensors):
        return fn_class.apply(_make(sample_array), *tensors)
    return _make(sample_array)


_SPLITMIX = tuple(np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9,
                                         0x94D049BB133111EB))
_SHIFTS = tuple(np.uint64(s) for s in (30, 27, 31, 11))

# ``_splitmix_uniform``'s draw for element ``i`` under ``key``, as kernel code (``draw``)
SPLITMIX_DRAW = """
unsigned long long z = key + (unsigned long long)i * 0x9E3779B97F4A7C15ULL;
z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
z ^= z >> 31;
const double draw = (double)(z >> 11) * (1.0 / 9007199254740992.0);
"""

# the Bernoulli mask in one kernel: the draw compared to p, in the mask's dtype
_BERNOULLI = SPLITMIX_DRAW + "out = (T)(draw < p ? 1 : 0);\n"


def _splitmix_uniform(xp, shape, key):
    """Uniform [0, 1) float64 draws of ``shape`` computed where ``xp`` computes: SplitMix64
    of (key + index * golden ratio). Counter-based, so one pass of elementwise uint64
    arithmetic (the same code on NumPy and CuPy)."""
    golden, mix1, mix2 = _SPLITMIX
    z = xp.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    z *= golden
    z += key
    z ^= z >> _SHIFTS[0]
    z *= mix1
    z ^= z >> _SHIFTS[1]
    z *= mix2
    z ^= z >> _SHIFTS[2]
    z >>= _SHIFTS[3]  # the top 53 bits: exact in float64
    return z.astype(np.float64) * (1.0 / 2 ** 53)


def _device_bernoulli(xp, shape, dtype, p, rng):
    """A Bernoulli(p) mask of ``shape`` and ``dtype`` drawn where ``xp`` computes, keyed by
    one draw from ``rng`` (so the host stream advances by exactly one draw): one kernel on
    a GPU that compiles, else ``_splitmix_uniform(...) < p``, the same values."""
    key = rng.integers(0, 2 ** 64, dtype=np.uint64)
    kernel = elementwise(xp, "ember_bernoulli_splitmix", "uint64 key, float64 p", "T out",
                         _BERNOULLI)
    if kernel is not None:
        out = xp.empty(shape, dtype=dtype)
        if launch(xp, kernel, key, np.float64(p), out):
            return out
    return (_splitmix_uniform(xp, shape, key) < p).astype(dtype)


def _host(array):
    return array.get() if hasattr(array, "get") else array


@supports_out
def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """``normal(mean, std)`` with tensor or float mean/std, or ``normal(mean, std, size)``."""
    rng = _rng(generator)
    mean_is_t, std_is_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_is_t and not std_is_t:
        if size is None:
            raise TypeError(
                "normal() received an invalid combination of arguments - got (float, float), "
                "but expected one of:\n * (Tensor mean, Tensor std, *, torch.Generator generator "
                "= None, Tensor out = None)\n * (Tensor mean, float std = 1, *, torch.Generator "
                "generator = None, Tensor out = None)\n * (float mean, Tensor std, *, "
                "torch.Generator generator = None, Tensor out = None)\n * (float mean, float "
                "std, tuple of ints size, *, torch.Generator generator = None, Tensor out = "
                "None, torch.dtype dtype = None, torch.layout layout = None, torch.device "
                "device = None, bool pin_memory = False, bool requires_grad = False)\n"
            )
        if std < 0:  # torch's meta kernel prints the float as Python does
            on_meta = device is not None and to_device(device).type == "meta"
            raise RuntimeError("normal expects std >= 0.0, but found std "
                               f"{float(std) if on_meta else format(std, 'g')}")
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                "normal() received an invalid combination of arguments - got (float, float, "
                f"{type(size).__name__})"
            )
        # PyTorch's default-device mode leaves this overload out (torch.utils._device):
        # without device= the sample is on cpu whatever the default device is
        dev = to_device(device) if device is not None else _CPU
        shape = _size(tuple(size))
        if dev.type == "meta":  # nothing drawn, the generator untouched
            np_dtype = _meta.np_dtype_of(dtype)
            _meta.check_floating(np_dtype)
            return _meta.sample(shape, np_dtype, requires_grad)
        np_dtype = _float_np(dtype, "normal_kernel_cpu")
        return _finish(_normal(rng, shape, np_dtype, mean, std), dev, requires_grad)
    ref = mean if mean_is_t else std
    if _meta.is_meta(ref) or (mean_is_t and std_is_t and _meta.is_meta(std)):
        if not std_is_t and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std)}")
        sample = _meta.normal_array(mean, std, mean_is_t, std_is_t, _broadcast_or_raise)
        node = NormalTensorTensor if mean_is_t and std_is_t else (
            NormalTensorFloat if mean_is_t else NormalFloatTensor)
        return _with_zero_grad(node, sample, mean, std)
    np_dtype = ref._data.dtype
    if np_dtype.kind not in "fcV":
        raise NotImplementedError(
            f'"normal_kernel_cpu" not implemented for \'{type_name(np_dtype)}\''
        )
    mean_host = _host(mean._data) if mean_is_t else mean
    std_host = _host(std._data) if std_is_t else std
    if std_is_t:
        if np.any(std_host < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if mean_is_t and std_is_t:
        a, b = mean_host.shape, std_host.shape
        shape = _broadcast_or_raise(a, b)
    else:
        shape = ref._data.shape
    noise = _normal(rng, shape, np_dtype)
    sample = (noise * std_host + mean_host).astype(np_dtype)
    sample = _on_device(sample, ref.device)
    node = NormalTensorTensor if mean_is_t and std_is_t else (
        NormalTensorFloat if mean_is_t else NormalFloatTensor
    )
    return _with_zero_grad(node, sample, mean, std)


def _broadcast_or_raise(a, b):
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {i}"
            )
        out.append(max(x, y))
    return tuple(out)


def _check_probability(values):
    if np.any((values < 0) | (values > 1)) or np.any(np.isnan(values)):
        raise RuntimeError(
            "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
            "message be improved?  If so, please report an enhancement request to PyTorch.)"
        )


@supports_out
def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """Draws 1 with probability ``input`` (or ``p``), in ``input``'s dtype."""
    np_dtype = input._data.dtype
    if type(input._data) is _meta.MetaArray:  # no values to check, nothing drawn
        return _with_zero_grad(Bernoulli, _meta.bernoulli_array(input), input)
    if np_dtype.kind not in "fV":
        kernel = "bernoulli_tensor_cpu_self_" if np_dtype.kind == "c" else "bernoulli_tensor_cpu_p_"
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{type_name(np_dtype)}\''
        )
    rng = _rng(generator)
    shape = input._data.shape
    if p is None:
        probs = _host(input._data).astype(np.float64)
        _check_probability(probs)
    else:
        probs = float(p.item() if isinstance(p, Tensor) else p)
        if not 0 <= probs <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={probs:g}")
    sample = (rng.random(shape) < probs).astype(np_dtype)
    sample = _on_device(sample, input.device)
    return _with_zero_grad(Bernoulli, sample, input)


def poisson(input, generator=None) -> Tensor:
    np_dtype = input._data.dtype
    if type(input._data) is _meta.MetaArray:  # no values to check, nothing drawn
        return _with_zero_grad(Poisson, _meta.poisson_array(input), input)
    if np_dtype.kind not in "fV":
        raise NotImplementedError(f'"poisson_cpu" not implemented for \'{type_name(np_dtype)}\'')
    rates = _host(input._data).astype(np.float64)
    if np.any(rates < 0) or np.any(np.isnan(rates)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    sample = _rng(generator).poisson(rates).astype(np_dtype)
    return _with_zero_grad(Poisson, _on_device(sample, input.device), input)


@supports_out
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Category indices drawn from each row's (unnormalised) weights.

    With replacement: one searchsorted over the rows' stacked CDFs (row ``r`` shifted by
    ``r`` so rows do not overlap). Without: the exponential-race trick, the top
    ``num_samples`` keys ``u ** (1 / p)`` per row, all rows in one argsort.
    """
    array = input._data
    if type(array) is _meta.MetaArray:  # only the rank and the count are checked on meta
        return _make(_meta.multinomial_array(input, num_samples))
    if array.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if array.dtype.kind not in "fV":
        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            f"{type_name(array.dtype)}"
        )
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = array.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    weights = _host(array).astype(np.float64).reshape(-1, categories)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = weights.sum(axis=1)
    if np.any(totals <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _rng(generator)
    rows = weights.shape[0]
    if replacement:
        cdf = np.cumsum(weights / totals[:, None], axis=1)
        cdf[:, -1] = 1.0
        offsets = np.arange(rows, dtype=np.float64)[:, None]
        draws = rng.random((rows, num_samples)) + offsets
        flat = np.searchsorted((cdf + offsets).ravel(), draws.ravel(), side="right")
        picks = flat.reshape(rows, num_samples) - (offsets.astype(np.int64) * categories)
        picks = np.minimum(picks, categories - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = np.log(rng.random((rows, categories))) / weights
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(np.int64)
    if array.ndim == 1:
        picks = picks[0]
    return _make(_on_device(picks, input.device))


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


__all__ = [
    "Generator",
    "bernoulli",
    "binomial",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "multinomial",
    "normal",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "seed",
    "set_rng_state",
]

from ._binomial import binomial
from .random_inplace import (
    bernoulli_,
    cauchy_,
    exponential_,
    geometric_,
    log_normal_,
    normal_,
    random_,
    uniform_,
)

TENSOR_METHODS = {
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "bernoulli": _bernoulli_method, "multinomial": _multinomial_method,
}
