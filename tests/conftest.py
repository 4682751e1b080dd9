import os
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))


def pytest_addoption(parser):
    parser.addoption(
        "--device", default=os.environ.get("EMBER_TEST_DEVICE", "cpu"), choices=("cpu", "cuda"),
        help="device the oracle (tests/oracle.py) builds ember's inputs on; torch's too when "
             "torch has it, else torch stays on cpu. cuda without a GPU runs on the NumPy "
             "CuPy double in tests/cuda_sim/fake_cupy.py. Default: $EMBER_TEST_DEVICE or cpu.")
    parser.addoption(
        "--time-budget", type=float, default=0.0,
        help="stop (with the usual summary) once this many seconds have passed; for "
             "scripts/gpu_check.sh, whose lent GPU has minutes, not hours")


def pytest_sessionstart(session):
    session.config._ember_started = time.monotonic()


def pytest_runtest_setup(item):
    """``@pytest.mark.oracle_torch("2.13", why)``: the test's oracle is behaviour that
    PyTorch gained in that release (an API, an error text). Where the installed torch is
    older (a lent GPU machine brings its own CUDA build) the oracle is missing, so the
    test is skipped saying so; with the pinned torch it always runs."""
    import torch

    for mark in item.iter_markers("oracle_torch"):
        version, why = mark.args
        if _release(torch.__version__) < _release(version):
            pytest.skip(f"the oracle torch {torch.__version__} predates {version}: {why}")


def _release(version):
    return tuple(int(part) for part in version.split("+")[0].split(".")[:2])


def pytest_runtest_teardown(item, nextitem):
    budget = item.config.getoption("--time-budget")
    if budget and time.monotonic() - item.config._ember_started > budget:
        item.session.shouldstop = f"--time-budget of {budget:g} s spent"


def pytest_configure(config):
    """One BLAS thread per test process, for NumPy and torch alike: pytest-xdist already
    runs one worker per core, and oversubscribed OpenBLAS threads on a loaded machine
    slowed single GEMMs 3-40x here."""
    import threadpoolctl
    import torch

    config.addinivalue_line("markers", "oracle_torch(version, why): needs torch >= version "
                            "as its oracle (skipped, saying so, under an older torch)")
    threadpoolctl.threadpool_limits(1)
    torch.set_num_threads(1)
    device = config.getoption("--device")
    if device != "cpu":
        _use_device(device)


def _use_device(device):
    """Point the oracle at ``device``; for cuda without a GPU, install the CuPy double for
    the whole session (tests/cuda_sim's fixture swaps it per test and puts it back)."""
    import oracle

    if device == "cuda" and not _real_gpu():
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cuda_sim"))
        import fake_cupy

        from ember._backend import device as backend_device

        sys.modules.update(fake_cupy.modules())
        backend_device._cupy, backend_device._cupy_checked = None, False
    oracle.set_device(device)
    from hypothesis import settings

    # A GPU compiles each new kernel on first use: an example's time says nothing there.
    settings.register_profile("ember-device", deadline=None)
    settings.load_profile("ember-device")


def _real_gpu():
    if os.environ.get("EMBER_FAKE_CUPY") == "1":
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@pytest.hookimpl(optionalhook=True)  # child sessions run with -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` (the README's command) through _BatchedGroupScheduling."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return _batched_group_scheduling()(config, log)


def _batched_group_scheduling():
    from xdist.scheduler import LoadGroupScheduling

    class BatchedGroupScheduling(LoadGroupScheduling):
        """loadgroup's work units (an xdist_group's tests together, every other test alone),
        handed to a worker several at a time, with the controller's bookkeeping kept linear.

        pytest-xdist 3.8's LoadScopeScheduling gives a worker one unit when it has two tests
        left, and on every finished test recounts every unit that worker was ever given and
        finds each new test's index with list.index: quadratic in the ~18,000 one-test units,
        in a controller that shares the two cores with the workers, and a round trip between
        tests. Here a worker is topped up to a batch (a share of what is left, so the
        workers finish together), its pending tests are counted as they finish, and indices
        come from a dict. Which tests run together is unchanged."""

        LOW, HIGH = 8, 40  # top up below LOW pending tests, to at most HIGH

        def _setup(self):
            if not hasattr(self, "_pending"):
                self._pending = {}
                self._queued = sum(len(unit) for unit in self.workqueue.values())
                self._index = {}

        def _assign_work_unit(self, node):
            self._setup()
            scope, work_unit = self.workqueue.popitem(last=False)
            self.assigned_work.setdefault(node, {})[scope] = work_unit
            if node not in self._index:
                self._index[node] = {nodeid: number for number, nodeid
                                     in enumerate(self.registered_collections[node])}
            todo = [self._index[node][nodeid] for nodeid, done in work_unit.items() if not done]
            self._queued -= len(work_unit)
            self._pending[node] = self._pending.get(node, 0) + len(todo)
            node.send_runtest_some(todo)

        def mark_test_complete(self, node, item_index, duration=0):
            nodeid = self.registered_collections[node][item_index]
            self.assigned_work[node][self._split_scope(nodeid)][nodeid] = True
            self._pending[node] -= 1
            self._reschedule(node)

        def _reschedule(self, node):
            self._setup()
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            if self._pending.get(node, 0) >= self.LOW:
                return
            # a worker holds each test until it knows the next one: keep two at least
            share = max(2, min(self.HIGH, self._queued // (2 * len(self.nodes))))
            while self.workqueue and self._pending.get(node, 0) < share:
                self._assign_work_unit(node)

        @property
        def tests_finished(self):
            if not self.collection_is_completed or self.workqueue:
                return False
            self._setup()
            return all(self._pending.get(node, 0) < 2 for node in self.assigned_work)

        def remove_node(self, node):
            # A crashed worker's unfinished units go back to the queue: recount.
            crashed = super().remove_node(node)
            self._pending.pop(node, None)
            self._queued = sum(len(unit) for unit in self.workqueue.values())
            return crashed

    return BatchedGroupScheduling


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same NumPy, ember and torch seeds."""
    import torch

    import ember

    import oracle

    # Inputs drawn from the oracle's generator depend only on the test, not on which
    # tests ran before it in this worker (pytest-xdist distributes tests differently).
    oracle.RNG.bit_generator.state = np.random.default_rng(1234).bit_generator.state
    np.random.seed(0)
    # torch.manual_seed also queues a lazy CUDA seed when torch has no GPU, formatting the
    # whole (deep, under pytest) stack each time: ~1.5 ms a test.
    torch.default_generator.manual_seed(0)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(0)
    if hasattr(ember, "manual_seed"):
        ember.manual_seed(0)
    yield
