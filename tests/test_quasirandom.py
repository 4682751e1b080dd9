"""ember.quasirandom.SobolEngine against torch.quasirandom.SobolEngine: direction numbers
(all 21201 dimensions), unscrambled draws bit for bit through draw / draw_base2 /
fast_forward / reset sequences, dtypes, out=, errors and reprs; the scramble algorithm
on torch's own random bits (ember's generator draws other bits, so scrambled engines are
checked for their properties: determinism per seed, range, 1-D stratification)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember import quasirandom as eq

_SCRIPT = [("draw", 1), ("draw", 5), ("ff", 3), ("draw", 7), ("draw", 0), ("ff", 100),
           ("draw64", 3), ("reset",), ("ff", 10), ("draw", 4), ("reset",), ("base2", 3),
           ("base2", 3), ("ff", 0), ("draw64", 2)]


def _run(lib, engine, script):
    out = []
    for step in script:
        if step[0] == "draw":
            out.append(engine.draw(step[1]))
        elif step[0] == "draw64":
            out.append(engine.draw(step[1], dtype=lib.float64))
        elif step[0] == "base2":
            out.append(engine.draw_base2(step[1]))
        elif step[0] == "ff":
            assert engine.fast_forward(step[1]) is engine
        else:
            assert engine.reset() is engine
        out.append((engine.num_generated, engine.quasi.tolist()))
    return out


def _same(a, b):
    if isinstance(a, tuple):
        return a == b
    return str(a.dtype) == str(b.dtype).replace("ember", "torch") and np.array_equal(
        a.numpy(), b.numpy())


@pytest.mark.parametrize("dimension", [1, 2, 7, 64, 65, 1111])
def test_unscrambled_draws_equal_torch(dimension):
    t, e = torch.quasirandom.SobolEngine(dimension), eq.SobolEngine(dimension)
    assert np.array_equal(t.sobolstate.numpy(), e.sobolstate.numpy())
    t_steps, e_steps = _run(torch, t, _SCRIPT), _run(ember, e, _SCRIPT)
    assert all(_same(a, b) for a, b in zip(t_steps, e_steps, strict=True))


@pytest.mark.parametrize("first", [("ff", 1), ("ff", 2), ("draw", 3), ("ff", 0)])
def test_fast_forward_from_each_state_equals_torch(first):
    script = [first, ("ff", 5), ("draw", 3), ("ff", 1), ("draw", 2)]
    t_steps = _run(torch, torch.quasirandom.SobolEngine(5), script)
    e_steps = _run(ember, eq.SobolEngine(5), script)
    assert all(_same(a, b) for a, b in zip(t_steps, e_steps, strict=True))


def test_all_direction_numbers_equal_torch():
    t = torch.quasirandom.SobolEngine(21201).sobolstate.numpy()
    assert np.array_equal(eq.SobolEngine(21201).sobolstate.numpy(), t)


def test_embedded_table_without_scipy(monkeypatch):
    """Without SciPy the embedded first dimensions still equal torch's; more is an error."""
    assert np.array_equal(eq._initial_state(eq._EMBEDDED_DIMS),
                          torch.quasirandom.SobolEngine(eq._EMBEDDED_DIMS).sobolstate.numpy())
    monkeypatch.setattr(eq, "_TABLE_CACHE", {})
    monkeypatch.setattr(eq, "_scipy_table", lambda: None)
    assert np.array_equal(eq.SobolEngine(eq._EMBEDDED_DIMS).draw(4).numpy(),
                          torch.quasirandom.SobolEngine(eq._EMBEDDED_DIMS).draw(4).numpy())
    with pytest.raises(ImportError, match="install scipy"):
        eq.SobolEngine(eq._EMBEDDED_DIMS + 1)


@pytest.mark.parametrize("seed", [0, 7])
def test_scramble_algorithm_on_torchs_bits_equals_torch(seed):
    dimension = 6
    t = torch.quasirandom.SobolEngine(dimension, scramble=True, seed=seed)
    g = torch.Generator().manual_seed(seed)  # torch's _scramble draws these, in this order
    bits = torch.randint(2, (dimension, 30), generator=g)
    ltm = torch.randint(2, (dimension, 30, 30), generator=g).tril()
    state = eq._scramble_state(eq._initial_state(dimension), ltm.numpy())
    assert np.array_equal(state, t.sobolstate.numpy())
    assert np.array_equal(eq._shift_of(bits.numpy()), t.shift.numpy())


def test_scrambled_engine_properties():
    a = eq.SobolEngine(3, scramble=True, seed=11)
    b = eq.SobolEngine(3, scramble=True, seed=11)
    points = a.draw_base2(4)
    assert np.array_equal(points.numpy(), b.draw_base2(4).numpy())
    assert not np.array_equal(points.numpy(), eq.SobolEngine(3, scramble=True, seed=12)
                              .draw_base2(4).numpy())
    values = points.numpy()
    assert values.dtype == np.float32 and ((values >= 0) & (values < 1)).all()
    for column in values.T:  # a (0, m, 1)-net per dimension: one point in each 1/16 bin
        assert sorted(np.floor(column * 16).astype(int).tolist()) == list(range(16))
    assert np.array_equal(a.reset().draw(16).numpy(), values)
    unseeded = eq.SobolEngine(2, scramble=True).draw(4).numpy()
    assert unseeded.shape == (4, 2) and ((unseeded >= 0) & (unseeded < 1)).all()


def test_reprs_out_dtypes_and_errors_as_torch():
    for kwargs in ({}, {"scramble": True, "seed": 4}, {"seed": 4}, {"scramble": True}):
        if kwargs.get("scramble") and "seed" not in kwargs:
            assert repr(eq.SobolEngine(3, **kwargs)) == "SobolEngine(dimension=3, scramble=True)"
            continue
        assert repr(eq.SobolEngine(3, **kwargs)) == repr(
            torch.quasirandom.SobolEngine(3, **kwargs))
    assert ember.quasirandom.SobolEngine is eq.SobolEngine
    assert eq.SobolEngine.MAXBIT == 30 and eq.SobolEngine.MAXDIM == 21201
    t_out, e_out = torch.empty(1), ember.empty(1)
    t_res = torch.quasirandom.SobolEngine(2).draw(3, out=t_out)
    assert eq.SobolEngine(2).draw(3, out=e_out) is e_out and t_res is t_out
    assert np.array_equal(e_out.numpy(), t_out.numpy())
    with _dtype64():
        assert eq.SobolEngine(2).draw(2).dtype == ember.float64
    cases = [lambda L: L.quasirandom.SobolEngine(0), lambda L: L.quasirandom.SobolEngine(21202),
             lambda L: L.quasirandom.SobolEngine(2).draw(3, dtype=L.int64),
             lambda L: L.quasirandom.SobolEngine(2).draw(3, dtype=L.float16),
             lambda L: L.quasirandom.SobolEngine(2).draw(0)]
    for case in cases:
        errors = []
        for lib in (torch, ember):
            with pytest.raises(Exception) as info:
                case(lib)
            errors.append((type(info.value), str(info.value)))
        assert errors[1] == errors[0]
    for lib in (torch, ember):
        engine = lib.quasirandom.SobolEngine(2)
        engine.draw(3)
        with pytest.raises(ValueError, match=r"n=3\+2\*\*1=5"):
            engine.draw_base2(1)
    assert eq.SobolEngine(2).draw(1, dtype=ember.int64).tolist() == [[0, 0]]


class _dtype64:
    def __enter__(self):
        self.old = ember.get_default_dtype()
        ember.set_default_dtype(ember.float64)

    def __exit__(self, *exc):
        ember.set_default_dtype(self.old)
