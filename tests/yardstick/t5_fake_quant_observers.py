"""The pieces under QAT, as users poke at them: observers and their qparams, FakeQuantize
forward and straight-through gradients, enabling/disabling, quantized tensors
(quantize_per_tensor / per_channel, int_repr, dequantize), a custom QConfig on part of a
model with prepare_qat, qconfig=None to skip a layer, and the observer state_dict."""
import torch
import torch.ao.quantization as tq
from torch import nn
from torch.ao.quantization import FakeQuantize, MinMaxObserver, MovingAverageMinMaxObserver

data = torch.linspace(-3, 5, 24).reshape(4, 6) * torch.cos(torch.arange(24.0)).reshape(4, 6)

for observer in [MinMaxObserver(), MinMaxObserver(dtype=torch.qint8,
                                                  qscheme=torch.per_tensor_symmetric),
                 MovingAverageMinMaxObserver(averaging_constant=0.5),
                 tq.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8,
                                             qscheme=torch.per_channel_symmetric),
                 tq.HistogramObserver(bins=64)]:
    observer(data)
    observer(data * 0.5)
    scale, zero_point = observer.calculate_qparams()
    print(type(observer).__name__, [round(v, 6) for v in scale.flatten().tolist()],
          zero_point.flatten().tolist(), zero_point.dtype)
print("min/max:", MinMaxObserver().min_val, MovingAverageMinMaxObserver().max_val)

fq = FakeQuantize(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                  dtype=torch.quint8)
x = data.clone().requires_grad_()
y = fq(x)
print("fake quantized:", [round(v, 5) for v in y[0].tolist()])
print("scale/zp:", round(fq.scale.item(), 6), fq.zero_point.item())
y.backward(torch.ones_like(y))
print("straight-through grad:", x.grad.sum().item(), x.grad.min().item())
fq.disable_fake_quant()
print("disabled passes through:", torch.equal(fq(data), data))
fq.enable_fake_quant()
fq.disable_observer()
before = fq.scale.clone()
fq(data * 10)
print("observer frozen:", torch.equal(fq.scale, before))
print("fq state keys:", sorted(fq.state_dict().keys()))
print("repr head:", repr(fq).split("(")[0])

manual = torch.fake_quantize_per_tensor_affine(data, 0.05, 10, 0, 255)
print("functional:", [round(v, 4) for v in manual[1].tolist()])
grad_in = torch.linspace(-1, 1, 6, requires_grad=True)
torch.fake_quantize_per_tensor_affine(grad_in, 0.1, 0, -8, 7).sum().backward()
print("clipped grad:", grad_in.grad.tolist())

q = torch.quantize_per_tensor(data, scale=0.05, zero_point=64, dtype=torch.quint8)
print("quantized:", q.dtype, q.qscheme(), q.q_scale(), q.q_zero_point())
print("int_repr:", q.int_repr()[0].tolist())
print("dequantized error:", round((q.dequantize() - data).abs().max().item(), 5))
qc = torch.quantize_per_channel(data, torch.tensor([0.1, 0.05, 0.02, 0.2]),
                                torch.tensor([0, 1, 2, 3]), 0, torch.qint8)
print("per channel:", qc.qscheme(), qc.q_per_channel_scales().tolist(),
      qc.int_repr()[2].tolist())


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 8), nn.ReLU())
        self.skip = nn.Linear(6, 8)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        return self.out(self.body(x) + self.skip(x))


model = Head()
with torch.no_grad():
    for index, parameter in enumerate(model.parameters()):
        parameter.copy_(torch.linspace(-0.5, 0.5, parameter.numel()).reshape(parameter.shape)
                        * (1 + index % 2))
per_tensor = tq.QConfig(
    activation=FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                      quant_max=255, dtype=torch.quint8),
    weight=FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=-128,
                                  quant_max=127, dtype=torch.qint8,
                                  qscheme=torch.per_tensor_symmetric))
model.qconfig = per_tensor
model.skip.qconfig = None
model.train()
prepared = tq.prepare_qat(model, inplace=False)
print("prepared types:", type(prepared.body[0]).__name__, type(prepared.skip).__name__,
      type(prepared.out).__name__)
print("has weight fq:", hasattr(prepared.out, "weight_fake_quant"),
      hasattr(prepared.skip, "weight_fake_quant"))
optimizer = torch.optim.Adam(prepared.parameters(), lr=0.01)
target = torch.tensor([0, 1, 1, 0])
for step in range(5):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(prepared(data), target)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item():.5f}")
fq_out = prepared.out.weight_fake_quant
print("out weight scale:", round(fq_out.scale.item(), 6), fq_out.zero_point.item())
fq_out.disable_observer()
print("out weight on grid:", torch.allclose(
    fq_out(prepared.out.weight) / fq_out.scale,
    torch.round(fq_out(prepared.out.weight) / fq_out.scale), atol=1e-4))
keys = [k for k in prepared.state_dict() if "fake_quant" in k]
print("fake quant keys:", len(keys), keys[:4])
