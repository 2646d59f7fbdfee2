"""``python -m qtransformer.sweep``: quantization presets x pruning levels -> Pareto report.

Each point is an ordinary build (same stages, same seed) into ``OUTPUT/<point>/``; the sweep
collects accuracy, macro-F1, size in bits, BOPs, effective MACs and, where the HLS stage
provides it, the estimated LUT/DSP for the board, and writes ``pareto.json``, ``pareto.md``
and ``pareto.png`` (accuracy vs bits and vs cost, the Pareto front marked).

``--autoq SEARCH_DIR`` adds the mixed-precision result of ``python -m qtransformer.search``
as one more point: its ``best_config.yaml`` quant section, trained like every other point,
so the report shows whether the searched configuration is on the front.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import sys
from pathlib import Path

from .boards import get_board
from .compress.methods import check_config
from .config import BuildConfig, load_config, parse_bits
from .errors import QTError
from .outputs import check_output, staged
from .tfenv import load_tensorflow

COST_AXES = [("nonzero_bits", "non-zero weight bits"), ("bops", "BOPs"),
             ("lut_parallel_estimate", "LUT, fully parallel (estimate)"),
             ("lut_estimate", "LUT fitted to the board (estimate)")]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qtransformer.sweep",
                                description="Train every (weights preset, sparsity) point and "
                                            "write a Pareto report.")
    p.add_argument("--config", help="base YAML config (as for build)")
    p.add_argument("--dataset", help="data set for every point (default: the config's)")
    p.add_argument("--board", help="board (default pynq-z2)")
    p.add_argument("--bits", nargs="+", default=["float", "8", "4", "ternary", "binary"],
                   help="weight presets to sweep")
    p.add_argument("--act-bits", nargs="+", type=int, default=None,
                   help="activation widths to sweep (default: the config's, 8)")
    p.add_argument("--sparsity", nargs="+", type=float, default=[0.0, 0.5, 0.75],
                   help="magnitude-pruning levels (0 = none)")
    p.add_argument("--circulant", nargs="+", type=int, default=None,
                   help="circulant blocks (1 = dense), e.g. 1 4 8 16 (default: the config's)")
    p.add_argument("--autoq", metavar="SEARCH_DIR",
                   help="add the best configuration of a finished search as a point")
    p.add_argument("--epochs", type=int, help="training epochs per point")
    p.add_argument("--prune-epochs", type=int, help="pruning fine-tune epochs per point")
    p.add_argument("--no-hls", action="store_true",
                   help="skip conversion and csim per point (the board estimate is kept)")
    p.add_argument("--output", default="models/sweep", help="sweep directory")
    p.add_argument("--force", action="store_true", help="replace an existing sweep directory")
    p.add_argument("--rewrite", metavar="SWEEP_DIR",
                   help="only rewrite pareto.json/.md/.png of a finished sweep from its points' "
                        "report.json files (no training)")
    return p


def points(base: BuildConfig, bits: list[str], sparsities: list[float],
           act_bits: list[int] | None = None,
           circulant: list[int] | None = None) -> list[tuple[str, BuildConfig]]:
    """One build config per (weights preset, activation width, pruning sparsity, circulant
    block); pruning is not combined with circulant blocks (the build refuses it)."""
    out = []
    for b, a, s, c in itertools.product(bits, act_bits or [base.quant.act_bits], sparsities,
                                        circulant or [base.model.circulant]):
        cfg = copy.deepcopy(base)
        cfg.quant.bits = parse_bits(b)
        cfg.model.circulant = c
        if s > 0 and not cfg.quant.has_zero_weight():
            print(f"[sweep] skipping {cfg.quant.bits} at sparsity {s:g}: its weights "
                  "have no zero level", flush=True)
            continue
        if s > 0 and c != 1:
            print(f"[sweep] skipping circulant {c} at sparsity {s:g}: pruning is not "
                  "offered on circulant layers", flush=True)
            continue
        cfg.model.validate()   # an impossible block: one line before anything trains
        if a != cfg.quant.act_bits:
            cfg.quant.set_act_bits(a)
        if s > 0:
            cfg.prune.method, cfg.prune.sparsity = "magnitude", s
        else:
            cfg.prune.method = None
        name = f"w{cfg.quant.bits}" + (f"-a{a}" if act_bits else "") + \
            (f"-s{int(round(100 * s))}" if s else "") + (f"-c{c}" if c != 1 else "")
        out.append((name, cfg))
    return out


def autoq_point(base: BuildConfig, search_dir: str) -> tuple[str, BuildConfig]:
    """The search's best quant section on the sweep's data, model, training and board."""
    path = Path(search_dir) / "best_config.yaml"
    if not path.is_file():
        raise QTError(f"--autoq {search_dir}: no best_config.yaml there (run "
                      "python -m qtransformer.search first)")
    cfg = copy.deepcopy(base)
    cfg.quant = load_config(path).quant
    cfg.prune.method = None
    return "autoq", cfg


def summarise(name: str, r: dict) -> dict:
    from .evaluate.report import float32_ratio  # here: the evaluate package loads TensorFlow

    hw = r.get("hardware_estimate") or {}   # board-fitted estimate, with or without HLS
    q = r["config"]["quant"]
    return {"name": name, "bits": "mixed" if q["overrides"] else q["bits"],
            "act_bits": q["act_bits"], "sparsity": r["sparsity"],
            "accuracy": r["accuracy"], "f1": r["f1"], "model_bits": r["model_bits"],
            "nonzero_bits": r["nonzero_bits"],
            # On the FPGA's parameters: a text model's token table stays on the host.
            "circulant": r["config"]["model"].get("circulant", 1),
            "compression_vs_float32": float32_ratio(r),
            "bops": r["bops"], "effective_macs": r["effective_macs"],
            "lut_estimate": hw.get("lut"), "dsp_estimate": hw.get("dsp"),
            "lut_parallel_estimate": hw.get("parallel", {}).get("lut"),
            "dsp_parallel_estimate": hw.get("parallel", {}).get("dsp"),
            "bram_estimate": hw.get("bram36")}


def write_pareto(rows: list[dict], out: Path, title: str) -> None:
    from .evaluate.pareto import pareto_front, plot_pareto

    # a float point has no hardware estimate: hardware fronts are over the quantized points
    axes = [(k, label) for k, label in COST_AXES if any(r.get(k) is not None for r in rows)]
    fronts = {}
    for k, _ in axes:
        usable = [r for r in rows if r.get(k) is not None]
        fronts[k] = [usable[i]["name"] for i in pareto_front(usable, k)]
    (out / "pareto.json").write_text(json.dumps({"points": rows, "fronts": fronts}, indent=2))
    head = ("| point | weights | act. bits | sparsity | accuracy | macro-F1 | bits | non-zero bits "
            "| x smaller than float32 (FPGA part) | BOPs | eff. MACs | LUT / DSP fully parallel "
            "(est.) | LUT / DSP fitted (est.) | on front: bits, BOPs, LUT |")
    lines = [f"# {title}", "", head, "|---" * 14 + "|"]

    def pair(a, b):
        return "-" if a is None else f"{a:,} / {b:,}"

    for r in sorted(rows, key=lambda r: r["nonzero_bits"]):
        on = ", ".join(label for key, label in (("nonzero_bits", "bits"), ("bops", "BOPs"),
                                                ("lut_parallel_estimate", "LUT"))
                       if r["name"] in fronts.get(key, []))
        lines.append(
            f"| {r['name']} | {r['bits']} | {r['act_bits']} | {100 * r['sparsity']:.0f}% | "
            f"{100 * r['accuracy']:.2f}% | {100 * r['f1']:.2f}% | {r['model_bits']:,} | "
            f"{r['nonzero_bits']:,} | {r['compression_vs_float32']:.1f} | "
            f"{r['bops']:,} | {r['effective_macs']:,} | "
            f"{pair(r.get('lut_parallel_estimate'), r.get('dsp_parallel_estimate'))} | "
            f"{pair(r.get('lut_estimate'), r.get('dsp_estimate'))} | {on} |")
    (out / "pareto.md").write_text("\n".join(lines) + "\n")
    plot_pareto(rows, axes, out / "pareto.png", title)


def rewrite(sweep_dir: Path) -> int:
    """Re-summarise a finished sweep in place, re-estimating the hardware of every point that
    kept its model.h5 (so a changed estimator applies without retraining)."""
    from .config import config_from_dict
    from .data import load_dataset
    from .model import load_model
    from .pipeline import board_fit

    reports = sorted(sweep_dir.glob("*/report.json"))
    if not reports:
        print(f"error: no <point>/report.json under {sweep_dir}", file=sys.stderr)
        return 2
    old = json.loads((sweep_dir / "pareto.json").read_text()) \
        if (sweep_dir / "pareto.json").is_file() else {}
    order = [p["name"] for p in old.get("points", [])]
    rows, data = [], None
    for path in reports:
        r = json.loads(path.read_text())
        if (path.parent / "model.h5").is_file():
            cfg = config_from_dict(r["config"])
            data = data or load_dataset(cfg.data, cfg.train.seed)
            r["hardware_estimate"] = board_fit(load_model(path.parent / "model.h5"), data, cfg)
        rows.append(summarise(path.parent.name, r))
    rows.sort(key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
    cfg = json.loads(reports[0].read_text())["config"]
    write_pareto(rows, sweep_dir, f"{cfg['data']['dataset']} on {cfg['board']}")
    print(f"done: {len(rows)} points -> {sweep_dir}/pareto.md, pareto.png")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    load_tensorflow()  # first: config checks import the layers, hence TensorFlow
    if args.rewrite:
        return rewrite(Path(args.rewrite))
    try:
        base = load_config(args.config) if args.config else BuildConfig()
        if args.dataset:
            base.data.dataset = args.dataset
        if args.board:
            base.board = args.board
        if args.epochs:
            base.train.epochs = args.epochs
        if args.prune_epochs is not None:
            base.prune.epochs = args.prune_epochs
        if args.no_hls:
            base.hls.enabled = False
        get_board(base.board)
        grid = points(base, args.bits, args.sparsity, args.act_bits, args.circulant)
        if args.autoq:
            grid.append(autoq_point(base, args.autoq))
        for _, cfg in grid:
            cfg.validate()
            check_config(cfg)
        out = Path(args.output)
        check_output(out, args.force)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .pipeline import run_pipeline

    try:
        with staged(out) as stage:
            rows = []
            for k, (name, cfg) in enumerate(grid, 1):
                print(f"[sweep] point {k}/{len(grid)}: {name}", flush=True)
                (stage / name).mkdir()
                report = run_pipeline(cfg, stage / name, name, verbose=False)
                rows.append(summarise(name, report))
            write_pareto(rows, stage, f"{base.data.dataset} on {base.board}")
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done: {len(rows)} points -> {out}/pareto.md, pareto.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
