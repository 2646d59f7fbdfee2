"""Derive every HLS type of a QKeras transformer from its quantizers and from bit growth.

Quantizers fix weights, biases, activations, LayerNorm/attention outputs, scores and
probabilities. Everything else (Dense accumulators, residual Add outputs, position-embedding
sums, pooling) gets the *exact* type of its operation: fractional bits are the sum/max of the
operands', integer bits come from a worst-case bound (input range x L1 norm of a weight column
+ bias, or the sum of the Add operands' ranges), so nothing rounds or overflows. Calibration data
only sizes the model input type. Each layer's planner is its kind's (``qtransformer/kinds``);
the plan-to-plan passes (``passes.py``) run after.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..errors import QTError
from ..fixed import Fx, frac_bits, signed_fx
from ..kinds import IO_PARALLEL, LayerPlan, inbound_names, kind_of, passes_through
from .passes import FuseOutputQuantizers, passes_for, run_passes

DEFAULT_INPUT = Fx(16, 6, True, True)

__all__ = ["DEFAULT_INPUT", "LayerPlan", "fuse_output_quantizers", "input_fx", "plan_model",
           "precision_table"]


def input_fx(calibration_x: np.ndarray | None) -> Fx:
    """Model input type: exact for the calibration data's grid and range, else ap_fixed<16,6>."""
    if calibration_x is None:
        return DEFAULT_INPUT
    x = np.asarray(calibration_x, dtype=np.float64)
    try:
        f = frac_bits(x, limit=16)
    except QTError:
        f = 10
    fx = signed_fx(float(np.abs(x).max()) * 2, f)   # x2: headroom for unseen inputs
    return Fx(fx.width, fx.integer, True, True)


def plan_model(model: tf.keras.Model, in_fx: Fx = DEFAULT_INPUT, passes=None,
               io_type: str = IO_PARALLEL) -> dict[str, LayerPlan]:
    """Per-layer plan (types, quantized constants) in topological order, then the passes
    (``passes``, or those of a project in ``io_type``)."""
    plans: dict[str, LayerPlan] = {}
    for layer in model.layers:
        kind = kind_of(layer)
        inputs = inbound_names(model, layer)
        xins = [plans[i].out for i in inputs] or [in_fx]
        plan = kind.plan(layer, layer.name, inputs, xins)
        shape = layer.output_shape[0] if isinstance(layer.output_shape, list) else \
            layer.output_shape
        plan.shape = tuple(int(d) for d in shape[1:])
        plan.elems = int(np.prod(plan.shape))
        plans[layer.name] = plan
    return run_passes(plans, passes_for(io_type) if passes is None else passes)


def fuse_output_quantizers(plans: dict[str, LayerPlan]) -> dict[str, LayerPlan]:
    """The fusion pass alone (see :class:`~.passes.FuseOutputQuantizers`)."""
    FuseOutputQuantizers().apply(plans)
    return plans


def precision_table(plans: dict[str, LayerPlan]) -> list[dict]:
    """Rows for the report: name, type, every precision string, reuse factor."""
    return [p.row() for p in plans.values() if not passes_through(p.kind)]
