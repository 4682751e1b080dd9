"""``BaseSparsifier``: attaches mask parametrizations to a model's tensors and updates them.

The life cycle is PyTorch's: ``prepare(model, config)`` registers a ``FakeSparsity`` on every
configured tensor (so the model's state_dict key becomes
``<module>.parametrizations.<tensor>.original``), ``step()`` recomputes the masks through
the subclass's ``update_mask``, ``squash_mask()`` folds the masks into the plain tensors,
``convert`` swaps modules for sparse ones via ``from_dense``.
"""

from __future__ import annotations

import abc
import copy
from collections import defaultdict
from typing import Any

from .... import nn, no_grad, ones, ones_like
from ....nn.utils import parametrize
from ....nn.utils.parametrize import type_before_parametrizations
from .utils import FakeSparsity, get_arg_info_from_tensor_fqn, module_contains_param
from .utils import module_to_fqn, swap_module

__all__ = ["BaseSparsifier"]

SUPPORTED_MODULES = {nn.Linear}

# runtime objects in a group that a saved state cannot (and need not) carry
KEYS_NOT_IN_STATE_DICT = ["module", "module_fqn", "tensor_name"]


class BaseSparsifier(abc.ABC):
    """Base class of sparsifiers; subclasses implement ``update_mask(module, tensor_name,
    **group)``.

    Args:
        defaults: configuration every group starts from; a group's own keys win.
    """

    def __init__(self, defaults: dict[str, Any] | None = None):
        super().__init__()
        self.defaults: dict[str, Any] = defaults or {}
        self.state: dict[str, dict] = defaultdict(dict)
        self.groups: list[dict[str, Any]] = []
        self.enable_mask_update = True

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "groups": self.groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.groups):
            lines.append(f"\tGroup {i}")
            lines.append(f"\t    module: {group['module']}")
            lines.extend(f"\t    {k}: {group[k]}" for k in sorted(group) if k != "module")
        return "\n".join(lines) + "\n)"

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {tensor_fqn: {'mask': ...}}, 'groups': [config without modules]}``."""
        groups = [
            {k: v for k, v in group.items() if k not in KEYS_NOT_IN_STATE_DICT}
            for group in self.groups
        ]
        return {"state": self.state, "groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True):
        """Restore groups and masks onto ``self.model``, adding parametrizations it lacks."""
        groups = copy.deepcopy(state_dict["groups"])
        states = state_dict["state"]
        for tensor_fqn, tensor_state in states.items():
            arg_info = get_arg_info_from_tensor_fqn(self.model, tensor_fqn)
            module, tensor_name = arg_info["module"], arg_info["tensor_name"]
            if strict and module is None:
                raise RuntimeError(f"Error loading {tensor_fqn} into the model")
            fake = None
            if parametrize.is_parametrized(module, tensor_name):
                fake = next(
                    (p for p in module.parametrizations[tensor_name]
                     if isinstance(p, FakeSparsity)),
                    None,
                )
            if fake is None:
                fake = FakeSparsity(ones(getattr(module, tensor_name).shape))
                parametrize.register_parametrization(module, tensor_name, fake)
            if tensor_state.get("mask") is not None:
                fake.mask = tensor_state.pop("mask")
            for group in groups:
                if group["tensor_fqn"] == tensor_fqn:
                    group.update(arg_info)
        self.__setstate__({"state": states, "groups": groups})

    def make_config_from_model(self, model: nn.Module, SUPPORTED_MODULES=SUPPORTED_MODULES):
        """Config of every supported module's weight (default: all ``nn.Linear``)."""
        self.config = []
        stack = [model]
        while stack:
            module = stack.pop()
            for _name, child in module.named_children():
                if type(child) in SUPPORTED_MODULES:
                    self.config.append({"tensor_fqn": module_to_fqn(model, child) + ".weight"})
                else:
                    stack.append(child)

    def prepare(self, model: nn.Module, config: list[dict] | None):
        """Build the groups from ``config`` (None: every Linear) and attach the masks.

        The model is modified in place.
        """
        self.model = model
        self.config = config
        if self.config is None:
            self.make_config_from_model(model)
        for module_config in self.config:
            if not isinstance(module_config, dict):
                raise AssertionError(
                    "config elements should be dicts not modules i.e.:"
                    "[{`tensor_fqn`: `foo.bar.weight`}, {`tensor_fqn`: ... }, ...]"
                )
            local_args = copy.deepcopy(self.defaults)
            local_args.update(module_config)
            tensor_fqn = local_args.get("tensor_fqn")
            if tensor_fqn is None:
                raise AssertionError(
                    "tensor_fqn is a required argument in the sparsity config which "
                    "replaces previous `module` and [module]`fqn` arguments"
                )
            info = get_arg_info_from_tensor_fqn(model, tensor_fqn)
            for key, value in info.items():
                if key in local_args and not (
                    value is local_args[key] or value == local_args[key]
                    or (key == "tensor_fqn" and "." + value == local_args[key])
                ):
                    raise AssertionError(
                        f"Given both `{key}` and `tensor_fqn` in the config, "
                        "it is expected them to agree!"
                    )
            local_args.update(info)
            self.groups.append(local_args)
        self._prepare()

    def _prepare(self, *args, **kwargs):
        """Register each group's parametrization (FakeSparsity by default) with its mask."""
        for config in self.groups:
            module, tensor_name = config["module"], config["tensor_name"]
            parametrization = config.get("parametrization", FakeSparsity)
            mask = config.get("mask")
            if mask is None:
                mask = ones_like(getattr(module, tensor_name))
            self.state[config["tensor_fqn"]]["mask"] = mask
            parametrize.register_parametrization(module, tensor_name, parametrization(mask))

    def squash_mask(self, params_to_keep=None, params_to_keep_per_layer=None, *args, **kwargs):
        """Fold the masks into the tensors and remove the parametrizations.

        ``params_to_keep`` (all layers) and ``params_to_keep_per_layer`` ({module_fqn: keys})
        name group keys copied into ``module.sparse_params``.
        """
        for config in self.groups:
            module = config["module"]
            parametrize.remove_parametrizations(
                module, config["tensor_name"], leave_parametrized=True
            )
            sparse_params = {}
            if params_to_keep is not None:
                sparse_params.update({k: config[k] for k in params_to_keep})
            if params_to_keep_per_layer is not None:
                keys = params_to_keep_per_layer.get(config["module_fqn"])
                if keys is not None:
                    sparse_params.update({k: config[k] for k in keys})
            if sparse_params:
                module.sparse_params = sparse_params

    def convert(self, module: nn.Module, mapping=None, inplace: bool = False,
                parameterization: type = FakeSparsity):
        """Swap every sparsified submodule whose type is in ``mapping`` via ``from_dense``."""
        if mapping is None:
            raise NotImplementedError("Need to auto generate mapping ")
        if not inplace:
            module = copy.deepcopy(module)
        reassign = {}
        for name, child in module.named_children():
            if (module_contains_param(child, parameterization)
                    and type_before_parametrizations(child) in mapping):
                reassign[name] = swap_module(child, mapping)
            else:
                reassign[name] = self.convert(
                    child, mapping=mapping, inplace=True, parameterization=parameterization
                )
        for name, child in reassign.items():
            module._modules[name] = child
        return module

    def step(self, use_path: bool = True) -> None:
        """Recompute every group's mask (skipped while ``enable_mask_update`` is False)."""
        if not self.enable_mask_update:
            return
        with no_grad():
            for config in self.groups:
                self.update_mask(**config)

    @abc.abstractmethod
    def update_mask(self, module: nn.Module, tensor_name: str, **kwargs):
        pass
