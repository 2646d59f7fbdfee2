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
import json
import os
import subprocess
import sys
import time
from pathlib import Path

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


def train(dataset: str, only: list[str] | None) -> None:
    for name, bits, block in points():
        if only and name not in only:
            continue
        out = WORK / dataset / name
        cmd = [sys.executable, "-m", "qtransformer.build", "--config",
               str(ROOT / "benchmarks" / "configs" / f"{dataset}.yaml"), "--bits", bits,
               "--circulant", str(block), *EXTRA[dataset], "--no-hls", "--output", str(out),
               "--force", "--quiet"]
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


def row(dataset: str, name: str, bits: str, block: int, float_acc: float | None) -> dict:
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
    if float_acc is not None:
        out["points_below_float"] = round(100 * (float_acc - r["accuracy"]), 2)
    if h:
        cv = h["coverify"]
        out.update(io_type=h["io_type"], fits=h["fits"], estimate=h["total"],
                   utilization=h["utilization"], agreement=cv["argmax_agreement"],
                   max_error_lsb=cv["max_error_lsb"], csim_n=cv["n"],
                   weight_memory=sum(x["bram36"] for x in h["layers"]))
    return out


def report(datasets: list[str]) -> None:
    rows = []
    for ds in datasets:
        fl = WORK / ds / "float-c1" / "report.json"
        float_acc = json.loads(fl.read_text())["accuracy"] if fl.is_file() else None
        for name, bits, block in points():
            if (WORK / ds / name / "report.json").is_file():
                rows.append(row(ds, name, bits, block, float_acc))
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
             "| data | weights | block | accuracy | macro-F1 | pts below float | FPGA-part bits | "
             "x float32 | io | fits | LUT | FF | BRAM36 | cycles | csim agreement / LSB |",
             "|---" * 15 + "|"]
    for r in rows:
        est = r.get("estimate") or {}
        csim = (f"{100 * r['agreement']:.2f}% / {r['max_error_lsb']:g} ({r['csim_n']})"
                if "agreement" in r else "-")
        lines.append(
            f"| {r['dataset']} | {r['weights']} | {r['block']} | {100 * r['accuracy']:.2f}% | "
            f"{100 * r['macro_f1']:.2f}% | {r.get('points_below_float', '-')} | "
            f"{r['device_bits']:,} | {r['x_smaller_than_float32']:.1f} | "
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
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for ds in args.datasets:
        if "train" in args.steps:
            train(ds, args.only)
        if "hls" in args.steps:
            hls(ds, args.only)
    if "report" in args.steps:
        report(args.datasets)


if __name__ == "__main__":
    main()
