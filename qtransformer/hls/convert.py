"""QKeras transformer -> hls4ml project (io_parallel), with every type planned by us.

Flow: :func:`~qtransformer.hls.precision.plan_model` derives types and quantized constants,
:func:`~qtransformer.hls.hwmodel.hardware_model` rebuilds the network from layers hls4ml parses
(plain Dense/Activation/Add + our ``QtHwLayer``), and hls4ml writes the project with a per-layer
config in which every precision is explicit (nothing is left to hls4ml's defaults, which
collapse LayerNorm/softmax outputs).

Token models: the embedding lookup runs on the host; the HLS model starts at the embedded
``(seq, d_model)`` sequence (see :func:`hls_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from .hwmodel import hardware_model
from .ir import register
from ..errors import QTError
from ..kinds import IO_STREAM, IO_TYPES, LayerPlan, get_kind, in_hls, inbound_names, kind_of
from .passes import readers_of
from .precision import input_fx, plan_model, precision_table


@dataclass
class Conversion:
    """An hls4ml model plus the plan it was built from (for reports and estimates)."""

    hls_model: object
    plans: dict[str, LayerPlan]
    hw_model: tf.keras.Model
    output_dir: Path

    def precision_table(self) -> list[dict]:
        return precision_table(self.plans)


def hls_config(plans: dict[str, LayerPlan], strategy: str = "Latency") -> dict:
    """hls4ml per-layer config with every precision explicit (each kind's entries)."""
    layers: dict[str, dict] = {}
    for p in plans.values():
        kind = get_kind(p.kind)
        if not kind.pass_through:
            layers.update(kind.hls_config(p, strategy))
    return {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": strategy,
                      "BramFactor": 1_000_000_000, "TraceOutput": False},
            "LayerName": layers}


def host_input_name(model: tf.keras.Model) -> str | None:
    """Name of the host-side layer whose output the HLS model takes as its sequence (a token
    model's embedding lookup), else None (the HLS model takes the Keras input)."""
    for layer in model.layers:
        if kind_of(layer).name == "embedding":
            return layer.name
    return None


def model_input_fx(model: tf.keras.Model, calibration_x: np.ndarray | None):
    """The plan's input type: sized on the calibration data when the HLS model takes the Keras
    input; a token model's HLS input is its embedding's output, whose type its quantizer fixes
    (the calibration data, token ids, say nothing of it)."""
    if calibration_x is None or host_input_name(model) is not None:
        return input_fx(None)
    return input_fx(np.asarray(calibration_x, np.float32))


def hls_input_names(model: tf.keras.Model) -> list[str]:
    """The host layers whose outputs the HLS model takes, in the order of its inputs (that of
    :func:`~.hwmodel.hardware_model`: where an HLS layer first reads them): the Keras input,
    or a token model's embedded sequence and, with padding masked, its mask."""
    names: list[str] = []
    for layer in model.layers:
        if kind_of(layer).host:
            continue
        for name in inbound_names(model, layer):
            if kind_of(model.get_layer(name)).host and name not in names:
                names.append(name)
    return names


def hls_inputs(model: tf.keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """What the HLS model receives for Keras input ``x``, one array per HLS input: ``x``, or
    the host-embedded tokens (and the padding mask)."""
    out = []
    for name in hls_input_names(model):
        layer = model.get_layer(name)
        host = x if kind_of(layer).name == "input" else layer(np.asarray(x))
        out.append(np.asarray(host, np.float32))
    return out


def hls_feed(model: tf.keras.Model, x: np.ndarray):
    """``hls_model.predict``'s argument for Keras input ``x``: one ``(n, size)`` array per
    input (a list only when there are several)."""
    feed = [np.ascontiguousarray(a.reshape(len(x), -1)) for a in hls_inputs(model, x)]
    return feed if len(feed) > 1 else feed[0]


def hls_rows(model: tf.keras.Model, x: np.ndarray) -> np.ndarray:
    """One row per sample of every HLS input's values, input after input: a line of hls4ml's
    ``tb_input_features.dat`` (its testbench splits it at the inputs' sizes)."""
    return np.concatenate([a.reshape(len(x), -1) for a in hls_inputs(model, x)], axis=1)


def convert_model(model: tf.keras.Model, board_part: str, clock_mhz: float, output_dir,
                  backend: str = "Vivado", io_type: str = "io_parallel",
                  calibration_x: np.ndarray | None = None,
                  reuse: dict[str, int] | None = None, strategy: str = "Latency",
                  overrides: dict[str, dict[str, str]] | None = None,
                  trace: bool = False, write: bool = True) -> Conversion:
    """Convert and write the HLS project; returns the hls4ml model with its plan.

    ``reuse`` maps layer names to reuse factors (see :func:`~.estimate.choose_reuse`);
    ``overrides`` forces precisions of hls4ml-native layers, e.g.
    ``{"classifier": {"accum": "ap_fixed<8,2>"}}`` (experiments, tests of co-verification).
    ``trace=True`` compiles every layer with hls4ml's trace hooks (for :func:`trace_compare`).
    """
    import hls4ml

    register(backend)
    plans = plan_model(model, model_input_fx(model, calibration_x), io_type=io_type)
    check_io(plans, io_type)
    for name, rf in (reuse or {}).items():
        plans[name].reuse = int(rf)
    hw = hardware_model(model, plans)
    cfg = hls_config(plans, strategy)
    cfg["Model"]["TraceOutput"] = bool(trace)
    for name, prec in (overrides or {}).items():
        cfg["LayerName"].setdefault(name, {}).setdefault("Precision", {}).update(prec)
    out = Path(output_dir)
    hls_model = hls4ml.converters.convert_from_keras_model(
        hw, hls_config=cfg, output_dir=str(out), project_name="myproject", backend=backend,
        io_type=io_type, part=board_part, clock_period=round(1000.0 / clock_mhz, 3))
    if io_type == IO_STREAM:
        set_fifo_depths(hls_model)
    if write:
        hls_model.write()
        exact_testbench(out)
    return Conversion(hls_model, plans, hw, out)


SKIP_DEPTH_KINDS = ("Merge",)   # hls4ml IR classes that join a residual skip
MAX_CLONES = 7   # hls4ml's CloneOutput copies a stream to at most 7 readers


def fifo_depth(producer_class: str, consumer_class: str, beats: int) -> int:
    """Depth of the stream between two layers: a copy of hls4ml's Clone going straight to the
    residual add (the skip path) holds every token, because the other path may read the whole
    sequence before it emits (attention); every other FIFO holds two words (a chain without a
    join cannot deadlock, and fewer tokens in flight only shortens the joins' wait). hls4ml's
    default, every FIFO as deep as the sequence, costs LUTs for nothing."""
    return beats if producer_class == "Clone" and consumer_class in SKIP_DEPTH_KINDS else 2


def set_fifo_depths(hls_model) -> None:
    """Apply :func:`fifo_depth` to every stream between two layers of an io_stream project
    (the top-level ports keep hls4ml's settings). g++ C simulation has unbounded streams, so
    these depths are checked by Vitis/Vivado co-simulation only."""
    layers = list(hls_model.get_layers())
    readers: dict[str, list] = {}
    for layer in layers:
        for name in layer.inputs:
            readers.setdefault(name, []).append(layer)
    outputs = set(hls_model.outputs)
    for layer in layers:
        for name in layer.outputs:
            var = layer.get_output_variable(name)
            if name in outputs or not getattr(var, "pragma", None) or var.pragma[0] != "stream":
                continue
            beats = int(np.prod(var.shape[:-1])) if len(var.shape) > 1 else 1
            depth = max(fifo_depth(layer.class_name, r.class_name, beats)
                        for r in readers.get(name, []) or [layer])
            var.pragma = ("stream", depth)


def check_io(plans: dict[str, LayerPlan], io_type: str) -> None:
    """Every HLS layer can be built in ``io_type`` (else one line naming the first that
    cannot)."""
    if io_type not in IO_TYPES:
        raise QTError(f"unknown io type {io_type!r}; known: {', '.join(IO_TYPES)}")
    for p in plans.values():
        if in_hls(p):
            get_kind(p.kind).check_plan(p, io_type)
    if io_type == IO_STREAM:
        for name, names in readers_of(plans).items():
            if plans[name].host and len(names) > MAX_CLONES:
                raise QTError(f"{name} is read by {len(names)} layers, and hls4ml clones an "
                              f"io_stream input for at most {MAX_CLONES}: use --io parallel, "
                              "fewer --layers, or --no-pad-mask")


def exact_testbench(project_dir) -> None:
    """Make hls4ml's C testbench print results with 17 digits (default 6 rounds them)."""
    for tb in Path(project_dir).glob("*_test.cpp"):
        text = tb.read_text()
        marker = "std::ofstream fout(RESULTS_LOG);"
        if marker in text and "fout.precision(17);" not in text:
            tb.write_text(text.replace(marker, marker + "\n    fout.precision(17);"))


def convert(model: tf.keras.Model, board_part: str, clock_mhz: float, output_dir,
            backend: str = "Vivado", io_type: str = "io_parallel",
            calibration_x: np.ndarray | None = None):
    """Write an HLS project for ``model`` to ``output_dir``; returns the hls4ml ModelGraph."""
    return convert_model(model, board_part, clock_mhz, output_dir, backend, io_type,
                         calibration_x).hls_model
