"""DistributedDataParallel against PyTorch's: ddp_parity_script.py runs on 2 ranks under
real PyTorch (gloo, mpirun) and under ember (``ember run``), at the same time; every rank's
record must be the same. The records hold, per iteration, what each communication-hook
bucket held (index, is_last, size, parameter shapes, which .grad were still None when it
was launched, where each .grad sits inside the bucket's buffer), the gradients, the
trained parameters and ``_get_ddp_logging_data()``."""

import pytest
import torch

from .conftest import run_mpirun_and_ember

pytestmark = pytest.mark.xdist_group("distributed")

SCRIPT = "ddp_parity_script.py"


@pytest.fixture(scope="module")
def records():
    return run_mpirun_and_ember(SCRIPT, "PARITY")


def _case(records, name):
    return [(records["torch"][rank][name], records["ember"][rank][name]) for rank in (0, 1)]


def _same(name, records, drop_logging_keys=()):
    for expected, got in _case(records, name):
        assert "error" not in expected, expected
        if drop_logging_keys:
            for key in drop_logging_keys:
                expected[2].pop(key), got[2].pop(key)
        assert got == expected


@pytest.mark.parametrize("name", [
    "buckets_default",  # one bucket, then rebuilt in ready order (bias before weight)
    "buckets_small",  # a tiny bucket_cap_mb: the rebuilt buckets close on reaching the cap
    "buckets_unused_flag",  # find_unused_parameters: reversed capped buckets, never rebuilt
    "buckets_unused_flag_default_cap",  # ... with the 1 MiB first bucket
    "buckets_static",  # static_graph: rebuilt after the second iteration
    "unused_flag_skip",  # unused parameters: grads None, buckets launched early
    "mixed_dtypes",  # a bucket per dtype, a 0-d parameter, views
])
def test_buckets_overlap_and_logging(records, name):
    """Bucket contents and order per iteration, and the overlap: a bucket is launched from
    the autograd hook while earlier layers' gradients are still None."""
    _same(name, records)


def test_overlap_is_real(records):
    """The records would also match if neither library launched early: after the rebuild
    (the second iteration), bucket 0 starts while the first layer has no gradient yet."""
    for library in ("torch", "ember"):
        first_bucket = records[library][0]["buckets_small"][0][2][0]
        assert first_bucket["index"] == 0 and not first_bucket["last"]
        assert first_bucket["grad_none"][:2] == [True, True]


def test_static_graph_unused_without_flag(records):
    # PyTorch's logging leaves has_rebuilt_buckets and the rebuilt sizes out there, though
    # the bucket records show it rebuilt
    _same("static_unused_no_flag", records,
          ("has_rebuilt_buckets", "rebuilt_bucket_sizes", "rebuilt_per_bucket_param_indices"))


@pytest.mark.parametrize("name", ["views", "views_set_to_none", "views_unused", "views_no_hook"])
def test_gradient_as_bucket_view(records, name):
    """.grad are views of the bucket buffers (same offsets, shared storage) after every
    iteration, across zero_grad(set_to_none=False) and set_to_none=True, and rebuilds."""
    _same(name, records)
    views = records["ember"][0]["views"][0]
    assert all(offset is not None and offset[1] for offset in views[0][0]["offsets"])


def test_unused_parameters_error(records):
    for expected, got in _case(records, "unused_error"):
        assert got == expected
        assert expected["error"] == "RuntimeError"
        assert "Parameter indices which did not receive grad for rank" in got["message"]


@pytest.mark.parametrize("name", ["no_sync", "no_sync_views", "broadcast_buffers",
                                  "no_broadcast_buffers", "hook_allreduce",
                                  "hook_allreduce_views", "join", "join_views",
                                  "join_views_unused", "builtin_allreduce"])
def test_training_options(records, name):
    _same(name, records)


@pytest.mark.parametrize("name", ["hook_fp16", "hook_fp16_views", "builtin_fp16"])
def test_fp16_compress_hook(records, name):
    for expected, got in _case(records, name):
        assert "error" not in expected, expected
        if name == "builtin_fp16":  # [parameters, the error of a second registration]
            assert got[1] == expected[1]
            expected, got = expected[0], got[0]
        for e, g in zip(expected, got):
            torch.testing.assert_close(torch.tensor(g["values"]), torch.tensor(e["values"]))
