"""torch.fx tutorials: symbolic tracing, graph inspection and rewriting, conv-bn fusion,
an Interpreter that records shapes, ShapeProp, replace_pattern."""
import copy
import operator

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp


def fixed_init(module):
    with torch.no_grad():
        for index, parameter in enumerate(module.parameters()):
            values = torch.linspace(-0.4, 0.4, parameter.numel()) * (1 + index % 3) / 3
            parameter.copy_(values.reshape(parameter.shape))
    return module


class MyModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.param = nn.Parameter(torch.linspace(-1, 1, 12).reshape(3, 4))
        self.linear = nn.Linear(4, 5)

    def forward(self, x):
        return self.linear(x + self.param).clamp(min=0.0, max=1.0)


module = fixed_init(MyModule())
traced = torch.fx.symbolic_trace(module)
print(traced.graph)
print(traced.code.strip())
for node in traced.graph.nodes:
    print(node.op, node.name, node.target if isinstance(node.target, str) else node.target.__name__,
          [str(arg) for arg in node.args])
x = torch.linspace(-1, 1, 12).reshape(3, 4)
print("traced == eager:", torch.allclose(traced(x), module(x)))

# -- rewriting: every torch.add / operator.add becomes a multiplication -------------------


class AddModule(nn.Module):
    def forward(self, x, y):
        return torch.add(x, y) + F.relu(x)


def transform(m: nn.Module) -> torch.fx.GraphModule:
    graph_module = torch.fx.symbolic_trace(m)
    for node in graph_module.graph.nodes:
        if node.op == "call_function" and node.target in (torch.add, operator.add):
            node.target = torch.mul if node.target is torch.add else operator.mul
    graph_module.graph.lint()
    graph_module.recompile()
    return graph_module


rewritten = transform(AddModule())
print(rewritten.code.strip())
a, b = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([2.0, 2.0, 2.0])
print("rewritten:", rewritten(a, b).tolist())

# -- inserting nodes: a relu after every linear -----------------------------------------------
mlp = fixed_init(nn.Sequential(nn.Linear(4, 6), nn.Linear(6, 2)))
graph_module = torch.fx.symbolic_trace(mlp)
for node in list(graph_module.graph.nodes):
    if node.op == "call_module" and isinstance(graph_module.get_submodule(node.target), nn.Linear):
        with graph_module.graph.inserting_after(node):
            relu = graph_module.graph.call_function(torch.relu, (node,))
            node.replace_all_uses_with(relu)
            relu.args = (node,)
graph_module.recompile()
print(graph_module.code.strip())
print("with relus:", [round(v, 5) for v in graph_module(torch.ones(1, 4)).flatten().tolist()])

# -- conv-bn fusion in FX ------------------------------------------------------------------


def fuse_conv_bn_eval(conv, bn):
    fused = copy.deepcopy(conv)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    fused.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1))
    conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused.bias = nn.Parameter((conv_bias - bn.running_mean) * scale + bn.bias)
    return fused


def fuse(model: nn.Module) -> torch.fx.GraphModule:
    model = copy.deepcopy(model)
    fx_model = torch.fx.symbolic_trace(model)
    modules = dict(fx_model.named_modules())
    for node in fx_model.graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], nn.BatchNorm2d):
            continue
        producer = node.args[0]
        if producer.op != "call_module" or not isinstance(modules[producer.target], nn.Conv2d):
            continue
        if len(producer.users) > 1:
            continue
        conv, bn = modules[producer.target], modules[node.target]
        fused = fuse_conv_bn_eval(conv, bn)
        parent_name, _, name = producer.target.rpartition(".")
        setattr(modules[parent_name] if parent_name else fx_model, name, fused)
        node.replace_all_uses_with(producer)
        fx_model.graph.erase_node(node)
    fx_model.graph.lint()
    fx_model.recompile()
    return fx_model


class WrappedBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.mod = nn.BatchNorm2d(1)

    def forward(self, x):
        return self.mod(x)


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 1, 1)
        self.bn1 = nn.BatchNorm2d(1)
        self.conv2 = nn.Conv2d(1, 1, 1)
        self.nested = nn.Sequential(nn.BatchNorm2d(1), nn.Conv2d(1, 1, 1))
        self.wrapped = WrappedBatchNorm()

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.conv2(x)
        x = self.nested(x)
        return self.wrapped(x)


model = fixed_init(M())
with torch.no_grad():
    for bn in (model.bn1, model.nested[0], model.wrapped.mod):
        bn.running_mean.fill_(0.25)
        bn.running_var.fill_(1.5)
model.eval()
fused_model = fuse(model)
print(fused_model.code.strip())
inputs = torch.linspace(-2, 2, 32).reshape(2, 1, 4, 4)
print("fused == eager:", torch.allclose(fused_model(inputs), model(inputs), atol=1e-6))
print("batch norms left:", sum(isinstance(m, nn.BatchNorm2d) for m in fused_model.modules()))

# -- an Interpreter that records every node's output shape --------------------------------


class ShapeRecorder(torch.fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.shapes = []

    def run_node(self, n):
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            self.shapes.append((n.name, tuple(result.shape)))
        return result


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc(x).softmax(dim=-1)


net = fixed_init(Net())
gm = torch.fx.symbolic_trace(net)
recorder = ShapeRecorder(gm)
out = recorder.run(torch.ones(2, 3, 8, 8))
print("recorded:", recorder.shapes)
print("softmax rows sum to one:", torch.allclose(out.sum(-1), torch.ones(2)))

ShapeProp(gm).propagate(torch.ones(5, 3, 8, 8))
for node in gm.graph.nodes:
    meta = node.meta.get("tensor_meta")
    if meta is not None:
        print("shape_prop", node.name, tuple(meta.shape), meta.dtype)

# -- control flow and concrete_args ------------------------------------------------------


class Branchy(nn.Module):
    def forward(self, x, flag):
        if flag:
            return x * 2
        return x - 1


try:
    torch.fx.symbolic_trace(Branchy())
except Exception as error:  # TraceError
    print(type(error).__name__ + ":", str(error).splitlines()[0])
specialised = torch.fx.symbolic_trace(Branchy(), concrete_args={"flag": False})
print("concrete flag=False:", specialised(torch.tensor([3.0]), False).tolist())

# -- subgraph rewriting ------------------------------------------------------------------


class Pattern(nn.Module):
    def forward(self, x):
        return torch.sigmoid(x) * x


def pattern(x):
    return torch.sigmoid(x) * x


def replacement(x):
    return F.silu(x)


swish = torch.fx.symbolic_trace(Pattern())
matches = torch.fx.replace_pattern(swish, pattern, replacement)
print("matches:", len(matches))
print(swish.code.strip())
print("silu:", [round(v, 5) for v in swish(torch.tensor([-1.0, 0.0, 2.0])).tolist()])
