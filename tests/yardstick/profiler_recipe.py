"""The "PyTorch Profiler" recipe's calls: profile(activities=[ProfilerActivity.CPU],
record_shapes=True), record_function labels, key_averages().table(sort_by=..., row_limit=...),
group_by_input_shape, export_chrome_trace, and a schedule with on_trace_ready and
prof.step() in a training loop; plus torch.autograd.profiler's older spelling.

Which rows a table has differs (PyTorch lists ATen ops, ember lists module calls), and
timings differ by nature, so the script prints what a user relies on: that the labelled
regions are there with their call counts, that the table renders, that the trace files
are written, and that profiling does not change the results."""

import json
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile, record_function

model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(np.sin(np.arange(p.numel()) * 0.3 + i).reshape(tuple(p.shape)) * 0.2))
inputs = torch.from_numpy(np.cos(np.arange(2 * 3 * 8 * 8) * 0.05).reshape(2, 3, 8, 8).astype(np.float32))
reference = model(inputs)

with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    with record_function("model_inference"):
        out = model(inputs)
print("same output while profiling:", torch.equal(out, reference))
table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)
print("table renders:", "Self CPU time total" in table, "model_inference" in table)
labelled = {row.key: row.count for row in prof.key_averages() if row.key == "model_inference"}
print("labelled regions:", labelled)
shaped = prof.key_averages(group_by_input_shape=True).table(sort_by="cpu_time_total", row_limit=10)
print("input shapes column:", "Input Shapes" in shaped)

folder = tempfile.mkdtemp()
trace_path = os.path.join(folder, "trace.json")
prof.export_chrome_trace(trace_path)
with open(trace_path) as f:
    names = {event.get("name") for event in json.load(f)["traceEvents"]}
print("trace has the region:", "model_inference" in names)

traces = []


def trace_handler(p):
    output = p.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    traces.append((p.step_num, "Self CPU" in output))
    p.export_chrome_trace(os.path.join(folder, "trace_" + str(p.step_num) + ".json"))


optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
targets = torch.tensor([0, 3])
with profile(activities=[ProfilerActivity.CPU],
             schedule=torch.profiler.schedule(wait=1, warmup=1, active=2, repeat=2),
             on_trace_ready=trace_handler) as p:
    for idx in range(10):
        with record_function("train_step"):
            loss = nn.functional.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        p.step()
print("traces saved at steps:", traces)
print("trace files:", sorted(name for name in os.listdir(folder) if name.startswith("trace_")))
print(f"loss after profiled training: {loss.item():.5f}")

with torch.autograd.profiler.profile(record_shapes=True) as old_style:
    with torch.autograd.profiler.record_function("legacy_block"):
        model(inputs)
print("autograd.profiler:", [row.key for row in old_style.key_averages() if row.key == "legacy_block"])
