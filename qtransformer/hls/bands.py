"""The calibration a build's estimate carries: per resource the scale fitted on real Vivado
reports and the error band measured on them (``calibration.json``, written by
``benchmarks/calibration_bench.py``; see :mod:`.calibrate`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

CALIBRATION = Path(__file__).with_name("calibration.json")
KEYS = ("lut", "ff", "bram36", "dsp")


def load_calibration() -> dict | None:
    """The shipped calibration (scales and error bands), or None if there is none."""
    return json.loads(CALIBRATION.read_text()) if CALIBRATION.is_file() else None


def calibrated(total: dict, calibration: dict | None = None) -> dict:
    """The calibrated estimate of a design's ``total`` (raw LUT/FF/DSP/BRAM36): per resource
    the scaled value, its error band and the pessimistic end (``value x (1 + p90)``); without
    a calibration, the raw figures marked uncalibrated."""
    cal = calibration if calibration is not None else load_calibration()
    out = {}
    for k in KEYS:
        key = "bram18" if k == "bram36" else k
        b = (cal or {}).get("bands", {}).get(key) or {}
        scale = (cal or {}).get("scales", {}).get(key, 1.0)
        value = total[k] * scale
        high = value * (1 + b["p90"]) if b.get("p90") is not None else value
        out[k] = {"value": math.ceil(value), "raw": total[k], "scale": round(scale, 3),
                  "median_error": b.get("median"), "p90_error": b.get("p90"),
                  "n": b.get("n", 0), "pessimistic": math.ceil(high)}
    out["label"] = (f"error bands from {cal['n_records']} Vivado reports of "
                    f"{cal['n_projects']} hls4ml projects" if cal else "uncalibrated")
    return out


def band_text(key: str, c: dict, share: float | None = None) -> str:
    """``LUT 31,200 (58%; calibrated: median error 18%, 90th percentile 40%, 6 reports)``."""
    of = f"{share:.0%}; " if share is not None else ""
    if c.get("median_error") is None:
        return f"{key.upper()} {c['value']:,} ({of}uncalibrated)"
    return (f"{key.upper()} {c['value']:,} ({of}calibrated: median error "
            f"{c['median_error']:.0%}, 90th percentile {c['p90_error']:.0%}, {c['n']} reports)")
