"""SummaryWriter against torch.utils.tensorboard: the same calls write the same events
(summary protos compared field by field, wall times aside), the same sub-runs and
projector files; add_graph writes a GraphDef of the model's ops; errors as PyTorch's."""

from __future__ import annotations

import glob
import os

import numpy as np
import oracle
import pytest
import torch
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import ember
from ember.utils.tensorboard import SummaryWriter


@pytest.fixture(autouse=True)
def _on_oracle_device():
    """ember tensors these tests build land on the oracle's device (pytest --device cuda)."""
    with oracle.on_device(ember):
        yield


RNG = np.random.default_rng(0)


def _events(log_dir):
    """Every event of every event file under ``log_dir`` (by relative run path), wall time
    and the file-version header dropped."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"),
                                 recursive=True)):
        events = []
        for event in EventFileLoader(path).Load():
            if event.HasField("file_version"):
                continue
            event.wall_time = 0
            events.append(event)
        runs[os.path.relpath(os.path.dirname(path), log_dir)] = events
    return runs


def _write_both(tmp_path, calls):
    """Run ``calls(writer, lib)`` on torch's and ember's writers; return both logs."""
    logs = []
    for lib, writer_type in ((torch, TorchWriter), (ember, SummaryWriter)):
        log_dir = str(tmp_path / lib.__name__)
        with writer_type(log_dir) as writer:
            calls(writer, lib)
        logs.append(log_dir)
    return logs


def _same_events(tmp_path, calls, normalize=None):
    torch_dir, ember_dir = _write_both(tmp_path, calls)
    torch_runs, ember_runs = _events(torch_dir), _events(ember_dir)
    assert sorted(torch_runs) == sorted(ember_runs)
    for run, torch_events in torch_runs.items():
        ember_events = ember_runs[run]
        if normalize is not None:
            torch_events, ember_events = normalize(torch_events), normalize(ember_events)
        assert ember_events == torch_events, run
    return torch_dir, ember_dir


def test_scalars_and_scalar_styles(tmp_path):
    values = RNG.standard_normal(5)

    def calls(writer, lib):
        for step, value in enumerate(values):
            writer.add_scalar("loss/train", lib.tensor(value), step)
            writer.add_scalar("lr", float(value), step, walltime=10.0)
        writer.add_scalar("new", 2.5, 3, new_style=True)
        writer.add_scalar("double", 2.5, 3, new_style=True, double_precision=True)
        writer.add_scalar("numpy", np.float32(1.5), 1)

    _same_events(tmp_path, calls)


def test_add_scalars_writes_one_sub_run_per_tag(tmp_path):
    def calls(writer, lib):
        for step in range(3):
            writer.add_scalars("run/loss", {"train": step * 1.0, "val": step * 2.0}, step)

    torch_dir, _ = _same_events(tmp_path, calls)
    assert sorted(_events(torch_dir)) == [".", "run_loss_train", "run_loss_val"]


def test_histograms(tmp_path):
    values = RNG.standard_normal(1000).astype(np.float32)

    def calls(writer, lib):
        writer.add_histogram("weights", lib.tensor(values), 0)
        writer.add_histogram("auto", lib.tensor(values), 1, bins="auto")
        writer.add_histogram("ten", values, 2, bins=10, max_bins=3)
        writer.add_histogram_raw("raw", min=0.0, max=3.0, num=6, sum=9.0, sum_squares=19.0,
                                 bucket_limits=[1.0, 2.0, 3.0], bucket_counts=[1, 2, 3],
                                 global_step=0)

    _same_events(tmp_path, calls)


def test_images_figures_and_boxes(tmp_path):
    chw = RNG.uniform(size=(3, 8, 10)).astype(np.float32)
    nchw = RNG.uniform(size=(5, 1, 6, 6)).astype(np.float32)
    hwc_u8 = RNG.integers(0, 255, (6, 7, 3)).astype(np.uint8)
    boxes = np.array([[1.0, 1.0, 5.0, 6.0], [2.0, 0.0, 8.0, 4.0]])

    def calls(writer, lib):
        writer.add_image("chw", lib.tensor(chw), 0)
        writer.add_image("hwc", lib.tensor(hwc_u8), 0, dataformats="HWC")
        writer.add_image("hw", chw[0], 0, dataformats="HW")
        writer.add_images("grid", lib.tensor(nchw), 1)
        writer.add_image_with_boxes("boxes", lib.tensor(chw), lib.tensor(boxes), 2,
                                    labels=["a", "b"])
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=(2, 2))
        plt.plot([0, 1], [1, 0])
        writer.add_figure("figure", figure, 3)

    _same_events(tmp_path, calls)


def test_text_audio_pr_curves_tensors_custom_scalars_mesh(tmp_path):
    wave = np.sin(np.linspace(0, 20, 800)).astype(np.float32)
    labels = RNG.integers(0, 2, 50)
    predictions = RNG.uniform(size=50)
    vertices = RNG.standard_normal((1, 4, 3)).astype(np.float32)
    faces = np.array([[[0, 1, 2], [1, 2, 3]]])

    def calls(writer, lib):
        writer.add_text("notes", "**bold** text", 0)
        writer.add_audio("wave", lib.tensor(wave), 0, sample_rate=8000)
        writer.add_pr_curve("pr", lib.tensor(labels), lib.tensor(predictions), 0)
        writer.add_pr_curve("pr_weighted", labels, predictions, 1, num_thresholds=300,
                            weights=np.ones(50) * 0.5)
        counts = np.arange(5.0)
        writer.add_pr_curve_raw("pr_raw", counts, counts, counts, counts, counts / 5,
                                counts / 5, 0, num_thresholds=5)
        writer.add_tensor("tensor", lib.tensor(np.arange(6.0).reshape(2, 3)), 0)
        writer.add_tensor("ints", lib.tensor(np.arange(4)), 0)
        writer.add_custom_scalars({"Losses": {"both": ["Multiline", ["loss/a", "loss/b"]],
                                              "band": ["Margin", ["m", "lo", "hi"]]}})
        writer.add_custom_scalars_multilinechart(["x", "y"], title="xy")
        writer.add_custom_scalars_marginchart(["m", "lo", "hi"], title="margin")
        writer.add_mesh("mesh", lib.tensor(vertices), faces=lib.tensor(faces), global_step=0,
                        config_dict={"camera": {"fov": 75}})

    _same_events(tmp_path, calls)


def test_hparams_sub_run(tmp_path):
    def calls(writer, lib):
        writer.add_hparams({"lr": 0.1, "batch": 32, "optim": "sgd", "nesterov": True},
                           {"hparam/accuracy": 0.9}, run_name="trial",
                           hparam_domain_discrete={"optim": ["sgd", "adam"]})

    _same_events(tmp_path, calls)
    writer = SummaryWriter(str(tmp_path / "bad"))
    with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionary"):
        writer.add_hparams([("lr", 0.1)], {})
    with pytest.raises(ValueError, match="value should be one of int, float, str, bool"):
        writer.add_hparams({"lr": [0.1]}, {})
    writer.close()


def test_purge_step_and_close_reopen(tmp_path):
    def calls(writer, lib):
        writer.add_scalar("a", 1.0, 0)

    for lib, writer_type in ((torch, TorchWriter), (ember, SummaryWriter)):
        writer = writer_type(str(tmp_path / ("purge_" + lib.__name__)), purge_step=5)
        writer.add_scalar("a", 1.0, 5)
        writer.close()
        writer.close()  # closing twice is fine
    assert _events(str(tmp_path / "purge_torch")) == _events(str(tmp_path / "purge_ember"))


def test_add_embedding_writes_projector_files(tmp_path):
    mat = RNG.standard_normal((6, 4)).astype(np.float32)
    images = RNG.uniform(size=(6, 3, 4, 4)).astype(np.float32)
    meta = [[f"p{i}", i % 2] for i in range(6)]

    def calls(writer, lib):
        writer.add_embedding(lib.tensor(mat), metadata=meta, metadata_header=["name", "odd"],
                             label_img=lib.tensor(images), global_step=3, tag="points/a")
        writer.add_embedding(lib.tensor(mat), metadata=list(range(6)), global_step=4)

    torch_dir, ember_dir = _write_both(tmp_path, calls)
    torch_files = sorted(os.path.relpath(p, torch_dir) for p in glob.glob(
        os.path.join(torch_dir, "**", "*.*"), recursive=True) if "tfevents" not in p)
    ember_files = sorted(os.path.relpath(p, ember_dir) for p in glob.glob(
        os.path.join(ember_dir, "**", "*.*"), recursive=True) if "tfevents" not in p)
    assert ember_files == torch_files
    for name in torch_files:
        with open(os.path.join(torch_dir, name), "rb") as t, \
                open(os.path.join(ember_dir, name), "rb") as e:
            assert e.read() == t.read(), name
    with pytest.raises(AssertionError, match="#labels should equal with #data points"):
        SummaryWriter(str(tmp_path / "bad")).add_embedding(ember.tensor(mat), metadata=[1])


def test_add_graph_records_the_models_ops_by_module(tmp_path):
    model = ember.nn.Sequential(ember.nn.Conv2d(1, 2, 3), ember.nn.ReLU(), ember.nn.Flatten(),
                                ember.nn.Linear(2 * 4 * 4, 3))
    with SummaryWriter(str(tmp_path / "graph")) as writer:
        writer.add_graph(model, ember.randn(2, 1, 6, 6))
    from tensorboard.compat.proto.graph_pb2 import GraphDef

    (events,) = _events(str(tmp_path / "graph")).values()
    graph = GraphDef.FromString(events[0].graph_def)
    names = {node.name: node for node in graph.node}
    ops = {node.op for node in graph.node}
    assert {"IO Node", "prim::GetAttr", "Relu"} <= ops
    assert any(name.startswith("Sequential/Conv2d[0]/") for name in names)
    assert any(name.startswith("Sequential/Linear[3]/") for name in names)
    for node in graph.node:  # every input is a node of the graph
        assert all(source in names for source in node.input), node.name
    # the loader turns the tagged run metadata into a summary under its tag
    assert any(value.tag == "step1" for event in events for value in event.summary.value)


def test_bad_inputs_raise_like_torch(tmp_path):
    for lib, writer_type in ((torch, TorchWriter), (ember, SummaryWriter)):
        writer = writer_type(str(tmp_path / lib.__name__))
        with pytest.raises(AssertionError, match="Tensor should contain one element"):
            writer.add_scalar("x", lib.tensor([1.0, 2.0]))
        with pytest.raises(AssertionError, match="size of input tensor and input format"):
            writer.add_image("x", lib.zeros(3, 4), dataformats="CHW")
        with pytest.raises(ValueError, match="The input has no element"):
            writer.add_histogram("x", lib.zeros(0))
        with pytest.raises(AssertionError, match="Expected 3 tags, got 2"):
            writer.add_custom_scalars_marginchart(["a", "b"])
        with pytest.raises(ValueError, match=r"len\(bucket_limits\) != len\(bucket_counts\)"):
            writer.add_histogram_raw("x", 0, 1, 1, 1, 1, [1.0], [1, 2])
        writer.close()


def test_default_log_dir_is_runs_stamp_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_lr0.1")
    writer.close()
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_lr0.1") and writer.get_logdir() == os.path.join("runs", run)
