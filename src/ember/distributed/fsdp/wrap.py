"""Which submodules become their own FSDP unit (PyTorch's ``torch.distributed.fsdp.wrap``).

A policy is either a callable ``policy(module=, recurse=, nonwrapped_numel=)`` (the
classic form: asked once on the way down whether to recurse and once on the way up whether
to wrap what is left) or a ``_Policy`` object that picks the target modules in one pass.
Wrapping is bottom-up, so each unit owns the parameters of its subtree that no inner unit
took. ``enable_wrap``/``wrap`` is the manual form: ``wrap(m)`` wraps only inside the
context.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import ember

from ... import nn

__all__ = ["always_wrap_policy", "lambda_auto_wrap_policy", "transformer_auto_wrap_policy",
           "size_based_auto_wrap_policy", "enable_wrap", "wrap", "CustomPolicy",
           "ModuleWrapPolicy"]


def always_wrap_policy(*args, **kwargs) -> bool:
    """Wrap every submodule."""
    return True


class _Policy:
    """A policy that names its target modules in one pass over the tree."""

    def _run_policy(self, root_module, ignored_modules, root_kwargs) -> dict:
        raise NotImplementedError


def _module_wrap_policy(module, recurse, nonwrapped_numel, module_classes) -> bool:
    if recurse:
        return True
    return isinstance(module, tuple(module_classes))


class ModuleWrapPolicy(_Policy):
    """Wrap every module that is an instance of one of ``module_classes``."""

    def __init__(self, module_classes: Iterable[type]):
        self._module_classes = set(module_classes)
        self._module_classes_str = str(self._module_classes)

    def _run_policy(self, root_module, ignored_modules, root_kwargs) -> dict:
        classes = tuple(self._module_classes)
        return {module: copy.copy(root_kwargs) for module in root_module.modules()
                if module not in ignored_modules and isinstance(module, classes)}

    def __call__(self, module, recurse, *args, **kwargs):
        return _module_wrap_policy(module, recurse, -1, self._module_classes)

    def __repr__(self) -> str:
        return super().__repr__() + f"({self._module_classes_str})"


class CustomPolicy(_Policy):
    """``lambda_fn(module)`` returns False (skip), True (wrap with the root's kwargs) or a
    dict of kwargs overriding the root's for that unit."""

    def __init__(self, lambda_fn: Callable[[nn.Module], bool | dict[str, Any]]):
        self._lambda_fn = lambda_fn

    def _run_policy(self, root_module, ignored_modules, root_kwargs) -> dict:
        targets = {}
        for module in root_module.modules():
            if module in ignored_modules:
                continue
            result = self._lambda_fn(module)
            if not isinstance(result, (dict, bool)):
                raise ValueError("The lambda_fn passed to CustomPolicy should return False/"
                                 f"True or a kwarg dict, but it returned {result}")
            if not result:
                continue
            kwargs = copy.copy(root_kwargs)
            if isinstance(result, dict):
                kwargs.update(result)
            targets[module] = kwargs
        return targets


def lambda_auto_wrap_policy(module, recurse, nonwrapped_numel, lambda_fn) -> bool:
    """Wrap the modules for which ``lambda_fn(module)`` is true."""
    if recurse:
        return True
    return lambda_fn(module)


def transformer_auto_wrap_policy(module, recurse, nonwrapped_numel,
                                 transformer_layer_cls) -> bool:
    """Wrap every instance of ``transformer_layer_cls`` (use with functools.partial)."""
    return _module_wrap_policy(module, recurse, nonwrapped_numel, transformer_layer_cls)


def _wrap_module_cls_individually(module, module_classes, recurse, *args, **kwargs):
    if recurse:
        return True
    return isinstance(module, tuple(module_classes))


def _or_policy(module, recurse, nonwrapped_numel, policies) -> bool:
    return any(policy(module=module, recurse=recurse, nonwrapped_numel=nonwrapped_numel)
               for policy in policies)


def size_based_auto_wrap_policy(module, recurse, nonwrapped_numel, min_num_params=int(1e8),
                                force_leaf_modules=None, exclude_wrap_modules=None) -> bool:
    """Wrap a module once its not-yet-wrapped parameters number ``min_num_params`` or more;
    never recurse into ``force_leaf_modules`` nor wrap ``exclude_wrap_modules``."""
    if force_leaf_modules is None:
        force_leaf_modules = size_based_auto_wrap_policy.FORCE_LEAF_MODULES
    if exclude_wrap_modules is None:
        exclude_wrap_modules = size_based_auto_wrap_policy.EXCLUDE_WRAP_MODULES
    is_large = nonwrapped_numel >= min_num_params
    if recurse:
        return is_large and not isinstance(module, tuple(force_leaf_modules))
    return is_large and not isinstance(module, tuple(exclude_wrap_modules))


size_based_auto_wrap_policy.EXCLUDE_WRAP_MODULES = {nn.ModuleList, nn.ModuleDict}
size_based_auto_wrap_policy.FORCE_LEAF_MODULES = {nn.MultiheadAttention}


class _ConfigAutoWrap:
    """The process-wide ``enable_wrap`` context: the wrapper class and its kwargs."""

    in_autowrap_context: bool = False
    wrapper_cls: Callable | None = None
    kwargs: dict = {}

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    @staticmethod
    def enable_autowrap_context(kwargs) -> None:
        if _ConfigAutoWrap.in_autowrap_context:
            raise NotImplementedError("You are already within an autowrap context and we "
                                      "currently do not supported nested autowrap.")
        _ConfigAutoWrap.in_autowrap_context = True
        _ConfigAutoWrap.wrapper_cls = kwargs.pop("wrapper_cls")
        _ConfigAutoWrap.kwargs = kwargs

    @staticmethod
    def disable_autowrap_context() -> None:
        _ConfigAutoWrap.in_autowrap_context = False
        _ConfigAutoWrap.wrapper_cls = None
        _ConfigAutoWrap.kwargs = {}

    def __enter__(self) -> None:
        self.enable_autowrap_context(dict(self.kwargs))

    def __exit__(self, *exc) -> None:
        self.disable_autowrap_context()


@contextlib.contextmanager
def enable_wrap(*, wrapper_cls: Any, **wrapper_kwargs: Any):
    """Inside this context ``wrap(module)`` wraps with ``wrapper_cls(module, **kwargs)``.

    Example::

        with enable_wrap(wrapper_cls=FSDP, **fsdp_config):
            self.l1 = wrap(torch.nn.Linear(5, 5))
    """
    with _ConfigAutoWrap(wrapper_cls=wrapper_cls, **wrapper_kwargs):
        yield


def wrap(module: nn.Module, **wrap_overrides: Any) -> nn.Module:
    """Wrap ``module`` if inside ``enable_wrap`` (overrides win over the context's
    kwargs); outside the context return it unchanged."""
    if _ConfigAutoWrap.in_autowrap_context:
        return _wrap(module, _ConfigAutoWrap.wrapper_cls,
                     **{**_ConfigAutoWrap.kwargs, **wrap_overrides})
    return module


def _wrap(module, wrapper_cls, **kwargs):
    if hasattr(module, "_wrap_overrides"):
        return wrapper_cls(module, **{**kwargs, **module._wrap_overrides})
    return wrapper_cls(module, **kwargs)


def _recursive_wrap(module, auto_wrap_policy, wrapper_cls, ignored_modules, ignored_params,
                    only_wrap_children=False, **kwargs) -> tuple:
    """Wrap the submodules the callable policy picks, bottom-up; returns the (possibly
    wrapped) module and the parameter count wrapped under it."""
    for _, child in module.named_modules():
        if child not in ignored_modules and isinstance(child, wrapper_cls):
            raise AssertionError(f"Child module {child} is already wrapped by {wrapper_cls}")
    nonwrapped_numel = sum(p.numel() for p in module.parameters() if p not in ignored_params)
    if not auto_wrap_policy(module=module, recurse=True, nonwrapped_numel=nonwrapped_numel):
        return module, 0
    total_wrapped = 0
    for name, child in module.named_children():
        if child in ignored_modules:
            continue
        wrapped, count = _recursive_wrap(child, auto_wrap_policy, wrapper_cls, ignored_modules,
                                         ignored_params, **kwargs)
        setattr(module, name, wrapped)
        total_wrapped += count
    remainder = nonwrapped_numel - total_wrapped
    if not only_wrap_children and auto_wrap_policy(module=module, recurse=False,
                                                   nonwrapped_numel=remainder):
        return _wrap(module, wrapper_cls, **kwargs), nonwrapped_numel
    return module, total_wrapped


def _post_order_apply(root, targets: dict, wrapper_cls) -> None:
    """Replace every target module (not the root) by ``wrapper_cls(target, **kwargs)``,
    children first."""
    visited = {root}

    def visit(module):
        for name, child in list(module.named_children()):
            if child in visited:
                continue
            visited.add(child)
            visit(child)
            if child in targets:
                setattr(module, name, _wrap(child, wrapper_cls, **targets[child]))

    visit(root)


def _override_module_mixed_precision(root, module_classes) -> set:
    """Modules of ``module_classes`` (BatchNorm by default) become their own units in full
    precision: marked so ``_wrap`` turns mixed precision off for them, with hooks that
    cast their inputs to float32 and their outputs back."""
    classes = tuple(set(module_classes))
    overridden = set()
    for module in root.modules():
        if not isinstance(module, classes):
            continue
        overridden.add(type(module))
        module._wrap_overrides = {"mixed_precision": None}
        input_dtypes = {}

        def cast(dtype, module, value):
            if isinstance(value, (list, tuple)):
                return type(value)(cast(dtype, module, item) for item in value)
            if isinstance(value, dict):
                return {key: cast(dtype, module, item) for key, item in value.items()}
            if not hasattr(value, "is_floating_point") or not value.is_floating_point() \
                    or value.dtype == dtype:
                return value
            input_dtypes[module] = value.dtype
            return value.to(dtype)

        def pre_hook(module, args):
            return cast(ember.float32, module, args)

        def post_hook(module, args, output):
            if module in input_dtypes:
                return cast(input_dtypes[module], module, output)
            return output

        module.register_forward_pre_hook(pre_hook)
        module.register_forward_hook(post_hook)
    if overridden:
        warnings.warn("Both mixed precision and an auto_wrap_policy were specified to FSDP, "
                      f"where the wrapped module has submodules of type:\n{overridden}\n"
                      "These modules will be wrapped as separate FSDP instacnes with mixed "
                      "precision disabled.", stacklevel=3)
    return overridden


def _auto_wrap(root, policy, wrapper_cls, ignored_modules, ignored_params, root_kwargs):
    """Wrap ``root``'s submodules as the policy says (the root itself is wrapped by the
    caller). With mixed precision, the modules it ignores (BatchNorm) are wrapped on
    their own in full precision, as PyTorch does."""
    mixed_precision = root_kwargs.get("mixed_precision")
    if isinstance(policy, _Policy):
        targets = policy._run_policy(root, ignored_modules, root_kwargs)
        if mixed_precision is not None:
            classes = tuple(set(mixed_precision._module_classes_to_ignore))
            for module in root.modules():
                if module not in ignored_modules and isinstance(module, classes):
                    targets.setdefault(module, dict(root_kwargs))["mixed_precision"] = None
            _override_module_mixed_precision(root, classes)
        targets.pop(root, None)
        for kwargs in targets.values():
            kwargs.pop("auto_wrap_policy", None)
        _post_order_apply(root, targets, wrapper_cls)
        return
    if mixed_precision is not None:
        _override_module_mixed_precision(root, mixed_precision._module_classes_to_ignore)
        policy = functools.partial(_or_policy, policies=[policy, functools.partial(
            _wrap_module_cls_individually,
            module_classes=mixed_precision._module_classes_to_ignore)])
    _recursive_wrap(root, policy, wrapper_cls, ignored_modules, ignored_params,
                    only_wrap_children=True, **root_kwargs)
