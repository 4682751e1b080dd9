"""``ember.utils.summary``: a model's layers, output shapes and parameter counts as a table.

The table is the one ``torchinfo.summary`` prints (same columns, tree glyphs, depth-index
labels, totals and size estimates), so a learner's notes and tutorials carry over. One
forward pass under ``no_grad`` in eval mode records every module through forward hooks;
without an input the table lists parameter counts only.

Example::

    >>> model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
    ...                       nn.Linear(16 * 64, 10))
    >>> stats = ember.utils.summary(model, input_size=(2, 1, 8, 8))
    >>> stats.total_params
    10570
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["summary", "ModelStatistics", "LayerInfo"]

_HEADER_TITLES = {
    "kernel_size": "Kernel Shape",
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
}
_DEFAULT_COLUMNS = ("output_size", "num_params")
_DEFAULT_ROWS = ("depth",)


def _prod(values: Iterable[int]) -> int:
    return math.prod(int(v) for v in values)


def _shape_and_itemsize(value: Any) -> tuple[list[int], int]:
    """Shape and element size of a module's input or output, as torchinfo reads them:
    a tensor gives its shape; a list/tuple gives its first tensor's shape; a dict its
    last value's."""
    from .._tensor import Tensor
    if value is None:
        return [], 0
    if isinstance(value, Tensor):
        return list(value.shape), value.element_size()
    if isinstance(value, Mapping):
        values = list(value.values())
        return _shape_and_itemsize(values[-1]) if values else ([], 0)
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, Tensor):
                return list(item.shape), item.element_size()
        return ([len(value)], 0) if value else ([], 0)
    return [], 0


class LayerInfo:
    """One row of the table: a module, where it sits in the tree, what it produced."""

    def __init__(self, var_name: str, module, depth: int, parent_info: LayerInfo | None):
        self.layer_id = id(module)
        self.module = module
        self.class_name = type(module).__name__
        self.var_name = var_name
        self.depth = depth
        self.depth_index: int | None = None
        self.parent_info = parent_info
        self.children: list[LayerInfo] = []
        self.is_leaf_layer = not any(True for _ in module.children())
        self.is_recursive = False
        self.executed = False
        self.input_size: list[int] = []
        self.output_size: list[int] = []
        self.kernel_size = self._kernel_size(module)
        self.num_params = 0
        self.trainable_params = 0
        self.param_bytes = 0
        self.output_bytes = 0
        self.macs = 0

    def __repr__(self) -> str:
        return f"{self.class_name}: {self.depth}"

    @staticmethod
    def _kernel_size(module):
        kernel = getattr(module, "kernel_size", None)
        if kernel is None:
            return None
        return list(kernel) if isinstance(kernel, Iterable) else int(kernel)

    @property
    def trainable(self) -> str:
        if self.num_params == 0:
            return "--"
        if self.trainable_params == 0:
            return "False"
        return "True" if self.num_params == self.trainable_params else "Partial"

    def calculate_num_params(self) -> None:
        self.num_params = self.trainable_params = self.param_bytes = 0
        for _, param in self.module.named_parameters():
            count = param.numel()
            self.num_params += count
            self.param_bytes += count * param.element_size()
            if param.requires_grad:
                self.trainable_params += count

    def calculate_macs(self) -> None:
        """Multiply-adds for the whole batch, torchinfo's estimate: a conv's weight is
        applied at every output position, other weights once per batch row."""
        for name, param in self.module.named_parameters():
            count = param.numel()
            if name in ("weight", "bias"):
                if "Conv" in self.class_name:
                    self.macs += count * _prod(self.output_size[:1] + self.output_size[2:])
                else:
                    self.macs += (self.output_size[0] if self.output_size else 0) * count
            elif "weight" in name or "bias" in name:
                self.macs += _prod(self.output_size[:2]) * count

    def leftover_params(self) -> int:
        """Parameters owned by this module itself, not counted in a listed child row."""
        return self.num_params - sum(
            child.num_params if child.is_leaf_layer else child.leftover_params()
            for child in self.children if not child.is_recursive)

    def leftover_trainable_params(self) -> int:
        return self.trainable_params - sum(
            child.trainable_params if child.is_leaf_layer else child.leftover_trainable_params()
            for child in self.children if not child.is_recursive)

    def layer_name(self, show_var_name: bool, show_depth: bool) -> str:
        name = self.class_name
        if show_var_name and self.var_name:
            name += f" ({self.var_name})"
        if show_depth and self.depth > 0:
            name += f": {self.depth}"
            if self.depth_index is not None:
                name += f"-{self.depth_index}"
        return name

    def num_params_to_str(self, reached_max_depth: bool) -> str:
        if self.num_params == 0:
            return "--"
        if self.is_recursive:
            return "(recursive)"
        if reached_max_depth or self.is_leaf_layer:
            text = f"{self.num_params:,}"
            return text if self.trainable_params else f"({text})"
        leftover = self.leftover_params()
        return f"{leftover:,}" if leftover > 0 else "--"

    def params_percent(self, total_params: int, reached_max_depth: bool) -> str:
        zero = f"{' ' * 5}--"
        if total_params == 0:
            return zero
        if self.is_recursive:
            return "(recursive)"
        params = self.num_params if reached_max_depth or self.is_leaf_layer \
            else self.leftover_params()
        return zero if params == 0 else f"{params / total_params:>7.2%}"

    def macs_to_str(self, reached_max_depth: bool) -> str:
        if self.macs <= 0:
            return "--"
        if self.is_leaf_layer:
            return f"{self.macs:,}"
        if reached_max_depth:
            return f"{sum(c.macs for c in self.children if c.is_leaf_layer):,}"
        return "--"


def _format_count(num: float, auto_units: bool) -> str:
    """``": 1,234"`` for counts; ``" (M): 0.04"`` style for multiply-adds (auto units)."""
    units = ""
    if auto_units:
        for label, factor in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
            if num >= factor or label == "M":
                units, num = f" ({label})", num / factor
                break
    if float(num).is_integer():
        return f"{units}: {int(num):,d}"
    return f"{units}: {num:,.2f}"


class ModelStatistics:
    """What ``summary`` found: ``total_params``, ``trainable_params``, ``total_mult_adds``,
    byte estimates and the per-layer ``summary_list``; ``str()`` gives the table."""

    def __init__(self, summary_list: list[LayerInfo], input_size, total_input: int,
                 col_names: Sequence[str], col_width: int, depth: int,
                 row_settings: Sequence[str]):
        self.summary_list = summary_list
        self.input_size = input_size
        self.total_input = total_input
        self.col_names = tuple(col_names)
        self.col_width = col_width
        self.max_depth = depth
        self.show_var_name = "var_names" in row_settings
        self.show_depth = "depth" in row_settings
        self.ascii_only = "ascii_only" in row_settings
        self.total_params = self.trainable_params = self.total_mult_adds = 0
        self.total_param_bytes = self.total_output_bytes = 0
        for info in summary_list:
            if info.is_leaf_layer:
                self.total_mult_adds += info.macs
                if info.num_params > 0:
                    self.total_output_bytes += info.output_bytes * 2  # x2 for gradients
                if info.is_recursive:
                    continue
                self.total_params += max(info.num_params, 0)
                self.total_param_bytes += info.param_bytes
                self.trainable_params += max(info.trainable_params, 0)
            elif not info.is_recursive:
                self.total_params += max(info.leftover_params(), 0)
                self.trainable_params += max(info.leftover_trainable_params(), 0)
        self.layer_name_width = 40
        longest = max((info.depth * 5 + 1 + len(info.layer_name(self.show_var_name,
                       self.show_depth)) for info in summary_list), default=0)
        if longest >= self.layer_name_width:
            self.layer_name_width = math.ceil(longest / 5) * 5

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def _row(self, name: str, values: Mapping[str, str]) -> str:
        line = f"{name:<{self.layer_name_width}} "
        for column in self.col_names:
            line += f"{values.get(column, ''):<{self.col_width}} "
        return line.rstrip() + "\n"

    def _prefix(self, depth: int) -> str:
        if depth == 0:
            return ""
        glyphs = ("+ ", "|    ", "+ ") if self.ascii_only else ("├─", "│    ", "└─")
        tee, bar, corner = glyphs
        return tee if depth == 1 else bar * (depth - 1) + corner

    def _layers_table(self) -> str:
        text = ""
        for info in self.summary_list:
            if info.depth > self.max_depth:
                continue
            at_max = info.depth == self.max_depth
            values = {
                "kernel_size": str(info.kernel_size) if info.kernel_size else "--",
                "input_size": str(info.input_size) if info.input_size else "--",
                "output_size": str(info.output_size) if info.output_size else "--",
                "num_params": info.num_params_to_str(at_max),
                "params_percent": info.params_percent(self.total_params, at_max),
                "mult_adds": info.macs_to_str(at_max),
                "trainable": info.trainable,
            }
            name = info.layer_name(self.show_var_name, self.show_depth)
            text += self._row(self._prefix(info.depth) + name, values)
        return text

    def __str__(self) -> str:
        divider = "=" * (len(self.col_names) * self.col_width + self.layer_name_width)
        header = " (var_name)" if self.show_var_name else ""
        header += ":depth-idx" if self.show_depth else ""
        text = (
            f"{divider}\n{self._row(f'Layer (type{header})', _HEADER_TITLES)}{divider}\n"
            f"{self._layers_table()}{divider}\n"
            f"Total params{_format_count(self.total_params, False)}\n"
            f"Trainable params{_format_count(self.trainable_params, False)}\n"
            f"Non-trainable params{_format_count(self.non_trainable_params, False)}\n"
        )
        if self.input_size:
            total_bytes = self.total_input + self.total_output_bytes + self.total_param_bytes
            text += (
                f"Total mult-adds{_format_count(self.total_mult_adds, True)}\n{divider}\n"
                f"Input size (MB): {self.total_input / 1e6:0.2f}\n"
                f"Forward/backward pass size (MB): {self.total_output_bytes / 1e6:0.2f}\n"
                f"Params size (MB): {self.total_param_bytes / 1e6:0.2f}\n"
                f"Estimated Total Size (MB): {total_bytes / 1e6:0.2f}\n"
            )
        return text + divider

    __repr__ = __str__


def _input_tensors(input_size, input_data, dtypes, device):
    """The inputs of the forward pass and their shapes, as torchinfo builds them:
    ``input_size`` is one shape or a list of shapes filled with ``rand``; ``input_data``
    is a tensor, a list of positional tensors, or a dict of keyword tensors."""
    import ember
    if isinstance(input_data, Mapping):
        return dict(input_data), {k: list(v.shape) for k, v in input_data.items()
                                  if hasattr(v, "shape")}
    if input_data is not None:
        inputs = list(input_data) if isinstance(input_data, (list, tuple)) else [input_data]
        sizes = [list(x.shape) if hasattr(x, "shape") else x for x in inputs]
        return inputs, sizes
    if not isinstance(input_size, (list, tuple)):
        raise TypeError("Input_size is not a recognized type. Please ensure input_size is "
                        "valid.")
    if isinstance(input_size[0], (list, tuple)):
        sizes = [tuple(s) for s in input_size]
    else:
        sizes = [tuple(input_size)]
    if any(int(d) <= 0 for s in sizes for d in s):
        raise ValueError("Input_data is invalid, or negative size found in input_data.")
    dtypes = dtypes or [ember.float32] * len(sizes)
    inputs = [ember.rand(tuple(s), device=device).to(dtype) for s, dtype in zip(sizes, dtypes)]
    return inputs, sizes


def _attach_hooks(model, record: bool):
    """Walk the module tree depth first, as torchinfo: each module gets a pre-hook that
    appends its row when it runs (execution order) and a hook that fills the shapes."""
    summary_list: list[LayerInfo] = []
    seen_ids: set[int] = set()
    infos: dict[int, LayerInfo] = {}
    handles: dict[int, tuple] = {}

    def make_pre_hook(var_name, depth, parent):
        def pre_hook(module, inputs):
            info = LayerInfo(var_name, module, depth, parent)
            info.calculate_num_params()
            info.is_recursive = info.layer_id in seen_ids
            summary_list.append(info)
            seen_ids.add(info.layer_id)
            infos[info.layer_id] = info
        return pre_hook

    def hook(module, inputs, outputs):
        info = infos[id(module)]
        info.input_size, _ = _shape_and_itemsize(inputs)
        info.output_size, itemsize = _shape_and_itemsize(outputs)
        info.output_bytes = itemsize * _prod(info.output_size)
        info.executed = True
        info.calculate_macs()

    stack = [(type(model).__name__, model, 0, None)]
    while stack:
        var_name, module, depth, parent = stack.pop()
        infos[id(module)] = LayerInfo(var_name, module, depth, parent)
        pre_hook = make_pre_hook(var_name, depth, parent)
        if not record:
            pre_hook(module, None)
        else:
            for handle in handles.pop(id(module), ()):
                handle.remove()
            handles[id(module)] = (module.register_forward_pre_hook(pre_hook),
                                   module.register_forward_hook(hook))
        stack += [(name, child, depth + 1, infos[id(module)])
                  for name, child in reversed(module._modules.items()) if child is not None]
    return summary_list, handles


def _add_missing_containers(summary_list: list[LayerInfo]) -> None:
    """Containers whose own forward never ran (ModuleList, a Sequential indexed by hand)
    still get a row above their children, as torchinfo shows them."""
    listed = {info.layer_id for info in summary_list}
    current: dict[int, LayerInfo] = {}
    index = 0
    while index < len(summary_list):
        info = summary_list[index]
        chain = {}
        parent = info.parent_info
        while parent is not None and parent.depth > 0:
            chain[parent.depth] = parent
            parent = parent.parent_info
        inserted = 0
        for depth in range(1, info.depth):
            missing = depth not in current or current[depth].module is not chain[depth].module
            if missing and chain[depth] is not summary_list[index + inserted - 1]:
                chain[depth].calculate_num_params()
                chain[depth].is_recursive = chain[depth].layer_id in listed
                summary_list.insert(index + inserted, chain[depth])
                listed.add(chain[depth].layer_id)
                current[depth] = chain[depth]
                inserted += 1
        current[info.depth] = info
        deeper = info.depth + 1
        while deeper in current:
            current.pop(deeper)
            deeper += 1
        index += inserted + 1


def _link_children(summary_list: list[LayerInfo]) -> None:
    counters: dict[int, int] = {}
    for i, info in enumerate(summary_list):
        counters[info.depth] = counters.get(info.depth, 0) + 1
        info.depth_index = counters[info.depth]
        end = i + 1
        while end < len(summary_list) and summary_list[end].depth > info.depth:
            end += 1
        info.children = summary_list[i + 1:end]


def summary(model, input_size=None, input_data=None, *, col_names: Iterable[str] | None = None,
            col_width: int = 25, depth: int = 3, device=None, dtypes=None,
            mode: str = "eval", row_settings: Iterable[str] | None = None,
            verbose: int = 1, **kwargs) -> ModelStatistics:
    """Print and return a torchinfo-style table of ``model``'s layers.

    Args:
        model: the ``nn.Module`` to describe.
        input_size: an input shape (batch included), or a list of shapes for several
            inputs; random float tensors of these shapes are fed through the model.
        input_data: real inputs instead (a tensor or a list of tensors).
        col_names: columns among ``"input_size"``, ``"output_size"``, ``"num_params"``,
            ``"params_percent"``, ``"kernel_size"``, ``"mult_adds"``, ``"trainable"``.
            Default: output shape and parameter count (parameter count only without input).
        depth: deepest nesting level shown; deeper parameters count in their ancestor row.
        mode: ``"eval"`` (default) or ``"train"``; the model's own mode is restored after.
        row_settings: ``"depth"`` (default), ``"var_names"``, ``"ascii_only"``.
        verbose: 0 returns silently, 1 (default) also prints the table.
        kwargs: passed on to ``model.forward``.

    Returns:
        ModelStatistics with ``total_params``, ``trainable_params``,
        ``non_trainable_params``, ``total_mult_adds``; ``str(stats)`` is the table.
    """
    import ember
    has_input = input_size is not None or input_data is not None
    columns = tuple(col_names) if col_names is not None else (
        _DEFAULT_COLUMNS if has_input else ("num_params",))
    for column in columns:
        if column not in _HEADER_TITLES:
            raise ValueError(f"'{column}' is not a valid ColumnSettings")
    rows = tuple(row_settings) if row_settings is not None else _DEFAULT_ROWS
    if mode not in ("eval", "train"):
        raise ValueError(f"'{mode}' is not a valid Mode")
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else None

    summary_list, handles = _attach_hooks(model, record=has_input)
    sizes: Any = []
    total_input = 0
    if has_input:
        inputs, sizes = _input_tensors(input_size, input_data, dtypes, device)
        values = inputs.values() if isinstance(inputs, dict) else inputs
        total_input = sum(x.nbytes for x in values if hasattr(x, "nbytes"))
        was_training = model.training
        try:
            model.train(mode == "train")
            with ember.no_grad():
                if isinstance(inputs, dict):
                    model(**inputs, **kwargs)
                else:
                    model(*inputs, **kwargs)
        except Exception as error:
            executed = [info for info in summary_list if info.executed]
            raise RuntimeError("Failed to run torchinfo. See above stack traces for more "
                               f"details. Executed layers up to: {executed}") from error
        finally:
            for pair in handles.values():
                for handle in pair:
                    handle.remove()
            model.train(was_training)
        _add_missing_containers(summary_list)
    _link_children(summary_list)
    stats = ModelStatistics(summary_list, sizes, total_input, columns, col_width, depth, rows)
    if verbose:
        print(stats, file=sys.stdout)
    return stats
