"""QConfigMapping and the default PTQ/QAT mappings against PyTorch: setters, precedence
tables, ``to_dict``/``from_dict``, printed form, ``qconfig_equals`` and the legacy
``qconfig_dict`` helpers."""

import re

import pytest
import torch
import torch.ao.quantization as tq
from torch.ao.quantization import qconfig_mapping as tqm

import ember
import ember.ao.quantization as eq
from ember.ao.quantization import qconfig_mapping as eqm

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _normal(text):
    """Printed qconfigs with library and address details removed: functions print as
    ``<fn>`` (torch's are often builtins, ember's Python functions, some made by a
    factory; which function a key is gets checked apart)."""
    text = re.sub(r"<(?:built-in method|function) .*? at 0x[0-9a-f]+>", "<fn>", text)
    text = re.sub(r"<built-in function \w+>", "<fn>", text)
    return text.replace("torch.", "T.").replace("ember.", "T.")


def _mapping(lib, q):
    nn = lib.nn
    return (q.QConfigMapping()
            .set_global(q.default_qconfig)
            .set_object_type(nn.Linear, q.default_dynamic_qconfig)
            .set_object_type("reshape", None)
            .set_module_name_regex("block.*conv", q.default_per_channel_qconfig)
            .set_module_name("block.fc", q.float16_dynamic_qconfig)
            .set_module_name_object_type_order("block", nn.functional.linear, 0, None))


def test_setters_repr_and_dict_round_trip():
    e, t = _mapping(ember, eq), _mapping(torch, tq)
    assert _normal(repr(e)) == _normal(repr(t))
    e_dict, t_dict = e.to_dict(), t.to_dict()
    assert list(e_dict) == list(t_dict) == ["", "object_type", "module_name_regex",
                                            "module_name", "module_name_object_type_order"]
    assert _normal(repr(e_dict)) == _normal(repr(t_dict))
    again = eq.QConfigMapping.from_dict(e_dict)
    assert repr(again) == repr(e)
    # a key set twice keeps its first position, as an OrderedDict entry does
    e.set_object_type(ember.nn.Linear, None)
    t.set_object_type(torch.nn.Linear, None)
    assert _normal(repr(e)) == _normal(repr(t))
    assert list(e.object_type_qconfigs.values())[0] is None
    # keys missing from a dict are simply absent levels
    assert repr(eq.QConfigMapping.from_dict({})) == repr(eq.QConfigMapping())
    assert _normal(repr(eq.QConfigMapping())) == _normal(repr(tq.QConfigMapping()))


@pytest.mark.parametrize("backend", ["x86", "fbgemm", "qnnpack", "onednn"])
def test_default_mappings_match_torch(backend):
    for e_fn, t_fn in ((eq.get_default_qconfig_mapping, tq.get_default_qconfig_mapping),
                       (eq.get_default_qat_qconfig_mapping,
                        tq.get_default_qat_qconfig_mapping)):
        assert _normal(repr(e_fn(backend))) == _normal(repr(t_fn(backend)))
    with pytest.warns(FutureWarning, match="get_default_qconfig_dict` is deprecated"):
        e_dict = eq.get_default_qconfig_dict(backend)
    with pytest.warns(FutureWarning):
        t_dict = tq.get_default_qconfig_dict(backend)
    assert _normal(repr(e_dict)) == _normal(repr(t_dict))
    with pytest.warns(FutureWarning, match="get_default_qat_qconfig_dict` is deprecated"):
        e_dict = eq.get_default_qat_qconfig_dict(backend)
    with pytest.warns(FutureWarning):
        t_dict = tq.get_default_qat_qconfig_dict(backend)
    assert _normal(repr(e_dict)) == _normal(repr(t_dict))
    # the fixed-range ops share one qconfig object per range, as in torch
    e_map = eq.get_default_qconfig_mapping(backend).object_type_qconfigs
    F = ember.nn.functional
    assert [k for k in e_map if callable(k) and not isinstance(k, type)] == [
        F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, F.layer_norm,
        F.hardsigmoid, ember.sigmoid, ember.tanh]
    assert e_map[ember.nn.Sigmoid] is e_map["sigmoid"] is e_map[ember.nn.Softmax]
    assert e_map[ember.nn.Tanh] is not e_map[ember.nn.Sigmoid]


def test_default_mapping_with_default_qconfig():
    e = eqm._get_default_qconfig_mapping_with_default_qconfig(False, "x86", eq.default_qconfig)
    t = tqm._get_default_qconfig_mapping_with_default_qconfig(False, "x86", tq.default_qconfig)
    assert _normal(repr(e)) == _normal(repr(t))


def test_unsupported_backend_errors():
    with pytest.raises(AssertionError, match="backend: tpu not supported"):
        eq.get_default_qconfig_mapping("tpu")
    with pytest.raises(AssertionError, match="backend: tpu not supported"):
        tq.get_default_qconfig_mapping("tpu")
    with pytest.raises(AssertionError, match="Version number: 2"):
        eq.get_default_qat_qconfig_mapping("x86", version=2)


def test_qconfig_equals_matches_torch():
    def cases(q, lib):
        obs = q.MinMaxObserver
        return [
            (q.default_qconfig, q.default_qconfig),
            (q.get_default_qconfig("x86"), q.get_default_qconfig("x86")),  # new partials
            (q.get_default_qconfig("x86"), q.get_default_qconfig("qnnpack")),
            (q.QConfig(activation=obs.with_args(dtype=lib.quint8), weight=obs),
             q.QConfig(activation=obs.with_args(dtype=lib.quint8), weight=obs)),
            (q.QConfig(activation=obs.with_args(dtype=lib.quint8), weight=obs),
             q.QConfig(activation=obs.with_args(dtype=lib.qint8), weight=obs)),
            (q.get_default_qat_qconfig("x86"), q.get_default_qat_qconfig("x86")),
            (q.default_qat_qconfig, q.default_qat_qconfig_v2),
            (None, None), (None, q.default_qconfig),
        ]

    for (e1, e2), (t1, t2) in zip(cases(eq, ember), cases(tq, torch)):
        assert eq.qconfig_equals(e1, e2) == tq.qconfig_equals(t1, t2)


def test_from_dict_each_level_and_bad_rows_match_torch():
    def build(lib, q):
        F = lib.nn.functional
        return {"object_type": [(F.linear, None), ("add", q.default_qconfig)],
                "module_name_regex": [("a.*", None)],
                "module_name": [("a.b", q.default_qconfig), ("c", None)],
                "module_name_object_type_order": [("a", F.linear, 1, None)],
                "unknown": 3}

    e = eq.QConfigMapping.from_dict(build(ember, eq))
    t = tq.QConfigMapping.from_dict(build(torch, tq))
    assert _normal(repr(e)) == _normal(repr(t))
    assert e.global_qconfig is None and t.global_qconfig is None
    assert list(e.module_name_object_type_order_qconfigs) == [
        ("a", ember.nn.functional.linear, 1)]
    assert _normal(repr(e.to_dict())) == _normal(repr(t.to_dict()))
    for bad in ({"module_name": [("a", None, 3)]},
                {"module_name_object_type_order": [("a", None)]}):
        with pytest.raises(ValueError):
            tq.QConfigMapping.from_dict(bad)
        with pytest.raises(ValueError):
            eq.QConfigMapping.from_dict(bad)
