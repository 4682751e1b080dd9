"""nn.attention's flash-attention implementation registry against PyTorch 2.13:
listing, activation with handles, restore, unknown names, FA3/FA4 without flash_attn."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.attention as t_attention

import ember.nn.attention as e_attention


@pytest.mark.parametrize("attention", [t_attention, e_attention], ids=["torch", "ember"])
def test_registry_lifecycle(attention, caplog):
    assert attention.list_flash_attention_impls() == ["FA3", "FA4"]
    assert attention.current_flash_attention_impl() is None
    events = []

    class Handle:
        def __init__(self, name):
            self.name = name

        def remove(self):
            events.append(("removed", self.name))

    def make(name):
        def register():
            events.append(("registered", name))
            return Handle(name)
        return register

    attention.register_flash_attention_impl("MineA", register_fn=make("A"))
    attention.register_flash_attention_impl("MineB", register_fn=make("B"))
    try:
        assert attention.list_flash_attention_impls() == ["FA3", "FA4", "MineA", "MineB"]
        attention.activate_flash_attention_impl("MineA")
        assert attention.current_flash_attention_impl() == "MineA"
        attention.activate_flash_attention_impl("MineB")  # removes A first
        assert attention.current_flash_attention_impl() == "MineB"
        attention.restore_flash_attention_impl()
        assert attention.current_flash_attention_impl() is None
        assert events == [("registered", "A"), ("removed", "A"), ("registered", "B"),
                          ("removed", "B")]
        with caplog.at_level(logging.WARNING):
            attention.restore_flash_attention_impl()
        assert "no custom impl was activated" in caplog.text
        with pytest.raises(ValueError, match=r"Unknown flash attention impl 'nope'. Available "
                           r"implementations: \['FA3', 'FA4', 'MineA', 'MineB'\]"):
            attention.activate_flash_attention_impl("nope")
        with pytest.raises(ModuleNotFoundError, match="No module named 'flash_attn"):
            attention.activate_flash_attention_impl("FA4")
        with pytest.raises(ModuleNotFoundError, match="No module named 'flash_attn_interface'"):
            attention.activate_flash_attention_impl("FA3")
    finally:
        registry = (torch.nn.attention._registry._FLASH_ATTENTION_IMPLS
                    if attention is t_attention else e_attention._registry._IMPLS)
        registry.pop("MineA", None)
        registry.pop("MineB", None)
