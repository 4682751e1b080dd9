"""DTensor, tensor-parallel styles and fully_shard in a world of one process, against
PyTorch's in the same process: the API's answers and its errors (types and the problem
named), without a launch."""

import pytest
import torch
import torch.distributed as tdist

import ember
import ember.distributed as dist

pytestmark = pytest.mark.xdist_group("distributed")


@pytest.fixture
def libs(world_of_one):
    """(torch-like, its distributed, its dtensor, its tp, its fsdp, its 1-rank mesh) for
    both libraries, each default group a world of one met through a HashStore."""
    import torch.distributed.fsdp as tfsdp
    import torch.distributed.tensor as tdt
    import torch.distributed.tensor.parallel as ttp
    from torch.distributed.device_mesh import init_device_mesh as tmesh

    import ember.distributed.fsdp as efsdp
    import ember.distributed.tensor as edt
    import ember.distributed.tensor.parallel as etp
    from ember.distributed.device_mesh import init_device_mesh as emesh

    return {"torch": (torch, tdist, tdt, ttp, tfsdp, tmesh("cpu", (1,))),
            "ember": (ember, dist, edt, etp, efsdp, emesh("cpu", (1,)))}


def _outcome(call):
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error).__name__
    if hasattr(value, "placements"):
        return (tuple(repr(p) for p in value.placements), tuple(value.shape),
                value.full_tensor().tolist())
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _answers(lib, dist_lib, dt, tp, fsdp, mesh):
    nn = lib.nn
    x = lib.arange(12.0).reshape(3, 4)
    dx = dt.distribute_tensor(x, mesh, [dt.Shard(0)])
    linear = nn.Linear(4, 2)
    conv = nn.Conv2d(1, 1, 1)
    return [
        _outcome(lambda: dx),
        _outcome(lambda: dt.distribute_tensor(x, mesh, [dt.Shard(0), dt.Shard(1)])),
        _outcome(lambda: dt.distribute_tensor(x)),
        _outcome(lambda: dt.DTensor.from_local(x)),
        _outcome(lambda: [repr(p.placements) for p in fsdp.fully_shard(nn.Linear(2, 2))
                          .parameters()]),
        _outcome(lambda: dt.distribute_tensor(x, mesh, [dt.Shard(2)])),
        _outcome(lambda: dt.distribute_tensor(dx, mesh, [dt.Replicate()])),
        _outcome(lambda: dt.distribute_tensor(dx, mesh, [dt.Shard(0)])),
        _outcome(lambda: dx.redistribute(mesh, [dt.Partial()])),
        _outcome(lambda: dx.redistribute(mesh, [dt.Replicate()]).to_local()),
        _outcome(lambda: dx + x),
        _outcome(lambda: dx + lib.tensor(2.0)),
        _outcome(lambda: (dx * 2).sum(1)),
        _outcome(lambda: dx.t() @ dx),
        _outcome(lambda: lib.nn.functional.softmax(dx, dim=0)),
        _outcome(lambda: dx[1]),
        _outcome(lambda: dt.DTensor.from_local(x, mesh, [dt.Shard(0), dt.Shard(1)])),
        _outcome(lambda: dt.DTensor.from_local(x, mesh, [dt.Shard(-1)])),
        _outcome(lambda: dt.zeros(2, 3, device_mesh=mesh, placements=[dt.Shard(1)])),
        _outcome(lambda: dt.ones((2, 3), device_mesh=mesh, placements=[dt.Replicate()])),
        _outcome(lambda: (str(dx.dtype), dx.requires_grad, dx.ndim, tuple(dx.size()),
                          dx.size(-1), dx.numel(), dx.is_leaf)),
        _outcome(lambda: tp.parallelize_module(conv, mesh, tp.ColwiseParallel())),
        _outcome(lambda: tp.parallelize_module(conv, mesh, tp.RowwiseParallel())),
        _outcome(lambda: tp.parallelize_module(linear, mesh, "colwise")),
        _outcome(lambda: tp.PrepareModuleInput(input_layouts=(dt.Shard(0),),
                                               desired_input_layouts=())),
        _outcome(lambda: tp.PrepareModuleOutput(output_layouts=(dt.Shard(0), dt.Shard(1)),
                                                desired_output_layouts=(dt.Replicate(),))),
        repr(tp.ColwiseParallel()), repr(tp.SequenceParallel()),
        repr(fsdp.MixedPrecisionPolicy(param_dtype=lib.float64)),
        _outcome(lambda: fsdp.fully_shard(nn.ModuleList([nn.Linear(2, 2)]), mesh=mesh)),
    ]


def test_answers_and_errors_match_torch(libs):
    found = {name: _answers(*libs[name]) for name in ("torch", "ember")}
    for index, (mine, theirs) in enumerate(zip(found["ember"], found["torch"])):
        if isinstance(theirs, str) and theirs.startswith("MixedPrecisionPolicy"):
            mine, theirs = mine.replace("ember", "torch"), theirs
        assert mine == theirs, (index, mine, theirs)


def test_messages_name_the_problem(libs):
    _, _, dt, _, _, mesh = libs["ember"]
    dx = dt.distribute_tensor(ember.ones(2, 2), mesh, [dt.Shard(0)])
    with pytest.raises(RuntimeError, match="mixed torch.Tensor and DTensor"):
        dx + ember.ones(2, 2)
    with pytest.raises(RuntimeError, match="redistributing to Partial is for internal use"):
        dx.redistribute(mesh, [dt.Partial()])
    with pytest.raises(ValueError, match="same length as `device_mesh.ndim`"):
        dt.distribute_tensor(ember.ones(2), mesh, [dt.Shard(0), dt.Shard(0)])


def test_one_rank_training_matches_plain_torch(libs):
    """A replicated-in, colwise/rowwise MLP on a world of one trains as plain PyTorch,
    through the DTensor gradients and the optimizer's per-parameter path."""
    results = {}
    for name in ("torch", "ember"):
        lib, _, dt, tp, _, mesh = libs[name]
        lib.manual_seed(3)
        model = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.ReLU(), lib.nn.Linear(6, 2))
        with lib.no_grad():
            for index, param in enumerate(model.parameters()):
                param.copy_(lib.linspace(-1, 1 - index / 10, param.numel())
                            .reshape(param.shape))
        if name == "ember":
            tp.parallelize_module(model, mesh, {"0": tp.ColwiseParallel(),
                                                "2": tp.RowwiseParallel()})
        opt = lib.optim.Adam(model.parameters(), lr=0.05)
        losses = []
        for step in range(3):
            x = lib.linspace(-2, 2, 20).reshape(5, 4) + step
            loss = lib.nn.functional.mse_loss(model(x), lib.ones(5, 2))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        weights = [p.full_tensor() if hasattr(p, "full_tensor") else p.detach()
                   for p in model.parameters()]
        results[name] = (losses, [w.tolist() for w in weights])
    torch.testing.assert_close(torch.tensor(results["ember"][0]),
                               torch.tensor(results["torch"][0]))
    for mine, theirs in zip(results["ember"][1], results["torch"][1]):
        torch.testing.assert_close(torch.tensor(mine), torch.tensor(theirs))


@pytest.mark.parametrize("module,names", [
    ("distributed.tensor", ["DTensor", "Shard", "Replicate", "Partial", "distribute_tensor",
                            "distribute_module", "zeros", "ones", "empty", "full", "rand",
                            "randn", "init_device_mesh", "DeviceMesh"]),
    ("distributed.tensor.placement_types", ["Placement", "Shard", "Replicate", "Partial"]),
    ("distributed.tensor.device_mesh", ["DeviceMesh", "init_device_mesh"]),
    ("distributed.tensor.parallel", ["parallelize_module", "ColwiseParallel",
                                     "RowwiseParallel", "SequenceParallel",
                                     "PrepareModuleInput", "PrepareModuleOutput",
                                     "loss_parallel", "ParallelStyle"]),
    ("distributed._tensor", ["DTensor", "Shard", "Replicate", "distribute_tensor"]),
    ("distributed._tensor.placement_types", ["Shard", "Replicate", "Partial"]),
    ("distributed.fsdp", ["fully_shard", "FSDPModule", "MixedPrecisionPolicy"]),
])
def test_names_live_where_torch_has_them(module, names):
    """Each name at PyTorch's path, and the old ``_tensor`` paths give the same objects."""
    import importlib
    theirs = importlib.import_module(f"torch.{module}")
    mine = importlib.import_module(f"ember.{module}")
    for name in names:
        assert hasattr(theirs, name), name
        assert getattr(mine, name) is getattr(
            importlib.import_module(f"ember.{module.replace('_tensor', 'tensor')}"), name)


def test_index_writes_and_type_queries(libs):
    """Writing by index into a replicated DTensor writes every rank's copy (as torch);
    into a sharded one ember refuses (it would have to find the owning rank) rather than
    write a gathered copy and lose it; ``type()`` answers a string."""
    results = {}
    for name in ("torch", "ember"):
        lib, _, dt, _, _, mesh = libs[name]
        replicated = dt.distribute_tensor(lib.zeros(2, 3), mesh, [dt.Replicate()])
        replicated[0, 1] = 5.0
        replicated[1] = dt.distribute_tensor(lib.ones(3), mesh, [dt.Replicate()])
        results[name] = (replicated.full_tensor().tolist(), replicated.type())
    assert results["ember"] == (results["torch"][0], "torch.FloatTensor")
    _, _, dt, _, _, mesh = libs["ember"]
    sharded = dt.distribute_tensor(ember.zeros(2, 3), mesh, [dt.Shard(0)])
    with pytest.raises(RuntimeError, match="redistribute it to Replicate"):
        sharded[0, 1] = 5.0
