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
from ...sparsifier.base_sparsifier import BaseSparsifier, _format_blocks, _settings_lines
from ...sparsifier.utils import FakeSparsity

__all__ = ["BaseDataSparsifier"]

# modules whose ``weight`` is the data; public names as in PyTorch
EMBEDDING_TYPES = {nn.Embedding, nn.EmbeddingBag}
SUPPORTED_TYPES = {Tensor, nn.Parameter, *EMBEDDING_TYPES}


class _Container(nn.Module):
    """Holds the data as buffers, so parametrize can attach masks and state_dict saves it."""


def _masks_as(states: dict, sparse: bool) -> dict:
    """A deep copy of ``{name: {'mask': m, ...}}`` with every mask sparse COO (the saved
    form, cheap for mostly-zero masks) or dense (the working form)."""
    converted = copy.deepcopy(states)
    for entry in converted.values():
        mask = entry["mask"]
        entry["mask"] = mask.to_sparse_coo() if sparse else mask.to_dense()
    return converted


def _saved_tensor(container_state: dict, name: str):
    """``(tensor, was_masked)`` for ``name`` in a saved container state dict: a plain
    buffer if it had been squashed, else the parametrization's original."""
    if name in container_state:
        return container_state[name], False
    masked_key = f"parametrizations.{name}.original"
    if masked_key in container_state:
        return container_state[masked_key], True
    raise RuntimeError(f"Error loading {name}")


class BaseDataSparsifier(BaseSparsifier):
    """Base of data sparsifiers; subclasses implement ``update_mask(name, data, **config)``.

    Unlike a model sparsifier it owns what it masks: ``data_groups[name]`` is the config
    of each tensor and ``state[name]['mask']`` its mask, both keyed by the name given to
    ``add_data``.

    Args:
        data_list: optional ``[(name, data), ...]`` added at construction.
        **defaults: configuration every added data starts from.
    """

    def __init__(self, data_list: list[tuple[str, Any]] | None = None, **defaults):
        super().__init__(defaults=defaults)
        self._container = _Container()
        self.data_groups = defaultdict(dict)  # PyTorch's name: state dicts and pickles hold it
        for name, data in data_list or ():
            self.add_data(name, data, **self.defaults)

    def prepare(self, model, config):
        raise NotImplementedError("this function is undefined for this class")

    @staticmethod
    def _extract_weight(data):
        """The tensor to mask: an embedding's weight, or the data itself."""
        return data.weight if type(data) in EMBEDDING_TYPES else data

    def _attach(self, name: str, tensor, mask, parametrization=FakeSparsity) -> None:
        """Keep ``tensor`` as buffer ``name`` of the container, masked through ``mask``."""
        self._container.register_buffer(name, tensor)
        parametrize.register_parametrization(self._container, name, parametrization(mask))

    def add_data(self, name: str, data, reuse_mask=True, **config):
        """Register ``data`` under ``name`` with a mask; returns the masked tensor.

        Re-adding a name replaces its data: the old config is the base for ``config``, and
        with ``reuse_mask`` the old mask object stays (so the new data needs its shape).
        """
        if type(data) not in SUPPORTED_TYPES:
            raise AssertionError(f"specified data type:{type(data)} not supported at the moment")
        tensor = self._extract_weight(data)
        settings = {**copy.deepcopy(self.defaults), **config}
        # mask and parametrization come from defaults + config even when replacing
        mask = settings.get("mask")
        parametrization = settings.get("parametrization", FakeSparsity)
        if name in self.state:
            warnings.warn(
                "Replacing existing data of the same name. - Did you mean a different name?",
                stacklevel=2,
            )
            settings = {**copy.deepcopy(self.data_groups[name]), **config}
            if reuse_mask:
                if tensor.shape != self.get_data(name=name).shape:
                    raise AssertionError(
                        "to retain the old mask, the shape of the new data must be the same "
                        "as the previous one"
                    )
                mask = self.get_mask(name=name)
            self._delete_data(name=name)
        if mask is None:
            mask = ones_like(tensor)
        self._attach(name, tensor, mask, parametrization)
        self.state[name]["mask"] = mask
        self.data_groups[name] = settings
        return getattr(self._container, name)

    def get_data(self, name: str, return_original: bool = True):
        """The unmasked tensor (default) or the masked one."""
        if name not in self.data_groups:
            raise ValueError("data with specified name does not exist")
        if return_original and not parametrize.is_parametrized(self._container, name):
            raise ValueError("mask squashed - original mask value does not exist")
        if return_original:
            return self._container.parametrizations[name].original
        return getattr(self._container, name)

    def get_mask(self, name: str):
        if name not in self.state:
            raise ValueError("data with specified name does not exist")
        return self.state[name]["mask"]

    def _portable(self) -> dict[str, Any]:
        """What saving needs: sparse masks, the configs, the container's tensors."""
        return {"state": _masks_as(self.state, sparse=True), "data_groups": self.data_groups,
                "_container": self._container.state_dict()}

    def state_dict(self):
        return self._portable()

    def _refill_container(self, states, data_groups, container_state) -> None:
        """Re-register every saved tensor; those saved masked get their mask back (as
        FakeSparsity, which is what PyTorch restores too)."""
        for name, entry in states.items():
            if data_groups.get(name) is None:
                raise RuntimeError(f"Error loading {name}")
            tensor, was_masked = _saved_tensor(container_state, name)
            if not was_masked:
                self._container.register_buffer(name, tensor)
                continue
            mask = entry.get("mask")
            self._attach(name, tensor, ones_like(tensor) if mask is None else mask)

    def load_state_dict(self, state_dict, strict=True):
        """Restore from ``state_dict`` (left untouched). ``strict`` starts from an empty
        container; otherwise data added before the load is kept and wins on a name clash."""
        states = _masks_as(state_dict["state"], sparse=False)
        data_groups = copy.deepcopy(state_dict["data_groups"])
        if strict:
            self._container = _Container()
        self._refill_container(states, data_groups, copy.deepcopy(state_dict["_container"]))
        if not strict:
            states.update(self.state)
            data_groups.update(self.data_groups)
        self.__setstate__({"state": states, "data_groups": data_groups})

    def __getstate__(self):
        return {"defaults": self.defaults, **self._portable()}

    def __setstate__(self, state):
        """Unpickling passes the saved container too: rebuild it before taking the rest."""
        if "_container" in state:
            saved_container = state.pop("_container")
            state["state"] = _masks_as(state["state"], sparse=False)
            self._container = _Container()
            self._refill_container(state["state"], state["data_groups"], saved_container)
        self.__dict__.update(state)

    def __repr__(self):
        blocks = [["Data Group", f"    name: {name}"] + _settings_lines(settings, hidden="data")
                  for name, settings in self.data_groups.items()]
        return _format_blocks(self, blocks)

    def squash_mask(self, *args, leave_parametrized=True, names=None, **kwargs):
        """Fold the masks of ``names`` (default all) into the data and drop them."""
        for name in list(self.data_groups) if names is None else names:
            parametrize.remove_parametrizations(self._container, name,
                                                leave_parametrized=leave_parametrized)

    def step(self):
        """Recompute every mask (skipped while ``enable_mask_update`` is False)."""
        if self.enable_mask_update:
            with no_grad():
                for name, settings in self.data_groups.items():
                    self.update_mask(name, self.get_data(name), **settings)

    @abc.abstractmethod
    def update_mask(self, name, data, **kwargs):
        """Recompute ``state[name]['mask']`` in place from ``data``."""

    def _delete_data(self, name):
        """Forget ``name``: unmasked (the mask is not applied), then removed everywhere."""
        self.squash_mask(names=[name], leave_parametrized=False)
        delattr(self._container, name)
        self.state.pop(name)
        self.data_groups.pop(name)
