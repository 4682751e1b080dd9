"""FX graph mode post-training quantization, as the "(prototype) FX Graph Mode Post
Training Static / Dynamic Quantization" tutorials run it: a small CNN traced and prepared
with prepare_fx(get_default_qconfig_mapping("fbgemm"), example_inputs), calibrated on a
few fixed batches, converted with convert_fx; the converted graph's module types, its
quantize/dequantize nodes and integer activations; a QConfigMapping that keeps one layer
in float and gives Linear layers their own qconfig; and dynamic quantization of a
Linear + LSTM model through the same two calls. Weights and data are fixed sines."""

import copy
import warnings

import numpy as np
import torch
import torch.ao.quantization as tq
import torch.nn.functional as F
from torch import nn
from torch.ao.quantization import QConfigMapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

torch.backends.quantized.engine = "fbgemm"
warnings.filterwarnings("ignore")  # torch.ao.quantization's deprecation notices


def fixed(*shape, phase=0.0, scale=0.4):
    n = int(np.prod(shape))
    values = np.sin(np.arange(n) ** 1.3 * 0.83 + phase) * scale
    return torch.from_numpy(values.reshape(shape).astype(np.float32))


def init_fixed(model):
    with torch.no_grad():
        for index, (name, parameter) in enumerate(model.named_parameters()):
            if name.endswith("bias") or parameter.ndim == 1:
                parameter.copy_(fixed(*parameter.shape, phase=index, scale=0.05))
            else:
                parameter.copy_(fixed(*parameter.shape, phase=index, scale=0.8))
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(fixed(module.num_features, phase=3.0, scale=0.1))
                module.running_var.fill_(1.2)
    return model


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(32, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        x = torch.flatten(self.pool(x), 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def type_names(module):
    return sorted({type(m).__name__ for name, m in module.named_modules() if name})


float_model = init_fixed(SmallCNN()).eval()
calibration = [fixed(4, 1, 8, 8, phase=0.5 * i, scale=1.0) for i in range(4)]
test_batch = torch.stack([fixed(1, 8, 8, phase=p, scale=1.0) * s
                          for p, s in ((7.0, 1.0), (2.2, -0.8), (4.1, 0.5))])
example_inputs = (calibration[0],)
with torch.no_grad():
    reference = float_model(test_batch)

# --- static PTQ with the default mapping ---------------------------------------------
qconfig_mapping = tq.get_default_qconfig_mapping("fbgemm")
print("global qconfig activation:", type(qconfig_mapping.global_qconfig.activation()).__name__,
      "weight:", type(qconfig_mapping.global_qconfig.weight()).__name__)
prepared = prepare_fx(copy.deepcopy(float_model), qconfig_mapping, example_inputs)
observers = [name for name, m in prepared.named_modules()
             if isinstance(m, tq.ObserverBase)]
print("prepared modules:", type_names(prepared))
print("observers inserted:", len(observers))
with torch.inference_mode():
    for batch in calibration:
        prepared(batch)
first = getattr(prepared, observers[0])
print("input observer range:", round(first.min_val.item(), 4), round(first.max_val.item(), 4))
quantized = convert_fx(prepared)
print("converted modules:", type_names(quantized))
functions = {getattr(node.target, "__name__", str(node.target))
             for node in quantized.graph.nodes if node.op == "call_function"}
methods = {node.target for node in quantized.graph.nodes if node.op == "call_method"}
print("graph functions:", sorted(functions), "methods:", sorted(methods))
with torch.no_grad():
    out = quantized(test_batch)
print("output:", out.dtype, tuple(out.shape))
print("quantized logits:", [[round(v, 3) for v in row] for row in out.tolist()])
print("float logits:", [[round(v, 3) for v in row] for row in reference.tolist()])
print("within 5% of float:", bool((out - reference).abs().max() < 0.05 * reference.abs().max()),
      "same argmax:", torch.equal(out.argmax(1), reference.argmax(1)))
conv1 = quantized.conv1
print("conv1:", type(conv1).__name__, "weight", conv1.weight().dtype, conv1.weight().qscheme(),
      "scale", round(conv1.scale, 6), "zero_point", conv1.zero_point)

# integer activations: quantize the input as the graph does, run the first fused conv
scale = quantized.conv1_input_scale_0.item()
zero_point = quantized.conv1_input_zero_point_0.item()
q_input = torch.quantize_per_tensor(test_batch[:1], scale, zero_point, torch.quint8)
q_hidden = quantized.conv1(q_input)
print("int activations:", q_hidden.dtype, q_hidden.int_repr().dtype,
      q_hidden.int_repr()[0, 0, 0, :6].tolist())
print("relu fused: min int", q_hidden.int_repr().min().item() >= q_hidden.q_zero_point())

# --- a QConfigMapping by module type: fused patterns share one qconfig ----------------
per_tensor = tq.QConfig(activation=tq.HistogramObserver.with_args(reduce_range=True),
                        weight=tq.default_weight_observer)
try:
    prepare_fx(copy.deepcopy(float_model), QConfigMapping().set_object_type(nn.Linear, per_tensor),
               example_inputs)
except LookupError as error:
    print("fusion needs one qconfig:", type(error).__name__, str(error).split(" in ")[0])
by_type = QConfigMapping().set_global(tq.get_default_qconfig("fbgemm"))
for module_type in (nn.Conv2d, nn.ReLU, nn.Linear):  # conv-relu and linear-relu fuse
    by_type = by_type.set_object_type(module_type, per_tensor)
prepared = prepare_fx(copy.deepcopy(float_model), by_type, example_inputs)
with torch.inference_mode():
    for batch in calibration:
        prepared(batch)
per_tensor_model = convert_fx(prepared)
print("per-tensor weights:", [(name, str(m.weight().qscheme()).split(".")[-1])
                              for name, m in per_tensor_model.named_children()
                              if hasattr(m, "weight") and callable(m.weight)])
with torch.no_grad():
    per_tensor_out = per_tensor_model(test_batch)
print("per-tensor argmax:", per_tensor_out.argmax(1).tolist(),
      "float:", reference.argmax(1).tolist())

# --- a QConfigMapping by module type and by name -------------------------------------
# per-tensor weights for every Linear (a backend without per-channel kernels), the
# classifier kept in float by name, everything else by the global default
head = init_fixed(nn.Sequential(nn.Linear(64, 24), nn.Hardswish(), nn.Linear(24, 12),
                                nn.Hardswish(), nn.Linear(12, 4))).eval()
flat_calibration = [batch.flatten(1) for batch in calibration]
flat_test = test_batch.flatten(1)
mapping = (QConfigMapping()
           .set_global(tq.get_default_qconfig("fbgemm"))
           .set_object_type(nn.Linear, per_tensor)
           .set_module_name("4", None))
print("object type qconfigs:", [t.__name__ for t in mapping.object_type_qconfigs])
prepared = prepare_fx(copy.deepcopy(head), mapping, (flat_calibration[0],))
with torch.inference_mode():
    for batch in flat_calibration:
        prepared(batch)
mixed = convert_fx(prepared)
print("mixed modules:", [type(m).__name__ for name, m in mixed.named_children()])
print("linear weights:", mixed.get_submodule("0").weight().qscheme(),
      mixed.get_submodule("2").weight().qscheme())
print("last layer stays float:", type(mixed.get_submodule("4")).__name__,
      mixed.get_submodule("4").weight.dtype)
with torch.no_grad():
    head_reference = head(flat_test)
    mixed_out = mixed(flat_test)
print("mixed logits:", [[round(v, 3) for v in row] for row in mixed_out.tolist()])
error = (mixed_out - head_reference).abs().max() / head_reference.abs().max()
print("mixed output within 5% of float:", bool(error < 0.05))


# --- dynamic quantization of Linear + LSTM through FX ----------------------------------
class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 12)
        self.lstm = nn.LSTM(12, 10, batch_first=True)
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        hidden, _ = self.lstm(torch.tanh(self.embed(x)))
        return self.head(hidden)


tagger = init_fixed(Tagger()).eval()
sequence = fixed(2, 6, 5, phase=1.3, scale=1.0)
with torch.no_grad():
    tagger_reference = tagger(sequence)
dynamic_mapping = (QConfigMapping()
                   .set_object_type(nn.Linear, tq.default_dynamic_qconfig)
                   .set_object_type(nn.LSTM, tq.default_dynamic_qconfig))
prepared = prepare_fx(copy.deepcopy(tagger), dynamic_mapping, (sequence,))
dynamic = convert_fx(prepared)
print("dynamic modules:", [(type(m).__name__, "dynamic" in type(m).__module__)
                           for name, m in dynamic.named_children()])
with torch.no_grad():
    dynamic_out = dynamic(sequence)
print("dynamic output:", dynamic_out.dtype, tuple(dynamic_out.shape),
      "close to float:", bool((dynamic_out - tagger_reference).abs().max() < 0.05))
print("dynamic tags:", dynamic_out.argmax(-1).tolist())
print("float tags:  ", tagger_reference.argmax(-1).tolist())
print("packed head weight:", dynamic.head.weight().dtype, dynamic.head.weight().qscheme())
