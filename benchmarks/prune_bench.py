"""Pruning / layer-drop benchmark on digits (not a test): each row is a build with the HLS
stage on, so co-verification and the resource estimate come with it.

    python benchmarks/prune_bench.py            # writes benchmarks/results/prune_bench.{json,md}
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "models" / "bench-prune"

RUNS = {
    "8-bit, no pruning": [],
    "magnitude 75%": ["--prune", "magnitude", "--sparsity", "0.75"],
    "block 4x4 50%": ["--prune", "block", "--block", "4x4", "--sparsity", "0.5"],
    "4 layers, no drop": ["--layers", "4"],
    "4 layers, attention drop 2": ["--layers", "4", "--prune", "layer-drop", "--drop",
                                   "attention", "--drop-count", "2"],
    "4 layers, MLP drop 2": ["--layers", "4", "--prune", "layer-drop", "--drop", "mlp",
                             "--drop-count", "2"],
    "4 layers, joint drop 2": ["--layers", "4", "--prune", "layer-drop", "--drop", "joint",
                               "--drop-count", "2"],
    "4 layers, block drop 1": ["--layers", "4", "--prune", "layer-drop", "--drop", "block",
                               "--drop-count", "1"],
}


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (name, flags) in enumerate(RUNS.items()):
        out = WORK / f"run{k}"
        cmd = [sys.executable, "-m", "qtransformer.build", *flags, "--prune-epochs", "20",
               "--output", str(out), "--hls-output", str(out / "hls"), "--force", "--quiet"]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
        print(proc.stdout[-800:], flush=True)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads((out / "report.json").read_text())
        c = r.get("compression") or {}
        e = r["hls"]["estimate"]["total"]
        rows.append({"name": name, "accuracy": r["accuracy"], "sparsity": r["sparsity"],
                     "accuracy_before": c.get("accuracy_before"),
                     "effective_macs": r["effective_macs"], "macs": r["costs"]["macs"],
                     "nonzero_bits": r["nonzero_bits"],
                     "agreement": r["argmax_agreement"], "max_error_lsb": r["max_error_lsb"],
                     "lut_estimate": e["lut"], "dsp_estimate": e["dsp"],
                     "importance": c.get("importance"),
                     "dropped": (c.get("dropped_attention"), c.get("dropped_mlp")),
                     "speedup_pct_estimate": c.get("mac_speedup_percent_estimate"),
                     "sdr_estimate": c.get("sdr_estimate"), "seconds": r["seconds"]})
        (RESULTS / "prune_bench.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| run | acc. before | acc. after | sparsity | eff. MACs | non-zero bits | "
             "agreement / max err | LUT / DSP (estimate) | dropped (attn, mlp) | speedup % "
             "(MAC est.) | SDR (est.) |", "|---" * 11 + "|"]
    for r in rows:
        before = f"{100 * r['accuracy_before']:.2f}%" if r["accuracy_before"] else "-"
        sdr = f"{r['sdr_estimate']:.3f}" if r["sdr_estimate"] is not None else "-"
        speed = f"{r['speedup_pct_estimate']:.1f}" if r["speedup_pct_estimate"] else "-"
        dropped = r["dropped"] if r["dropped"][0] is not None else "-"
        lines.append(
            f"| {r['name']} | {before} | {100 * r['accuracy']:.2f}% | "
            f"{100 * r['sparsity']:.1f}% | {r['effective_macs']:,} | {r['nonzero_bits']:,} | "
            f"{100 * r['agreement']:.0f}% / {r['max_error_lsb']:g} LSB | "
            f"{r['lut_estimate']:,} / {r['dsp_estimate']} | {dropped} | {speed} | {sdr} |")
    (RESULTS / "prune_bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
