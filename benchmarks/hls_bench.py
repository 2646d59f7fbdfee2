"""HLS benchmark (not a test): build with the HLS stage, then time `make csim` (g++).

For each configuration: QKeras -> hls4ml conversion time, g++ compile time, co-verification
on the whole test split (argmax agreement, max error in output LSBs, HLS vs Keras accuracy),
the standalone testbench (`make csim`) on tb_data with its time per sample, and the
resource estimate for the board (an estimate, not synthesis).

    python benchmarks/hls_bench.py                       # digits (4 widths) + SST-2 8-bit
    python benchmarks/hls_bench.py --only digits-8
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SST2 = ROOT.parent / "shared" / "data" / "sst2"
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "models" / "bench-hls"

SST2_FLAGS = ["--dataset", str(SST2 / "train.tsv"), "--val-file", str(SST2 / "dev.tsv"),
              "--test-file", str(SST2 / "test.tsv"), "--d-model", "64", "--ff-dim", "128",
              "--seq-len", "48", "--vocab-size", "8000", "--lr", "1e-3", "--batch-size", "128",
              "--epochs", "2"]
CONFIGS = {
    "digits-8": ["--bits", "8"],
    "digits-4": ["--bits", "4"],
    "digits-ternary": ["--bits", "ternary"],
    "digits-binary": ["--bits", "binary"],
    "sst2-8": ["--bits", "8", *SST2_FLAGS],
}


def run_one(name: str, flags: list[str]) -> dict:
    out, hls = WORK / name, WORK / f"{name}-hls"
    cmd = [sys.executable, "-m", "qtransformer.build", *flags, "--output", str(out),
           "--hls-output", str(hls), "--force", "--quiet"]
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    print(proc.stdout[-1500:], flush=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return {"name": name, **measure(name)}


def measure(name: str) -> dict:
    """Figures from the build's report plus a `make csim` run on its project."""
    out, hls = WORK / name, WORK / f"{name}-hls"
    r = json.loads((out / "report.json").read_text())
    h = r["hls"]
    t0 = time.time()
    make = subprocess.run(["make", "-s", "-C", str(ROOT / "vivado"), "csim", f"PRJ={hls}",
                           f"PYTHON={sys.executable}"], text=True, capture_output=True)
    csim_s = time.time() - t0
    lines = [ln for ln in (make.stdout + make.stderr).splitlines() if "csim " in ln]
    line = lines[-1] if lines else (make.stdout + make.stderr)[-300:]
    found = re.search(r"(\d+) samples", line)
    samples = int(found.group(1)) if found else 0
    run_s = _testbench_seconds(hls)
    return {"bits": r["config"]["quant"]["bits"], "accuracy": r["accuracy"],
            "hls_accuracy": h["coverify"]["hls_accuracy"],
            "argmax_agreement": h["coverify"]["argmax_agreement"],
            "max_error_lsb": h["coverify"]["max_error_lsb"], "n": h["coverify"]["n"],
            "convert_s": h["convert_s"], "compile_s": h["compile_s"],
            "make_csim_ok": make.returncode == 0, "make_csim_line": line,
            "make_csim_s": round(csim_s, 1), "csim_samples": samples,
            "csim_ms_per_sample": round(1000 * run_s / max(samples, 1), 3),
            "estimate": h["estimate"]["total"], "fits": h["estimate"]["fits"],
            "strategy": h["strategy"]}


def _testbench_seconds(hls: Path) -> float:
    """Time the already built testbench binary alone (no compile)."""
    t0 = time.time()
    subprocess.run(["./csim_tb"], cwd=hls, capture_output=True)
    return time.time() - t0


def write_markdown(rows: list[dict]) -> None:
    lines = ["| model | weights | Keras acc | HLS acc | agreement | max err (LSB) | n | "
             "convert s | g++ compile s | make csim | csim ms/sample | LUT / DSP / BRAM36 "
             "(estimate) | fits |", "|---" * 13 + "|"]
    for r in rows:
        e = r["estimate"]
        lines.append(
            f"| {r['name']} | {r['bits']} | {100 * r['accuracy']:.2f}% | "
            f"{100 * r['hls_accuracy']:.2f}% | {100 * r['argmax_agreement']:.2f}% | "
            f"{r['max_error_lsb']:g} | {r['n']} | {r['convert_s']:.1f} | {r['compile_s']:.1f} | "
            f"{'OK' if r['make_csim_ok'] else 'FAIL'} ({r['csim_samples']}) | "
            f"{r['csim_ms_per_sample']:.2f} | {e['lut']:,} / {e['dsp']} / {e['bram36']} | "
            f"{'yes' if r['fits'] else 'no'} |")
    (RESULTS / "hls_bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    p.add_argument("--measure-only", action="store_true",
                   help="re-measure existing builds (make csim, timings) without rebuilding")
    args = p.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "hls_bench.json"
    rows = {r["name"]: r for r in (json.loads(path.read_text()) if path.exists() else [])}
    for name in args.only:
        rows[name] = {"name": name, **measure(name)} if args.measure_only else \
            run_one(name, CONFIGS[name])
        path.write_text(json.dumps(list(rows.values()), indent=2) + "\n")
    write_markdown(list(rows.values()))


if __name__ == "__main__":
    main()
