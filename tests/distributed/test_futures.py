"""ember.futures against torch.futures in this process (futures need no process group):
each scenario runs on both libraries and must record the same thing."""

import threading

import pytest
import torch

import ember


def _outcome(function):
    """What ``function`` returns, or its exception's type and first message line."""
    try:
        return function()
    except Exception as error:  # noqa: BLE001 - the error is the record
        return (type(error).__name__, str(error).split("\n")[0])


def chain(lib):
    fut = lib.futures.Future()
    steps = fut.then(lambda f: f.value() + 1).then(lambda f: [f.value(), f.done()])
    fut.set_result(1)
    return [steps.done(), steps.wait(), steps.value()]


def callback_error(lib):
    fut = lib.futures.Future()
    failing = fut.then(lambda f: {}["missing"])
    fut.set_result(0)
    return _outcome(failing.wait)


def complete_twice(lib):
    fut = lib.futures.Future()
    fut.set_exception(KeyError("k"))
    return [_outcome(lambda: fut.set_result(1)), _outcome(fut.wait), fut.done()]


def exception_type(lib):
    return _outcome(lambda: lib.futures.Future().set_exception(3))


def done_callbacks(lib):
    calls = []
    fut = lib.futures.Future()
    fut.add_done_callback(lambda f: calls.append(("first", f.value())))
    fut.set_result("v")
    fut.add_done_callback(lambda f: calls.append(("late", f.value())))  # runs at once
    return calls


def collect(lib):
    futures = [lib.futures.Future() for _ in range(3)]
    combined = lib.futures.collect_all(futures)
    states = []
    for index, future in enumerate(futures):
        states.append(combined.done())
        future.set_result(index * 10)
    waited = combined.wait()
    return [states, combined.done(), [f.value() for f in waited],
            lib.futures.wait_all(futures), lib.futures.collect_all([]).wait()]


def collect_error(lib):
    good, bad = lib.futures.Future(), lib.futures.Future()
    combined = lib.futures.collect_all([good, bad])
    bad.set_exception(ValueError("lost"))
    good.set_result(1)
    return [_outcome(combined.wait), _outcome(lambda: lib.futures.wait_all([good, bad]))]


def other_thread(lib):
    fut = lib.futures.Future()
    worker = threading.Thread(target=lambda: fut.set_result(torch_like(lib)))
    worker.start()
    value = fut.wait()
    worker.join()
    return value.tolist()


def torch_like(lib):
    return lib.arange(3.0) * 2


@pytest.mark.parametrize("scenario", [chain, callback_error, complete_twice, exception_type,
                                      done_callbacks, collect, collect_error, other_thread])
def test_matches_torch(scenario):
    assert scenario(ember) == scenario(torch)


def test_value_before_completion_raises():
    with pytest.raises(RuntimeError, match="has not been marked completed"):
        ember.futures.Future().value()
