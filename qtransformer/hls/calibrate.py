"""Calibrate the resource ESTIMATE on real synthesis reports, and say how good it is.

The calibration set (``benchmarks/calibration/records.json``) holds facts read from public
hls4ml projects' reports: each project's layers (kind, shape, precisions, reuse factor,
strategy, io type) and what Vivado (post-synthesis) and Vitis/Vivado HLS (C synthesis) reported.
:func:`record_plans` turns a record's layers into the same :class:`LayerPlan` objects our own
builds produce, so :func:`estimate_record` runs the very estimator a build runs.
``benchmarks/calibration_bench.py`` fits the scales and measures the held-out error; the result
ships as ``calibration.json`` beside this module, and :func:`~.bands.calibrated` puts the scale
and the error band on a build's estimate.

``python -m qtransformer.hls.calibrate add PRJ`` appends a project that was synthesized here
(``make synth``: ``reports/synth.json``, and the ``estimate.json`` the build wrote) to the set.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from ..errors import QTError
from ..fixed import Fx
from ..kinds import IO_PARALLEL, IO_STREAM, LayerPlan
from ..kinds.hls4ml_only import KINDS_OF_RECORD
from .bands import CALIBRATION
from .estimate import estimate, totals

RESOURCES = ("lut", "ff", "dsp", "bram18")
SEED = 0


def parse_type(text: str | None, what: str) -> Fx:
    """An hls4ml precision string (``ap_fixed<16,6>``, ``ap_ufixed<8,0,AP_RND_CONV,AP_SAT>``,
    ``ap_int<8>``) as an :class:`Fx`, read by hls4ml's own parser."""
    from hls4ml.backends.fpga.fpga_backend import FPGABackend

    if text is None:
        raise QTError(f"{what}: precision not recorded")
    try:
        t = FPGABackend.convert_precision_string(text.strip())
        rounds = str(getattr(t, "rounding_mode", "TRN")) != "TRN"
        return Fx(int(t.width), int(t.integer), bool(t.signed), rounds)
    except (ValueError, AttributeError, TypeError) as exc:
        raise QTError(f"{what}: cannot read precision {text!r}") from exc


def _kernel(n_in: int, n_out: int, weight: Fx, nonzero: float | None, rng) -> np.ndarray:
    """A stand-in kernel on the weight grid with the recorded share of non-zero weights (the
    estimate reads only its shape, density and whether it is all powers of two)."""
    lo, hi = weight.raw_range()
    raw = rng.integers(max(lo, -(2 ** 12)), min(hi, 2 ** 12) + 1, (n_in, n_out))
    raw[raw == 0] = 1
    raw[0, 0] = 3   # never all powers of two by chance
    if nonzero is not None:
        keep = rng.permutation(raw.size) < round(nonzero * raw.size)
        raw = np.where(keep.reshape(raw.shape), raw, 0)
    return raw * weight.lsb


WIRING = ("flatten", "zeropad", "reshape", "concat", "upsampling")


def _layer_plan(layer: dict, prev: LayerPlan | None, io_type: str, rng,
                binding: str | None = None) -> LayerPlan:
    name, kind = layer["name"], layer["kind"]
    inputs = [prev.name] if prev is not None else []
    if kind in ("dense", "conv1d", "conv2d"):
        t = {k: parse_type(layer.get(k), f"{name} {k}") for k in ("weight", "bias", "accum")}
        out = parse_type(layer.get("result"), f"{name} result")
        n_in, n_out, seq = int(layer["n_in"]), int(layer["n_out"]), int(layer.get("seq") or 1)
        kernel = _kernel(n_in, n_out, t["weight"], layer.get("nonzero"), rng)
        # hls4ml's io_parallel convolution runs one kernel over the output positions (a
        # Dense on a sequence here is unrolled over its tokens at reuse 1)
        shared = kind != "dense" and io_type == IO_PARALLEL
        return LayerPlan(name, "dense", inputs, out, t, {"kernel": kernel,
                                                         "bias": np.zeros(n_out)},
                         {"strategy": (layer.get("strategy") or "latency").lower(),
                          "conv": kind != "dense", "binding": binding},
                         reuse=int(layer.get("reuse") or 1),
                         macs=(1 if shared else seq) * n_in * n_out, elems=seq * n_out,
                         shape=(seq, n_out) if seq > 1 else (n_out,))
    n = int(layer.get("n") or (prev.elems if prev is not None else 1))
    shape = (prev.beats, n // prev.beats) if prev is not None and prev.beats > 1 and \
        n % prev.beats == 0 else (n,)
    lname = name.lower().replace("_", "")
    if kind == "other" and "leaky" in lname:      # a compare and a shift per value
        kind = "relu"
    elif kind == "other" and "quantize" in lname:  # an input quantizer: a cast per value
        kind = "linear"
    if kind in ("relu", "linear"):
        out = parse_type(layer.get("result") or layer.get("input"), f"{name} result")
        return LayerPlan(name, "act", inputs, out, params={"activation": kind}, elems=n,
                         shape=shape)
    if kind in KINDS_OF_RECORD or kind in WIRING or kind == "other" and \
            any(w in lname for w in WIRING + ("zp", "pad")):
        fx = layer.get("result") or layer.get("input")
        out = parse_type(fx, f"{name} result") if fx else (prev.out if prev else Fx(16, 6))
        return LayerPlan(name, KINDS_OF_RECORD.get(kind, "hls4ml_wiring"), inputs, out,
                         elems=n, shape=shape)
    raise QTError(f"layer {name}: kind {kind!r} has no estimate")


def record_plans(record: dict) -> tuple[dict[str, LayerPlan], str]:
    """The record's layers as plans (QTError naming what is missing when it cannot be)."""
    io_type = record.get("io_type") or IO_PARALLEL
    rng = np.random.default_rng(SEED)
    plans, prev = {}, None
    for layer in record["layers"]:
        p = _layer_plan(layer, prev, io_type, rng, record.get("mult_binding"))
        if io_type == IO_STREAM:   # hls4ml's default FIFO depth: one feature map
            p.params["fifo_depth"] = p.beats
        plans[p.name] = prev = p
    if not plans:
        raise QTError("no layers recorded")
    return plans, io_type


def estimate_record(record: dict) -> dict:
    """Our raw (uncalibrated) estimate of a recorded project: LUT, FF, DSP, BRAM18, cycles."""
    if "estimate_raw" in record:        # a project built here: its own estimate, stored
        return dict(record["estimate_raw"])
    plans, io_type = record_plans(record)
    rows = estimate(plans, io_type)
    total = totals(rows, io_type)
    return {"lut": int(total["lut"]), "ff": int(total["ff"]), "dsp": int(total["dsp"]),
            "bram18": int(math.ceil(2 * sum(r.bram36 for r in rows))),
            "cycles": int(total["cycles"])}


def measured_of(record: dict, truth: str) -> dict | None:
    """The record's ``vivado`` (post-synthesis) or ``csynth`` figures, if complete."""
    m = (record.get("measured") or {}).get(truth)
    if not m or any(m.get(k) is None for k in RESOURCES):
        return None
    return {k: m[k] for k in RESOURCES}


def rel_error(est: float, meas: float) -> float | None:
    """Signed relative error of an estimate (None where the measurement is 0)."""
    return (est - meas) / meas if meas else None


def fit_scales(pairs: list[tuple[dict, dict]]) -> dict:
    """One scale per resource: the median of measured / estimated over the pairs where both
    are non-zero (robust to the odd project; 1.0 where there are none)."""
    scales = {}
    for k in RESOURCES:
        ratios = [m[k] / e[k] for e, m in pairs if e[k] > 0 and m[k] > 0]
        scales[k] = float(np.median(ratios)) if ratios else 1.0
    return scales


def band(errors: list[float]) -> dict:
    """Median and 90th percentile of absolute relative errors, and how many."""
    a = np.abs(np.asarray(errors, float))
    if not a.size:
        return {"median": None, "p90": None, "n": 0}
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)), "n": int(a.size)}


# ---- adding a project synthesized here -----------------------------------------------
def project_record(prj: Path) -> dict:
    """A calibration record of a project built by qtransformer and synthesized here: the
    estimate the build stored (``estimate.json``) and the parsed reports (``reports/
    synth.json``, from ``make synth`` / ``make impl``)."""
    est_file, synth_file = prj / "estimate.json", prj / "reports" / "synth.json"
    for f, how in ((est_file, "the qtransformer build writes it"),
                   (synth_file, "run make synth first")):
        if not f.is_file():
            raise QTError(f"{f} not found ({how})")
    est, synth = json.loads(est_file.read_text()), json.loads(synth_file.read_text())
    viv = synth.get("vivado_impl") or synth.get("vivado") or {}
    hls = synth.get("hls") or {}
    if not viv and not hls:
        raise QTError(f"{synth_file} holds no HLS or Vivado figures")
    total = est["total"]

    def figures(d: dict) -> dict | None:
        if not d or d.get("lut") is None:
            return None
        b18 = d.get("bram18")
        if b18 is None and d.get("bram36") is not None:
            b18 = round(2 * d["bram36"])
        return {"lut": d.get("lut"), "ff": d.get("ff"), "dsp": d.get("dsp"), "bram18": b18}

    return {"id": f"local-{prj.resolve().name}-{est.get('io_type', '')}",
            "source": {"repo": "local", "path": str(prj.resolve())}, "group": "local",
            "part": est.get("part"), "io_type": est.get("io_type"), "layers": [],
            "estimate_raw": {"lut": total["lut"], "ff": total["ff"], "dsp": total["dsp"],
                             "bram18": math.ceil(2 * total["bram36"]),
                             "cycles": total["cycles"]},
            "measured": {"vivado": figures(viv), "csynth": figures(hls)},
            "notes": "synthesized with this flow"}


def add_project(prj, records_file) -> dict:
    """Append ``prj``'s record to ``records_file`` (replacing one of the same id)."""
    rec = project_record(Path(prj))
    path = Path(records_file)
    records = json.loads(path.read_text()) if path.is_file() else []
    records = [r for r in records if r.get("id") != rec["id"]] + [rec]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1) + "\n")
    return rec


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qtransformer.hls.calibrate",
                                description="Calibration set of the resource estimate.")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="append a project synthesized with this flow (then "
                                     "python benchmarks/calibration_bench.py refits)")
    add.add_argument("project", help="HLS project directory with its synthesis reports")
    add.add_argument("records", nargs="?", default="benchmarks/calibration/records.json",
                     help="records file (default %(default)s)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    target = args.records
    try:
        rec = add_project(args.project, target)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"added {rec['id']} to {target}: estimate {rec['estimate_raw']}, measured "
          f"{rec['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
