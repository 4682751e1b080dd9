"""The "Extending torch with __torch_function__" docs flow: a ScalarTensor duck type with
an override table, a LoggingTensor subclass logging op names through a training step, a
units-carrying subclass, TorchFunctionMode counting the ops of a model's forward,
as_subclass, and torch.overrides helpers."""
import collections
import functools
import io
import typing

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

HANDLED_FUNCTIONS = {}


def implements(torch_function):
    def decorator(func):
        functools.update_wrapper(func, torch_function)
        HANDLED_FUNCTIONS[torch_function] = func
        return func
    return decorator


class ScalarTensor:
    def __init__(self, N, value):
        self._N = N
        self._value = value

    def __repr__(self):
        return f"ScalarTensor(N={self._N}, value={self._value})"

    def tensor(self):
        return self._value * torch.eye(self._N)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        if func not in HANDLED_FUNCTIONS or not all(issubclass(t, ScalarTensor)
                                                    for t in types):
            return NotImplemented
        return HANDLED_FUNCTIONS[func](*args, **kwargs)


@implements(torch.mean)
def mean(input):
    return float(input._value) / input._N


@implements(torch.add)
def add(input, other):
    if isinstance(other, ScalarTensor):
        return ScalarTensor(input._N, input._value + other._value)
    return input.tensor() + other


d = ScalarTensor(5, 2)
print(d, torch.mean(d), torch.add(d, d))
print("add to a dense tensor:", torch.add(d, torch.ones(5, 5)).sum().item())
try:
    torch.exp(d)
except TypeError as error:
    print("unhandled:", type(error).__name__, "ScalarTensor" in str(error))
print("has override:", torch.overrides.has_torch_function((d,)), mean.__name__)


class LoggingTensor(torch.Tensor):
    log: typing.ClassVar[list] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        name = getattr(func, "__name__", str(func))
        LoggingTensor.log.append(name)
        return super().__torch_function__(func, types, args, kwargs)


model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
with torch.no_grad():
    for index, parameter in enumerate(model.parameters()):
        parameter.copy_(torch.linspace(-0.5, 0.5, parameter.numel()).reshape(parameter.shape)
                        * (index + 1) / 4)
inputs = torch.linspace(-1, 1, 12).reshape(4, 3).as_subclass(LoggingTensor)
print("as_subclass:", type(inputs).__name__, isinstance(inputs, torch.Tensor))
output = model(inputs)
print("output type:", type(output).__name__, tuple(output.shape))
loss = (output ** 2).mean()
print("loss type:", type(loss).__name__, f"{loss.item():.6f}")
calls = collections.Counter(name for name in LoggingTensor.log if not name.startswith("_"))
print("logged:", sorted(name for name in calls if name in {"linear", "tanh", "pow", "mean"}))
loss.backward()
print("grad types:", [type(p.grad).__name__ for p in model.parameters()])
print("plain tensor after op:", type(torch.add(torch.ones(2), 1)).__name__)


class UnitTensor(torch.Tensor):
    """A tensor remembering a physical unit; products combine units."""

    @staticmethod
    def __new__(cls, data, unit):
        instance = torch.as_tensor(data).as_subclass(cls)
        instance.unit = unit
        return instance

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        units = [a.unit for a in args if isinstance(a, UnitTensor)]
        result = super().__torch_function__(func, types, args, kwargs)
        if isinstance(result, UnitTensor):
            if func in (torch.mul, torch.Tensor.mul, torch.Tensor.__mul__) and len(units) == 2:
                result.unit = f"{units[0]}*{units[1]}"
            elif units:
                result.unit = units[0]
        return result


distance = UnitTensor([1.0, 2.0, 3.0], "m")
force = UnitTensor([2.0, 2.0, 2.0], "N")
work = distance * force
print("work:", work.tolist(), work.unit, type(work).__name__)
print("scaled:", (distance + 1).unit, distance.sum().unit, distance[1:].unit)
print("plain view:", type(work.as_subclass(torch.Tensor)).__name__)
buffer = io.BytesIO()
torch.save({"work": work, "distance": distance}, buffer)
buffer.seek(0)
restored = torch.load(buffer, weights_only=False)
print("saved and loaded:", type(restored["work"]).__name__, restored["work"].unit,
      restored["distance"].tolist())


class OpCounter(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.counts[getattr(func, "__name__", str(func))] += 1
        return func(*args, **(kwargs or {}))


cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
with OpCounter() as counter:
    out = cnn(torch.ones(1, 1, 4, 4))
    out = torch.softmax(out, dim=1)
print("mode counts:", sorted((k, v) for k, v in counter.counts.items()
                             if k in {"conv2d", "relu", "flatten", "linear", "softmax"}))
print("mode off again:", torch.overrides._get_current_function_mode() is None)


class DoubleAdds(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if func is torch.add:
            result = result * 2
        return result


with DoubleAdds():
    print("mode rewrites add:", torch.add(torch.ones(2), 1).tolist(), (torch.ones(2) - 1).tolist())
print("is_tensor_like:", torch.overrides.is_tensor_like(d), torch.overrides.is_tensor_like(1.0))
ignored = torch.overrides.get_ignored_functions()
print("ignored has is_tensor:", torch.is_tensor in ignored, torch.add in ignored)
print("overridable add:", torch.add in torch.overrides.get_overridable_functions()[torch])
