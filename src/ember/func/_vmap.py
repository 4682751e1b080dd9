"""vmap: map a function over a dimension of its inputs, as ``torch.func.vmap``.

ember has no batched-tensor type, so vmap is the per-sample loop that vmap's semantics
are defined by: split every batched input along its in_dim, call ``func`` once per sample,
and stack each output along its out_dim. The slices are views and the stack is an ember
op, so gradients flow through vmap both ways (vmap inside grad, grad inside vmap), and a
nested vmap is just a loop inside a loop. The checks (in_dims and out_dims against the
structure of inputs and outputs, batch sizes, non-Tensor outputs) and their messages are
PyTorch's.

Differences that come from looping: data-dependent Python control flow and ``.item()``
work per sample (PyTorch refuses them), and an output returned with ``out_dims=None`` is
taken as unbatched when it is the same for every sample.
"""

from __future__ import annotations

import contextlib
import functools

from .._ops import random as _random
from .._tensor import Tensor
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["vmap"]

_RANDOM_ERROR = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation "
    "out of vmap"
)


def _get_name(func) -> str:
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_get_name(func.func)}, ...)"
    return repr(func)


def _check_randomness_arg(randomness) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )


# The randomness modes of the running vmaps, outermost first: "error" or a _SameRecorder
# ('different' needs nothing: the loop gives every sample its own draws).
_ACTIVE_MODES = []


class _GuardedStream:
    """While a vmap with randomness 'error' or 'same' runs, this data descriptor sits on
    ``Generator._rng``, where every sampler takes its NumPy stream from (the default
    generator and explicit ``generator=`` ones alike). Under 'error' reading it raises
    PyTorch's error; under 'same' it notes the generator so the loop can rewind it.
    Setting it (manual_seed) works as before. Process-wide while the vmap runs, as the
    generators are."""

    def __get__(self, generator, owner=None):
        if generator is None:
            return self
        if "error" in _ACTIVE_MODES:
            raise RuntimeError(_RANDOM_ERROR)
        for recorder in _ACTIVE_MODES:
            recorder.record(generator)
        return generator.__dict__["_rng"]

    def __set__(self, generator, stream):
        generator.__dict__["_rng"] = stream


class _SameRecorder:
    """randomness='same': the state each generator had before its first draw in the
    first sample; rewinding to it before every sample gives all samples the same numbers
    (and the streams end advanced by one sample, as PyTorch's)."""

    def __init__(self):
        self.saved = {}

    def record(self, generator):
        if id(generator) not in self.saved:
            stream = generator.__dict__["_rng"]
            self.saved[id(generator)] = (generator, stream.bit_generator.state)

    def rewind(self):
        for generator, state in self.saved.values():
            generator.__dict__["_rng"].bit_generator.state = state


def _random_forbidden() -> bool:
    return "error" in _ACTIVE_MODES


@contextlib.contextmanager
def _randomness(mode):
    """Run a block under a vmap randomness mode; yields the _SameRecorder for 'same'."""
    if mode == "different":
        yield None
        return
    entry = "error" if mode == "error" else _SameRecorder()
    if not _ACTIVE_MODES:
        _random.Generator._rng = _GuardedStream()
    _ACTIVE_MODES.append(entry)
    try:
        yield entry if mode == "same" else None
    finally:
        _ACTIVE_MODES.pop()
        if not _ACTIVE_MODES:
            del _random.Generator._rng


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorize ``func`` over a dimension of its inputs.

    Args:
        func: a function of Tensors (or nests of them) returning Tensors (or nests).
        in_dims: where each input's batch dim is: an int for all, or a (nested) tuple
            matching the positional inputs with an int or None (not batched) per input.
            Keyword arguments are never batched.
        out_dims: where the batch dim goes in each output (int, None, or a nest).
        randomness: 'error' (random ops inside raise), 'different' (each sample draws its
            own numbers) or 'same' (every sample draws the same numbers).
        chunk_size: samples per chunk (None or > 0). The loop runs one sample at a time
            whatever the chunk size, so results and memory do not depend on it.

    Example:
        >>> x, y = ember.randn(5, 3), ember.randn(5, 3)
        >>> ember.vmap(ember.dot)(x, y).shape
        ember.Size([5])
    """
    _check_randomness_arg(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    def wrapped(*args, **kwargs):
        return _vmap_impl(func, in_dims, out_dims, randomness, chunk_size, args, kwargs)

    try:
        return functools.wraps(func)(wrapped)
    except (AttributeError, TypeError):
        return wrapped


def _check_out_dims(out_dims, func) -> None:
    if isinstance(out_dims, int):
        return
    leaves, _ = tree_flatten(out_dims)
    for leaf in leaves:
        if leaf is not None and not isinstance(leaf, int):
            raise ValueError(
                f"vmap({_get_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an "
                "int, None or a python collection of ints representing where in the outputs "
                "the vmapped dimension should appear."
            )


def _process_inputs(in_dims, args, func):
    """(batch size, in_dim per leaf, leaves, spec), with PyTorch's checks and messages."""
    name = _get_name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(  # noqa: TRY004
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or "
            "a (potentially nested) tuple matching the structure of inputs, got: "
            f"{type(in_dims)}."
        )
    if len(args) == 0:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported."
        )
    flat_args, spec = tree_flatten(args)
    flat_in_dims = broadcast_prefix(in_dims, spec)
    if flat_in_dims is None:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but "
            f"inputs has structure {spec}."
        )
    for index, (arg, in_dim) in enumerate(zip(flat_args, flat_in_dims)):
        if in_dim is None:
            continue
        if not isinstance(in_dim, int) or isinstance(in_dim, bool):
            raise ValueError(  # noqa: TRY004
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an "
                "input but in_dim must be either an integer dimension or None."
            )
        if not isinstance(arg, Tensor):
            raise ValueError(  # noqa: TRY004
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an "
                f"input but the input is of type {type(arg)}. We cannot vmap over non-Tensor "
                "arguments, please use None as the respective in_dim"
            )
        ndim = arg.dim()
        if in_dim < -ndim or in_dim >= ndim:
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for some "
                f"input, but that input is a Tensor of dimensionality {ndim} so expected in_dim "
                f"to satisfy -{ndim} <= in_dim < {ndim}."
            )
        flat_in_dims[index] = in_dim % ndim
    sizes = [arg.shape[d] for arg, d in zip(flat_args, flat_in_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(size != sizes[0] for size in sizes):
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    return sizes[0], flat_in_dims, flat_args, spec


def _per_sample(arg, in_dim):
    """The samples of one batched input, as views. unbind's backward is one stack, where
    B selects would each scatter into a full-size zero gradient; select keeps in-place
    writes on a sample legal (they land in the input, as PyTorch's do)."""
    if arg.requires_grad:
        return arg.unbind(in_dim)
    return [arg.select(in_dim, b) for b in range(arg.shape[in_dim])]


def _vmap_impl(func, in_dims, out_dims, randomness, chunk_size, args, kwargs):
    _check_out_dims(out_dims, func)
    batch_size, flat_in_dims, flat_args, spec = _process_inputs(in_dims, args, func)
    with _randomness(randomness) as same:
        if batch_size == 0:
            return _empty_batch(func, out_dims, flat_in_dims, flat_args, spec, kwargs)
        samples = [
            None if d is None else _per_sample(arg, d) for arg, d in zip(flat_args, flat_in_dims)
        ]
        flat_call = all(child.is_leaf() for child in spec.children())  # f(x, y): no nests
        outputs = []
        for b in range(batch_size):
            if same is not None:
                same.rewind()
            sample_args = [arg if s is None else s[b] for arg, s in zip(flat_args, samples)]
            if not flat_call:
                sample_args = tree_unflatten(sample_args, spec)
            outputs.append(func(*sample_args, **kwargs))
    return _stack_outputs(func, outputs, out_dims)


def _flat_out_dims(func, output, out_dims):
    """One out_dim per output leaf (PyTorch's special case: a single Tensor output takes an
    int, None or a 1-tuple)."""
    _, out_spec = tree_flatten(output)
    if isinstance(output, Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            return [out_dims], out_spec
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims), out_spec
        flat_out_dims = None
    else:
        flat_out_dims = broadcast_prefix(out_dims, out_spec)
    if flat_out_dims is None:
        raise ValueError(
            f"vmap({_get_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{tree_flatten(out_dims)[1]} but outputs has structure {out_spec}."
        )
    return flat_out_dims, out_spec


def _stack_outputs(func, outputs, out_dims):
    from .. import stack

    name = _get_name(func)
    flat_out_dims, out_spec = _flat_out_dims(func, outputs[0], out_dims)
    per_sample = []
    for output in outputs:
        leaves, sample_spec = tree_flatten(output)
        if sample_spec != out_spec:
            raise ValueError(
                f"vmap({name}, ...): `{name}` returned outputs of different structures for "
                f"different samples ({out_spec} and {sample_spec})"
            )
        per_sample.append(leaves)
    results = []
    for index, out_dim in enumerate(flat_out_dims):
        leaves = [sample[index] for sample in per_sample]
        if out_dim is None:
            results.append(_unbatched(name, leaves))
            continue
        if not all(isinstance(leaf, Tensor) for leaf in leaves):
            bad = next(leaf for leaf in leaves if not isinstance(leaf, Tensor))
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(bad)}. "
                "Did you mean to set out_dims= to None for output?"
            )
        results.append(stack(leaves, dim=out_dim))
    return tree_unflatten(results, out_spec)


def _unbatched(name, leaves):
    """out_dim=None: the output must not vary with the sample."""
    first = leaves[0]
    if not isinstance(first, Tensor):
        return first
    for leaf in leaves[1:]:
        same = leaf is first or (
            isinstance(leaf, Tensor) and leaf.shape == first.shape
            and leaf.dtype == first.dtype and bool((leaf == first).all())
        )
        if not same:
            raise ValueError(
                f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is "
                "None"
            )
    return first


def _empty_batch(func, out_dims, flat_in_dims, flat_args, spec, kwargs):
    """A batch of size 0: call ``func`` once on zero-filled samples (RNG state restored) to
    learn the output shapes, and return empty outputs of those shapes."""
    from .. import random as ember_random
    from .. import stack
    from .._ops.creation import zeros
    from ..autograd import grad_mode

    sample_args = []
    for arg, d in zip(flat_args, flat_in_dims):
        if d is None:
            sample_args.append(arg)
            continue
        shape = tuple(arg.shape[:d]) + tuple(arg.shape[d + 1:])
        sample_args.append(zeros(shape, dtype=arg.dtype, device=arg.device))
    keep_rng = contextlib.nullcontext() if _random_forbidden() else ember_random.fork_rng()
    with keep_rng, grad_mode.no_grad():
        output = func(*tree_unflatten(sample_args, spec), **kwargs)
    name = _get_name(func)
    flat_out_dims, out_spec = _flat_out_dims(func, output, out_dims)
    results = []
    for leaf, out_dim in zip(tree_flatten(output)[0], flat_out_dims):
        if out_dim is None:
            results.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise ValueError(  # noqa: TRY004
                f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(leaf)}. "
                "Did you mean to set out_dims= to None for output?"
            )
        results.append(stack([leaf], dim=out_dim).narrow(out_dim, 0, 0).contiguous())
    return tree_unflatten(results, out_spec)
