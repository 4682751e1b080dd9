"""``torch.quasirandom``: the Sobol low-discrepancy sequence (``SobolEngine``).

PyTorch's engine keeps, per dimension, 30 direction numbers ``sobolstate`` (from Joe and
Kuo's primitive polynomials and initial numbers, 21201 dimensions), an integer state
``quasi`` and a count of points drawn. Point ``p`` is ``shift ^ XOR(v_b for the bits b
of gray(p))`` scaled by 2**-30, so the unscrambled points here equal PyTorch's bit for
bit. The draws run on NumPy integers (no autograd: the points are constants), a whole
batch at once by a cumulative XOR; ``fast_forward`` jumps by the Gray-code identity
instead of stepping. Scrambling (Owen's linear matrix scramble plus a digital shift)
follows PyTorch's algorithm with ember's generator, so scrambled points are a different
(equally valid) randomisation than torch's for the same seed.

The full table of initial direction numbers comes from SciPy (``scipy.stats``'s copy of
the same Joe-Kuo set), an optional dependency; without SciPy the first
``_EMBEDDED_DIMS`` dimensions, embedded below, are available.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

__all__ = ["SobolEngine"]

_MAXBIT = 30

# Dimensions 2..64 of the Joe-Kuo table (dimension 1 is all ones): "poly:m1,m2,...",
# base 36, the polynomial's degree giving the count of initial numbers.
_EMBEDDED = (
    "3:1 7:1,3 b:1,3,1 d:1,1,1 j:1,1,3,3 p:1,3,5,d 11:1,1,5,5,h 15:1,1,5,5,5 1b:1,1,7,b,j "
    "1j:1,1,5,1,1 1n:1,1,1,3,b 1p:1,3,5,5,v 1v:1,3,3,9,7,1d 2j:1,1,1,f,l,l 2p:1,3,1,d,r,1d "
    "2v:1,1,1,f,7,5 31:1,3,1,f,d,p 37:1,1,5,5,j,1p 3n:1,3,7,b,n,f,2v 3t:1,3,7,d,d,f,1x "
    "3z:1,1,3,d,7,z,1r 41:1,3,5,9,1,p,1h 4d:1,3,1,d,9,z,2z 4n:1,3,1,5,r,1p,v "
    "4r:1,1,5,b,j,15,1p 55:1,3,5,3,3,d,1x 5b:1,1,7,d,1,j,1 5d:1,3,7,5,d,j,1n "
    "5n:1,1,3,9,p,t,15 5v:1,3,5,d,n,1,1j 5x:1,3,7,3,d,1n,h 6d:1,3,1,3,5,1h,1x "
    "6n:1,1,5,5,n,x,d 6p:1,1,7,7,1,1p,3f 6v:1,1,7,9,d,1p,1d 71:1,3,3,5,3,1j,x "
    "7x:1,3,1,f,v,d,1d,6t 8b:1,3,5,f,v,1n,1r,2p 8d:1,3,1,b,b,b,25,6x 99:1,3,1,b,r,17,1z,9 "
    "9r:1,1,7,f,l,b,29,19 9v:1,3,7,3,p,v,1t,27 9x:1,3,1,1,j,b,3,5p a1:1,1,5,9,j,l,t,4d "
    "a9:1,3,7,b,1,x,2h,55 av:1,3,3,3,f,9,27,1z b1:1,3,7,b,f,13,3b,r bt:1,1,3,1,b,v,2p,69 "
    "cj:1,1,1,3,n,17,1l,4x cv:1,3,7,7,h,h,11,1z dj:1,3,1,5,r,1r,3f,5x dx:1,1,3,5,b,17,1h,3p "
    "ep:1,3,5,5,t,h,1b,4t,db ez:1,3,3,b,3,1,31,9,1x f5:1,1,1,5,h,13,n,5,9j "
    "fh:1,3,1,5,p,f,v,2v,dv fn:1,1,1,b,b,h,1r,2x,53 gp:1,1,5,b,9,t,2p,6f,a3 "
    "gv:1,1,5,f,j,19,15,7,an h5:1,3,7,7,v,j,2b,3t,65 hb:1,1,1,3,n,f,33,67,2b "
    "hj:1,1,5,d,v,f,1j,p,4h hp:1,1,3,d,p,1b,13,2f,75 "
)
_EMBEDDED_DIMS = 64
_TABLE_CACHE = {}


def _embedded_table():
    poly, vinit = [1], [[]]
    for entry in "".join(_EMBEDDED).split():
        p, numbers = entry.split(":")
        poly.append(int(p, 36))
        vinit.append([int(v, 36) for v in numbers.split(",")])
    width = max(len(v) for v in vinit)
    return np.array(poly, np.int64), np.array([v + [0] * (width - len(v)) for v in vinit],
                                              np.int64)


def _scipy_table():
    """SciPy's ``_sobol_direction_numbers.npz`` (found without importing scipy.stats,
    which is slow), or None when SciPy is not installed."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "stats", "_sobol_direction_numbers.npz")
        if os.path.exists(path):
            with np.load(path) as data:
                return data["poly"].astype(np.int64), data["vinit"].astype(np.int64)
    return None


def _direction_table(dimension):
    if dimension <= _EMBEDDED_DIMS:
        if "embedded" not in _TABLE_CACHE:
            _TABLE_CACHE["embedded"] = _embedded_table()
        return _TABLE_CACHE["embedded"]
    if "scipy" not in _TABLE_CACHE:
        _TABLE_CACHE["scipy"] = _scipy_table()
    if _TABLE_CACHE["scipy"] is None:
        raise ImportError(
            f"SobolEngine: dimensions above {_EMBEDDED_DIMS} need the Joe-Kuo direction "
            f"numbers that ship with SciPy (got dimension={dimension}); install scipy")
    return _TABLE_CACHE["scipy"]


def _initial_state(dimension):
    """The (dimension, 30) direction numbers, each column j scaled by 2**(29 - j), built by
    the Joe-Kuo recurrence for all dimensions of one polynomial degree at once."""
    poly, vinit = _direction_table(dimension)
    poly = poly[:dimension]
    state = np.zeros((dimension, _MAXBIT), np.int64)
    state[0] = 1
    degree = np.array([int(p).bit_length() - 1 for p in poly], np.int64)
    for m in np.unique(degree[1:]):
        rows = np.flatnonzero(degree == m)
        rows = rows[rows > 0]
        v = state[rows]
        v[:, :m] = vinit[rows, :m]
        p = poly[rows]
        for j in range(m, _MAXBIT):
            new = v[:, j - m].copy()
            for k in range(m):
                take = (p >> (m - 1 - k)) & 1
                new ^= take * (v[:, j - k - 1] << (k + 1))
            v[:, j] = new
        state[rows] = v
    return state << np.arange(_MAXBIT - 1, -1, -1, dtype=np.int64)


def _combine(state, mask):
    """XOR of the direction columns whose bit is set in the integer ``mask``."""
    out = np.zeros(state.shape[0], np.int64)
    for bit in range(_MAXBIT):
        if (mask >> bit) & 1:
            out ^= state[:, bit]
    return out


def _rightmost_zero(counts):
    """Index of the lowest zero bit of each count: the direction column a step XORs in."""
    lowest = (counts + 1) & ~counts
    return np.frexp(lowest.astype(np.float64))[1] - 1


def _scramble_state(state, ltm):
    """Left-multiply each dimension's direction numbers (as bit vectors, bit 29 first) by
    the lower-triangular 0/1 matrix ``ltm`` with a unit diagonal, over GF(2)."""
    ltm = np.array(ltm, np.int64)
    idx = np.arange(_MAXBIT)
    ltm[:, idx, idx] = 1
    # row p of ltm as an integer (column j weighs 2**(29 - j)); its bits k against v's
    rows = (ltm << np.arange(_MAXBIT - 1, -1, -1, dtype=np.int64)).sum(-1)
    bits = np.arange(_MAXBIT, dtype=np.int64)
    row_bits = (rows[:, :, None] >> bits) & 1                  # (d, p, k)
    v_bits = (state[:, :, None] >> bits) & 1                   # (d, j, k)
    parity = np.einsum("djk,dpk->djp", v_bits, row_bits) & 1   # (d, j, p)
    return (parity << (_MAXBIT - 1 - bits)).sum(-1)


def _shift_of(bits):
    """The digital shift: each dimension's 30 random bits as an integer, bit b at 2**b."""
    return (np.asarray(bits, np.int64) << np.arange(_MAXBIT, dtype=np.int64)).sum(-1)


class SobolEngine:
    """A Sobol sequence generator, as ``torch.quasirandom.SobolEngine``: ``draw(n)`` gives
    the next ``n`` points of ``[0, 1)^dimension``; scrambled with ``scramble=True``."""

    MAXBIT = _MAXBIT
    MAXDIM = 21201

    def __init__(self, dimension, scramble=False, seed=None):
        import ember

        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError("Supported range of dimensionality for SobolEngine is "
                             f"[1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        state = _initial_state(dimension)
        shift = np.zeros(dimension, np.int64)
        if scramble:
            state, shift = self._scrambled(state)
        self.sobolstate = ember.from_numpy(state)
        self.shift = ember.from_numpy(shift)
        self.quasi = self.shift.clone()
        # PyTorch divides the integer state in the default dtype, then casts per draw
        self._first_point = (self.quasi / 2**self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    def _scrambled(self, state):
        import ember

        generator = ember.Generator()
        if self.seed is not None:
            generator.manual_seed(self.seed)
        else:
            generator.seed()
        # the same draws, in the same order, as PyTorch's _scramble
        bits = ember.randint(2, (self.dimension, self.MAXBIT), generator=generator)
        ltm = ember.randint(2, (self.dimension, self.MAXBIT, self.MAXBIT),
                            generator=generator).tril()
        return _scramble_state(state, ltm.numpy()), _shift_of(bits.numpy())

    def _draw(self, n, start, dtype):
        """``n`` points after ``quasi``, the first step taken from count ``start``."""
        import ember

        from ._backend import to_dtype
        from ._ops._util import type_name

        np_dtype = to_dtype(dtype).numpy_dtype
        if np_dtype not in (np.float32, np.float64):
            raise NotImplementedError(
                f'"_sobol_engine_draw" not implemented for \'{type_name(np_dtype)}\'')
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                               f"[{n}, {self.dimension}]")
        state = self.sobolstate.numpy()
        steps = state[:, _rightmost_zero(np.arange(start, start + n, dtype=np.int64))].T
        quasi = self.quasi.numpy()
        if n:
            steps[0] ^= quasi
            np.bitwise_xor.accumulate(steps, axis=0, out=steps)
            quasi = steps[-1]
        self.quasi = ember.from_numpy(quasi.copy())
        # the integer cast to the dtype, then scaled by 2**-30 (exact), as PyTorch
        return ember.from_numpy(steps.astype(np_dtype) * np_dtype.type(2.0 ** -self.MAXBIT))

    def draw(self, n=1, out=None, dtype=None):
        """The next ``n`` points, shape ``(n, dimension)``, in ``dtype`` (default: the
        default dtype); each draw continues the sequence."""
        import ember

        if dtype is None:
            dtype = ember.get_default_dtype()
        if self.num_generated == 0:
            if n == 1:
                result = self._first_point.to(dtype)
            else:
                result = ember.cat((self._first_point.to(dtype), self._draw(n - 1, 0, dtype)),
                                   dim=-2)
        else:
            result = self._draw(n, self.num_generated - 1, dtype)
        self.num_generated += n
        if out is not None:
            out.resize_(result.shape).copy_(result)  # resize_as_, which ember lacks
            return out
        return result

    def draw_base2(self, m, out=None, dtype=None):
        """The next ``2**m`` points; the total drawn must stay a power of two, which keeps
        the sequence's balance properties."""
        n = 2**m
        total_n = self.num_generated + n
        if total_n & (total_n - 1):
            raise ValueError(
                "The balance properties of Sobol' points require n to be a power of 2. "
                f"{self.num_generated} points have been previously generated, then: "
                f"n={self.num_generated}+2**{m}={total_n}. If you still want to do this, "
                "please use 'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self):
        """Back to the first point (the scramble is kept)."""
        self.quasi.copy_(self.shift)
        self.num_generated = 0
        return self

    def fast_forward(self, n):
        """Skip ``n`` points, as if drawn: one XOR of the direction numbers that differ
        between the Gray codes of the old and the new position."""
        import ember

        start = self.num_generated - 1 if self.num_generated else 0
        steps = n if self.num_generated else n - 1
        if steps > 0:
            gray_from, gray_to = start ^ (start >> 1), (start + steps) ^ ((start + steps) >> 1)
            jump = _combine(self.sobolstate.numpy(), gray_from ^ gray_to)
            self.quasi.copy_(ember.from_numpy(self.quasi.numpy() ^ jump))
        self.num_generated += n
        return self

    def __repr__(self):
        fields = [f"dimension={self.dimension}"]
        if self.scramble:
            fields.append("scramble=True")
        if self.seed is not None:
            fields.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(fields)})"
