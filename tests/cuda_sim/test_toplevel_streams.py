"""``ember.Stream`` / ``ember.Event`` on cuda: they drive ember.cuda's (CuPy) streams and
events (real CuPy on a GPU machine, the NumPy-backed fake elsewhere)."""

import pytest

import ember


def test_default_device_is_the_accelerator_and_work_is_ordered():
    stream = ember.Stream()
    assert stream.device.type == "cuda" and stream.device_type == 1
    assert stream.device_index == 0 and stream.native_handle() == stream.stream_id != 0
    assert stream == stream and stream != ember.Stream()
    start, end = ember.Event(enable_timing=True), ember.Event(enable_timing=True)
    with stream:
        start.record(stream)
        x = ember.ones(64, device="cuda") * 2
        end.record(stream)
    end.synchronize()
    assert end.query() and stream.query()
    assert end.device.type == "cuda" and end.event_id != 0
    assert start.elapsed_time(end) >= 0.0
    assert x.sum().item() == 128.0


def test_waits_and_recorded_events():
    first, second = ember.Stream("cuda"), ember.Stream(device=0)
    event = first.record_event()
    assert isinstance(event, ember.Event) and event.query()
    second.wait_event(event)
    second.wait_stream(first)
    second.synchronize()
    with pytest.raises(ValueError, match="must be recorded"):
        ember.Event(enable_timing=True).elapsed_time(ember.Event(enable_timing=True))
