"""Accuracy effect of the cheap integer LayerNorm and softmax (not a test).

The LayerNorm and softmax are integer definitions that the HLS templates compute bit for bit.
Until 2026-12 they used a divider (and, in LayerNorm, a bit-serial square root); now each takes
``1/sqrt`` or ``1/sum`` from a small ROM (``qtransformer/layers/intmath.py``). This benchmark
takes finished runs (their ``model.h5`` and ``config.yaml``), evaluates each test split with
the current definitions and again with the divider definitions (kept below for this purpose
only), on the same weights, and reports both accuracies and how many predictions differ.

    python benchmarks/intdef_bench.py models/bench-stream/digits-default models/bench-stream/sst2-8

Writes benchmarks/results/intdef_bench.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def divider_layernorm(x, gamma_raw, beta_raw, param_frac, out_frac, out_min, out_max, epsilon):
    """The previous definition: ``inv = floor(2**48 / isqrt(M 4**8))`` (a 64/64-bit divider
    and a 32-step square root in hardware)."""
    import tensorflow as tf

    from qtransformer.layers.norm import ln_eps_raw, round_shift

    n = int(x.shape[-1])
    xr = tf.cast(tf.round(tf.cast(x, tf.float64) * 2.0**out_frac), tf.int64)
    d = n * xr - tf.reduce_sum(xr, axis=-1, keepdims=True)
    v = tf.reduce_sum(d * d, axis=-1, keepdims=True)
    m = n * (v + ln_eps_raw(epsilon, n, out_frac))
    k = tf.add_n([tf.cast(m >= 2 ** (46 + 2 * j), tf.int64) for j in range(9)])
    m = tf.bitwise.right_shift(m, 2 * k)
    mm = m * 4**8
    root = tf.cast(tf.floor(tf.sqrt(tf.cast(mm, tf.float64))), tf.int64)
    for _ in range(2):
        root = tf.where(root * root > mm, root - 1, root)
        root = tf.where((root + 1) * (root + 1) <= mm, root + 1, root)
    inv = tf.math.floordiv(tf.constant(2**48, tf.int64), root)
    z = tf.math.floordiv(d * n * inv, tf.bitwise.left_shift(tf.ones_like(k), k))
    y = z * gamma_raw + beta_raw * 2**40
    y = round_shift(y, 40 + param_frac - out_frac)
    return tf.clip_by_value(y, out_min, out_max)


def divider_softmax(scores, table, score_frac, prob_frac, keep=None):
    """The previous definition: ``p = floor(e 2**prob_frac / sum(e))`` (a divider per key)."""
    import tensorflow as tf

    s_raw = tf.cast(tf.round(scores * 2.0**score_frac), tf.int64)
    if keep is not None:
        s_raw = tf.where(keep, s_raw, tf.reduce_min(s_raw, axis=-1, keepdims=True))
    d_raw = tf.minimum(tf.reduce_max(s_raw, axis=-1, keepdims=True) - s_raw, table.shape[0] - 1)
    e_raw = tf.gather(tf.constant(table, tf.int64), d_raw)
    if keep is not None:
        e_raw = tf.where(keep, e_raw, tf.zeros_like(e_raw))
    total = tf.reduce_sum(e_raw, axis=-1, keepdims=True)
    return tf.cast(tf.math.floordiv(e_raw * 2**prob_frac, total), tf.float32) * 2.0**-prob_frac


def predictions(run: Path):
    import numpy as np

    from qtransformer.config import load_config
    from qtransformer.model import load_model
    from qtransformer.pipeline import BuildContext, step_data

    ctx = BuildContext(load_config(run / "config.yaml"), printer=None)
    step_data(ctx)
    model = load_model(run / "model.h5")
    return np.argmax(model.predict(ctx.data.x_test, verbose=0, batch_size=256), -1), \
        np.asarray(ctx.data.y_test)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from qtransformer.layers import attention, norm

    rows = []
    for run in args.runs:
        rom, y = predictions(run)
        saved = norm.integer_layernorm, attention.fixed_softmax
        norm.integer_layernorm, attention.fixed_softmax = divider_layernorm, divider_softmax
        try:
            div, _ = predictions(run)
        finally:
            norm.integer_layernorm, attention.fixed_softmax = saved
        rows.append({"run": str(run.relative_to(ROOT) if run.is_absolute() else run),
                     "n": int(len(y)), "accuracy_rom": float((rom == y).mean()),
                     "accuracy_divider": float((div == y).mean()),
                     "predictions_differ": int((rom != div).sum())})
        print(rows[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "intdef_bench.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["# Integer LayerNorm / softmax: ROM reciprocals against dividers (same weights)", "",
             "`python benchmarks/intdef_bench.py " + " ".join(r["run"] for r in rows) + "`",
             "", "| run | test n | accuracy, ROM (current) | accuracy, divider (before) | "
             "predictions that differ |", "|---|---|---|---|---|"]
    lines += [f"| {r['run']} | {r['n']} | {r['accuracy_rom']:.4f} | {r['accuracy_divider']:.4f}"
              f" | {r['predictions_differ']} |" for r in rows]
    (RESULTS / "intdef_bench.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
