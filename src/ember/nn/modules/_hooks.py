"""Hook machinery behind Module: removable handles, the load_state_dict result, and the
identity nodes that carry full backward hooks (PyTorch's ``torch.utils.hooks``)."""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict, namedtuple

from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.grad_mode import _grad_enabled
from ...utils.hooks import RemovableHandle

__all__ = [
    "RemovableHandle", "register_module_forward_pre_hook", "register_module_forward_hook",
    "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
    "register_module_backward_hook", "register_module_buffer_registration_hook",
    "register_module_module_registration_hook", "register_module_parameter_registration_hook",
]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _WrappedHook:
    def __init__(self, hook, module=None):
        self.hook = hook
        self.module = None if module is None else weakref.ref(module)

    def __call__(self, *args):
        if self.module is None:
            return self.hook(*args)
        return self.hook(self.module(), *args)


class _BackwardHookFn(Function):
    """Identity whose backward hands the gradients to a callback (which may replace them):
    the node full backward hooks sit on, at the module's inputs and at its outputs."""

    _array_io = True
    _node_name = "BackwardHookFunctionBackward"  # PyTorch's is a Python Function

    @staticmethod
    def forward(ctx, callback, *arrays):
        ctx.callback = callback
        return arrays if len(arrays) > 1 else arrays[0]

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.callback(grads))


class _BackwardHook:
    """Calls the full backward (pre) hooks of one module call, as PyTorch's BackwardHook:
    pre hooks see grad_output, hooks see (grad_input, grad_output) once both are known."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_index = None
        self.n_outputs = 0
        self.output_index = None

    @staticmethod
    def _pack(indices, values, size):
        packed = [None] * size
        for i, v in zip(indices, values):
            packed[i] = v
        return tuple(packed)

    def _wrap(self, args, callback):
        """Route the grad-requiring tensors of ``args`` through one identity node."""
        is_tuple = isinstance(args, tuple)
        items = args if is_tuple else (args,)
        index = [i for i, a in enumerate(items) if isinstance(a, Tensor) and a._requires_grad]
        if not index or not _grad_enabled[0]:
            return args, None, len(items)
        new = _BackwardHookFn.apply(callback, *[items[i] for i in index])
        if not isinstance(new, tuple):
            new = (new,)
        items = list(items)
        for i, t in zip(index, new):
            items[i] = t
        return (tuple(items) if is_tuple else items[0]), index, len(items)

    def setup_input_hook(self, args):
        def on_input_grads(grads):
            grad_inputs = self._pack(self.input_index, grads, self.n_inputs)
            for hook in self.user_hooks:
                result = hook(self.module, grad_inputs, self.grad_outputs)
                if result is None:
                    continue
                if len(result) != len(grad_inputs):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got "
                        f"{len(result)}, but expected {len(grad_inputs)}")
                grad_inputs = tuple(result)
            self.grad_outputs = None
            return tuple(grad_inputs[i] for i in self.input_index)

        if not self.user_hooks:
            return args
        args, self.input_index, self.n_inputs = self._wrap(args, on_input_grads)
        return args

    def setup_output_hook(self, result):
        def on_output_grads(grads):
            self.grad_outputs = self._pack(self.output_index, grads, self.n_outputs)
            for hook in self.user_pre_hooks:
                replaced = hook(self.module, self.grad_outputs)
                if replaced is None:
                    continue
                if len(replaced) != len(self.grad_outputs):
                    raise RuntimeError(
                        f"Backward pre hook returned an invalid number of grad_output, got "
                        f"{len(replaced)}, but expected {len(self.grad_outputs)}")
                self.grad_outputs = tuple(replaced)
            if self.input_index is None:
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect to "
                    "module outputs since no inputs require gradients. See "
                    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                    "#torch.nn.Module.register_full_backward_hook for more details.",
                    stacklevel=5)
                grad_inputs = (None,) * self.n_inputs
                for hook in self.user_hooks:
                    res = hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not all(r is None for r in res):
                        raise RuntimeError(
                            "Backward hook for Modules where no input requires gradient should "
                            "always return None or None for all gradients.")
                out = tuple(self.grad_outputs[i] for i in self.output_index)
                self.grad_outputs = None
                return out
            return tuple(self.grad_outputs[i] for i in self.output_index)

        result, self.output_index, self.n_outputs = self._wrap(result, on_output_grads)
        return result


class _HookRegistration:
    """Module's hook-registration API (forward, backward, state_dict and load hooks); the
    dicts it fills are created by ``Module.__init__`` and read by ``Module._call_impl``."""

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        return _register(self._forward_pre_hooks, hook,
                         extra_dict=self._forward_pre_hooks_with_kwargs, prepend=prepend,
                         flags=[(self._forward_pre_hooks_with_kwargs, with_kwargs)])

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        return _register(self._forward_hooks, hook, extra_dict=[
            self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
            prepend=prepend, flags=[(self._forward_hooks_with_kwargs, with_kwargs),
                                    (self._forward_hooks_always_called, always_call)])

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        return _register(self._backward_pre_hooks, hook, prepend=prepend)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        self._is_full_backward_hook = _backward_kind(self._is_full_backward_hook, True,
                                                     "on a single Module")
        return _register(self._backward_hooks, hook, prepend=prepend)

    def register_backward_hook(self, hook) -> RemovableHandle:
        """The legacy hook; ember runs it as a full backward hook (its documented meaning)."""
        self._is_full_backward_hook = _backward_kind(self._is_full_backward_hook, False,
                                                     "on a single Module")
        return _register(self._backward_hooks, hook)

    def _register_state_dict_hook(self, hook):
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook")
        return _register(self._state_dict_hooks, hook)

    def register_state_dict_post_hook(self, hook):
        hook._from_public_api = True
        return _register(self._state_dict_hooks, hook)

    def register_state_dict_pre_hook(self, hook):
        return _register(self._state_dict_pre_hooks, hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        return _register(self._load_state_dict_pre_hooks,
                         _WrappedHook(hook, self if with_module else None))

    def register_load_state_dict_pre_hook(self, hook):
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook):
        return _register(self._load_state_dict_post_hooks, hook)


# -- hooks on every module (torch.nn.modules.module.register_module_*) ------------------------

global_forward_pre_hooks: OrderedDict = OrderedDict()
global_forward_hooks: OrderedDict = OrderedDict()
global_forward_hooks_with_kwargs: OrderedDict = OrderedDict()
global_forward_hooks_always_called: OrderedDict = OrderedDict()
global_backward_pre_hooks: OrderedDict = OrderedDict()
global_backward_hooks: OrderedDict = OrderedDict()
global_buffer_registration_hooks: OrderedDict = OrderedDict()
global_module_registration_hooks: OrderedDict = OrderedDict()
global_parameter_registration_hooks: OrderedDict = OrderedDict()
_global_is_full_backward_hook = [None]


def any_global_call_hooks() -> bool:
    return bool(global_forward_pre_hooks or global_forward_hooks or global_backward_pre_hooks
                or global_backward_hooks)


def full_backward_hooks_of(module):
    """Global then per-module backward hooks (legacy ones run with the full semantics)."""
    return [*global_backward_hooks.values(), *module._backward_hooks.values()]


def run_registration_hooks(hooks, module, name, value):
    for hook in hooks.values():
        output = hook(module, name, value)
        if output is not None:
            value = output
    return value


def _register(hooks, hook, extra_dict=None, prepend=False, flags=()):
    """Add ``hook`` to ``hooks`` under a new handle id (first in line with ``prepend``);
    each ``(flag_dict, enabled)`` in ``flags`` marks the id in ``flag_dict`` when enabled.
    Serves the per-module and the global registrations alike."""
    handle = RemovableHandle(hooks, extra_dict=extra_dict)
    hooks[handle.id] = hook
    for flag_dict, enabled in flags:
        if enabled:
            flag_dict[handle.id] = True
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _backward_kind(current, full, where):
    """Backward hooks are all full or all regular (the first one registered decides):
    the kind after registering one of kind ``full``, or PyTorch's error on a mix."""
    if current is (not full):
        raise RuntimeError(
            f"Cannot use both regular backward hooks and full backward hooks {where}. "
            "Please use only one of them.")
    return full


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward."""
    return _register(global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` after every module's forward."""
    return _register(global_forward_hooks, hook, extra_dict=[
        global_forward_hooks_with_kwargs, global_forward_hooks_always_called],
        flags=[(global_forward_hooks_with_kwargs, with_kwargs),
               (global_forward_hooks_always_called, always_call)])


def register_module_full_backward_pre_hook(hook):
    return _register(global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    return _register_global_backward_hook(hook, full=True)


def register_module_backward_hook(hook):
    return _register_global_backward_hook(hook, full=False)


def _register_global_backward_hook(hook, full):
    _global_is_full_backward_hook[0] = _backward_kind(_global_is_full_backward_hook[0], full,
                                                      "as a global Module hook")
    return _register(global_backward_hooks, hook)


def register_module_buffer_registration_hook(hook):
    """``hook(module, name, buffer) -> None or new buffer`` on every register_buffer."""
    return _register(global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook):
    return _register(global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook):
    return _register(global_parameter_registration_hooks, hook)
