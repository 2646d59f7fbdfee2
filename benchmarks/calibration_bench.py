"""Compare the resource estimate with real synthesis reports, fit its scales, report the error.

Reads `benchmarks/calibration/records.json` (facts read from public hls4ml projects' reports,
each with its source; see `benchmarks/calibration/README.md`), runs our estimator on every
record's layers (`qtransformer.hls.calibrate.estimate_record`), and for each truth (Vivado
post-synthesis utilization, and the HLS C-synthesis estimate) splits the usable records by
project (alternate projects, sorted by name: ``fit`` and ``held_out``), fits one scale per
resource on the fit part and reports the error on the held-out part. Writes
`benchmarks/results/calibration.{json,md}` and the scales and bands a build uses,
`qtransformer/hls/calibration.json` (from the Vivado truth).

    python benchmarks/calibration_bench.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qtransformer.errors import QTError
from qtransformer.hls.calibrate import (
    CALIBRATION,
    RESOURCES,
    band,
    estimate_record,
    fit_scales,
    measured_of,
    rel_error,
)

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "calibration" / "records.json"
RESULTS = ROOT / "benchmarks" / "results"
TRUTHS = ("vivado", "csynth")


def evaluate(records: list[dict], truth: str) -> dict:
    """Every usable record's estimate against ``truth``, its error held out (the scales
    fitted on the other projects), and the scales fitted on all of them (what ships)."""
    usable, skipped = [], []
    for r in records:
        m = measured_of(r, truth)
        if m is None:
            continue
        if r.get("exclude", {}).get(truth):
            skipped.append({"id": r["id"], "why": r["exclude"][truth]})
            continue
        try:
            usable.append((r, estimate_record(r), m))
        except QTError as exc:
            skipped.append({"id": r["id"], "why": str(exc)})
    fitted = fit_scales([(e, m) for _, e, m in usable])
    rows, held, raw = [], {k: [] for k in RESOURCES}, {k: [] for k in RESOURCES}
    for r, e, m in usable:
        group = r.get("group", r["id"])
        others = fit_scales([(e2, m2) for r2, e2, m2 in usable
                             if r2.get("group", r2["id"]) != group])
        cal = {k: e[k] * others[k] for k in RESOURCES}
        err = {k: rel_error(cal[k], m[k]) for k in RESOURCES}
        raw_err = {k: rel_error(e[k], m[k]) for k in RESOURCES}
        for k in RESOURCES:
            if err[k] is not None:
                held[k].append(err[k])
                raw[k].append(raw_err[k])
        rows.append({"id": r["id"], "source": r["source"], "group": group,
                     "part": r.get("part"), "io_type": r.get("io_type"), "measured": m,
                     "estimate": {k: e[k] for k in RESOURCES},
                     "calibrated": {k: round(v) for k, v in cal.items()},
                     "error": err, "raw_error": raw_err})
    held_bands = {k: band(held[k]) for k in RESOURCES}
    raw_bands = {k: band(raw[k]) for k in RESOURCES}
    # a scale ships only where it lowers the held-out median error; elsewhere the estimate
    # is used as it is and its band is its own error on the set
    use_scale = {k: held_bands[k]["n"] > 0 and held_bands[k]["median"] < raw_bands[k]["median"]
                 for k in RESOURCES}
    scales = {k: fitted[k] if use_scale[k] else 1.0 for k in RESOURCES}
    bands = {k: held_bands[k] if use_scale[k] else raw_bands[k] for k in RESOURCES}
    n_groups = len({r["group"] for r in rows})
    return {"truth": truth, "fitted": fitted, "use_scale": use_scale, "scales": scales,
            "bands": bands, "held_bands": held_bands, "raw_bands": raw_bands,
            "n_records": len(rows), "n_projects": n_groups, "records": rows,
            "skipped": skipped}


def share(x) -> str:
    return "—" if x is None else f"{x:.0%}"


def pct(x) -> str:
    return "—" if x is None else f"{x:+.0%}"


def markdown(results: dict) -> str:
    out = ["# Estimate vs real synthesis reports", "",
           "Made by `python benchmarks/calibration_bench.py` from "
           "`benchmarks/calibration/records.json`. Estimate = our analytical estimator on each "
           "project's layers; calibrated = estimate x the scales fitted on the OTHER projects "
           "(leave one project out), so every error below is a held-out error: "
           "(calibrated - measured) / measured.", ""]
    for truth, res in results.items():
        what = ("Vivado post-synthesis utilization" if truth == "vivado" else
                "HLS C-synthesis estimate (csynth)")
        out += [f"## Truth: {what}", "",
                f"{res['n_records']} records of {res['n_projects']} projects. Scales fitted on "
                "all of them: " + ", ".join(f"{k.upper()} x{v:.2f}"
                                            for k, v in res["fitted"].items()) + ". "
                "A scale is used only where it lowers the held-out error; the band a build "
                "shows is that of what is used.", "",
                "| resource | scaled: held-out median abs error | 90th pct | unscaled: median abs "
                "error | 90th pct | N | used |", "|---|---|---|---|---|---|---|"]
        for k in RESOURCES:
            b, f = res["held_bands"][k], res["raw_bands"][k]
            used = f"x{res['scales'][k]:.2f}" if res["use_scale"][k] else "unscaled"
            out.append(f"| {k.upper()} | {share(b['median'])} | {share(b['p90'])} | "
                       f"{share(f['median'])} | {share(f['p90'])} | {b['n']} | {used} |")
        out += ["", "| record | part | io | " + " | ".join(
            f"{k.upper()} est / cal / meas (err)" for k in RESOURCES) + " |",
            "|---|---|---|" + "---|" * len(RESOURCES)]
        for r in res["records"]:
            cells = [f"{r['estimate'][k]:,} / {r['calibrated'][k]:,} / {r['measured'][k]:,} "
                     f"({pct(r['error'][k])})" for k in RESOURCES]
            out.append(f"| {r['id']} | {r['part']} | {r['io_type']} | "
                       + " | ".join(cells) + " |")
        if res["skipped"]:
            out += ["", "Not used: " + "; ".join(f"{s['id']} ({s['why']})"
                                                 for s in res["skipped"])]
        out.append("")
    return "\n".join(out)


def main() -> int:
    records = json.loads(RECORDS.read_text())
    results = {t: evaluate(records, t) for t in TRUTHS}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "calibration.json").write_text(json.dumps(
        {"records": [{"source": r["source"], "id": r["id"], "measured": r["measured"],
                      "estimate": r["estimate"], "calibrated_held_out": r["calibrated"]}
                     for r in results["vivado"]["records"]],
         "by_truth": results}, indent=1) + "\n")
    (RESULTS / "calibration.md").write_text(markdown(results))
    viv = results["vivado"]
    CALIBRATION.write_text(json.dumps(
        {"truth": "vivado post-synthesis utilization", "scales": viv["scales"],
         "bands": viv["bands"], "n_records": viv["n_records"],
         "n_projects": viv["n_projects"],
         "made_by": "python benchmarks/calibration_bench.py"}, indent=1) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
