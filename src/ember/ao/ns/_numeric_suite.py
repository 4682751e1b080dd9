"""Eager-mode numeric suite (``torch.ao.ns._numeric_suite``): compare a float model with
the model ``ember.ao.quantization`` made from it, weight by weight (``compare_weights``),
output by output (``compare_model_outputs``) and module by module with the float module
run as a shadow on the same input (``compare_model_stub``).
"""

from __future__ import annotations

from typing import Any, Callable

from ... import nn, quint8
from ...nn import quantized as nnq
from ...nn.quantized import dynamic as nnqd
from ..quantization import QConfig, prepare
from ..quantization.quantization_mappings import get_default_compare_output_module_list

__all__ = [
    "Logger", "OutputLogger", "Shadow", "ShadowLogger", "compare_model_outputs",
    "compare_model_stub", "compare_weights", "get_logger_dict", "get_matching_activations",
    "prepare_model_outputs", "prepare_model_with_stubs",
]

# modules with children that still get an output logger (their outputs are what matters)
NON_LEAF_MODULE_TO_ADD_OBSERVER_ALLOW_LIST = {nnqd.Linear, nnq.Linear, nnqd.LSTM, nn.LSTM}


def _find_match(str_list, key_str: str, postfix: str) -> str | None:
    """The float key naming the same module as quantized ``key_str`` (which ends in
    ``postfix``). Names are compared with dots removed, either one or two trailing parts
    dropped from the float key; a ``_packed_params`` key also tries its grandparent."""
    parts = key_str.split(".")
    if parts[-1] != postfix:
        return None

    def search(match_string):
        for candidate in str_list:
            pieces = candidate.split(".")
            if match_string in ("".join(pieces[:-1]), "".join(pieces[:-2])):
                return candidate
        return None

    found = search("".join(parts[:-1]))
    if found is not None or postfix != "_packed_params":
        return found
    grandparent = "".join(parts[:-2])
    return search(grandparent) if grandparent else None


def compare_weights(float_dict: dict[str, Any], quantized_dict: dict[str, Any]):
    """``{quantized key: {'float': float weight, 'quantized': quantized weight}}`` for
    every weight of the two state dicts that names the same module.

    Args:
        float_dict: the float model's ``state_dict()``.
        quantized_dict: the quantized model's ``state_dict()``.
    """
    weight_dict: dict[str, dict] = {}
    for key in quantized_dict:
        match = _find_match(float_dict, key, "weight")
        if match is not None:
            weight_dict[key] = {"float": float_dict[match], "quantized": quantized_dict[key]}
            continue
        match = _find_match(float_dict, key, "_packed_params")
        if match is not None:
            weight_dict[key] = {"float": float_dict[match],
                                "quantized": quantized_dict[key][0]}
    return weight_dict


def get_logger_dict(mod: nn.Module, prefix: str = "") -> dict[str, dict]:
    """``{'<module path>.stats': logger.stats}`` for every module holding a Logger child."""
    target: dict[str, dict] = {}

    def walk(module, path):
        dotted = path + "." if path else ""
        for child in module.children():
            if isinstance(child, Logger):
                target[dotted + "stats"] = child.stats
                break
        for name, child in module.named_children():
            walk(child, dotted + name)

    walk(mod, prefix)
    return target


class Logger(nn.Module):
    """Base class of the stat loggers; ``stats`` is what ``get_logger_dict`` collects."""

    def __init__(self):
        super().__init__()
        self.stats = {}
        self.dtype = quint8  # read by prepare when the logger stands in for an observer

    def forward(self, x):
        pass


class ShadowLogger(Logger):
    """Records the quantized module's output and its float shadow's (first element of
    tuple outputs)."""

    def __init__(self):
        super().__init__()
        self.stats["float"] = []
        self.stats["quantized"] = []

    def forward(self, x, y):
        if len(x) > 1:
            x = x[0]
        if len(y) > 1:
            y = y[0]
        self.stats["quantized"].append(x.detach())
        self.stats["float"].append(y.detach())


class OutputLogger(Logger):
    """Records a module's outputs (installed in the observer's place by ``prepare``)."""

    def __init__(self):
        super().__init__()
        self.stats["tensor_val"] = []

    def forward(self, x):
        self.stats["tensor_val"].append(x)
        return x


def _tuples_to_lists(value):
    return [_tuples_to_lists(v) for v in value] if type(value) is tuple else value


def _dequantized(value):
    if type(value) is list:
        return [_dequantized(v) for v in value]
    return value.dequantize() if value.is_quantized else value


class Shadow(nn.Module):
    """Runs ``q_module`` and, on the dequantized input, its float ``float_module``; the
    logger gets both outputs and the quantized one is returned.

    Args:
        q_module: the quantized module.
        float_module: the float module it came from.
        logger_cls: logger type (``ShadowLogger`` or a custom one).
    """

    def __init__(self, q_module, float_module, logger_cls):
        super().__init__()
        self.orig_module = q_module
        self.shadow_module = float_module
        self.dequant = nnq.DeQuantize()
        self.logger = logger_cls()

    def forward(self, *x):
        inputs = _tuples_to_lists(x)
        output = self.orig_module(*inputs)
        self.logger(output, self.shadow_module(*_dequantized(inputs)))
        return output

    def _shadowed(self, op, *args):
        """``op`` of the quantized functional module, shadowed by the float one on
        dequantized tensor arguments."""
        output = getattr(self.orig_module, op)(*args)
        float_args = [_dequantized(a) if hasattr(a, "is_quantized") or type(a) is list
                      else a for a in args]
        self.logger(output, getattr(self.shadow_module, op)(*float_args))
        return output

    def add(self, x, y):
        return self._shadowed("add", x, y)

    def add_scalar(self, x, y: float):
        return self._shadowed("add_scalar", x, y)

    def mul(self, x, y):
        return self._shadowed("mul", x, y)

    def mul_scalar(self, x, y: float):
        return self._shadowed("mul_scalar", x, y)

    def cat(self, x, dim: int = 0):
        return self._shadowed("cat", list(x), dim)

    def add_relu(self, x, y):
        return self._shadowed("add_relu", x, y)


def _same_module_types(mod1, mod2) -> bool:
    return [type(m) for m in mod1.modules()] == [type(m) for m in mod2.modules()]


def prepare_model_with_stubs(float_module: nn.Module, q_module: nn.Module,
                             module_swap_list: set, logger_cls: Callable) -> None:
    """Replace, in place, each child of ``q_module`` whose float counterpart's type is in
    ``module_swap_list`` (and which quantization changed) with a ``Shadow``."""
    float_children = dict(float_module.named_children())
    reassign = {}
    for name, q_child in q_module.named_children():
        if name not in float_children:
            continue
        float_child = float_children[name]
        if type(float_child) not in module_swap_list:
            prepare_model_with_stubs(float_child, q_child, module_swap_list, logger_cls)
        elif not _same_module_types(q_child, float_child):
            reassign[name] = Shadow(q_child, float_child, logger_cls)
    for name, shadow in reassign.items():
        q_module._modules[name] = shadow


def compare_model_stub(float_model: nn.Module, q_model: nn.Module, module_swap_list: set,
                       *data, logger_cls=ShadowLogger) -> dict[str, dict]:
    """Shadow the listed modules, run ``q_model(*data)``, return the loggers' stats."""
    prepare_model_with_stubs(float_model, q_model, module_swap_list, logger_cls)
    q_model(*data)
    return get_logger_dict(q_model)


def get_matching_activations(float_module: nn.Module, q_module: nn.Module):
    """``{key: {'float': [...], 'quantized': [...]}}`` of the output loggers present in
    both models (quantized loggers that saw nothing are skipped)."""
    float_dict = get_logger_dict(float_module)
    quantized_dict = get_logger_dict(q_module)
    act_dict: dict[str, dict] = {}
    for key, stats in quantized_dict.items():
        if len(stats["tensor_val"]) == 0:
            continue
        match = _find_match(sorted(float_dict, reverse=True), key, "stats")
        if match is not None:
            act_dict[key] = {"float": float_dict[match]["tensor_val"],
                             "quantized": stats["tensor_val"]}
    return act_dict


def prepare_model_outputs(float_module: nn.Module, q_module: nn.Module,
                          logger_cls=OutputLogger, allow_list=None) -> None:
    """Attach ``logger_cls`` output loggers, in place, to the modules of both models whose
    types are in ``allow_list`` (default: the numeric suite's list), via ``prepare`` with a
    qconfig whose activation is the logger."""
    if allow_list is None:
        allow_list = get_default_compare_output_module_list()
    qconfig_debug = QConfig(activation=logger_cls, weight=None)
    float_module.qconfig = qconfig_debug
    prepare(float_module, inplace=True, allow_list=allow_list, prepare_custom_config_dict={})
    q_module.qconfig = qconfig_debug
    prepare(q_module, inplace=True, allow_list=allow_list,
            observer_non_leaf_module_list=NON_LEAF_MODULE_TO_ADD_OBSERVER_ALLOW_LIST,
            prepare_custom_config_dict={})


def compare_model_outputs(float_model: nn.Module, q_model: nn.Module, *data,
                          logger_cls=OutputLogger, allow_list=None):
    """Log the outputs of matching modules of both models on ``data`` and pair them."""
    prepare_model_outputs(float_model, q_model, logger_cls, allow_list)
    float_model(*data)
    q_model(*data)
    return get_matching_activations(float_model, q_model)
