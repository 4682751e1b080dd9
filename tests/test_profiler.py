"""ember.profiler (torch.profiler) and torch.autograd.profiler: what a profiling script
relies on runs unchanged; schedules step as PyTorch's; recorded regions nest and add up.
ember records record_function regions and module calls, not ATen ops."""

import json

import pytest
import torch

import ember
from ember.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def _model():
    return ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))


@pytest.mark.parametrize("kwargs", [
    {"wait": 1, "warmup": 1, "active": 2},
    {"wait": 0, "warmup": 2, "active": 1, "repeat": 2},
    {"wait": 2, "warmup": 1, "active": 3, "repeat": 1, "skip_first": 3},
    {"wait": 1, "warmup": 1, "active": 1, "skip_first": 1, "skip_first_wait": 1},
])
def test_schedule_like_torch(kwargs):
    ours, theirs = schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(step).name for step in range(20)] == [theirs(step).name for step in range(20)]


def test_enums_like_torch():
    assert list(ProfilerActivity.__members__) == list(torch.profiler.ProfilerActivity.__members__)
    assert list(ProfilerAction.__members__) == list(torch.profiler.ProfilerAction.__members__)


def test_regions_and_modules_nest_and_add_up():
    model, x = _model(), ember.ones(3, 4)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(x)
        model(x)
    averages = {row.key: row for row in prof.key_averages()}
    assert set(averages) == {"model_inference", "nn.Module: Sequential", "nn.Module: Linear",
                             "nn.Module: ReLU"}
    assert averages["nn.Module: Linear"].count == 4 and averages["model_inference"].count == 1
    outer = averages["model_inference"]
    assert 0 <= outer.self_cpu_time_total <= outer.cpu_time_total
    total = prof.key_averages().self_cpu_time_total
    assert abs(sum(row.self_cpu_time_total for row in averages.values()) - total) < 1e-6 * total + 1e-3
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=2)
    assert "Self CPU %" in table and "# of Calls" in table and "Self CPU time total:" in table
    assert len([line for line in table.splitlines() if "nn.Module" in line or "model_" in line]) == 2
    shaped = prof.key_averages(group_by_input_shape=True)
    assert [row.input_shapes for row in shaped if row.key == "nn.Module: Linear"] == [[[3, 4]], [[3, 8]]]


def test_nothing_recorded_outside_the_block_and_model_unchanged():
    model, x = _model(), ember.ones(1, 4)
    expected = model(x)
    with profile() as prof:
        out = model(x)
    model(x)
    assert ember.equal(out, expected)
    assert sum(row.count for row in prof.key_averages()) == 4  # Sequential + its three


def test_record_function_as_decorator_and_without_profiler():
    @record_function("helper")
    def helper(v):
        return v * 2

    assert helper(ember.ones(1)).item() == 2.0  # no active profiler: just runs
    with profile() as prof:
        helper(ember.ones(1))
        helper(ember.ones(1))
    assert [(row.key, row.count) for row in prof.key_averages()] == [("helper", 2)]


def test_schedule_steps_and_trace_handler(tmp_path):
    model, x = _model(), ember.ones(2, 4)
    saved = []
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=1),
                 on_trace_ready=lambda p: saved.append(sorted(
                     row.key for row in p.key_averages()))) as prof:
        for _ in range(6):
            model(x)
            prof.step()
    assert len(saved) == 1
    assert saved[0] == ["ProfilerStep#2", "ProfilerStep#3", "nn.Module: Linear",
                        "nn.Module: ReLU", "nn.Module: Sequential"]
    handler = ember.profiler.tensorboard_trace_handler(str(tmp_path / "log"), worker_name="w")
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=1),
                 on_trace_ready=handler) as prof:
        for _ in range(3):
            model(x)
            prof.step()
    (trace,) = list((tmp_path / "log").iterdir())
    assert trace.name.startswith("w.") and trace.name.endswith(".pt.trace.json")
    events = json.loads(trace.read_text())["traceEvents"]
    assert {"ProfilerStep#1", "nn.Module: Linear"} <= {e["name"] for e in events}


def test_export_chrome_trace(tmp_path):
    with profile(record_shapes=True) as prof:
        _model()(ember.ones(2, 4))
    path = prof.export_chrome_trace(str(tmp_path / "trace.json"))
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    assert any(e.get("args", {}).get("Input Dims") == [[2, 4]] for e in events)


def test_autograd_profiler_spelling():
    with ember.autograd.profiler.profile(record_shapes=True) as prof, \
            ember.autograd.profiler.record_function("block"):
        _model()(ember.ones(1, 4))
    assert "block" in prof.key_averages().table(sort_by="self_cpu_time_total")
    with ember.autograd.profiler.profile(enabled=False) as off:
        _model()(ember.ones(1, 4))
    assert len(off.key_averages()) == 0
    assert ember.profiler is not None and ember.autograd.profiler.record_function is record_function
