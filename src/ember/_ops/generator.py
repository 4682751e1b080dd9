"""The random generator: ``Generator`` objects, the default one, and the global seed.

A ``Generator`` owns a ``numpy.random.Generator`` over PCG64; its state round-trips
through a uint8 tensor laid out like PyTorch's CPU generator state (48 bytes), so
``get_rng_state``/``set_rng_state`` and checkpointed states work as in PyTorch.
"""

from __future__ import annotations

import os

import numpy as np

from .._backend import to_device
from ._util import Tensor, _make
from .creation import _module_and_device


# PyTorch's default CPU generator starts from this seed too.
_DEFAULT_SEED = 67280421310721
_STATE_BYTES = 48  # state (16) + inc (16) + has_uint32 (4) + uinteger (4) + seed (8)


def _seed_value(seed) -> int:
    seed = int(seed)
    if seed >= 2 ** 64 or seed < -(2 ** 63):
        raise ValueError("Overflow when unpacking long long")
    return seed % 2 ** 64  # negative seeds wrap as PyTorch's uint64 seed does


class Generator:
    """``torch.Generator``: an independent random stream with its own seed and state."""

    def __init__(self, device="cpu"):
        dev = to_device(device)
        if dev.type == "cuda":
            _module_and_device(dev)  # a clear RuntimeError when no GPU is present
        elif dev.type != "cpu":
            raise RuntimeError(
                f"Device type {dev.type.upper()} is not supported for torch.Generator() api."
            )
        self.device = dev
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed) -> Generator:
        self._seed = _seed_value(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Reseed from the OS entropy pool and return the new seed."""
        new_seed = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The full generator state as a uint8 tensor (for ``set_state``)."""
        state = self._rng.bit_generator.state
        raw = (
            state["state"]["state"].to_bytes(16, "little")
            + state["state"]["inc"].to_bytes(16, "little")
            + int(state["has_uint32"]).to_bytes(4, "little")
            + int(state["uinteger"]).to_bytes(4, "little")
            + self._seed.to_bytes(8, "little")
        )
        return _make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state._data.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = bytes(np.ascontiguousarray(new_state._host_array()).tobytes())
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(
                f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but found the input "
                f"RNG state size to be {len(raw)}"
            )
        bit_generator = np.random.PCG64()
        bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[0:16], "little"),
                      "inc": int.from_bytes(raw[16:32], "little")},
            "has_uint32": int.from_bytes(raw[32:36], "little"),
            "uinteger": int.from_bytes(raw[36:40], "little"),
        }
        self._rng = np.random.Generator(bit_generator)
        self._seed = int.from_bytes(raw[40:48], "little")
        return self

    def clone_state(self) -> Generator:
        other = Generator(self.device)
        other.set_state(self.get_state())
        return other

    def __repr__(self):
        return f"<ember.Generator object at {hex(id(self))}>"


default_generator = Generator()


def _rng(generator):
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a torch.Generator, not {type(generator).__name__}"
        )
    return generator._rng


def manual_seed(seed) -> Generator:
    """Seed the default generator (and CUDA's, a no-op without a GPU)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    if not isinstance(new_state, Tensor) or new_state._data.dtype != np.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    default_generator.set_state(new_state)
