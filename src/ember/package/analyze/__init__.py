"""Helpers for looking at packages and the objects loaded from them."""

from .is_from_package import is_from_package

__all__ = ["is_from_package"]
