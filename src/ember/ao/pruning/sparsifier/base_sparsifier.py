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

# module types prepare(model, None) sparsifies (their ``weight``); public as in PyTorch
SUPPORTED_MODULES = {nn.Linear}

# group entries that point at live objects: rebuilt from ``tensor_fqn`` on load, never saved
KEYS_NOT_IN_STATE_DICT = ["module", "module_fqn", "tensor_name"]


def _agrees(key: str, derived, given) -> bool:
    """Whether a config's explicit ``key`` matches what its ``tensor_fqn`` implies; the
    derived fqn has no leading dot, so '.a.weight' still agrees with 'a.weight'."""
    if derived is given or derived == given:
        return True
    return key == "tensor_fqn" and given == "." + derived


def _fake_sparsity_of(module: nn.Module, tensor_name: str):
    """The FakeSparsity already attached to ``module.<tensor_name>``, if any."""
    if not parametrize.is_parametrized(module, tensor_name):
        return None
    found = [p for p in module.parametrizations[tensor_name] if isinstance(p, FakeSparsity)]
    return found[0] if found else None


def _settings_lines(settings: dict, hidden: str) -> list[str]:
    """``    key: value`` lines of a group's settings, sorted, leaving out ``hidden``."""
    return [f"    {k}: {settings[k]}" for k in sorted(settings) if k != hidden]


def _format_blocks(owner, blocks: list[list[str]]) -> str:
    """PyTorch's sparsifier repr layout (shared with the data sparsifiers): every block
    opens with a newline and every line is tab-indented and newline-terminated, so blocks
    are separated by a blank line and an empty sparsifier prints as ``Name ()``."""
    text = type(owner).__name__ + " ("
    for lines in blocks:
        text += "\n" + "".join(f"\t{line}\n" for line in lines)
    return text + ")"


def _picked(group: dict, keys) -> dict:
    """The group's values for ``keys`` (None or empty: nothing)."""
    return {k: group[k] for k in keys or ()}


class BaseSparsifier(abc.ABC):
    """Base class of sparsifiers; subclasses implement ``update_mask(module, tensor_name,
    **group)``.

    A *group* is one sparsified tensor: the defaults, overridden by its config entry, plus
    the live ``module`` / ``module_fqn`` / ``tensor_name`` derived from ``tensor_fqn``.
    ``state[tensor_fqn]['mask']`` is the mask its parametrization multiplies in.

    Args:
        defaults: configuration every group starts from; a group's own keys win.
    """

    def __init__(self, defaults: dict[str, Any] | None = None):
        super().__init__()
        # attribute names are PyTorch's: pickles and user code read them
        self.defaults = defaults or {}
        self.state = defaultdict(dict)
        self.groups = []
        self.enable_mask_update = True

    def __getstate__(self) -> dict[str, Any]:
        """Configuration and masks only; the model is the caller's to pickle."""
        return {key: getattr(self, key) for key in ("defaults", "state", "groups")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self):
        blocks = [[f"Group {i}", f"    module: {group['module']}"]
                  + _settings_lines(group, hidden="module") for i, group in enumerate(self.groups)]
        return _format_blocks(self, blocks)

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {tensor_fqn: {'mask': ...}}, 'groups': [config without modules]}``."""
        saved_groups = [
            {k: v for k, v in group.items() if k not in KEYS_NOT_IN_STATE_DICT}
            for group in self.groups
        ]
        return {"state": self.state, "groups": saved_groups}

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True):
        """Restore groups and masks onto ``self.model``, adding parametrizations it lacks.

        The saved masks are handed over (popped from ``state_dict``'s per-tensor state)
        rather than copied, so the parametrization and ``self.state`` share them.
        """
        restored_groups = copy.deepcopy(state_dict["groups"])
        per_tensor = state_dict["state"]
        for fqn, saved in per_tensor.items():
            live = get_arg_info_from_tensor_fqn(self.model, fqn)
            module, name = live["module"], live["tensor_name"]
            if strict and module is None:
                raise RuntimeError(f"Error loading {fqn} into the model")
            fake = _fake_sparsity_of(module, name)
            if fake is None:
                fake = FakeSparsity(ones(getattr(module, name).shape))
                parametrize.register_parametrization(module, name, fake)
            if saved.get("mask") is not None:
                fake.mask = saved.pop("mask")
            for group in restored_groups:
                if group["tensor_fqn"] == fqn:
                    group.update(live)
        self.__setstate__({"state": per_tensor, "groups": restored_groups})

    def make_config_from_model(self, model: nn.Module, SUPPORTED_MODULES=SUPPORTED_MODULES):
        """Config of every supported module's weight (default: all ``nn.Linear``).

        Walks depth-first with an explicit stack, as PyTorch does, so the groups come out in
        the same order (a model's direct Linears before those of the submodule listed last).
        """
        found, pending = [], [model]
        while pending:
            for child in pending.pop().children():
                (found if type(child) in SUPPORTED_MODULES else pending).append(child)
        self.config = [{"tensor_fqn": module_to_fqn(model, m) + ".weight"} for m in found]

    def _group_from(self, model: nn.Module, entry) -> dict[str, Any]:
        """One config entry -> its group: defaults, the entry, then what its fqn implies."""
        if not isinstance(entry, dict):
            raise AssertionError(
                "config elements should be dicts not modules i.e.:"
                "[{`tensor_fqn`: `foo.bar.weight`}, {`tensor_fqn`: ... }, ...]"
            )
        group = {**copy.deepcopy(self.defaults), **entry}
        if group.get("tensor_fqn") is None:
            raise AssertionError(
                "tensor_fqn is a required argument in the sparsity config which "
                "replaces previous `module` and [module]`fqn` arguments"
            )
        implied = get_arg_info_from_tensor_fqn(model, group["tensor_fqn"])
        clashing = [k for k, v in implied.items() if k in group and not _agrees(k, v, group[k])]
        if clashing:
            raise AssertionError(
                f"Given both `{clashing[0]}` and `tensor_fqn` in the config, "
                "it is expected them to agree!"
            )
        group.update(implied)
        return group

    def prepare(self, model: nn.Module, config: list[dict] | None):
        """Build the groups from ``config`` (None: every Linear) and attach the masks.

        The model is modified in place.
        """
        self.model = model
        self.config = config
        if config is None:
            self.make_config_from_model(model)
        self.groups.extend(self._group_from(model, entry) for entry in self.config)
        self._prepare()

    def _prepare(self, *args, **kwargs):
        """Register each group's parametrization (FakeSparsity by default) with its mask,
        a given ``mask`` or all ones."""
        for group in self.groups:
            module, name = group["module"], group["tensor_name"]
            mask = group.get("mask")
            if mask is None:
                mask = ones_like(getattr(module, name))
            self.state[group["tensor_fqn"]]["mask"] = mask
            make = group.get("parametrization", FakeSparsity)
            parametrize.register_parametrization(module, name, make(mask))

    def squash_mask(self, params_to_keep=None, params_to_keep_per_layer=None, *args, **kwargs):
        """Fold the masks into the tensors and remove the parametrizations.

        ``params_to_keep`` (all layers) and ``params_to_keep_per_layer`` ({module_fqn: keys})
        name group keys copied into ``module.sparse_params``.
        """
        per_layer = params_to_keep_per_layer or {}
        for group in self.groups:
            module = group["module"]
            parametrize.remove_parametrizations(module, group["tensor_name"],
                                                leave_parametrized=True)
            kept = {**_picked(group, params_to_keep),
                    **_picked(group, per_layer.get(group["module_fqn"]))}
            if kept:
                module.sparse_params = kept

    def convert(self, module: nn.Module, mapping=None, inplace: bool = False,
                parameterization: type = FakeSparsity):
        """Swap every sparsified submodule whose type is in ``mapping`` via ``from_dense``."""
        if mapping is None:
            raise NotImplementedError("Need to auto generate mapping ")
        if not inplace:
            module = copy.deepcopy(module)
        # collect first: swapping while iterating named_children would mutate the dict
        replaced = {}
        for name, child in module.named_children():
            swappable = (module_contains_param(child, parameterization)
                         and type_before_parametrizations(child) in mapping)
            replaced[name] = (swap_module(child, mapping) if swappable else self.convert(
                child, mapping=mapping, inplace=True, parameterization=parameterization))
        module._modules.update(replaced)
        return module

    def step(self, use_path: bool = True) -> None:
        """Recompute every group's mask (skipped while ``enable_mask_update`` is False)."""
        if self.enable_mask_update:
            with no_grad():
                for group in self.groups:
                    self.update_mask(**group)

    @abc.abstractmethod
    def update_mask(self, module: nn.Module, tensor_name: str, **kwargs):
        """Recompute ``state[...]['mask']`` of one group in place."""
