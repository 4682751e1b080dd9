"""utils.benchmark against torch.utils.benchmark: Measurement statistics and text from the
same raw times, Compare's tables, the unit helpers, and Timer's measuring loops."""

from __future__ import annotations

import numpy as np
import oracle
import pytest
import torch
import torch.utils.benchmark as tb

import ember
import ember.utils.benchmark as eb


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


RNG = np.random.default_rng(0)


def _pair(raw_times, number=100, **task):
    task = {"stmt": "x + y", "setup": "pass", **task}
    return (eb.Measurement(number, list(raw_times), eb.TaskSpec(**task)),
            tb.Measurement(number, list(raw_times), tb.TaskSpec(**task)))


def _body(measurement):
    """repr without its first line (which names the class and its address)."""
    return repr(measurement).split("\n", 1)[1]


@pytest.mark.parametrize("raw_times", [
    [2.1e-4], [2.0e-4, 2.2e-4], list(RNG.uniform(1e-3, 1.05e-3, 9)),
    list(RNG.uniform(1e-6, 3e-6, 12)), list(RNG.uniform(0.5, 2.0, 5)),
])
@pytest.mark.parametrize("task", [
    {}, {"label": "add", "sub_label": "small", "description": "ones", "num_threads": 2},
    {"stmt": "a = 1\nb = a + 1", "setup": "import math\nx = 1", "sub_label": "two lines"},
])
def test_measurement_statistics_and_text_match_torch(raw_times, task):
    ours, theirs = _pair(raw_times, **task)
    for name in ("median", "mean", "iqr"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-12)
    for name in ("significant_figures", "has_warnings", "title", "env", "as_row_name",
                 "times", "label", "num_threads"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.meets_confidence(0.05) == theirs.meets_confidence(0.05)
    assert _body(ours) == _body(theirs)


def test_merge_pools_replicates_per_task():
    task = {"stmt": "f()", "setup": "pass", "label": "f"}
    ours = eb.Measurement.merge([eb.Measurement(10, [1e-3, 2e-3], eb.TaskSpec(**task)),
                                 eb.Measurement(5, [1e-3], eb.TaskSpec(**task))])
    assert len(ours) == 1 and ours[0].number_per_run == 1
    assert ours[0].times == pytest.approx([1e-4, 2e-4, 2e-4])


def _grid(lib, spread):
    results = []
    for i, description in enumerate(["ones", "randn"]):
        for threads in (1, 4):
            for size in ("8", "1024"):
                base = (1 + i) * (2 if size == "1024" else 1) * 1e-5 / threads
                times = list(base * (1 + spread * RNG.standard_normal(6)))
                results.append(lib.Measurement(1000, times, lib.TaskSpec(
                    stmt="x + y", setup="pass", label="add", sub_label=size,
                    description=description, num_threads=threads)))
    return results


@pytest.mark.parametrize("options", [(), ("trim_significant_figures",), ("colorize",),
                                     ("trim_significant_figures", "highlight_warnings")])
def test_compare_tables_match_torch(options):
    state = RNG.bit_generator.state
    ours = eb.Compare(_grid(eb, 0.2))
    RNG.bit_generator.state = state
    theirs = tb.Compare(_grid(tb, 0.2))
    for option in options:
        getattr(ours, option)()
        getattr(theirs, option)()
    assert str(ours) == str(theirs)


def test_compare_rejects_non_measurements():
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        eb.Compare([1.0])


@pytest.mark.parametrize("t", [3e-10, 4.2e-8, 7.7e-6, 1.5e-3, 2.0, 45.0])
def test_unit_helpers_match_torch(t):
    assert eb.select_unit(t) == tb.select_unit(t)
    unit = eb.select_unit(t)[0]
    assert eb.unit_to_english(unit) == tb.unit_to_english(unit)
    for digits in (1, 2, 3):
        # torch rounds through a float32 tensor; ember in double: equal to float32 precision
        assert eb.trim_sigfig(t * 1.2345, digits) == pytest.approx(
            tb.trim_sigfig(t * 1.2345, digits), rel=1e-6)


def test_timer_measures_with_globals_and_torch_in_scope():
    x = ember.ones(4)
    timer = eb.Timer("torch.add(x, x)", globals={"x": x}, label="add", description="ones")
    once = timer.timeit(50)
    assert once.number_per_run == 50 and len(once.raw_times) == 1 and once.median > 0
    blocked = timer.blocked_autorange(min_run_time=0.02)
    assert sum(blocked.raw_times) >= 0.02 and blocked.number_per_run >= 1
    adaptive = timer.adaptive_autorange(threshold=0.5, max_run_time=0.5)
    assert len(adaptive.raw_times) >= 4 or sum(adaptive.raw_times) > 0.5
    seen = []
    timer.blocked_autorange(callback=lambda number, taken: seen.append((number, taken)),
                            min_run_time=0.01)
    assert seen and all(number >= 1 and taken > 0 for number, taken in seen)
    assert "add" in str(eb.Compare([once, blocked]))


def test_timer_errors_match_torch():
    for lib in (tb, eb):
        with pytest.raises(ValueError, match="Currently only a `str` stmt is supported."):
            lib.Timer(stmt=lambda: None)
        with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
            lib.Timer("pass", global_setup="int x = 1;")
        with pytest.raises(ValueError, match="Invalid language"):
            lib.Timer("pass", language="rust")
        with pytest.raises(NotImplementedError, match="See `Timer.blocked_autorange.`"):
            lib.Timer("pass").repeat()
    with pytest.raises(ValueError, match="ember has no C\\+\\+ frontend"):
        eb.Timer("pass", language="cpp")
    assert torch is not None
