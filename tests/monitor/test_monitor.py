"""ember.monitor against torch.monitor: events, handlers, windowed Stats."""

from __future__ import annotations

import datetime
import gc

import pytest
import torch
import torch.monitor

import ember.monitor as monitor

LIBS = (monitor, torch.monitor)
DAY = datetime.timedelta(days=1)  # no window closes during a test: results are exact


@pytest.fixture
def collected():
    """Register a collecting handler on both libraries; unregister afterwards."""
    events = {lib: [] for lib in LIBS}
    handles = {lib: lib.register_event_handler(events[lib].append) for lib in LIBS}
    yield events
    for lib, handle in handles.items():
        lib.unregister_event_handler(handle)


def _plain(stats):
    return {agg.name: value for agg, value in stats.items()}


def test_aggregation_members_match_torch():
    assert ({name: member.value for name, member in monitor.Aggregation.__members__.items()}
            == {name: member.value for name, member in
                torch.monitor.Aggregation.__members__.items()})
    assert monitor.STAT_EVENT == torch.monitor.STAT_EVENT


def test_max_samples_closes_the_window_as_torch(collected):
    aggregations = ["SUM", "MEAN", "COUNT", "MAX", "MIN"]
    results = []
    for lib in LIBS:
        stat = lib.Stat("loss", [getattr(lib.Aggregation, a) for a in aggregations], DAY, 3)
        before = _plain(stat.get())
        for value in (4, -1, 2.5, 100, 7):  # the last two are past max_samples: dropped
            stat.add(value)
        events = collected[lib]
        results.append((before, _plain(stat.get()), stat.count, stat.name, len(events),
                        events[-1].name, events[-1].data))
    assert results[0] == results[1]
    assert results[0][1] == {"SUM": 5.5, "MEAN": 5.5 / 3, "COUNT": 3.0, "MAX": 4.0, "MIN": -1.0}


def test_a_collected_stat_logs_what_it_holds(collected):
    for lib in LIBS:
        stat = lib.Stat("acc", [lib.Aggregation.MEAN, lib.Aggregation.MAX], DAY)
        stat.add(1)
        stat.add(3)
        assert stat.count == 2 and collected[lib] == []
        del stat
        gc.collect()
    assert collected[monitor][0].data == collected[torch.monitor][0].data
    assert collected[monitor][0].data == {"acc.mean": 2.0, "acc.max": 3.0}


def test_window_closing_logs_the_previous_window(collected, monkeypatch):
    """Driven by a fake clock: one window's values logged when the next window opens;
    an empty window logs nothing; adds after an early (max_samples) log are dropped."""
    stat = monitor.Stat("x", [monitor.Aggregation.SUM, monitor.Aggregation.VALUE],
                        datetime.timedelta(seconds=1), max_samples=2)
    clock = [10]
    monkeypatch.setattr(stat, "_current_window_id", lambda: clock[0])
    stat.add(1)
    stat.add(2)  # max_samples reached: logged now
    stat.add(50)  # dropped: this window was logged
    assert collected[monitor][-1].data == {"x.sum": 3.0, "x.value": 2.0}
    clock[0] = 11
    stat.add(5)
    assert stat.count == 1 and _plain(stat.get()) == {"SUM": 0.0, "VALUE": 0.0}
    clock[0] = 13
    stat.add(6)
    assert _plain(stat.get()) == {"SUM": 5.0, "VALUE": 5.0} and stat.count == 1
    assert len(collected[monitor]) == 2


def test_events_and_handlers(collected):
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    data = {"a": 1, "b": 2.5, "c": "text", "d": True}
    mine, theirs = monitor.Event("e", when, data), torch.monitor.Event("e", when, data)
    assert (mine.name, mine.timestamp, mine.data) == (theirs.name, theirs.timestamp, theirs.data)
    order = []
    extra = monitor.register_event_handler(lambda event: order.append(event.name))
    monitor.log_event(mine)
    assert collected[monitor] == [mine] and order == ["e"]
    monitor.unregister_event_handler(extra)
    monitor.log_event(mine)
    assert order == ["e"] and len(collected[monitor]) == 2
    for lib in LIBS:
        with pytest.raises(TypeError, match="No constructor defined"):
            lib.EventHandlerHandle()
    with pytest.raises(TypeError):
        monitor.Event("bad", when, {"x": [1]})


def test_tensorboard_handler_writes_stat_events_as_torch():
    class Writer:
        def __init__(self):
            self.calls = []

        def add_scalar(self, *args, **kwargs):
            self.calls.append((args, kwargs))

    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    written = []
    for lib in LIBS:
        writer = Writer()
        handler = lib.TensorboardEventHandler(writer)
        handler(lib.Event(lib.STAT_EVENT, when, {"loss.mean": 0.5, "loss.count": 4.0}))
        handler(lib.Event("other", when, {"ignored": 1.0}))
        written.append(writer.calls)
    assert sorted(written[0]) == sorted(written[1]) and len(written[0]) == 2


def test_tensorboard_handler_with_a_summary_writer(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    handle = monitor.register_event_handler(monitor.TensorboardEventHandler(writer))
    try:
        stat = monitor.Stat("loss", [monitor.Aggregation.MEAN], DAY, max_samples=2)
        stat.add(1.0)
        stat.add(2.0)
    finally:
        monitor.unregister_event_handler(handle)
        writer.close()
    assert any(path.name.startswith("events.out.tfevents") for path in tmp_path.iterdir())
