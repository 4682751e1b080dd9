"""11 - Exporting a model to ONNX.

Run:  python examples/11_onnx_export.py

ONNX files run without Python or ember: in onnxruntime, in browsers, on phones.
ember.onnx.export (the onnx extra) traces one forward pass, as torch.onnx.export does,
and writes the graph with the model's weights. `dynamic_axes` leaves the batch size open,
so the file accepts any batch. Then onnxruntime runs the file and the outputs are
compared with the model's own.
"""

import os
import tempfile

import numpy as np
import onnxruntime

import ember as torch  # in PyTorch: import torch
from ember import nn   # in PyTorch: from torch import nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
).eval()  # export what inference runs: BatchNorm with its running statistics

path = os.path.join(tempfile.mkdtemp(), "digits_cnn.onnx")
example = torch.randn(1, 1, 8, 8)
torch.onnx.export(model, example, path, input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
print(f"wrote {os.path.basename(path)}: {os.path.getsize(path)} bytes")

session = onnxruntime.InferenceSession(path)
print("inputs:", [(i.name, i.shape) for i in session.get_inputs()])
batch = torch.randn(5, 1, 8, 8)  # another batch size than the traced one
(onnx_logits,) = session.run(None, {"image": batch.numpy()})
with torch.no_grad():
    ember_logits = model(batch).numpy()
print("onnxruntime output shape:", onnx_logits.shape)
print("same logits as the model:", np.allclose(onnx_logits, ember_logits, atol=1e-5))
