"""hls4ml extension: handler, IR layers and HLS templates for :class:`QtHwLayer`.

Registered once per process through hls4ml's public extension API
(``register_keras_v2_layer_handler``, ``register_layer``, ``backend.register_template`` and
``backend.register_source``); hls4ml's installed files are never touched.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

TEMPLATE_DIR = Path(__file__).parent / "templates"
HEADER = "nnet_utils/qt_layers.h"
IR_CLASS = {"posembed": "QtPosEmbed", "layernorm": "QtLayerNorm", "attention": "QtAttention",
            "meanpool": "QtMeanPool", "clspool": "QtClsPool"}
_REGISTERED: set[str] = set()
_ARG_ORDER = {"QtPosEmbed": ("table",), "QtLayerNorm": ("gamma", "beta"),
              "QtAttention": ("query_kernel", "query_bias", "key_kernel", "key_bias",
                              "value_kernel", "value_bias", "output_kernel", "output_bias",
                              "exp_table")}
_UNSIGNED = ("seq_len", "n_in", "d_in", "d_model", "heads", "d_head", "table_size", "x_bits",
             "d_bits", "in_bits", "act_bits", "score_bits", "exp_bits", "keep", "recv_bits", "sum_bits")


def hls_precision(text: str):
    """hls4ml precision object of an ``ap_fixed<W,I[,AP_RND_CONV,AP_SAT]>`` string."""
    from hls4ml.model.types import (
        FixedPrecisionType,
        IntegerPrecisionType,
        RoundingMode,
        SaturationMode,
    )

    m = re.fullmatch(r"(ap_u?fixed|ap_u?int)<(\d+)(?:,(-?\d+))?(,AP_RND_CONV,AP_SAT)?>",
                     text.replace(" ", ""))
    if not m:
        raise ValueError(f"unsupported precision {text!r}")
    kind, width = m.group(1), int(m.group(2))
    signed = not kind.startswith("ap_u")
    if "int" in kind:
        return IntegerPrecisionType(width, signed)
    if m.group(4):
        return FixedPrecisionType(width, int(m.group(3)), signed, RoundingMode.RND_CONV,
                                  SaturationMode.SAT)
    return FixedPrecisionType(width, int(m.group(3)), signed)


def _int_type(data: np.ndarray):
    from hls4ml.model.types import IntegerPrecisionType

    peak = int(np.abs(np.asarray(data, np.int64)).max()) if np.size(data) else 0
    return IntegerPrecisionType(max(2, peak.bit_length() + 1), True)


def _layer_classes():
    from hls4ml.model.layers import Layer

    class _QtBase(Layer):
        """Common init: output variable with the planned type, constants as weight arrays."""

        int_groups: tuple[tuple[str, ...], ...] = ()  # arrays in a group share one type
        fixed_consts: tuple[str, ...] = ()

        def initialize(self):
            self.add_output_variable(list(self.get_attr("out_shape")),
                                     precision=hls_precision(self.get_attr("out_type")))
            consts, types = self.get_attr("consts"), self.get_attr("types")
            for group in self.int_groups:
                datas = [np.asarray(consts[name], np.int64) for name in group]
                prec = _int_type(np.concatenate([d.ravel() for d in datas]))
                for name, data in zip(group, datas):
                    self.add_weights_variable(name=name, var_name=f"{name}{{index}}",
                                              precision=prec, data=data)
            for name in self.fixed_consts:
                self.add_weights_variable(name=name, var_name=f"{name}{{index}}",
                                          precision=hls_precision(types[name]),
                                          data=np.asarray(consts[name], np.float64))

    class QtPosEmbed(_QtBase):
        fixed_consts = ("table",)

    class QtLayerNorm(_QtBase):
        int_groups = (("gamma", "beta"),)

    class QtAttention(_QtBase):
        int_groups = (("query_kernel", "key_kernel", "value_kernel", "output_kernel"),
                      ("query_bias", "key_bias", "value_bias", "output_bias"), ("exp_table",))

    class QtMeanPool(_QtBase):
        pass

    class QtClsPool(_QtBase):
        pass

    return {c.__name__: c for c in (QtPosEmbed, QtLayerNorm, QtAttention, QtMeanPool,
                                    QtClsPool)}


def parse_qt_hw_layer(keras_layer, input_names, input_shapes, data_reader):
    """hls4ml Keras-v2 handler for :class:`QtHwLayer`: copy its config into the IR dict."""
    cfg = keras_layer["config"]
    layer = {"name": cfg["name"], "class_name": IR_CLASS[cfg["kind"]], "inputs": input_names,
             "out_shape": list(cfg["out_shape"]), "out_type": cfg["out_type"],
             "consts": cfg["consts"], "types": cfg["types"], "qt_params": cfg["params"]}
    return layer, [input_shapes[0][0], *cfg["out_shape"]]


def _config_text(node) -> str:
    p = dict(node.get_attr("qt_params"))
    kind = node.class_name
    lines = []
    for key, value in p.items():
        if key in _UNSIGNED:
            lines.append(f"    static const unsigned {key} = {int(value)};")
        elif isinstance(value, int):
            lines.append(f"    static const long long {key} = {value}LL;")
    rf = int(node.get_attr('reuse_factor', 1))
    lines.append(f"    static const unsigned reuse_factor = {rf};")
    base = {"QtPosEmbed": "qt_posembed_config", "QtLayerNorm": "qt_layernorm_config",
            "QtAttention": "qt_attention_config"}.get(kind, "qt_pool_config")
    if kind == "QtPosEmbed":
        n = int(np.prod(node.get_attr("out_shape")))
        lines.append(f"    static const unsigned n_elem = {n};")
        lines.append(f"    typedef {node.get_weights('table').type.name} table_t;")
    if kind == "QtLayerNorm":
        lines.append(f"    static const unsigned seq_len = {node.get_attr('out_shape')[0]};")
        lines.append(f"    typedef {node.get_weights('gamma').type.name} param_t;")
    if kind == "QtAttention":
        for alias, wname in (("weight_t", "query_kernel"), ("bias_t", "query_bias"),
                             ("table_t", "exp_table")):
            lines.append(f"    typedef {node.get_weights(wname).type.name} {alias};")
    body = "\n".join(lines)
    return f"struct config{node.index} : nnet::{base} {{\n{body}\n}};\n"


def _call_text(node) -> str:
    inp, out = node.get_input_variable(), node.get_output_variable()
    fn = {"QtPosEmbed": "qt_posembed", "QtLayerNorm": "qt_layernorm",
          "QtAttention": "qt_attention", "QtMeanPool": "qt_meanpool",
          "QtClsPool": "qt_clspool"}[node.class_name]
    order = _ARG_ORDER.get(node.class_name, ())
    weights = [node.get_weights(w).name for w in order]
    if len(node.inputs) > 1:  # token-pruning attention: (LN(x), x) -> top-k of x + attn
        resid = node.get_input_variable(node.inputs[1])
        args = [inp.name, resid.name, out.name] + weights
        return (f"nnet::{fn}_prune<{inp.type.name}, {resid.type.name}, {out.type.name}, "
                f"config{node.index}>({', '.join(args)});")
    args = [inp.name, out.name] + weights
    return (f"nnet::{fn}<{inp.type.name}, {out.type.name}, config{node.index}>"
            f"({', '.join(args)});")


def _templates(classes):
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

    layer_classes = tuple(classes.values())

    class QtConfigTemplate(LayerConfigTemplate):
        def __init__(self):
            super().__init__(layer_classes)

        def format(self, node):
            return _config_text(node)

    class QtFunctionTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(layer_classes, include_header=[HEADER])

        def format(self, node):
            return _call_text(node)

    return QtConfigTemplate, QtFunctionTemplate


def register(backend_name: str = "Vivado") -> None:
    """Register handler, IR layers, templates and the C++ header (idempotent)."""
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import get_layer_handlers

    if "handler" not in _REGISTERED:
        if "QtHwLayer" not in get_layer_handlers():
            hls4ml.converters.register_keras_v2_layer_handler("QtHwLayer", parse_qt_hw_layer)
        classes = _layer_classes()
        for name, cls in classes.items():
            hls4ml.model.layers.register_layer(name, cls)
        _REGISTERED.add("handler")
        _templates.classes = classes  # type: ignore[attr-defined]
    if backend_name not in _REGISTERED:
        backend = hls4ml.backends.get_backend(backend_name)
        config_t, call_t = _templates(_templates.classes)  # type: ignore[attr-defined]
        backend.register_template(config_t)
        backend.register_template(call_t)
        backend.register_source(TEMPLATE_DIR / "qt_layers.h")
        _REGISTERED.add(backend_name)
