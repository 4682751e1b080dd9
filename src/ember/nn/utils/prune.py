"""``torch.nn.utils.prune``: pruning by masks, as PyTorch.

Pruning ``module.<name>`` moves the parameter to ``<name>_orig``, stores a ``<name>_mask``
buffer and recomputes ``module.<name> = mask * orig`` in a forward pre-hook (the method
object itself), so optimizers keep training ``<name>_orig`` and checkpoints carry both,
key for key as PyTorch writes them. Pruning the same parameter again combines the methods
in a ``PruningContainer``: each new method only sees the entries (or channels) still
alive. ``remove`` makes the pruning permanent.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import ember

__all__ = [
    "BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
    "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
    "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
    "global_unstructured", "custom_from_mask", "remove", "is_pruned",
]


def _storage_names(name):
    """Where a pruned ``name`` lives: the trained values and the mask (PyTorch's keys)."""
    return f"{name}_orig", f"{name}_mask"


def _find_hook(module, name):
    """``(key, method)`` of the pruning hook acting on ``name``, or ``(None, None)``."""
    return next(((key, hook) for key, hook in module._forward_pre_hooks.items()
                 if isinstance(hook, BasePruningMethod) and hook._tensor_name == name),
                (None, None))


class BasePruningMethod(ABC):
    """A pruning method: ``compute_mask`` decides, the rest (re-parametrising the module,
    the forward pre-hook, ``remove``) is shared."""

    _tensor_name: str

    def __call__(self, module, inputs):
        """The forward pre-hook: refresh the masked tensor from the current ``_orig``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for ``t``, given the mask of earlier prunings (``default_mask``)."""

    def apply_mask(self, module):
        orig_key, mask_key = _storage_names(self._tensor_name)
        values = getattr(module, orig_key)
        return getattr(module, mask_key).to(dtype=values.dtype) * values

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        return _attach(cls, module, name, importance_scores, *args, **kwargs)

    def prune(self, t, default_mask=None, importance_scores=None):
        if importance_scores is None:
            importance_scores = t
        elif importance_scores.shape != t.shape:
            raise AssertionError("importance_scores should have the same shape as tensor t")
        if default_mask is None:
            default_mask = ember.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` becomes a plain parameter again, holding
        the pruned values."""
        name = self._tensor_name
        orig_key, mask_key = _storage_names(name)
        pruned = self.apply_mask(module)
        try:
            delattr(module, name)
        except AttributeError:
            pass
        param = module._parameters.pop(orig_key)
        module._buffers.pop(mask_key)
        param.data = pruned.data
        setattr(module, name, param)


def _attach(cls, module, name, importance_scores, *args, **kwargs):
    """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``; a first pruning moves
    the parameter to ``<name>_orig`` (undone if computing the mask fails), a later one
    starts from the existing mask."""
    method = _combine(cls, module, name, *args, **kwargs)
    orig_key, mask_key = _storage_names(name)
    current = getattr(module, name)
    if importance_scores is None:
        importance_scores = current
    elif importance_scores.shape != current.shape:
        raise AssertionError(
            f"importance_scores should have the same shape as parameter {name} "
            f"of {module}")
    first = not isinstance(method, PruningContainer)
    if first:
        module.register_parameter(orig_key, current)
        del module._parameters[name]
        previous = ember.ones_like(current)
    else:
        previous = getattr(module, mask_key).detach().clone()
    try:
        module.register_buffer(mask_key,
                               method.compute_mask(importance_scores, default_mask=previous))
        setattr(module, name, method.apply_mask(module))
    except Exception:
        if first:
            module.register_parameter(name, module._parameters.pop(orig_key))
        raise
    module.register_forward_pre_hook(method)
    return method


def _combine(cls, module, name, *args, **kwargs):
    """The new method, combined with the one already pruning ``name`` (whose hook is
    taken off: the combination is registered in its place)."""
    key, earlier = _find_hook(module, name)
    if key is not None:
        del module._forward_pre_hooks[key]
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if earlier is None:
        return method
    chain = earlier if isinstance(earlier, PruningContainer) else PruningContainer(earlier)
    chain.add_pruning_method(method)
    return chain


def _unstructured_region(method, t, default_mask):
    return default_mask == 1


def _structured_region(method, t, default_mask):
    """Every channel along ``method.dim`` that still has an unpruned entry."""
    if not hasattr(method, "dim"):
        raise AttributeError(
            "Pruning methods of PRUNING_TYPE 'structured' need to have the "
            "attribute `dim` defined.")
    rank = t.dim()
    axis = method.dim % rank if -rank <= method.dim < 0 else method.dim
    if axis < 0:
        raise IndexError(f"Index is out of bounds for tensor of size {rank}")
    alive = default_mask.sum(dim=[d for d in range(rank) if d != axis]) != 0
    return tuple(alive if d == axis else slice(None) for d in range(rank))


def _global_region(method, t, default_mask):
    return (slice(None),) * t.dim()


# What part of the tensor a method of each PRUNING_TYPE gets to see when it joins a chain.
_REGIONS = {"unstructured": _unstructured_region, "structured": _structured_region,
            "global": _global_region}


class PruningContainer(BasePruningMethod):
    """Successive prunings of one parameter: the last method acts on what the earlier
    ones left."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if method is not None:
            if not isinstance(method, BasePruningMethod):
                raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
            if method._tensor_name != self._tensor_name:
                raise ValueError(
                    f"Can only add pruning methods acting on the parameter named "
                    f"'{self._tensor_name}' to PruningContainer {self}. "
                    f"Found '{method._tensor_name}'")
        self._pruning_methods = (*self._pruning_methods, method)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        newest = self._pruning_methods[-1]
        region_of = _REGIONS.get(newest.PRUNING_TYPE)
        if region_of is None:
            raise ValueError(f"Unrecognized PRUNING_TYPE {newest.PRUNING_TYPE}")
        region = region_of(newest, t, default_mask)
        combined = default_mask.to(dtype=t.dtype)
        combined[region] = newest.compute_mask(
            t[region], default_mask=default_mask[region]).to(dtype=combined.dtype)
        return combined


class Identity(BasePruningMethod):
    """Prunes nothing: the reparametrisation alone (mask of ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return _attach(cls, module, name, None)


class _Amount:
    """Mixin for methods that prune ``amount`` entries or channels: a count, or a
    fraction of the total."""

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def _count(self, total):
        return _count_to_prune(self.amount, total)


class _Unstructured(_Amount, BasePruningMethod):
    """Zero the ``amount`` entries that rank first by ``_ranking`` (highest scores when
    ``_FROM_TOP``, lowest otherwise: topk is asked directly so ties break as PyTorch's)."""

    PRUNING_TYPE = "unstructured"
    _FROM_TOP = True

    def compute_mask(self, t, default_mask):
        k = self._count(t.nelement())
        mask = default_mask.clone()
        if k:
            doomed = ember.topk(self._ranking(t).view(-1), k=k, largest=self._FROM_TOP).indices
            mask.view(-1)[doomed] = 0
        return mask


class RandomUnstructured(_Unstructured):
    """Zeroes ``amount`` entries chosen at random."""

    def _ranking(self, t):
        return ember.rand_like(t)

    @classmethod
    def apply(cls, module, name, amount):
        return _attach(cls, module, name, None, amount=amount)


class L1Unstructured(_Unstructured):
    """Zeroes the ``amount`` entries of smallest magnitude."""

    _FROM_TOP = False

    def _ranking(self, t):
        return ember.abs(t)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return _attach(cls, module, name, importance_scores, amount=amount)


class _Structured(_Amount, BasePruningMethod):
    """Keep the channels along ``dim`` that ``_kept_channels`` picks, zero the others."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        super().__init__(amount)
        self.dim = dim

    def compute_mask(self, t, default_mask):
        if t.dim() <= 1:
            raise ValueError(
                "Structured pruning can only be applied to multidimensional tensors. Found "
                f"tensor of shape {t.shape} with {len(t.shape)} dims")
        channels = t.shape[self.dim]
        k = self._count(channels)
        if k == 0:
            return default_mask
        keep = ember.zeros_like(t)
        where = [slice(None)] * t.dim()
        where[self.dim] = self._kept_channels(t, channels, k)
        keep[tuple(where)] = 1
        return keep * default_mask.to(dtype=t.dtype)


class RandomStructured(_Structured):
    """Zeroes ``amount`` whole channels along ``dim``, chosen at random."""

    def _kept_channels(self, t, channels, k):
        draw = ember.rand(channels)
        return draw > ember.kthvalue(draw, k=k).values

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return _attach(cls, module, name, None, amount=amount, dim=dim)


class LnStructured(_Structured):
    """Zeroes the ``amount`` channels along ``dim`` of smallest L``n`` norm."""

    def __init__(self, amount, n, dim=-1):
        super().__init__(amount, dim)
        self.n = n

    def _kept_channels(self, t, channels, k):
        axis = self.dim % t.dim()
        norms = ember.norm(t, p=self.n, dim=[d for d in range(t.dim()) if d != axis])
        return ember.topk(norms, k=channels - k, largest=True).indices

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return _attach(cls, module, name, importance_scores, amount=amount, n=n, dim=dim)


class CustomFromMask(BasePruningMethod):
    """Prunes by a given mask."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if self.mask.shape != default_mask.shape:
            raise AssertionError("the mask must have the parameter's shape")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return _attach(cls, module, name, None, mask=mask)


def _check_amount(amount):
    """A non-negative count or a fraction in [0, 1]; PyTorch's texts."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    fraction = not isinstance(amount, numbers.Integral)
    if amount < 0 or (fraction and amount > 1):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a "
            "non-negative integer")


def _count_to_prune(amount, size):
    """How many of ``size`` entries (or channels) ``amount`` prunes: a count, or a
    fraction rounded as Python rounds."""
    if not isinstance(amount, numbers.Integral):
        return round(amount * size)
    if amount > size:
        raise ValueError(
            f"amount={amount} should be smaller than the number of parameters to "
            f"prune={size}")
    return amount


def _pruned(method_cls, module, name, *args, **kwargs):
    """The functional form: prune, hand the module back."""
    method_cls.apply(module, name, *args, **kwargs)
    return module


def identity(module, name):
    return _pruned(Identity, module, name)


def random_unstructured(module, name, amount):
    return _pruned(RandomUnstructured, module, name, amount)


def l1_unstructured(module, name, amount, importance_scores=None):
    return _pruned(L1Unstructured, module, name, amount, importance_scores=importance_scores)


def random_structured(module, name, amount, dim):
    return _pruned(RandomStructured, module, name, amount, dim)


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    return _pruned(LnStructured, module, name, amount, n, dim,
                   importance_scores=importance_scores)


def custom_from_mask(module, name, mask):
    return _pruned(CustomFromMask, module, name, mask)


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the (module, name) pairs together: ``amount`` counts over all of them, so the
    smallest entries anywhere go first. Each pair then gets its slice of the joint mask
    through ``custom_from_mask``."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    pairs = list(parameters)
    scores_by_pair = {} if importance_scores is None else importance_scores
    if not isinstance(scores_by_pair, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    from .convert_parameters import parameters_to_vector

    tensors = [getattr(module, name) for module, name in pairs]
    flat_scores = parameters_to_vector(
        [scores_by_pair.get(pair, t) for pair, t in zip(pairs, tensors)])
    flat_mask = parameters_to_vector(
        [getattr(module, _storage_names(name)[1], ember.ones_like(t))
         for (module, name), t in zip(pairs, tensors)])
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found '
            f"method {pruning_method} of type {method.PRUNING_TYPE}")
    method._tensor_name = "temp"
    joint = PruningContainer(method).compute_mask(flat_scores, flat_mask)
    start = 0
    for (module, name), t in zip(pairs, tensors):
        stop = start + t.numel()
        custom_from_mask(module, name, mask=joint[start:stop].view_as(t))
        start = stop


def remove(module, name):
    key, method = _find_hook(module, name)
    if method is None:
        raise ValueError(
            f"Parameter '{name}' of module {module} has to be pruned before pruning can be "
            "removed")
    method.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module):
    return any(isinstance(hook, BasePruningMethod)
               for sub in module.modules() for hook in sub._forward_pre_hooks.values())
