"""ember.ao.quantization.fx.custom_config against torch's: setters, repr, dict round trip
of every option, standalone entries and the static-only custom module check."""

import pytest
import torch
import torch.ao.quantization as tq
import torch.ao.quantization.fx.custom_config as tcc

import ember
import ember.ao.quantization as eq
import ember.ao.quantization.fx.custom_config as ecc

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Float:  # stand-ins for custom module classes: only their identity matters
    pass


class _Observed:
    pass


def _full_prepare(cc, q, lib):
    inner = cc.PrepareCustomConfig().set_preserved_attributes(["inner"])
    mapping = q.QConfigMapping().set_global(q.default_qconfig)
    return (cc.PrepareCustomConfig()
            .set_standalone_module_name("sub", mapping, (1,), inner, None)
            .set_standalone_module_class(_Float, None, (2,), None, None)
            .set_float_to_observed_mapping(_Float, _Observed)
            .set_non_traceable_module_names(["a", "b"])
            .set_non_traceable_module_classes([_Float])
            .set_input_quantized_indexes([0])
            .set_output_quantized_indexes([1, 0])
            .set_preserved_attributes(["version"]))


def _comparable(d):
    """to_dict with QConfigs named by their class, so torch's and ember's compare."""
    if type(d).__name__ == "QConfig":
        return "QConfig"
    if isinstance(d, dict):
        return {k: _comparable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return type(d)(_comparable(v) for v in d)
    return d


def test_prepare_custom_config_all_options_match_torch():
    t_conf, e_conf = _full_prepare(tcc, tq, torch), _full_prepare(ecc, eq, ember)
    assert list(vars(e_conf)) == list(vars(t_conf))
    t_dict, e_dict = t_conf.to_dict(), e_conf.to_dict()
    assert list(e_dict) == list(t_dict)
    assert _comparable(e_dict) == _comparable(t_dict)
    back = ecc.PrepareCustomConfig.from_dict(e_dict)
    assert _comparable(back.to_dict()) == _comparable(e_dict)
    entry = back.standalone_module_names["sub"]
    assert isinstance(entry.qconfig_mapping, eq.QConfigMapping)
    assert isinstance(entry.prepare_custom_config, ecc.PrepareCustomConfig)
    assert entry.prepare_custom_config.preserved_attributes == ["inner"]
    assert back.float_to_observed_mapping == {eq.QuantType.STATIC: {_Float: _Observed}}
    # lists are stored as given, not copied
    names = ["x"]
    assert ecc.PrepareCustomConfig().set_non_traceable_module_names(names) \
        .non_traceable_module_names is names


def test_empty_configs_match_torch():
    for name in ("PrepareCustomConfig", "ConvertCustomConfig", "FuseCustomConfig"):
        t_conf, e_conf = getattr(tcc, name)(), getattr(ecc, name)()
        assert repr(e_conf) == repr(t_conf)
        assert e_conf.to_dict() == t_conf.to_dict() == {}
        assert list(vars(e_conf)) == list(vars(t_conf))
        assert repr(getattr(ecc, name).from_dict({})) == repr(t_conf)


def test_convert_and_fuse_configs_match_torch():
    results = []
    for cc, q in ((tcc, tq), (ecc, eq)):
        conv = (cc.ConvertCustomConfig()
                .set_observed_to_quantized_mapping(_Observed, _Float)
                .set_observed_to_quantized_mapping(_Float, _Observed, q.QuantType.DYNAMIC)
                .set_preserved_attributes(["v"]))
        fuse = cc.FuseCustomConfig().set_preserved_attributes(["w"])
        conv_back = cc.ConvertCustomConfig.from_dict(conv.to_dict())
        results.append((repr(conv), conv.to_dict(),
                        repr(fuse), fuse.to_dict(), conv_back.to_dict(),
                        repr(cc.FuseCustomConfig.from_dict(fuse.to_dict()))))
    assert results[1] == results[0]


def test_float_to_observed_is_static_only_like_torch():
    for cc, q in ((tcc, tq), (ecc, eq)):
        with pytest.raises(ValueError, match="only supported for static quantization"):
            cc.PrepareCustomConfig().set_float_to_observed_mapping(
                _Float, _Observed, q.QuantType.DYNAMIC)
        with pytest.raises(ValueError, match="only supported for static quantization"):
            cc.PrepareCustomConfig.from_dict(
                {"float_to_observed_custom_module_class": {"dynamic": {_Float: _Observed}}})
