"""``BaseDataSparsifier``: masks named tensors (or embedding weights) kept in an internal
container module, instead of a model's parameters.

Each ``add_data(name, data)`` registers ``data`` as a buffer of the container with a
``FakeSparsity`` parametrization, so ``get_data(name, return_original=False)`` is the
masked tensor and the container's state_dict holds
``parametrizations.<name>.original``. Saved masks are sparse COO tensors, as PyTorch's.
"""

from __future__ import annotations

import abc
import copy
import warnings
from collections import defaultdict
from typing import Any

from ..... import Tensor, nn, no_grad, ones_like
from .....nn.utils import parametrize
from ...sparsifier.base_sparsifier import BaseSparsifier
from ...sparsifier.utils import FakeSparsity

__all__ = ["BaseDataSparsifier"]

EMBEDDING_TYPES = {nn.Embedding, nn.EmbeddingBag}
SUPPORTED_TYPES = {Tensor, nn.Parameter, *EMBEDDING_TYPES}


class _Container(nn.Module):
    pass


class BaseDataSparsifier(BaseSparsifier):
    """Base of data sparsifiers; subclasses implement ``update_mask(name, data, **config)``.

    Args:
        data_list: optional ``[(name, data), ...]`` added at construction.
        **defaults: configuration every added data starts from.
    """

    def __init__(self, data_list: list[tuple[str, Any]] | None = None, **defaults):
        super().__init__(defaults=defaults)
        self._container = _Container()
        self.data_groups: dict[str, dict] = defaultdict(dict)
        for name, data in data_list or []:
            self.add_data(name, data, **self.defaults)

    def prepare(self, model, config):
        raise NotImplementedError("this function is undefined for this class")

    @staticmethod
    def _extract_weight(data):
        return data.weight if type(data) in EMBEDDING_TYPES else data

    def add_data(self, name: str, data, reuse_mask=True, **config):
        """Register ``data`` under ``name`` with a mask; re-adding a name replaces it (and
        keeps its mask when ``reuse_mask``, which needs the same shape)."""
        if type(data) not in SUPPORTED_TYPES:
            raise AssertionError(f"specified data type:{type(data)} not supported at the moment")
        local_args = copy.deepcopy(self.defaults)
        local_args.update(config)
        weight = self._extract_weight(data)
        mask = local_args.get("mask")
        if mask is None:
            mask = ones_like(weight)
        param_class = local_args.get("parametrization", FakeSparsity)
        if name in self.state:
            warnings.warn(
                "Replacing existing data of the same name. - Did you mean a different name?",
                stacklevel=2,
            )
            local_args = copy.deepcopy(self.data_groups[name])
            local_args.update(config)
            if reuse_mask:
                if weight.shape != self.get_data(name=name).shape:
                    raise AssertionError(
                        "to retain the old mask, the shape of the new data must be the same "
                        "as the previous one"
                    )
                mask = self.get_mask(name=name)
            self._delete_data(name=name)
        self._container.register_buffer(name, weight)
        parametrize.register_parametrization(self._container, name, param_class(mask))
        self.state[name]["mask"] = mask
        self.data_groups[name] = local_args
        return getattr(self._container, name)

    def get_data(self, name: str, return_original: bool = True):
        """The unmasked tensor (default) or the masked one."""
        if name not in self.data_groups:
            raise ValueError("data with specified name does not exist")
        if not return_original:
            return getattr(self._container, name)
        if not parametrize.is_parametrized(self._container, name):
            raise ValueError("mask squashed - original mask value does not exist")
        return getattr(self._container.parametrizations, name).original

    def get_mask(self, name: str):
        if name not in self.state:
            raise ValueError("data with specified name does not exist")
        return self.state[name]["mask"]

    @staticmethod
    def _convert_mask(states, sparse_coo=True):
        """A copy of ``states`` with sparse COO masks (for saving) or dense ones."""
        states = copy.deepcopy(states)
        for state in states.values():
            state["mask"] = state["mask"].to_sparse_coo() if sparse_coo \
                else state["mask"].to_dense()
        return states

    def state_dict(self):
        return {"state": self._convert_mask(self.state), "data_groups": self.data_groups,
                "_container": self._container.state_dict()}

    def _load_container_from_state(self, states, data_groups, container_state_dict):
        for name, state in states.items():
            if data_groups.get(name) is None:
                raise RuntimeError(f"Error loading {name}")
            parametrized_name = f"parametrizations.{name}.original"
            if name in container_state_dict:
                data, parametrized = container_state_dict[name], False
            elif parametrized_name in container_state_dict:
                data, parametrized = container_state_dict[parametrized_name], True
            else:
                raise RuntimeError(f"Error loading {name}")
            self._container.register_buffer(name, data)
            if parametrized:
                mask = state.get("mask")
                if mask is None:
                    mask = ones_like(data)
                param_class = data_groups.get("parametrization", FakeSparsity)
                parametrize.register_parametrization(self._container, name, param_class(mask))

    def load_state_dict(self, state_dict, strict=True):
        states = self._convert_mask(state_dict["state"], sparse_coo=False)  # a copy
        data_groups = copy.deepcopy(state_dict["data_groups"])
        container_state_dict = copy.deepcopy(state_dict["_container"])
        if strict:
            self._container = _Container()
        self._load_container_from_state(states, data_groups, container_state_dict)
        if not strict:
            states.update(self.state)
            data_groups.update(self.data_groups)
        self.__setstate__({"state": states, "data_groups": data_groups})

    def __setstate__(self, state):
        if "_container" in state:  # unpickling: rebuild the container
            container_dict = state.pop("_container")
            self._container = _Container()
            state["state"] = self._convert_mask(state["state"], sparse_coo=False)
            self._load_container_from_state(state["state"], state["data_groups"],
                                            container_dict)
        self.__dict__.update(state)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self._convert_mask(self.state),
                "data_groups": self.data_groups, "_container": self._container.state_dict()}

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for name, args in self.data_groups.items():
            lines += ["\tData Group", f"\t    name: {name}"]
            lines += [f"\t    {k}: {args[k]}" for k in sorted(args) if k != "data"]
        return "\n".join(lines) + "\n)"

    def squash_mask(self, *args, leave_parametrized=True, names=None, **kwargs):
        """Fold the masks of ``names`` (default all) into the data and drop them."""
        for name in list(self.data_groups) if names is None else names:
            parametrize.remove_parametrizations(self._container, name,
                                                leave_parametrized=leave_parametrized)

    def step(self):
        if not self.enable_mask_update:
            return
        with no_grad():
            for name, config in self.data_groups.items():
                self.update_mask(name, self.get_data(name), **config)

    @abc.abstractmethod
    def update_mask(self, name, data, **kwargs):
        pass

    def _delete_data(self, name):
        """Detach ``name`` (unmasked) from the sparsifier."""
        self.squash_mask(names=[name], leave_parametrized=False)
        delattr(self._container, name)
        self.state.pop(name)
        self.data_groups.pop(name)
