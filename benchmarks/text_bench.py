"""The default text build against TF-IDF + logistic regression on public sets (issue #20).

For each set of ``benchmarks/text_sets.py`` (run it first), on the identical train / val /
test rows:

* ``qtransformer``: ``python -m qtransformer.build --dataset train.tsv --val-file val.tsv
  --test-file test.tsv`` with the default settings (plus ``--flags`` when comparing
  candidates), which trains, converts, C-simulates the whole test split and gives the board
  verdict (the PYNQ-Z2 ESTIMATE, not synthesis);
* ``tfidf-lr``: scikit-learn ``TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)`` +
  ``LogisticRegression`` fitted on train, its ``C`` picked on val from 0.1..100 (the build uses
  val for early stopping); its size is its float32 weights (not a hardware design).

Accuracy and macro-F1 on test, training time (this machine), model bits, fit verdict, C
simulation agreement. Writes ``benchmarks/results/text_bench.{json,md}`` (one entry per set,
method, candidate tag and seed; re-running a finished entry reuses it).

    python benchmarks/text_sets.py
    python benchmarks/text_bench.py --sets sms bbc 20ng sst2
    python benchmarks/text_bench.py --sets sms --tag d64 --flags="--d-model 64 --ff-dim 128"
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "text"
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "models" / "bench-text"
JSON = RESULTS / "text_bench.json"
KINDS = {"sst2": "sentiment", "sms": "imbalanced (spam 13%)", "bbc": "topic (5)",
         "20ng": "news topic (20)"}


def split_files(name: str) -> dict[str, Path]:
    files = {s: DATA / name / f"{s}.tsv" for s in ("train", "val", "test")}
    if not all(p.is_file() for p in files.values()):
        sys.exit(f"error: {DATA / name} missing; run python benchmarks/text_sets.py first")
    return files


def tfidf(name: str) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from qtransformer.data.textfile import read_labelled_text

    (xtr, ytr), (xv, yv), (xt, yt) = (read_labelled_text(p) for p in split_files(name).values())
    t0 = time.time()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    a, av = vec.fit_transform(xtr), vec.transform(xv)
    best = None
    for c in (0.1, 1.0, 10.0, 100.0):
        lr = LogisticRegression(C=c, max_iter=3000).fit(a, ytr)
        score = f1_score(yv, lr.predict(av), average="macro")
        if best is None or score > best[0]:
            best = (score, c, lr)
    seconds = time.time() - t0
    pred = best[2].predict(vec.transform(xt))
    return {"set": name, "method": "tfidf-lr", "tag": "baseline", "seed": 0,
            "accuracy": float(accuracy_score(yt, pred)),
            "f1": float(f1_score(yt, pred, average="macro")), "train_seconds": seconds,
            "model_bits": int(best[2].coef_.size + best[2].intercept_.size) * 32,
            "C": best[1], "features": int(a.shape[1]), "fits": None}


def build(name: str, tag: str, flags: list[str], seed: int) -> dict:
    files = split_files(name)
    out = WORK / tag / f"{name}-s{seed}"
    if not (out / "report.json").is_file():
        cmd = [sys.executable, "-m", "qtransformer.build", "--dataset", str(files["train"]),
               "--val-file", str(files["val"]), "--test-file", str(files["test"]),
               "--seed", str(seed), "--output", str(out), "--force", "--allow-overfit",
               *flags]
        print("$", shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
    r = json.loads((out / "report.json").read_text())
    est = r.get("hardware_estimate") or {}
    return {"set": name, "method": "qtransformer", "tag": tag, "seed": seed,
            "flags": flags, "accuracy": r["accuracy"], "f1": r["f1"],
            "train_seconds": r["training"]["seconds"], "epochs": r["training"]["epochs_run"],
            "best_epoch": r["training"]["best_epoch"], "model_bits": r["model_bits"],
            "seq_len": r["data"]["seq_len"], "seq_note": r["data"].get("seq_note"),
            "fits": est.get("fits"), "lut": est.get("lut"),
            "cycles": est.get("cycles"), "csim_agreement": r.get("argmax_agreement"),
            "csim_lsb": r.get("max_error_lsb"), "d_model": r["config"]["model"]["d_model"],
            "pad_mask": r["config"]["model"].get("mask_padding", False),
            "run": str(out.relative_to(ROOT))}


def load() -> list[dict]:
    return json.loads(JSON.read_text())["runs"] if JSON.is_file() else []


def save(runs: list[dict]) -> None:
    """Merge ``runs`` into the JSON on disk (candidates may run side by side) and rewrite the
    Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    merged = {_key(r): r for r in load()}
    merged.update({_key(r): r for r in runs})
    runs = sorted(merged.values(), key=lambda r: (r["set"], r["method"], r["tag"], r["seed"]))
    JSON.write_text(json.dumps({"runs": runs}, indent=1) + "\n")
    (RESULTS / "text_bench.md").write_text(markdown(runs))


def _key(r: dict) -> tuple:
    return r["set"], r["method"], r["tag"], r["seed"]


def markdown(runs: list[dict]) -> str:
    lines = ["# Text sets: qtransformer builds against TF-IDF + logistic regression", "",
             "`python benchmarks/text_bench.py` (data: `benchmarks/text_sets.py`). Test split; "
             "macro-F1; train time on a 2-core machine; fit = PYNQ-Z2 estimate (not "
             "synthesis); csim = g++ C simulation of the whole test split against Keras.", "",
             "| set | kind | method | tag | seeds | accuracy | macro-F1 | F1 vs TF-IDF | "
             "train s | model bits | seq | fits | LUT (est.) | cycles | csim |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["set"], r["method"], r["tag"]), []).append(r)
    for (name, method, tag), rs in sorted(groups.items()):
        base = groups.get((name, "tfidf-lr", "baseline"), [None])[0]
        f1 = np.mean([r["f1"] for r in rs])
        diff = f"{100 * (f1 - base['f1']):+.2f}" if base and method != "tfidf-lr" else ""
        sd = lambda k: f" ({100 * np.std([r[k] for r in rs]):.2f})" if len(rs) > 1 else ""  # noqa
        fits = {r["fits"] for r in rs}
        csim = "" if rs[0].get("csim_agreement") is None else \
            f"{100 * min(r['csim_agreement'] for r in rs):.0f}% / " \
            f"{max(r['csim_lsb'] for r in rs)} LSB"
        lines.append(
            f"| {name} | {KINDS.get(name, '')} | {method} | {tag} | {len(rs)} | "
            f"{100 * np.mean([r['accuracy'] for r in rs]):.2f}%{sd('accuracy')} | "
            f"{100 * f1:.2f}%{sd('f1')} | {diff} | "
            f"{np.mean([r['train_seconds'] for r in rs]):.0f} | {rs[0]['model_bits']:,} | "
            f"{rs[0].get('seq_len', '')} | "
            f"{'' if fits == {None} else ('yes' if fits == {True} else 'no')} | "
            f"{'' if rs[0].get('lut') is None else format(rs[0]['lut'], ',')} | "
            f"{'' if rs[0].get('cycles') is None else format(rs[0]['cycles'], ',')} | {csim} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", choices=sorted(KINDS), default=sorted(KINDS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--tag", default="default", help="name of this candidate's settings")
    ap.add_argument("--flags", default="", help="extra build flags for this candidate")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    for name in args.sets:
        if not args.no_baseline:
            r = tfidf(name)
            print(f"[{name}] tfidf-lr: accuracy {r['accuracy']:.4f}, macro-F1 {r['f1']:.4f}",
                  flush=True)
            save([r])
        for seed in args.seeds:
            r = build(name, args.tag, shlex.split(args.flags), seed)
            print(f"[{name}] {args.tag} seed {seed}: accuracy {r['accuracy']:.4f}, macro-F1 "
                  f"{r['f1']:.4f}, fits {r['fits']}", flush=True)
            save([r])
    return 0


if __name__ == "__main__":
    sys.exit(main())
