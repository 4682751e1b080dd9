"""Adam/AdamW and SGD-with-momentum updates as one CUDA kernel each
(``ember._backend.kernels``), PyTorch's ``fused=True`` idea on CuPy.

Why: an optimizer's update is a dozen array ops (Adam: the moving averages, the bias
corrections, the denominator, the step), one kernel launch each on a GPU, where a step is
host-bound on launches. With ``_flat`` gathering a group's small parameters into one
buffer, the fused kernel updates the whole group in one launch: a multi-tensor update.

The kernels do the array path's arithmetic in its order, with each Python scalar rounded
to the parameter's dtype first as the array ops' weak scalars are (lerp's two-sided
formula, ``addcmul``/``addcdiv``'s value-of-one shortcut, NaN-propagating AMSGrad max), so
results agree with the array path, and PyTorch's, to rounding. float32/float64 on CuPy
only; NumPy, other dtypes and a backend that cannot compile take the array path, which is
what ``update`` returning False tells the optimizer.
"""

from __future__ import annotations

import numpy as np

from .._backend.kernels import elementwise, launch
from .._ops._util import xp_of

_ADAM = """
T g = grad;
if (maximize) g = -g;
if (l2_decay) g = param * weight_decay + g;
if (decoupled_decay) param *= decay_factor;
T diff = g - exp_avg;
if (lerp_from_start) exp_avg += diff * lerp_weight;
else exp_avg = diff * lerp_weight_minus_one + g;
exp_avg_sq *= beta2;
if (square_weight_is_one) exp_avg_sq += g * g;
else exp_avg_sq += g * square_weight * g;
T second = exp_avg_sq;
AMSGRAD
T denom = sqrt(second) / bias_correction2_sqrt + eps;
if (step_is_minus_one) param += exp_avg / denom;
else param += exp_avg * neg_step_size / denom;
"""

_AMSGRAD = """
T running = max_exp_avg_sq;
running = (running != running || running > second) ? running : second;
max_exp_avg_sq = running;
second = running;
"""

_ADAM_SCALARS = ("weight_decay", "decay_factor", "lerp_weight", "lerp_weight_minus_one",
                 "beta2", "square_weight", "bias_correction2_sqrt", "eps", "neg_step_size")
_ADAM_FLAGS = ("maximize", "l2_decay", "decoupled_decay", "lerp_from_start",
               "square_weight_is_one", "step_is_minus_one")

_SGD = """
T g = grad;
if (maximize) g = -g;
if (l2_decay) g = param * weight_decay + g;
momentum_buffer = momentum_buffer * momentum + g * grad_weight;
if (nesterov) g = momentum_buffer * momentum + g;
else g = momentum_buffer;
param += g * neg_lr;
"""


def _arrays(*tensors):
    """The tensors' arrays when all are plain float32/float64 tensors of one dtype and
    shape on a compiling backend's device (else None)."""
    arrays = []
    for tensor in tensors:
        if "_spec" in tensor.__dict__:  # a DTensor updates through its own dispatch
            return None
        arrays.append(tensor._data)
    first = arrays[0]
    if xp_of(first) is np or first.dtype not in (np.float32, np.float64):
        return None
    if any(a.dtype != first.dtype or a.shape != first.shape for a in arrays):
        return None
    return arrays


def _numbers(group, *keys):
    """Whether the hyperparameters are plain numbers (a tensor lr takes the array path)."""
    values = []
    for key in keys:
        value = group[key]
        values += list(value) if isinstance(value, tuple) else [value]
    return all(type(v) in (int, float, bool) for v in values)


def _bump_versions(*tensors):
    for tensor in tensors:
        tensor._vc[0] += 1


def adam(p, grad, state, group, step) -> bool:
    """Adam's update of ``p`` (state ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``) in one
    kernel; False, having changed nothing, where the array path must run."""
    if type(p._data) is np.ndarray or not _numbers(group, "lr", "betas", "eps",
                                                   "weight_decay"):
        return False  # the cpu's array path, decided before any other check
    amsgrad = group["amsgrad"]
    written = [p, state["exp_avg"], state["exp_avg_sq"]]
    if amsgrad:
        written.append(state["max_exp_avg_sq"])
    arrays = _arrays(grad, *written)
    if arrays is None:
        return False
    xp = xp_of(arrays[0])
    name = "ember_adam_amsgrad" if amsgrad else "ember_adam"
    scalars = ", ".join(f"T {s}" for s in _ADAM_SCALARS)
    flags = ", ".join(f"bool {f}" for f in _ADAM_FLAGS)
    outputs = "T param, T exp_avg, T exp_avg_sq" + (", T max_exp_avg_sq" if amsgrad else "")
    kernel = elementwise(xp, name, f"T grad, {scalars}, {flags}", outputs,
                         _ADAM.replace("AMSGRAD", _AMSGRAD if amsgrad else ""))
    if kernel is None:
        return False
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    weight_decay = group["weight_decay"]
    decoupled = group.get("decoupled_weight_decay", False)
    step_size = lr / (1 - beta1**step)
    lerp_weight = 1 - beta1
    values = {"weight_decay": weight_decay, "decay_factor": 1 - lr * weight_decay,
              "lerp_weight": lerp_weight, "lerp_weight_minus_one": lerp_weight - 1,
              "beta2": beta2, "square_weight": 1 - beta2,
              "bias_correction2_sqrt": (1 - beta2**step) ** 0.5, "eps": eps,
              "neg_step_size": -step_size}
    scalar = arrays[0].dtype.type
    switches = {"maximize": group["maximize"], "l2_decay": weight_decay != 0 and not decoupled,
                "decoupled_decay": weight_decay != 0 and decoupled,
                "lerp_from_start": lerp_weight < 0.5, "square_weight_is_one": 1 - beta2 == 1,
                "step_is_minus_one": -step_size == 1}
    if not launch(xp, kernel, arrays[0], *(scalar(values[s]) for s in _ADAM_SCALARS),
                  *(np.bool_(switches[f]) for f in _ADAM_FLAGS), *arrays[1:]):
        return False
    _bump_versions(*written)
    return True


def sgd(p, grad, buf, group) -> bool:
    """SGD's update of ``p`` with an existing momentum buffer ``buf`` in one kernel; False,
    having changed nothing, where the array path must run."""
    if type(p._data) is np.ndarray:
        return False  # the cpu's array path, decided before any other check
    arrays = _arrays(grad, p, buf)
    if arrays is None or not _numbers(group, "lr", "momentum", "dampening", "weight_decay"):
        return False
    xp = xp_of(arrays[0])
    kernel = elementwise(xp, "ember_sgd_momentum",
                         "T grad, T weight_decay, T momentum, T grad_weight, T neg_lr, "
                         "bool maximize, bool l2_decay, bool nesterov",
                         "T param, T momentum_buffer", _SGD)
    if kernel is None:
        return False
    scalar = arrays[0].dtype.type
    weight_decay = group["weight_decay"]
    if not launch(xp, kernel, arrays[0], scalar(weight_decay), scalar(group["momentum"]),
                  scalar(1 - group["dampening"]), scalar(-group["lr"]),
                  np.bool_(group["maximize"]), np.bool_(weight_decay != 0),
                  np.bool_(group["nesterov"]), *arrays[1:]):
        return False
    _bump_versions(p, buf)
    return True
