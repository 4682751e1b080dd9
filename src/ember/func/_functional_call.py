"""functional_call and stack_module_state, as ``torch.func``'s.

``functional_call`` runs a module with some of its parameters and buffers replaced by the
given tensors, then puts the originals back: the module becomes a function of its weights,
which is what grad, vmap and jacrev need (per-sample gradients, model ensembles).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from .._tensor import Tensor

__all__ = ["functional_call", "replace_all_batch_norm_modules_", "stack_module_state"]

_MISSING = object()


def _swap_tensor(module, name, value):
    """Put ``value`` where ``module.name`` is (parameter slot, buffer slot or attribute)
    and return what was there (_MISSING when nothing was)."""
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value} is not an instance of torch.Tensor")
    if "." in name:
        raise KeyError('tensor name can\'t contain "."')
    if name == "":
        raise KeyError('tensor name can\'t be empty string ""')
    for slots in (module._parameters, module._buffers):
        if name in slots:
            original = slots[name]
            if value is _MISSING:
                del slots[name]
            else:
                slots[name] = value
            return original
    original = getattr(module, name, _MISSING)
    if original is not _MISSING and original is not None and not isinstance(original, Tensor):
        raise TypeError(f"attribute `{name}`: {original} is not an instance of torch.Tensor")
    if value is not _MISSING:
        setattr(module, name, value)
    elif hasattr(module, name):
        delattr(module, name)
    return original


def _swap(module, path, value):
    prefix, _, attr = path.rpartition(".")
    owner = module.get_submodule(prefix) if prefix else module
    return _swap_tensor(owner, attr, value)


def _untie(module, given):
    """With tie_weights, a value given for one name of a tied tensor goes to all its names;
    different values for names of the same tensor are an error."""
    names_of = {}
    for name, tensor in list(module.named_parameters(remove_duplicate=False)) + list(
            module.named_buffers(remove_duplicate=False)):
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    untied = dict(given)
    for name in given:
        if name not in tied:
            continue
        group = tied[name]
        given_in_group = [n for n in group if n in given]
        if len(given_in_group) > 1 and len({id(given[n]) for n in given_in_group}) != 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(group)}, which are "
                "tied. Consider using tie_weights=False"
            )
        for other in group:
            untied[other] = given[name]
    return untied


@contextlib.contextmanager
def _reparametrize(module, tensors, tie_weights, strict):
    if tie_weights:
        tensors = _untie(module, tensors)
    if strict:
        valid = {name for name, _ in module.named_parameters(remove_duplicate=False)}
        valid |= {name for name, _ in module.named_buffers(remove_duplicate=False)}
        missing = sorted(valid - set(tensors))
        unexpected = sorted(set(tensors) - valid)
        messages = []
        if unexpected:
            messages.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            messages.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if messages:
            raise RuntimeError(
                f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                + "\n\t".join(messages)
            )
    originals = {}
    try:
        for name, value in tensors.items():
            originals[name] = _swap(module, name, value)
        yield
    finally:
        for name, original in reversed(list(originals.items())):
            _swap(module, name, original)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call ``module(*args, **kwargs)`` with its parameters and buffers replaced by the
    given tensors (one dict, or a list/tuple of dicts with distinct keys, keyed like
    ``named_parameters``); the module is left as it was.

    Example:
        >>> params = {k: v.detach() for k, v in model.named_parameters()}
        >>> out = ember.func.functional_call(model, params, (x,))
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts = {}
        for d in parameter_and_buffer_dicts:
            for key in d:
                counts[key] = counts.get(key, 0) + 1
        repeated = [key for key, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(  # noqa: TRY004
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but "
            f"got {type(parameter_and_buffer_dicts)}"
        )
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, tensors, tie_weights, strict):
        return module(*args, **kwargs)


def stack_module_state(models):
    """``(params, buffers)``: each model's parameters and buffers stacked along a new
    leading dim, under the names of ``models[0]``; stacked parameters are fresh leaves
    that require grad. For vmap over functional_call (model ensembling)."""
    from .. import stack

    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode.")
    first_type = type(models[0])
    if not all(type(m) is first_type for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        per_model = [dict(named(m)) for m in models]
        result = {}
        for name in per_model[0]:
            tensors = [d[name] for d in per_model]
            grads = [t.requires_grad for t in tensors]
            if any(grads) and not all(grads):
                raise RuntimeError(
                    f"Expected {name} from each model to have the same .requires_grad")
            value = stack(tensors)
            if all(grads):
                value = value.detach().requires_grad_(True)
            result[name] = value
        return result

    return (stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers()))


def replace_all_batch_norm_modules_(root):
    """Stop every batch-norm module in ``root`` (``root`` included) from tracking running
    statistics, in place: with them, vmap over a model would write every sample's
    statistics into one shared buffer. Returns ``root``."""
    from ..nn.modules.batchnorm import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
