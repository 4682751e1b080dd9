"""ember.profiler's DeviceType, supported_activities, kineto_available and
ExecutionTraceObserver against torch.profiler (the trace file's layout: top-level keys,
node keys and attrs, the process/thread nodes, record_function nodes under the thread)."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
import torch.profiler as tprof

import ember
import ember.profiler as eprof


def test_device_type_codes_match_torch():
    assert {name: int(v) for name, v in eprof.DeviceType.__members__.items()} == {
        name: int(v) for name, v in tprof.DeviceType.__members__.items()}
    assert str(eprof.DeviceType.CUDA) == str(tprof.DeviceType.CUDA)


def test_supported_activities_and_kineto():
    assert eprof.supported_activities() == {eprof.ProfilerActivity.CPU}
    assert {a.name for a in eprof.supported_activities()} <= {
        a.name for a in tprof.supported_activities()}
    assert eprof.kineto_available() is False  # ember's recorder is not Kineto


def _trace(lib, prof, path, standalone):
    et = prof.ExecutionTraceObserver()
    assert et.get_output_file_path() is None and et.is_registered is False
    assert et.register_callback(str(path)) is et
    assert et.is_registered is True and et.get_output_file_path() == str(path)
    model = lib.nn.Linear(3, 2)
    if standalone:
        et.start()
        assert et.is_running() is True
        with prof.record_function("block"):
            model(lib.ones(1, 3))
        et.stop()
        assert et.is_running() is False
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with prof.profile(activities=[prof.ProfilerActivity.CPU],
                              execution_trace_observer=et):
                with prof.record_function("block"):
                    model(lib.ones(1, 3))
    et.unregister_callback()
    assert et.is_registered is False
    with open(path) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def torch_trace(tmp_path_factory):
    """PyTorch's trace, taken standalone: its layout is the same under ``profile``, and
    starting Kineto for a ``profile`` costs seconds."""
    return _trace(torch, tprof, tmp_path_factory.mktemp("et") / "torch.json", True)


@pytest.mark.parametrize("standalone", [False, True])
def test_execution_trace_layout_matches_torch(tmp_path, standalone, torch_trace):
    ours = _trace(ember, eprof, tmp_path / "ember.json", standalone)
    theirs = torch_trace
    assert list(ours) == list(theirs)
    assert ours["schema"] == theirs["schema"] and ours["pid"] == theirs["pid"]
    assert ours["start_ts"] <= ours["finish_ts"]
    assert set(ours["nodes"][0]) == set(theirs["nodes"][0])
    assert set(ours["nodes"][0]["inputs"]) == set(theirs["nodes"][0]["inputs"])
    assert [a["name"] for a in ours["nodes"][0]["attrs"]] == [
        a["name"] for a in theirs["nodes"][0]["attrs"]]

    def by_name(trace):
        return {node["name"]: node for node in trace["nodes"]}

    ours_named, theirs_named = by_name(ours), by_name(theirs)
    for name in ("[pytorch|profiler|execution_trace|process]",
                 "[pytorch|profiler|execution_trace|thread]", "block"):
        ours_node, theirs_node = ours_named[name], theirs_named[name]
        assert (ours_node["id"], ours_node["ctrl_deps"]) == (
            theirs_node["id"], theirs_node["ctrl_deps"]), name
        assert ours_node["attrs"] == theirs_node["attrs"] or name == "block"
    block = ours_named["block"]
    assert [a["value"] for a in block["attrs"] if a["name"] == "scope"] == [7]
    if not standalone:  # the module call sits inside the region, with the profile's events
        linear = ours_named["nn.Module: Linear"]
        assert linear["ctrl_deps"] == block["id"]


def test_execution_trace_with_recorded_shapes(tmp_path):
    et = eprof.ExecutionTraceObserver().register_callback(str(tmp_path / "t.json"))
    model = ember.nn.Sequential(ember.nn.Linear(3, 2))
    with eprof.profile(record_shapes=True, execution_trace_observer=et) as prof:
        model(ember.ones(4, 3))
    nodes = {n["name"]: n for n in json.loads((tmp_path / "t.json").read_text())["nodes"]}
    inner = nodes["nn.Module: Linear"]
    assert inner["ctrl_deps"] == nodes["nn.Module: Sequential"]["id"]
    assert inner["inputs"]["shapes"] == [[4, 3]] and inner["inputs"]["types"] == ["Tensor"]
    assert [e.name for e in prof.events()] == ["nn.Module: Sequential", "nn.Module: Linear"]


def test_unregistered_observer_does_not_record(tmp_path):
    for prof in (eprof, tprof):
        et = prof.ExecutionTraceObserver()
        et.start()
        assert et.is_running() is False


def test_record_scope_codes_match_torch():
    assert {k: int(v) for k, v in eprof.RecordScope.__members__.items()} == {
        k: int(v) for k, v in tprof.RecordScope.__members__.items()}


def test_kineto_step_tracker_counts_like_torch(monkeypatch):
    results = []
    for tracker in (eprof.KinetoStepTracker, tprof.KinetoStepTracker):
        monkeypatch.setattr(tracker, "_current_step", 0)
        monkeypatch.setattr(tracker, "_step_dict", type(tracker._step_dict)(int))
        steps = [tracker.increment_step("ProfilerStep"), tracker.increment_step("Opt1"),
                 tracker.increment_step("Opt1")]
        tracker.init_step_count("Opt2")
        steps.append(tracker.increment_step("Opt2"))
        with pytest.warns(UserWarning, match="increased more than 1"):
            tracker._step_dict["Opt2"] += 1
            steps.append(tracker.increment_step("Opt2"))
        steps += [tracker.erase_step_count("Opt2"), tracker.erase_step_count("Opt2"),
                  tracker.current_step()]
        results.append(steps)
    assert results[0] == results[1]


def test_optimizer_step_post_hook_runs():
    calls = []
    handle = eprof.register_optimizer_step_post_hook(lambda opt, args, kwargs: calls.append(1))
    try:
        weight = ember.nn.Parameter(ember.ones(2))
        optimizer = ember.optim.SGD([weight], lr=0.1)
        weight.sum().backward()
        optimizer.step()
    finally:
        handle.remove()
    optimizer.step()
    assert calls == [1]
