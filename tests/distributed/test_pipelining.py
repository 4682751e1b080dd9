"""ember.distributed.pipelining on 2 ranks: one launch of pipelining_script.py runs every
schedule (a 4-layer MLP trained 3 SGD steps on 4 microbatches) and the error paths; this
process trains the same MLP on the full batch with real PyTorch and compares losses and
final weights. Microbatch splitting and merging are compared with PyTorch's directly.

pipelining_script.py also runs unchanged on PyTorch (import torch in place of ember,
under ``torchrun --nproc-per-node 2``); its results equal ember's (losses, weights, eval
output and every error) and the expected errors below were taken from that run. That
launch is not part of the suite (it costs about 12 s)."""

import sys

import numpy as np
import pytest
import torch
from torch.distributed.pipelining import microbatch as torch_microbatch

import ember
from ember.distributed.pipelining import microbatch

from .conftest import Run, free_port
from .pipelining_script import BATCH, LR, MICROBATCHES, STEPS, data, initial_weights

pytestmark = pytest.mark.xdist_group("distributed")

CASES = ["gpipe", "1f1b", "traced_gpipe", "pipe_split_1f1b", "interleaved_1f1b",
         "looped_bfs", "interleaved_zb"]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipelining_ranks")
    run = Run([sys.executable, "-m", "ember.distributed.run", "--transport", "tcp",
               "--nproc-per-node", "2", "--master-port", str(free_port()),
               "pipelining_script.py"], env={"EMBER_TEST_OUT": str(folder)})
    found = run.results(tag="PIPE_RESULT")
    assert sorted(found) == [0, 1]
    return found


@pytest.fixture(scope="module")
def reference():
    """Single-process PyTorch on the full batch: per step the loss of each microbatch
    (the rows the pipeline gives it) before the update, and the final layers."""
    layers = []
    for index, (weight, bias) in enumerate(initial_weights()):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(weight))
            linear.bias.copy_(torch.tensor(bias))
        layers += [linear] if index == 3 else [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers)
    x, y = (torch.tensor(a) for a in data())
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    step_losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        output = model(x)
        with torch.no_grad():
            per_chunk = [((o - t) ** 2).mean().item() for o, t in
                         zip(output.chunk(MICROBATCHES), y.chunk(MICROBATCHES))]
        step_losses.append(per_chunk)
        ((output - y) ** 2).mean().backward()
        optimizer.step()
    final = {index: [layer.weight.detach(), layer.bias.detach()]
             for index, layer in enumerate(m for m in model if isinstance(m, torch.nn.Linear))}
    return {"losses": step_losses, "weights": final, "output": model(x).detach()}


@pytest.mark.parametrize("case", CASES)
def test_training_matches_single_process(ranks, reference, case):
    # the loss is on the last stage's rank (1), the layers are spread over both ranks
    assert ranks[0][case]["losses"] == [[]] * STEPS
    torch.testing.assert_close(torch.tensor(ranks[1][case]["losses"], dtype=torch.float64),
                               torch.tensor(reference["losses"], dtype=torch.float64))
    weights = {**ranks[0][case]["weights"], **ranks[1][case]["weights"]}
    assert sorted(weights) == ["0", "1", "2", "3"]
    for index, (weight, bias) in reference["weights"].items():
        ours = [torch.tensor(values, dtype=torch.float64) for values in weights[str(index)]]
        torch.testing.assert_close(ours[0], weight)
        torch.testing.assert_close(ours[1], bias)
        moved = np.abs(weight.numpy() - initial_weights()[index][0]).max()
        assert moved > 1e-3, f"layer {index} did not train"


def test_traced_pipe_and_eval(ranks, reference):
    assert ranks[0]["traced_gpipe"]["num_stages"] == 2
    assert ranks[0]["traced_gpipe"]["eval"] is None
    # eval() after training: the last stage's merged output of the whole batch
    torch.testing.assert_close(torch.tensor(ranks[1]["traced_gpipe"]["eval"], dtype=torch.float64),
                               reference["output"])
    # Pipe(x) runs the stages in turn (each rank's copy trained only its own stage)
    assert np.array(ranks[0]["traced_gpipe"]["pipe_output"]).shape == (1, BATCH, 3)
    assert ranks[0]["traced_gpipe"]["split_gm_children"] == ["submod_pp_0", "submod_pp_1"]


# PyTorch's messages (torch/distributed/pipelining/schedules.py, _IR.py, 2.13)
EXPECTED_ERRORS = {
    "too_few_microbatches": ["ValueError", "Number of microbatches (1) must be greater than "
                             "or equal to the number of stages (2)."],
    "interleaved_rounds": ["ValueError", "Interleaved 1F1B requires the number of "
                           "microbatches to be a multiple of the number of rounds (2), "
                           "but got 5."],
    "no_grad": ["RuntimeError", "step() requires gradients to be enabled for backward "
                "computation; it should not be used under torch.no_grad() context. "
                "Please call eval() instead."],
    "short_batch": ["ValueError", "Expecting 4 arg_mbs but got 3"],
    "mbs_count": ["ValueError", "Expecting 4 arg_mbs but got 3"],
    "losses_type": ["TypeError", "losses must be a list but got a <class 'tuple'>"],
    "both_specs": ["ValueError", "Cannot specify both `split_spec` and `split_policy`. "
                   "Please use only one of them."],
    "missing_module": ["AttributeError", "'Sequential' object has no attribute '9'"],
    "stage_index": ["ValueError", "Invalid stage index 5!"],
}


def test_stage_input_mismatch(ranks):
    """A batch whose microbatches differ from the stage's shapes (ember checks always;
    PyTorch's check runs under its runtime validation, with these messages)."""
    errors = ranks[0]["errors"]
    assert errors["shape_mismatch"] == [
        "PipeliningMetadataError", "Stage 0 forward inputs[0]: shape mismatch: "
        "torch.Size([2, 6]) vs torch.Size([3, 6])"]
    assert errors["dtype_mismatch"] == [
        "PipeliningMetadataError", "Stage 0 forward inputs[0]: dtype mismatch: "
        "torch.float64 vs torch.float32"]


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_errors(ranks, name):
    for rank in (0, 1):
        assert ranks[rank]["errors"][name] == EXPECTED_ERRORS[name], (rank, name)


def _both(values):
    return ember.tensor(values), torch.tensor(values)


def test_split_and_merge_match_torch():
    rng = np.random.default_rng(3)
    ex, tx = _both(rng.standard_normal((7, 4)))
    em, tm = _both(rng.standard_normal((3, 6)))
    kwargs_spec = {"mask": microbatch.TensorChunkSpec(1)}
    ours = microbatch.split_args_kwargs_into_chunks(
        (ex, 5), {"mask": em}, 3, kwargs_chunk_spec=kwargs_spec)
    theirs = torch_microbatch.split_args_kwargs_into_chunks(
        (tx, 5), {"mask": tm}, 3,
        kwargs_chunk_spec={"mask": torch_microbatch.TensorChunkSpec(1)})
    assert len(ours[0]) == len(theirs[0]) == 3
    for (oa, ob), (ta, tb) in zip(ours[0], theirs[0]):
        torch.testing.assert_close(torch.tensor(oa.numpy()), ta)
        assert ob == tb == 5
    for ok, tk in zip(ours[1], theirs[1]):
        torch.testing.assert_close(torch.tensor(ok["mask"].numpy()), tk["mask"])
    merged = microbatch.merge_chunks([c[0] for c in ours[0]], None)
    torch.testing.assert_close(torch.tensor(merged.numpy()), tx)
    along_one = microbatch.merge_chunks([k["mask"] for k in ours[1]],
                                        microbatch.TensorChunkSpec(1))
    torch.testing.assert_close(torch.tensor(along_one.numpy()), tm)
    assert str(microbatch.TensorChunkSpec(1)) == str(torch_microbatch.TensorChunkSpec(1))
    assert [s.split_dim for s in microbatch.TensorChunkSpec.from_tuple((0, 1))] == [0, 1]


def test_split_fewer_rows_than_chunks_matches_torch():
    ex, tx = _both(np.arange(6.0).reshape(2, 3))
    ours, _ = microbatch.split_args_kwargs_into_chunks((ex,), None, 4)
    theirs, _ = torch_microbatch.split_args_kwargs_into_chunks((tx,), None, 4)
    assert len(ours) == len(theirs) == 2
    with pytest.raises(AssertionError, match="Tensor size 2 is smaller than num_chunks"):
        microbatch._split_tensor(ex, microbatch.TensorChunkSpec(0), 4)
    with pytest.raises(ValueError, match="did not match chunk spec"):
        microbatch.merge_chunks([(ex, ex)], (microbatch.TensorChunkSpec(0),))
