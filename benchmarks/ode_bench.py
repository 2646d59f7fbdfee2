"""Neural-ODE encoder against stacked blocks (not a test; issue #19's targets).

For digits-patches and SST-2 (``benchmarks/configs/<dataset>.yaml``, 8-bit weights), three
encoders of the same width:

* ``ode1-n4``: one weight-shared block iterated as 4 Euler steps (``--layers 1 --ode-steps 4``);
* ``stack4``: 4 stacked blocks (the same compute, 4 times the encoder weights);
* ``stack2``: the 2-block default (twice the ODE's encoder parameters, half its compute);
* ``ode2-n4``: two ODE blocks of 4 steps each: the 2-block default's parameters exactly.

Steps:

* ``train``: one ordinary build per point and seed (``python -m qtransformer.build --config
  ... --no-hls``): train, evaluate, save ``model.h5``.
* ``hls``: the ODE point's seed-0 model converted in the build's io form, g++-compiled and
  co-verified on the whole test split, with the board-fitted ESTIMATE.
* ``steps``: each ODE seed's model evaluated at N = 1..8 Euler steps (same weights:
  ``qtransformer.layers.ode.with_steps``), the speed / accuracy trade-off.
* ``report``: ``benchmarks/results/ode_bench.{json,md}`` and ``ode_steps.png``.

    python benchmarks/ode_bench.py --seeds 0 1 2
    python benchmarks/ode_bench.py --datasets sst2 --only ode1-n4 --steps train

Encoder parameters are those of the blocks (``block*`` layers); hardware figures are each
build's board-fitted estimate of seed 0 (analytical; calibration bands in docs/calibration.md);
co-verification is g++ C simulation.
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
WORK = ROOT / "models" / "bench-ode"
POINTS = {"ode1-n4": ["--layers", "1", "--ode-steps", "4"], "stack4": ["--layers", "4"],
          "stack2": ["--layers", "2"], "ode2-n4": ["--layers", "2", "--ode-steps", "4"]}
STEPS = tuple(range(1, 9))


def seed_dir(dataset: str, name: str, seed: int) -> Path:
    return WORK / dataset / (name if seed == 0 else f"{name}-s{seed}")


def train(dataset: str, only: list[str] | None, seeds: list[int]) -> None:
    for (name, flags), seed in itertools.product(POINTS.items(), seeds):
        if only and name not in only:
            continue
        out = seed_dir(dataset, name, seed)
        if (out / "report.json").is_file():
            print(f"[{dataset} {name} seed {seed}] done already", flush=True)
            continue
        cmd = [sys.executable, "-m", "qtransformer.build", "--config",
               str(ROOT / "benchmarks" / "configs" / f"{dataset}.yaml"), *flags,
               "--seed", str(seed), "--no-hls", "--output", str(out), "--force", "--quiet"]
        print("$", " ".join(cmd[1:]), flush=True)
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
        print(proc.stdout[-400:], f"({time.time() - t0:.0f} s)", flush=True)
        if proc.returncode not in (0, 3):   # 3: trained, but the estimate does not fit
            raise SystemExit(proc.stderr[-3000:])


def _load(run: Path):
    from qtransformer.config import config_from_dict
    from qtransformer.data import load_dataset
    from qtransformer.model import load_model

    cfg = config_from_dict(json.loads((run / "report.json").read_text())["config"])
    return cfg, load_dataset(cfg.data, cfg.train.seed), load_model(run / "model.h5")


def hls(dataset: str) -> None:
    """Convert, compile and co-verify the ODE point (seed 0); ``hls.json`` beside its report."""
    from qtransformer.boards import get_board
    from qtransformer.config import resolve_backend
    from qtransformer.hls.flow import build_hls

    run = WORK / dataset / "ode1-n4"
    cfg, data, model = _load(run)
    print(f"[{dataset} ode1-n4] hls", flush=True)
    result = build_hls(model, get_board(cfg.board), run / "hls", data.x_train, data.x_test,
                       n_tb=10, y_check=data.y_test, printer=print, io=cfg.hls.io_type,
                       backend=resolve_backend(cfg.hls.backend))
    est = result["estimate"]
    keep = {"io_type": est["io_type"], "fits": est["fits"], "total": est["total"],
            "utilization": est["utilization"], "coverify": result["coverify"],
            "layers": [{k: layer[k] for k in ("name", "kind", "reuse", "lut", "ff", "bram36",
                                              "dsp", "cycles")} for layer in est["layers"]]}
    (run / "hls.json").write_text(json.dumps(keep, indent=1, default=str))


def steps(dataset: str) -> None:
    """Test accuracy of every ODE seed's model at N = 1..8 steps; ``steps.json``."""
    from qtransformer.layers.ode import with_steps

    for run in sorted((WORK / dataset).glob("ode1-n4*")):   # trained at N = 4
        if not (run / "model.h5").is_file():
            continue
        _, data, model = _load(run)
        acc = {}
        for n in STEPS:
            logits = with_steps(model, n).predict(data.x_test, batch_size=256, verbose=0)
            acc[n] = float(np.mean(np.argmax(logits, -1) == data.y_test))
            print(f"[{dataset} {run.name}] N={n}: {100 * acc[n]:.2f}%", flush=True)
        (run / "steps.json").write_text(json.dumps(acc, indent=1))


def encoder_params(run: Path) -> int:
    """Parameters of the encoder blocks (layers named ``block*``), from the saved model."""
    from qtransformer.model import load_model

    model = load_model(run / "model.h5")
    return sum(layer.count_params() for layer in model.layers if layer.name.startswith("block"))


def row(dataset: str, name: str) -> dict | None:
    runs = [d for d in sorted((WORK / dataset).glob(f"{name}*"))
            if (d / "report.json").is_file() and d.name.split("-s")[0] == name]
    if not runs:
        return None
    reports = {d: json.loads((d / "report.json").read_text()) for d in runs}
    acc = np.array([r["accuracy"] for r in reports.values()])
    f1 = np.array([r["f1"] for r in reports.values()])
    first = reports[runs[0]]
    out = {"dataset": dataset, "point": name, "seeds": len(runs),
           "accuracy_by_seed": {d.name: r["accuracy"] for d, r in reports.items()},
           "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std()),
           "macro_f1_mean": float(f1.mean()), "encoder_params": encoder_params(runs[0]),
           "device_params": first["costs"]["device_params"],
           "device_bits": first["costs"]["device_bits"], "macs": first["costs"]["macs"],
           "train_s_mean": float(np.mean([r["training"].get("seconds") or 0
                                          for r in reports.values()]))}
    est = first.get("hardware_estimate") or {}    # the build's board-fitted estimate
    if est:
        out.update(io_type=est["io_type"], fits=est["fits"],
                   estimate={k: est[k] for k in ("lut", "ff", "bram36", "dsp", "cycles")})
    h = WORK / dataset / name / "hls.json"
    if h.is_file():
        h = json.loads(h.read_text())
        cv = h["coverify"]
        out.update(io_type=h["io_type"], fits=h["fits"], estimate=h["total"],  # the converted
                   agreement=cv["argmax_agreement"], max_error_lsb=cv["max_error_lsb"],
                   csim_n=cv["n"], layers=h["layers"])
    by_n = [json.loads((d / "steps.json").read_text()) for d in runs
            if (d / "steps.json").is_file()]
    if by_n:
        out["accuracy_by_steps"] = {n: {"mean": float(np.mean([b[str(n)] for b in by_n])),
                                        "std": float(np.std([b[str(n)] for b in by_n])),
                                        "seeds": len(by_n)} for n in STEPS}
    return out


def report(datasets: list[str]) -> None:
    rows = [r for ds in datasets for name in POINTS if (r := row(ds, name))]
    old = json.loads((RESULTS / "ode_bench.json").read_text())["rows"] \
        if (RESULTS / "ode_bench.json").is_file() else []
    rows += [r for r in old if r["dataset"] not in datasets]
    meta = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": os.cpu_count(), "command": "python benchmarks/ode_bench.py",
            "configs": {ds: f"benchmarks/configs/{ds}.yaml" for ds in ("digits-patches", "sst2")}}
    (RESULTS / "ode_bench.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (RESULTS / "ode_bench.md").write_text(markdown(rows, meta))
    plot(rows, RESULTS / "ode_steps.png")
    print(f"wrote {RESULTS / 'ode_bench.md'}")


def markdown(rows: list[dict], meta: dict) -> str:
    lines = ["# Neural-ODE encoder against stacked blocks (issue #19)", "",
             f"Generated {meta['generated']} by `{meta['command']}` ({meta['cpus']} CPUs); "
             "configs `benchmarks/configs/{digits-patches,sst2}.yaml`, 8-bit weights. Accuracy "
             "on the test split (SST-2: the 872 GLUE dev sentences), mean and population std "
             "over the seeds trained. Encoder parameters: the blocks' (an ODE block's shared "
             "weights once). LUT / FF / BRAM36 / DSP / cycles: board-fitted ESTIMATE (not "
             "synthesis) of the seed-0 design; csim: g++ C simulation against Keras on the "
             "whole test split.", "",
             "| data | encoder | seeds | accuracy mean (std) | macro-F1 mean | encoder params | "
             "x fewer than stack4 | MACs | io | fits | LUT | FF | BRAM36 | DSP | cycles | csim "
             "agreement / LSB |", "|---" * 16 + "|"]
    stack4 = {r["dataset"]: r["encoder_params"] for r in rows if r["point"] == "stack4"}
    for r in rows:
        est = r.get("estimate") or {}
        csim = (f"{100 * r['agreement']:.2f}% / {r['max_error_lsb']:g} ({r['csim_n']})"
                if "agreement" in r else "-")
        ratio = stack4.get(r["dataset"])
        lines.append(
            f"| {r['dataset']} | {r['point']} | {r['seeds']} | {100 * r['accuracy_mean']:.2f}% "
            f"({100 * r['accuracy_std']:.2f}) | {100 * r['macro_f1_mean']:.2f}% | "
            f"{r['encoder_params']:,} | "
            + (f"{ratio / r['encoder_params']:.2f} | " if ratio else "- | ")
            + f"{r['macs']:,} | {r.get('io_type', '-')} | {r.get('fits', '-')} | "
            + " | ".join(f"{est[k]:,}" if k in est else "-"
                         for k in ("lut", "ff", "bram36", "dsp", "cycles")) + f" | {csim} |")
    for r in rows:
        if "accuracy_by_steps" in r:
            a = r["accuracy_by_steps"]
            seeds = next(iter(a.values()))["seeds"]
            lines += ["", f"Accuracy of `{r['dataset']}` {r['point']} (trained at N = 4) "
                      f"evaluated at N steps (mean over {seeds} seeds; the latency is N times "
                      "one block's):", "",
                      "| N | " + " | ".join(str(n) for n in a) + " |", "|---" * (len(a) + 1) + "|",
                      "| accuracy | " + " | ".join(f"{100 * v['mean']:.2f}%" for v in a.values())
                      + " |"]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        if "accuracy_by_steps" not in r:
            continue
        a = r["accuracy_by_steps"]
        n = [int(k) for k in a]
        mean = np.array([v["mean"] for v in a.values()]) * 100
        std = np.array([v["std"] for v in a.values()]) * 100
        ax.errorbar(n, mean, yerr=std, marker="o", capsize=3, label=f"{r['dataset']} (trained "
                    "at N = 4)")
    ax.set_xlabel("Euler steps N at inference (latency x N)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Neural-ODE encoder: accuracy against steps")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["digits-patches", "sst2"])
    p.add_argument("--steps", nargs="+", default=["train", "hls", "steps", "report"],
                   choices=["train", "hls", "steps", "report"])
    p.add_argument("--only", nargs="+", choices=list(POINTS), help="train step: these points")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="train step: seeds")
    args = p.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for ds in args.datasets:
        if "train" in args.steps:
            train(ds, args.only, args.seeds)
        if "hls" in args.steps:
            hls(ds)
        if "steps" in args.steps:
            steps(ds)
    if "report" in args.steps:
        report(args.datasets)


if __name__ == "__main__":
    main()
