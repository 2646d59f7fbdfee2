"""Streamed hardware benchmark (not a test): io_parallel against io_stream on the board.

Two steps:

* ``estimate``: for each shape in :data:`SHAPES` (SST-2-sized encoders at 8-bit and ternary
  weights, BERT-tiny's width, 128 tokens, the digits default), the board-fitted ESTIMATE in both
  io types of a freshly initialised model (no training: the estimate depends on the weights
  only through the accumulator widths and the zero weights, so the figures are those of an
  untrained model), with the targets of the streaming issue. Seconds.
* ``build``: the real builds in :data:`BUILDS` (``python -m qtransformer.build ...``: train,
  convert, g++-compile, co-verify on the whole test split), recording the verdict, the
  co-verification and the convert + compile time. Minutes each.

    python benchmarks/stream_bench.py                    # both steps
    python benchmarks/stream_bench.py --steps estimate
    python benchmarks/stream_bench.py --steps build --only sst2-8

Writes benchmarks/results/stream_bench.json and .md. Every hardware figure is the analytical
estimate, with the error bands of the calibration (`benchmarks/calibration_bench.py`; no Xilinx
tool has checked these designs); co-verification is g++ C simulation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SST2 = ROOT.parent / "shared" / "data" / "sst2"
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "models" / "bench-stream"

# name: (model shape, weights, tokens, vocabulary or None for digits)
SHAPES = {
    "sst2-8": (dict(d_model=64, heads=4, ff_dim=128, layers=2), "8", 48, 8000),
    "sst2-ternary": (dict(d_model=64, heads=4, ff_dim=128, layers=2), "ternary", 48, 8000),
    "bert-tiny-width-8": (dict(d_model=128, heads=4, ff_dim=256, layers=2), "8", 48, 8000),
    "tokens128-8": (dict(d_model=64, heads=4, ff_dim=128, layers=2), "8", 128, 8000),
    "digits-8": (dict(d_model=32, heads=4, ff_dim=64, layers=2), "8", 8, None),
}
TARGETS = {"lut": 0.70, "ff": 0.70, "bram36": 0.90, "dsp": 0.90}   # share of the board
# latency targets of the streaming issue: (microseconds at the board clock, x the bound)
LATENCY_TARGETS = {"sst2-8": (500, 3), "sst2-ternary": (500, 3), "digits-8": (None, 5)}
SST2_FLAGS = ["--seq-len", "48", "--dataset", str(SST2 / "train.tsv"),
              "--val-file", str(SST2 / "dev.tsv"), "--test-file", str(SST2 / "test.tsv"),
              "--d-model", "64", "--ff-dim", "128"]
BUILDS = {
    "digits-default": [],
    "sst2-8": [*SST2_FLAGS, "--epochs", "4", "--patience", "2"],
    "sst2-ternary": [*SST2_FLAGS, "--bits", "ternary", "--epochs", "4", "--patience", "2"],
}


def estimate_shapes(only: list[str] | None) -> list[dict]:
    import numpy as np
    import tensorflow as tf

    from qtransformer.boards import get_board
    from qtransformer.config import ModelConfig, QuantConfig
    from qtransformer.evaluate import model_costs
    from qtransformer.hls.estimate import verdict
    from qtransformer.hls.flow import board_estimate
    from qtransformer.model import build_model

    board = get_board("pynq-z2")
    rows = []
    for name, (shape, bits, seq, vocab) in SHAPES.items():
        if only and name not in only:
            continue
        tf.keras.utils.set_random_seed(0)
        cfg = ModelConfig(**shape, seq_len=seq, classes=2 if vocab else 10, vocab_size=vocab)
        model = build_model(cfg, QuantConfig(bits=bits), features=None if vocab else 8)
        x = None if vocab else np.random.default_rng(0).integers(0, 17, (256, 8, 8)) / 16
        macs = model_costs(model)["macs"]
        for io in ("parallel", "stream"):
            t0 = time.time()
            fit = board_estimate(model, board, x, io)
            v = verdict(fit, board, macs, fit["io_type"])
            targets = all(v["utilization"][k] <= t for k, t in TARGETS.items())
            us, ratio = LATENCY_TARGETS.get(name, (None, None))
            bound_ratio = v["cycles"] / max(v["bound_cycles"], 1)
            if ratio is not None:
                targets = targets and bound_ratio <= ratio and (us is None or
                                                                v["latency_us"] <= us)
            rows.append({"name": name, "io": io, "bits": bits, "tokens": seq, **shape,
                         "fits": v["fits"], "fits_pessimistic": v["fits_pessimistic"],
                         "within_targets": targets,
                         **{k: v[k] for k in ("lut", "ff", "dsp", "bram36", "cycles",
                                              "latency_us", "bound_cycles")},
                         "utilization": v["utilization"],
                         "bound_ratio": bound_ratio,
                         "seconds": round(time.time() - t0, 2)})
            print(f"[stream_bench] {name} {io}: fits {v['fits']}, LUT {v['lut']:,} "
                  f"({v['utilization']['lut']:.0%}), {v['cycles']:,} cycles", flush=True)
    return rows


def run_build(name: str, flags: list[str]) -> dict:
    out = WORK / name
    cmd = [sys.executable, "-m", "qtransformer.build", "--board", "pynq-z2", *flags,
           "--output", str(out), "--hls-output", str(out / "hls"), "--force", "--quiet",
           "--allow-overfit"]
    print("$", " ".join(cmd), flush=True)
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    print(proc.stdout[-1200:], flush=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    r = json.loads((out / "report.json").read_text())
    v, h = r["hardware_estimate"], r["hls"]
    return {"name": name, "command": "python -m qtransformer.build --board pynq-z2 "
            + " ".join(f.replace(str(ROOT.parent), "..") for f in flags),
            "accuracy": r["accuracy"], "test_n": r["test"]["n"], "io_type": v["io_type"],
            "fits": v["fits"], "fits_pessimistic": v["fits_pessimistic"],
            **{k: v[k] for k in ("lut", "ff", "dsp", "bram36", "cycles", "latency_us",
                                 "bound_cycles")},
            "utilization": v["utilization"],
            "argmax_agreement": h["coverify"]["argmax_agreement"],
            "max_error_lsb": h["coverify"]["max_error_lsb"],
            "convert_compile_s": round(h["convert_s"] + h["compile_s"], 1),
            "seconds": round(time.time() - t0, 1)}


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stream_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Streamed hardware (estimate with calibration bands; pynq-z2, xc7z020, 100 MHz)",
             "", "`fits`: at the estimate; `pessimistic`: with every resource at the 90th "
             "percentile of its calibration error.", "",
             "Untrained models (`python benchmarks/stream_bench.py --steps estimate`); "
             f"targets: LUT <= {TARGETS['lut']:.0%}, FF <= {TARGETS['ff']:.0%}, BRAM36 and "
             f"DSP <= {TARGETS['dsp']:.0%} of the board; SST-2 also <= 0.5 ms and <= 3x the "
             "bound (MACs / DSPs), digits <= 5x the bound.", "",
             "| shape | io | fits | pessimistic | within targets | LUT | FF | DSP | BRAM36 | "
             "cycles | us | x bound |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result.get("estimate", []):
        u = r["utilization"]
        lines.append(f"| {r['name']} | {r['io']} | {r['fits']} | "
                     f"{r.get('fits_pessimistic', '—')} | {r['within_targets']} | "
                     f"{r['lut']:,} ({u['lut']:.0%}) | {r['ff']:,} ({u['ff']:.0%}) | "
                     f"{r['dsp']} ({u['dsp']:.0%}) | {r['bram36']} | {r['cycles']:,} | "
                     f"{r['latency_us']:,.1f} | {r['bound_ratio']:.1f} |")
    if result.get("build"):
        lines += ["", "Real builds (train, convert, g++ csim on the whole test split):", "",
                  "| run | io | accuracy | agreement / LSB | fits | pessimistic | LUT | FF | DSP | "
                  "cycles | convert+compile s | command |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in result["build"]:
            u = r["utilization"]
            lines.append(f"| {r['name']} | {r['io_type']} | {r['accuracy']:.4f} (n "
                         f"{r['test_n']}) | {r['argmax_agreement']:.4f} / "
                         f"{r['max_error_lsb']:g} | {r['fits']} | "
                         f"{r.get('fits_pessimistic', '—')} | {r['lut']:,} "
                         f"({u['lut']:.0%}) | {r['ff']:,} ({u['ff']:.0%}) | {r['dsp']} | "
                         f"{r['cycles']:,} | {r['convert_compile_s']} | `{r['command']}` |")
    (RESULTS / "stream_bench.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", nargs="+", default=["estimate", "build"],
                   choices=["estimate", "build"])
    p.add_argument("--only", nargs="+", help="shape / build names")
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    path = RESULTS / "stream_bench.json"
    result = json.loads(path.read_text()) if path.is_file() else {}
    if "estimate" in args.steps:
        fresh = estimate_shapes(args.only)
        keep = [r for r in result.get("estimate", []) if args.only and r["name"] not in
                args.only]
        result["estimate"] = keep + fresh
    if "build" in args.steps:
        done = {r["name"]: r for r in result.get("build", [])}
        for name, flags in BUILDS.items():
            if not args.only or name in args.only:
                done[name] = run_build(name, flags)
                result["build"] = list(done.values())
                write(result)
    write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
