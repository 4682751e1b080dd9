"""torch.SymInt / SymFloat / SymBool against torch 2.13: the symbolic dimensions in an
exported graph's ``node.meta["val"]`` shapes are ``SymInt``s (their names differ: torch
numbers symbols by a hash, ember from 0, so names are compared with the digits dropped)."""

import pickle
import re

import torch

import ember


def _program(lib):
    class Net(lib.nn.Module):
        def forward(self, x, y):
            return x.relu() * 2 + y.sum(), x.size(0) * 2

    batch = lib.export.Dim("batch")
    return lib.export.export(Net(), (lib.ones(4, 3), lib.ones(2)),
                             dynamic_shapes=({0: batch}, None))


def _describe(lib, d):
    return (type(d).__name__, re.sub(r"\d+", "N", repr(d)), re.sub(r"\d+", "N", str(d)),
            isinstance(d, lib.SymInt), isinstance(d, lib.SymFloat), isinstance(d, lib.SymBool),
            isinstance(d, int))


def _dims(lib):
    """{node name: its value's dims described, or the value described}; ember's tensor
    values are its own TensorMeta records (torch's FakeTensors), so they are told by
    their shape."""
    out = {}
    for node in _program(lib).graph.nodes:
        value = node.meta.get("val")
        name = re.sub(r"^sym_size_int_\d+$", "sym_size_int", node.name)  # torch's is _1
        if hasattr(value, "shape"):
            out[name] = [_describe(lib, d) for d in value.shape]
        elif value is not None:
            out[name] = _describe(lib, value)
    return out


def test_meta_val_dims_are_symints():
    mine, theirs = _dims(ember), _dims(torch)
    # ember records no value for arithmetic on sizes (torch's mul_1 is a SymInt 2*s)
    assert set(mine) == set(theirs) - {"mul_1"}
    assert mine == {name: theirs[name] for name in mine}
    assert mine["x"][0][3] and mine["sym_size_int"][3]


def test_top_level_classes():
    def facts(lib):
        return ([(cls.__name__, cls.__module__.replace("ember", "torch"))
                 for cls in (lib.SymInt, lib.SymFloat, lib.SymBool)],
                isinstance(3, lib.SymInt), isinstance(3.0, lib.SymFloat),
                isinstance(True, lib.SymBool), isinstance(lib.ones(1), lib.SymInt))

    assert facts(ember) == facts(torch)


def test_symbol_pickles_as_symint():
    dim = next(d for node in _program(ember).graph.nodes
               if hasattr(node.meta.get("val"), "shape")
               for d in node.meta["val"].shape if isinstance(d, ember.SymInt))
    again = pickle.loads(pickle.dumps(dim))
    assert type(again) is ember.SymInt and repr(again) == repr(dim) == "s0"
    assert f"{dim}" == "s0"
