"""FX graph mode quantization, as ``torch.ao.quantization.quantize_fx``.

The model is traced with ``ember.fx`` (no QuantStub/DeQuantStub needed), fusable runs
become fused modules, observers are inserted as graph nodes, and ``convert_fx`` lowers
the calibrated graph to quantized modules and ops::

    qconfig_mapping = get_default_qconfig_mapping("x86")
    prepared = prepare_fx(model.eval(), qconfig_mapping, example_inputs)
    for x in calibration_data:
        prepared(x)
    quantized = convert_fx(prepared)

Unlike eager mode, the input model's modules are not copied (PyTorch's behaviour): pass
``copy.deepcopy(model)`` to keep a float model untouched by QAT training.
"""

from __future__ import annotations

from .fx import _patterns
from .fx import convert as _convert
from .fx import prepare as _prepare
from .fx.custom_config import FuseCustomConfig, PrepareCustomConfig
from .fx.prepare import trace as _trace

__all__ = ["convert_fx", "convert_to_reference_fx", "fuse_fx", "prepare_fx", "prepare_qat_fx"]


def _refuse_convert_options(qconfig_mapping, backend_config):
    if qconfig_mapping is not None:
        raise NotImplementedError("convert_fx(qconfig_mapping=...) is not supported: set "
                                  "the qconfigs in prepare_fx")
    if backend_config is not None:
        raise NotImplementedError("backend_config is not supported")


def fuse_fx(model, fuse_custom_config=None, backend_config=None):
    """Trace ``model`` (in eval mode) and fuse conv-bn(-relu), conv-relu, linear-relu,
    linear-bn and bn-relu runs: batch norms are folded into the preceding weights.

    Returns a GraphModule. ``backend_config`` is not supported (NotImplementedError).
    """
    if backend_config is not None:
        raise NotImplementedError("backend_config is not supported")
    if isinstance(fuse_custom_config, dict):
        fuse_custom_config = FuseCustomConfig.from_dict(fuse_custom_config)
    preserved = (fuse_custom_config or FuseCustomConfig()).preserved_attributes
    gm, _ = _trace(model, PrepareCustomConfig().set_preserved_attributes(preserved))
    return _patterns.fuse_graph(gm, is_qat=False)


def prepare_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None,
               _equalization_config=None, backend_config=None):
    """Prepare ``model`` (in eval mode) for post-training static or dynamic quantization.

    Args:
        model: the float model; it must be symbolically traceable.
        qconfig_mapping: a ``QConfigMapping`` (or a legacy ``qconfig_dict``).
        example_inputs: a tuple of positional inputs (kept for PyTorch's signature).
        prepare_custom_config: a ``PrepareCustomConfig`` (or its dict form): modules
            traced as leaves and left in float, outputs returned quantized, attributes
            kept on the GraphModule.

    Returns a GraphModule with observers (``activation_post_process_N``) to calibrate.
    """
    if _equalization_config is not None:
        raise NotImplementedError("input-weight equalization is not supported")
    return _prepare(model, qconfig_mapping, False, example_inputs, prepare_custom_config,
                    backend_config)


def prepare_qat_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None,
                   backend_config=None):
    """Prepare ``model`` (in training mode) for quantization-aware training: fused and
    weighted modules become their QAT forms and fake quantizers are inserted."""
    return _prepare(model, qconfig_mapping, True, example_inputs, prepare_custom_config,
                    backend_config)


def convert_fx(graph_module, convert_custom_config=None, _remove_qconfig=True,
               qconfig_mapping=None, backend_config=None, keep_original_weights=False):
    """Lower a calibrated (or QAT-trained) GraphModule to a quantized one.

    ``qconfig_mapping`` (to change qconfigs at convert time) and ``backend_config`` are
    not supported (NotImplementedError when given).
    """
    _refuse_convert_options(qconfig_mapping, backend_config)
    return _convert(graph_module, is_reference=False,
                    convert_custom_config=convert_custom_config)


def convert_to_reference_fx(graph_module, convert_custom_config=None, _remove_qconfig=True,
                            qconfig_mapping=None, backend_config=None):
    """The reference form: float modules with rounded weights and a
    quantize_per_tensor/dequantize pair at every observer (what a backend lowers)."""
    _refuse_convert_options(qconfig_mapping, backend_config)
    return _convert(graph_module, is_reference=True,
                    convert_custom_config=convert_custom_config)
