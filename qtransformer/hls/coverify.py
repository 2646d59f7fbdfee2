"""Co-verification of the HLS model against Keras: outputs, per-layer traces, tb_data files.

The claim to check is bit-exactness, so errors are reported in LSBs of the HLS output type
(``max_error_lsb`` 0 = identical bits), next to argmax agreement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from .convert import Conversion, exact_testbench, hls_feed, hls_rows
from ..kinds import LayerPlan, in_hls, passes_through


def _output_lsb(hls_model, plans: dict[str, LayerPlan] | None) -> float:
    if plans:
        last = [p for p in plans.values() if not passes_through(p.kind)][-1]
        return last.out.lsb
    prec = hls_model.get_output_variables()[0].type.precision
    return 2.0 ** -(prec.width - prec.integer)


def coverify(model: tf.keras.Model, hls_model, x: np.ndarray,
             plans: dict[str, LayerPlan] | None = None, y: np.ndarray | None = None) -> dict:
    """Compare ``hls_model.predict`` (compiled C++) with ``model.predict`` on ``x``.

    Returns ``{argmax_agreement, max_abs_error, max_error_lsb, n}``; ``hls_model`` may be a
    :class:`~qtransformer.hls.convert.Conversion` (its plan then gives the output LSB).
    """
    if isinstance(hls_model, Conversion):
        plans, hls_model = hls_model.plans, hls_model.hls_model
    keras_y = np.asarray(model.predict(x, verbose=0), np.float64)
    hls_y = np.asarray(hls_model.predict(hls_feed(model, x)), np.float64).reshape(keras_y.shape)
    err = np.abs(hls_y - keras_y)
    lsb = _output_lsb(hls_model, plans)
    out = {"argmax_agreement": float(np.mean(hls_y.argmax(-1) == keras_y.argmax(-1))),
           "max_abs_error": float(err.max()), "max_error_lsb": float(err.max() / lsb),
           "n": int(len(x))}
    if y is not None:  # accuracy of each against the labels
        out["keras_accuracy"] = float(np.mean(keras_y.argmax(-1) == y))
        out["hls_accuracy"] = float(np.mean(hls_y.argmax(-1) == y))
    return out


def keras_trace(model: tf.keras.Model, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Outputs of the named layers of the original Keras model."""
    outs = [model.get_layer(n).output for n in names]
    sub = tf.keras.Model(model.inputs, outs)
    ys = sub.predict(x, verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    return {n: np.asarray(y) for n, y in zip(names, ys)}


def keras_name(plan: LayerPlan) -> str:
    """The Keras layer whose output this HLS layer computes (a Dense that casts with the
    quantizer fused into it computes that activation's output)."""
    return plan.params.get("fused", plan.name)


def trace_compare(model: tf.keras.Model, conv: Conversion, x: np.ndarray) -> list[dict]:
    """Per-layer comparison (hls4ml trace vs Keras); the first row with errors is the culprit.

    Recompiles with trace hooks unless the model was converted with ``trace=True``.
    """
    hls_model = conv.hls_model
    if not all(layer.get_attr("trace", False) for layer in hls_model.get_layers()):
        for layer in hls_model.get_layers():
            layer.set_attr("trace", True)
        hls_model.compile()
    _, trace = hls_model.trace(hls_feed(model, x))
    names = [n for n in trace if n in conv.plans and not conv.plans[n].host]
    ref = keras_trace(model, x, [keras_name(conv.plans[n]) for n in names])
    rows = []
    for n in names:
        k = ref[keras_name(conv.plans[n])].reshape(len(x), -1).astype(np.float64)
        h = np.asarray(trace[n], np.float64).reshape(len(x), -1)
        err = float(np.abs(h - k).max())
        rows.append({"layer": n, "max_abs_error": err,
                     "max_error_lsb": err / conv.plans[n].out.lsb,
                     "mismatch_fraction": float(np.mean(h != k))})
    return rows


def write_tb_data(model: tf.keras.Model, x: np.ndarray, project_dir) -> Path:
    """Write ``tb_data/tb_input_features.dat`` / ``tb_output_predictions.dat`` (one sample a line).

    Inputs are what the HLS top function receives (host-embedded for token models, then the
    padding mask where there is one), a sample's inputs one after another on its line; outputs
    are the Keras model's, which the C testbench and ``make csim`` compare against.
    """
    tb = Path(project_dir) / "tb_data"
    tb.mkdir(parents=True, exist_ok=True)
    hx = hls_rows(model, x)
    y = np.asarray(model.predict(x, verbose=0)).reshape(len(x), -1)
    np.savetxt(tb / "tb_input_features.dat", hx, fmt="%.17g")
    np.savetxt(tb / "tb_output_predictions.dat", y, fmt="%.17g")
    exact_testbench(project_dir)  # after compile(), which rewrites the testbench
    return tb


def range_check(model: tf.keras.Model, plans: dict[str, LayerPlan], x: np.ndarray) -> list[dict]:
    """Observed output range per layer on ``x`` (e.g. training data) vs its HLS type.

    Bit-growth types are worst-case, so ``overflow`` should always be False; ``headroom_bits``
    shows how much a calibrated (narrower) type could save.
    """
    names = [n for n, p in plans.items() if in_hls(p)]
    ref = keras_trace(model, x, [keras_name(plans[n]) for n in names])
    rows = []
    for n in names:
        peak = float(np.abs(ref[keras_name(plans[n])]).max())
        limit = plans[n].out.max_abs()
        rows.append({"layer": n, "observed_max_abs": peak, "type_max_abs": limit,
                     "overflow": peak > limit,
                     "headroom_bits": float(np.log2(limit / peak)) if peak > 0 else None})
    return rows
