"""ember.ao.quantization.quantize against torch's eager-mode helpers: qconfig
propagation precedence, QuantWrapper / add_quant_dequant structure, the dynamic qconfig
spec per dtype, and what convert strips or keeps."""

import pytest
import torch
import torch.ao.quantization as tq

import ember
import ember.ao.quantization as eq

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]


def _tree(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 4), nn.ReLU()),
                         nn.Linear(4, 2))


def _labels(model, q):
    """Which qconfig each module got, by name (torch hands out equal copies, not the
    objects themselves)."""
    known = {"static": q.default_qconfig, "qat": q.default_qat_qconfig,
             "per_channel": q.default_per_channel_qconfig}

    def label(qconfig):
        if qconfig is None:
            return "none"
        return next(k for k, ref in known.items() if q.qconfig_equals(qconfig, ref))

    return {name: label(getattr(m, "qconfig", None)) for name, m in model.named_modules()}


def test_propagation_precedence_matches_torch():
    results = []
    for lib, q in ((torch, tq), (ember, eq)):
        model = _tree(lib)
        model[2].qconfig = q.default_qat_qconfig  # its own attribute beats every entry
        spec = {lib.nn.Linear: q.default_qconfig, "1": q.default_per_channel_qconfig,
                "1.0": q.default_qat_qconfig, "2": q.default_per_channel_qconfig}
        q.propagate_qconfig_(model, spec)
        results.append(_labels(model, q))
    assert results[1] == results[0]
    assert results[1]["1.1"] == "per_channel"  # inherited from its parent's name entry
    assert results[1]["0"] == "static" and results[1][""] == "none"


def test_quant_wrapper_and_add_quant_dequant_match_torch():
    results = []
    for lib, q in ((torch, tq), (ember, eq)):
        inner = lib.nn.Linear(3, 2).eval()
        inner.qconfig = q.default_qconfig
        wrapper = q.QuantWrapper(inner)
        stubs = [getattr(wrapper, n).qconfig is q.default_qconfig for n in ("quant", "dequant")]
        tree = _tree(lib)
        tree[1][0].qconfig = tree[2].qconfig = q.default_qconfig
        tree = q.add_quant_dequant(tree)
        bare = q.QuantStub()
        results.append((repr(wrapper), list(wrapper.state_dict()), wrapper.training, stubs,
                        repr(tree), hasattr(bare, "qconfig"), repr(q.DeQuantStub())))
    assert results[1] == results[0]


def test_dynamic_default_spec_matches_torch():
    names = []
    for lib, q in ((torch, tq), (ember, eq)):
        model = lib.nn.Sequential(lib.nn.Linear(4, 4), lib.nn.LSTM(4, 3))
        names.append([m._get_name() for m in q.quantize_dynamic(model).children()])
    assert names[1] == names[0] == ["DynamicQuantizedLinear", "DynamicQuantizedLSTM"]
    # float16 by default: ember's default covers Linear only (torch's also the RNNs)
    half = eq.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(4, 4)), dtype=ember.float16)
    assert half[0]._get_name() == "DynamicQuantizedLinear"


def test_dynamic_spec_errors_match_torch():
    for lib, q in ((torch, tq), (ember, eq)):
        with pytest.raises(ValueError, match="Don't know how to quantize with default"):
            q.quantize_dynamic(lib.nn.Linear(2, 2), dtype=lib.int8)
        with pytest.raises(RuntimeError, match="Unknown dtype specified"):
            q.quantize_dynamic(lib.nn.Linear(2, 2), {lib.nn.Linear}, dtype=lib.int8)
        # an explicit dict is used as given, whatever the dtype
        only = q.quantize_dynamic(lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)),
                                  {"1": q.default_dynamic_qconfig}, dtype=lib.int8)
        assert [m._get_name() for m in only] == ["Linear", "DynamicQuantizedLinear"]


def test_convert_strips_observers_keeps_user_hooks_like_torch():
    results = []
    for lib, q in ((torch, tq), (ember, eq)):
        seen = []
        model = q.QuantWrapper(lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.ReLU())).eval()
        model.qconfig = q.default_qconfig
        model.module[0].register_forward_hook(lambda m, i, o: seen.append(m._get_name()))
        calib = [(lib.ones(2, 3), 0), (lib.zeros(2, 3), 1)]
        prepared = q.prepare(model)
        hooks_prepared = len(prepared.module[0]._forward_hooks)
        q.default_eval_fn(prepared, calib)
        converted = q.convert(prepared)
        converted(lib.ones(1, 3))
        leftovers = [n for n, m in converted.named_modules()
                     if hasattr(m, "qconfig") or hasattr(m, "activation_post_process")]
        results.append((hooks_prepared, len(converted.module[0]._forward_hooks), seen,
                        leftovers, hasattr(prepared.module[0], "activation_post_process")))
    assert results[1] == results[0]
    assert results[1][2] == ["Linear", "Linear", "QuantizedLinear"]
