"""Block-circulant weights against dense at the same bits (not a test; issue #18's targets).

For digits and SST-2 (``benchmarks/configs/<dataset>.yaml``), block 4 / 8 / 16 against dense
(block 1), at 8-bit and at ternary weights, plus the float dense model the ternary target is
taken against. Three steps:

* ``train``: one ordinary build per point (``python -m qtransformer.build --config ...
  --circulant B --bits W --no-hls``, digits with ``--epochs 150``): train, evaluate, save
  ``model.h5``. Minutes each.
* ``hls``: per quantized point, the saved model converted in the build's io form, g++-compiled
  and co-verified on the whole test split (100% / 0 LSB is the target), with the board-fitted
  ESTIMATE of the design that was converted. About a minute each.
* ``report``: ``benchmarks/results/circulant_bench.{json,md}``.

    python benchmarks/circulant_bench.py                          # all steps, both data sets
    python benchmarks/circulant_bench.py --datasets digits --steps hls report

FPGA-part bits are the stored parameters on the FPGA at their quantized widths (a text model's
token table stays on the host); "x smaller than float32" is taken against float32 weights of
the same shapes, dense. Hardware figures are the analytical estimate (calibration bands in
docs/calibration.md), co-verification is g++ C simulation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "models" / "bench-circulant"
BLOCKS = (1, 4, 8, 16)
WEIGHTS = ("8", "ternary")
# digits: up to 150 epochs instead of the config's 60 (early stopping, patience 20, decides):
# circulant points still improved at epoch 60; a point that stopped earlier trains the same
EXTRA = {"digits": ["--epochs", "150"], "sst2": []}


def points() -> list[tuple[str, str, int]]:
    """(name, weights, block): the float dense reference, then each quantized point."""
    return [("float-c1", "float", 1)] + [(f"w{w}-c{b}", w, b) for w in WEIGHTS for b in BLOCKS]


def seed_dir(dataset: str, name: str, seed: int) -> Path:
    """A point's run directory: seed 0 (the HLS step's) ``<name>``, others ``<name>-s<seed>``."""
    return WORK / dataset / (name if seed == 0 else f"{name}-s{seed}")


def train(dataset: str, only: list[str] | None, seeds: list[int]) -> None:
    for (name, bits, block), seed in itertools.product(points(), seeds):
        if only and name not in only:
            continue
        out = seed_dir(dataset, name, seed)
        cmd = [sys.executable, "-m", "qtransformer.build", "--config",
               str(ROOT / "benchmarks" / "configs" / f"{dataset}.yaml"), "--bits", bits,
               "--circulant", str(block), *EXTRA[dataset], "--seed", str(seed), "--no-hls",
               "--output", str(out), "--force", "--quiet"]
        print("$", " ".join(cmd[1:]), flush=True)
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
        print(proc.stdout[-400:], f"({time.time() - t0:.0f} s)", flush=True)
        if proc.returncode not in (0, 3):   # 3: trained, but the estimate does not fit
            raise SystemExit(proc.stderr[-3000:])


def hls(dataset: str, only: list[str] | None) -> None:
    """Convert, compile and co-verify each quantized point's saved model; writes
    ``<point>/hls.json`` beside its report."""
    from qtransformer.boards import get_board
    from qtransformer.config import config_from_dict, resolve_backend
    from qtransformer.data import load_dataset
    from qtransformer.hls.flow import build_hls
    from qtransformer.model import load_model

    data = None
    for name, bits, _ in points():
        run = WORK / dataset / name
        if bits == "float" or (only and name not in only):
            continue
        report = json.loads((run / "report.json").read_text())
        cfg = config_from_dict(report["config"])
        data = data or load_dataset(cfg.data, cfg.train.seed)
        print(f"[{dataset} {name}] hls", flush=True)
        result = build_hls(load_model(run / "model.h5"), get_board(cfg.board), run / "hls",
                           data.x_train, data.x_test, n_tb=10, y_check=data.y_test,
                           printer=print, io=cfg.hls.io_type,
                           backend=resolve_backend(cfg.hls.backend))
        est = result["estimate"]
        keep = {"io_type": est["io_type"], "fits": est["fits"], "total": est["total"],
                "utilization": est["utilization"], "coverify": result["coverify"],
                "layers": [{k: layer[k] for k in ("name", "kind", "reuse", "lut", "ff", "bram36")}
                           for layer in est["layers"]]}
        (run / "hls.json").write_text(json.dumps(keep, indent=1, default=str))


def row(dataset: str, name: str, bits: str, block: int, ref: dict | None) -> dict:
    """One point's figures; ``ref``: the float dense point's row (for "points below float",
    seed 0 against seed 0 and, where both have several seeds, mean against mean)."""
    from qtransformer.evaluate.report import float32_ratio

    run = WORK / dataset / name
    r = json.loads((run / "report.json").read_text())
    h = json.loads((run / "hls.json").read_text()) if (run / "hls.json").is_file() else None
    c = r["costs"]
    out = {"dataset": dataset, "point": name, "weights": bits, "block": block,
           "accuracy": r["accuracy"], "macro_f1": r["f1"],
           "device_params": c["device_params"], "device_dense_params": c["device_dense_params"],
           "device_bits": c["device_bits"], "device_nonzero_bits": c["device_nonzero_bits"],
           "x_smaller_than_float32": round(float32_ratio(c), 2),
           "macs": c["macs"], "bops": c["bops"], "train_s": r["training"].get("seconds"),
           "epochs": r["training"].get("epochs_run")}

    seeds = {0: r["accuracy"]} | {int(d.name.rsplit("-s", 1)[1]):
                                  json.loads((d / "report.json").read_text())["accuracy"]
                                  for d in sorted(run.parent.glob(f"{name}-s*"))
                                  if (d / "report.json").is_file()}
    if len(seeds) > 1:
        acc = np.array(list(seeds.values()))
        out.update(accuracy_by_seed=seeds, accuracy_mean=float(acc.mean()),
                   accuracy_std=float(acc.std()))
    if ref is not None:
        out["points_below_float"] = round(100 * (ref["accuracy"] - r["accuracy"]), 2)
        if "accuracy_mean" in ref and "accuracy_mean" in out:
            out["points_below_float_mean"] = round(
                100 * (ref["accuracy_mean"] - out["accuracy_mean"]), 2)
    if h:
        cv = h["coverify"]
        out.update(io_type=h["io_type"], fits=h["fits"], estimate=h["total"],
                   utilization=h["utilization"], agreement=cv["argmax_agreement"],
                   max_error_lsb=cv["max_error_lsb"], csim_n=cv["n"])
    return out


def report(datasets: list[str]) -> None:
    rows = []
    for ds in datasets:
        ref = row(ds, *points()[0], None) \
            if (WORK / ds / "float-c1" / "report.json").is_file() else None
        for name, bits, block in points():
            if (WORK / ds / name / "report.json").is_file():
                rows.append(row(ds, name, bits, block, ref))
    old = json.loads((RESULTS / "circulant_bench.json").read_text())["rows"] \
        if (RESULTS / "circulant_bench.json").is_file() else []
    rows += [r for r in old if r["dataset"] not in datasets]
    rows.sort(key=lambda r: (r["dataset"], r["weights"] != "float", r["weights"], r["block"]))
    meta = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": os.cpu_count(), "command": "python benchmarks/circulant_bench.py",
            "configs": {ds: f"benchmarks/configs/{ds}.yaml" for ds in ("digits", "sst2")}}
    (RESULTS / "circulant_bench.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                            indent=1))
    (RESULTS / "circulant_bench.md").write_text(markdown(rows, meta))
    print(f"wrote {RESULTS / 'circulant_bench.md'}")


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["# Block-circulant weights against dense (issue #18)", "",
             f"Generated {meta['generated']} by `{meta['command']}` ({meta['cpus']} CPUs); "
             "configs `benchmarks/configs/{digits,sst2}.yaml`, seed 0. Accuracy and macro-F1 on "
             "the test split (SST-2: the 872 GLUE dev sentences). FPGA-part bits: parameters on "
             "the FPGA at their widths; x float32: against dense float32 weights of the same "
             "shapes. LUT / FF / BRAM36: board-fitted ESTIMATE (not synthesis) of the design "
             "converted; csim: g++ C simulation against Keras on the whole test split.", "",
             "Accuracy and its points below float: seed 0; mean of seeds: population std, and "
             "the mean's points below the float mean.", "",
             "| data | weights | block | accuracy | macro-F1 | pts below float | mean of seeds "
             "(std; pts below float) | FPGA-part bits | x float32 | io | fits | LUT | FF | "
             "BRAM36 | cycles | csim agreement / LSB |", "|---" * 16 + "|"]
    for r in rows:
        est = r.get("estimate") or {}
        csim = (f"{100 * r['agreement']:.2f}% / {r['max_error_lsb']:g} ({r['csim_n']})"
                if "agreement" in r else "-")
        lines.append(
            f"| {r['dataset']} | {r['weights']} | {r['block']} | {100 * r['accuracy']:.2f}% | "
            f"{100 * r['macro_f1']:.2f}% | {r.get('points_below_float', '-')} | "
            + (f"{100 * r['accuracy_mean']:.2f}% ({100 * r['accuracy_std']:.2f}, "
               f"{len(r['accuracy_by_seed'])} seeds; {r.get('points_below_float_mean', '-')}) | "
               if "accuracy_mean" in r else "- | ")
            + f"{r['device_bits']:,} | {r['x_smaller_than_float32']:.1f} | "
            f"{r.get('io_type', '-')} | {r.get('fits', '-')} | "
            + " | ".join(f"{est[k]:,}" if k in est else "-"
                         for k in ("lut", "ff", "bram36", "cycles")) + f" | {csim} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "sst2"])
    p.add_argument("--steps", nargs="+", default=["train", "hls", "report"],
                   choices=["train", "hls", "report"])
    p.add_argument("--only", nargs="+", help="points to run (e.g. w8-c8)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0],
                   help="train step: seeds per point (0 is the one converted; others go to "
                        "<point>-s<seed> and add a mean to the report)")
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for ds in args.datasets:
        if "train" in args.steps:
            train(ds, args.only, args.seeds)
        if "hls" in args.steps:
            hls(ds, args.only)
    if "report" in args.steps:
        report(args.datasets)


if __name__ == "__main__":
    main()
