"""The flash-attention implementation registry of ``torch.nn.attention``.

A provider registers a function that installs its kernels (``register_fn``); a user
activates one by name, which first removes the previously active one (through the handle
its ``register_fn`` returned). PyTorch pre-registers FA3 and FA4, CUDA kernels from the
``flash_attn`` packages; here their registration imports the same modules (and fails as
PyTorch's does where they are absent). Their kernels are PyTorch CUDA extensions, which
ember's attention cannot call, so activating them where installed is refused.
"""

from __future__ import annotations

import importlib
import logging
from typing import Callable

__all__ = [
    "activate_flash_attention_impl", "current_flash_attention_impl",
    "list_flash_attention_impls", "register_flash_attention_impl",
    "restore_flash_attention_impl",
]

logger = logging.getLogger(__name__)

_IMPLS: dict[str, Callable] = {}
_ACTIVE: list = [None]  # (name, handle) of the activated implementation, or None


def register_flash_attention_impl(impl: str, *, register_fn: Callable) -> None:
    """Register ``register_fn`` (called on activation; may return a handle with
    ``remove()``) under the name ``impl``."""
    _IMPLS[impl] = register_fn


def activate_flash_attention_impl(impl: str) -> None:
    """Activate the implementation registered as ``impl`` (the previous one is removed)."""
    restore_flash_attention_impl(_raise_warn=False)
    register_fn = _IMPLS.get(impl)
    if register_fn is None:
        raise ValueError(f"Unknown flash attention impl '{impl}'. Available implementations: "
                         f"{list_flash_attention_impls()}")
    handle = register_fn()
    if handle is not None:
        _ACTIVE[0] = (impl, handle)


def list_flash_attention_impls() -> list[str]:
    """The registered implementation names, sorted."""
    return sorted(_IMPLS)


def current_flash_attention_impl() -> str | None:
    """The activated implementation's name; None for the default."""
    return _ACTIVE[0][0] if _ACTIVE[0] is not None else None


def restore_flash_attention_impl(_raise_warn: bool = True) -> None:
    """Remove the activated implementation, back to the default kernel."""
    handle = _ACTIVE[0][1] if _ACTIVE[0] is not None else None
    if handle is not None:
        handle.remove()
    elif _raise_warn:
        logger.warning("Trying to restore default FA2 impl when no custom impl was activated")
    _ACTIVE[0] = None


def _foreign_kernels(name: str, module_path: str, exposes: Callable) -> None:
    module = importlib.import_module(module_path)
    if not exposes(module):
        raise RuntimeError(f"Module '{module_path}' does not expose {name} kernels")
    raise RuntimeError(f"{name} kernels in '{module_path}' are PyTorch CUDA extensions; "
                       "ember's scaled_dot_product_attention cannot call them")


def _register_fa3(module_path: str = "flash_attn_interface"):
    _foreign_kernels("FA3", module_path, lambda m: hasattr(m, "flash_attn_func"))


def _register_fa4(module_path: str = "flash_attn.cute.interface"):
    _foreign_kernels("FA4", module_path,
                     lambda m: hasattr(m, "_flash_attn_fwd") and hasattr(m, "_flash_attn_bwd"))


register_flash_attention_impl("FA3", register_fn=_register_fa3)
register_flash_attention_impl("FA4", register_fn=_register_fa4)
