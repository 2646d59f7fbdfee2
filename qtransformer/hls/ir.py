"""hls4ml extension: handler, IR layers and HLS templates for the custom kinds.

For every registered :class:`~qtransformer.kinds.CustomKind` this registers, through hls4ml's
public extension API (``register_keras_v2_layer_handler``, ``register_layer``,
``backend.register_template``, ``backend.register_source``), one IR layer class, one config
template and one function-call template (as hls4ml keeps one template class per layer), each
delegating to the kind; hls4ml's installed files are never touched. A kind registered after
the first call (a test's, a plug-in's) is registered on the next call.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np

from ..errors import QTError
from ..kinds import KINDS, CustomKind, get_kind

TEMPLATE_DIR = Path(__file__).parent / "templates"
HEADERS = ("nnet_utils/qt_layers.h", "nnet_utils/qt_layers_stream.h")   # parallel, streamed
_DONE: set[tuple[str, str]] = set()   # (what, kind or backend) already registered
_SOURCES: dict[str, Path] = {}
_IR_CLASSES: dict[str, type] = {}   # kind name -> its hls4ml IR class


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


def _ir_class(kind: CustomKind):
    """hls4ml IR layer class of ``kind``: output variable with the planned type, constants as
    weight arrays (integer groups sharing a type, fixed-point constants at their type)."""
    from hls4ml.model.layers import Layer

    def initialize(self):
        self.add_output_variable(list(self.get_attr("out_shape")),
                                 precision=hls_precision(self.get_attr("out_type")))
        consts, types = self.get_attr("consts"), self.get_attr("types")
        for group in kind.int_groups:
            datas = [np.asarray(consts[name], np.int64) for name in group]
            prec = _int_type(np.concatenate([d.ravel() for d in datas]))
            for name, data in zip(group, datas):
                self.add_weights_variable(name=name, var_name=f"{name}{{index}}",
                                          precision=prec, data=data)
        for name in kind.fixed_consts:
            self.add_weights_variable(name=name, var_name=f"{name}{{index}}",
                                      precision=hls_precision(types[name]),
                                      data=np.asarray(consts[name], np.float64))

    return type(kind.ir_class, (Layer,), {"initialize": initialize, "qt_kind": kind.name})


def _templates(kind: CustomKind, ir_class, headers: list[str]):
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

    class ConfigTemplate(LayerConfigTemplate):
        def __init__(self):
            super().__init__(ir_class)

        def format(self, node):
            return kind.config_text(node)

    class CallTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(ir_class, include_header=list(headers))

        def format(self, node):
            return kind.call_text(node)

    ConfigTemplate.__name__ = f"{kind.ir_class}ConfigTemplate"
    CallTemplate.__name__ = f"{kind.ir_class}FunctionTemplate"
    return ConfigTemplate, CallTemplate


def parse_qt_hw_layer(keras_layer, input_names, input_shapes, data_reader):
    """hls4ml Keras-v2 handler for ``QtHwLayer``: copy its config into the IR dict."""
    cfg = keras_layer["config"]
    kind = get_kind(cfg["kind"])
    if not isinstance(kind, CustomKind):
        raise QTError(f"layer {cfg['name']}: kind {kind.name!r} has no custom HLS layer")
    layer = {"name": cfg["name"], "class_name": kind.ir_class, "inputs": input_names,
             "out_shape": list(cfg["out_shape"]), "out_type": cfg["out_type"],
             "consts": cfg["consts"], "types": cfg["types"], "qt_params": cfg["params"]}
    return layer, [input_shapes[0][0], *cfg["out_shape"]]


def _sources(kind: CustomKind) -> tuple[list[Path], list[str]]:
    """The C++ files of ``kind`` and the header names the generated code includes."""
    if kind.cpp is None:
        return [TEMPLATE_DIR / Path(h).name for h in HEADERS], list(HEADERS)
    name = kind.cpp_name or f"qt_{kind.name}.h"
    if name not in _SOURCES:
        folder = Path(tempfile.mkdtemp(prefix="qt_kind_"))
        (folder / name).write_text(kind.cpp)
        _SOURCES[name] = folder / name
    return [_SOURCES[name]], [f"nnet_utils/{name}"]


def register(backend_name: str = "Vivado") -> None:
    """Register the handler, and each custom kind's IR class, templates and C++ source with
    hls4ml and ``backend_name`` (idempotent)."""
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import get_layer_handlers

    if "QtHwLayer" not in get_layer_handlers():
        hls4ml.converters.register_keras_v2_layer_handler("QtHwLayer", parse_qt_hw_layer)
    backend = hls4ml.backends.get_backend(backend_name)
    for kind in KINDS.values():
        if not isinstance(kind, CustomKind):
            continue
        if ("ir", kind.name) not in _DONE:
            cls = _ir_class(kind)
            hls4ml.model.layers.register_layer(kind.ir_class, cls)
            _IR_CLASSES[kind.name] = cls
            _DONE.add(("ir", kind.name))
        if (backend_name, kind.name) not in _DONE:
            paths, headers = _sources(kind)
            for template in _templates(kind, _IR_CLASSES[kind.name], headers):
                backend.register_template(template)
            for path in paths:
                if (backend_name, str(path)) not in _DONE:
                    backend.register_source(path)
                    _DONE.add((backend_name, str(path)))
            _DONE.add((backend_name, kind.name))

