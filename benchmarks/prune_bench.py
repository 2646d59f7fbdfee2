"""Pruning / token pruning / layer-drop benchmark (not a test). Each row is an ordinary build
(train, compress, evaluate, and -- unless --no-hls -- convert, compile and co-verify), so
accuracy before and after, the board estimate before and after and csim agreement come from
the same run.

    python benchmarks/prune_bench.py --dataset digits    # ~20 min on 2 cores
    python benchmarks/prune_bench.py --dataset sst2      # ~25 min (../shared/data/sst2)

Writes benchmarks/results/prune_bench_<dataset>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

L4 = ["--layers", "4"]
RUNS = {
    "digits": {
        "magnitude 75%": ["--prune", "magnitude", "--sparsity", "0.75"],
        "block 4x4 50%": ["--prune", "block", "--block", "4x4", "--sparsity", "0.5"],
        "token: keep 4 of 8 after block 0": ["--prune", "token", "--keep-tokens", "0.5"],
        **{f"4 layers, {mode} drop {n}": [*L4, "--prune", "layer-drop", "--drop", mode,
                                         "--drop-count", str(n)]
           for mode, counts in (("attention", (1, 2, 3)), ("mlp", (1, 2, 3)),
                                ("joint", (2, 4)), ("block", (1, 2)))
           for n in counts},
    },
    "sst2": {
        "magnitude 75%": ["--prune", "magnitude", "--sparsity", "0.75"],
        "block 4x4 50%": ["--prune", "block", "--block", "4x4", "--sparsity", "0.5"],
        "token: keep 24 of 48 after block 0": ["--prune", "token", "--keep-tokens", "0.5"],
        "joint layer drop 1 (of 2 blocks)": ["--prune", "layer-drop", "--drop", "joint",
                                             "--drop-count", "1"],
    },
}


def run(dataset: str, name: str, flags: list[str], work: Path, hls: bool) -> dict:
    out = work / name.replace(" ", "_").replace(",", "").replace(":", "").replace("%", "")
    cmd = [sys.executable, "-m", "qtransformer.build", "--config",
           str(ROOT / "benchmarks" / "configs" / f"{dataset}.yaml"), *flags,
           "--output", str(out), "--hls-output", str(out / "hls"), "--force", "--quiet"]
    if dataset == "digits":
        cmd += ["--prune-epochs", "20"]
    if not hls:
        cmd.append("--no-hls")
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    print(proc.stdout[-600:], flush=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    r = json.loads((out / "report.json").read_text())
    c = r["compression"]
    hw = c.get("hardware_estimate") or {}
    return {"name": name, "flags": flags, "accuracy_before": c["accuracy_before"],
            "accuracy": r["accuracy"], "sparsity": r["sparsity"],
            "tokens": [c.get("tokens_before"), c.get("tokens_kept")],
            "effective_macs": [c["effective_macs_before"], c["effective_macs_after"]],
            "nonzero_bits": r["nonzero_bits"],
            "agreement": r["argmax_agreement"], "max_error_lsb": r["max_error_lsb"],
            "csim_examples": r["hls"]["coverify"]["n"] if r.get("hls") else 0,
            "hardware_estimate": hw, "importance": c.get("importance"),
            "dropped": [c.get("dropped_attention"), c.get("dropped_mlp")],
            "latency_speedup_pct_estimate": c.get("latency_speedup_percent_estimate"),
            "mac_speedup_pct_estimate": c.get("mac_speedup_percent_estimate"),
            "sdr_estimate": c.get("sdr_estimate"), "seconds": r["seconds"]}


def _pair(a, b, fmt="{:,}") -> str:
    return f"{fmt.format(a)} -> {fmt.format(b)}"


def table(rows: list[dict]) -> list[str]:
    lines = ["| run | accuracy before -> after | weight sparsity | tokens | eff. MACs | "
             "LUT / DSP fully parallel (est.) | cycles fitted to board (est.) | latency "
             "speedup % (est.) | SDR (est.) | csim agreement / max err |",
             "|---" * 10 + "|"]
    for r in rows:
        hw = r["hardware_estimate"]
        par = (f"{hw['before']['parallel']['lut']:,} / {hw['before']['parallel']['dsp']:,} -> "
               f"{hw['after']['parallel']['lut']:,} / {hw['after']['parallel']['dsp']:,}"
               if hw else "-")
        cyc = _pair(hw["before"]["cycles"], hw["after"]["cycles"]) if hw else "-"
        tokens = _pair(*r["tokens"]) if r["tokens"][1] else "-"
        speed = r["latency_speedup_pct_estimate"]
        sdr = f"{r['sdr_estimate']:.3f}" if r["sdr_estimate"] is not None else "-"
        check = (f"{100 * r['agreement']:.0f}% / {r['max_error_lsb']:g} LSB "
                 f"({r['csim_examples']})" if r["csim_examples"] else "-")
        lines.append(
            f"| {r['name']} | {100 * r['accuracy_before']:.2f}% -> {100 * r['accuracy']:.2f}% "
            f"| {100 * r['sparsity']:.1f}% | {tokens} | {_pair(*r['effective_macs'])} | {par} "
            f"| {cyc} | {'-' if speed is None else f'{speed:.1f}'} | {sdr} | {check} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", choices=sorted(RUNS), default="digits")
    p.add_argument("--only", nargs="+", help="run only these row names")
    p.add_argument("--no-hls", action="store_true", help="skip conversion and csim")
    args = p.parse_args()
    work = ROOT / "models" / f"bench-prune-{args.dataset}"
    work.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"prune_bench_{args.dataset}.json"
    rows = {r["name"]: r for r in json.loads(path.read_text())} if path.exists() else {}
    for name, flags in RUNS[args.dataset].items():
        if args.only and name not in args.only:
            continue
        rows[name] = run(args.dataset, name, flags, work, not args.no_hls)
        path.write_text(json.dumps(list(rows.values()), indent=2) + "\n")
    lines = table([rows[n] for n in RUNS[args.dataset] if n in rows])
    (RESULTS / f"prune_bench_{args.dataset}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
