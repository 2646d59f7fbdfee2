"""Training benchmark: accuracy / size / training time of the default board-sized models.

Trains every (dataset, weight width) pair with quantization-aware training through the
ordinary pipeline (:func:`qtransformer.pipeline.run_pipeline`), then writes

* ``benchmarks/results/train_bench.json``: one record per run (config, metrics, timing), and
* ``benchmarks/results/train_bench.md``: the Markdown table of those records.

Rerunning a subset (``--datasets sst2 --bits ternary``) replaces only those rows and keeps
the others, so parts of the benchmark can be rerun on their own. Everything is seeded
(``--seed``, default 0), so a rerun on the same machine gives the same numbers.

Examples (from the repository root)::

    PYTHONPATH=. python benchmarks/train_bench.py                      # everything
    PYTHONPATH=. python benchmarks/train_bench.py --datasets digits    # digits only
    PYTHONPATH=. python benchmarks/train_bench.py --datasets sst2 --bits float 4 --epochs 2
    PYTHONPATH=. python benchmarks/train_bench.py --datasets sst2 --set model.pooling=cls \\
        --set train.learning_rate=1e-3 --results /tmp/try                # a tuning trial

SST-2 (``--sst2-dir``, default ``../shared/data/sst2``) is read as GLUE's files are split
there: ``train.tsv`` (phrases) to fit, ``dev.tsv`` (held-out phrases) for early stopping and
selection, ``test.tsv`` (GLUE's dev set, 872 full sentences) for the reported figure.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qtransformer.config import BuildConfig, parse_bits  # noqa: E402
from qtransformer.errors import QTError  # noqa: E402

ALL_BITS = ["float", "8", "4", "ternary", "binary"]
DATASETS = ["digits", "sst2"]
WEIGHT_NAMES = {"float": "float32", "binary": "binary", "ternary": "ternary"}

# Per-dataset settings on top of the BuildConfig defaults. Chosen by the tuning recorded in
# docs/benchmarks.md; anything here can be overridden with --set SECTION.FIELD=VALUE.
PRESETS: dict[str, dict[str, dict]] = {
    # The default board-sized model (ModelConfig defaults: d_model 32, 4 heads, FFN 64,
    # 2 blocks) on scikit-learn's 8x8 digits. The test split (20%, 360 images) depends only on
    # test_fraction and the seed; a 15% validation split (270 images, instead of 10%) makes
    # early stopping less noisy.
    "digits": {
        "data": {"dataset": "digits", "val_fraction": 0.15},
        "model": {"dropout": 0.1},
        "train": {"epochs": 120, "patience": 30},
    },
    # A small board-sized text model: 2 blocks, d_model 64. An 8000-entry vocabulary and
    # 48 tokens keep 96% of the test sentences untruncated (2000/32: 53%). Val accuracy is on
    # short phrases and keeps creeping up while sentence accuracy peaks after 1-3 epochs, so
    # training is short; lr 1e-3 because QAT at 2e-3 diverged in epoch 3.
    "sst2": {
        "data": {"seq_len": 48, "vocab_size": 8000},
        "model": {"d_model": 64, "heads": 4, "ff_dim": 128, "layers": 2, "pooling": "mean",
                  "dropout": 0.0},
        "train": {"epochs": 3, "patience": 1, "batch_size": 128, "learning_rate": 1e-3},
    },
}


def _convert(text: str, current):
    """Parse an override value with the type of the field's current value."""
    if text.lower() in ("none", "null"):
        return None
    if isinstance(current, bool):
        return text.lower() in ("1", "true", "yes")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if current is None:  # optional fields: int if it looks like one
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return text


def apply_overrides(cfg: BuildConfig, overrides: list[str]) -> list[str]:
    """Apply ``SECTION.FIELD=VALUE`` overrides in place; return them normalised."""
    done = []
    for item in overrides:
        key, sep, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or section not in ("data", "model", "quant", "train"):
            raise QTError(f"bad --set {item!r}: expected SECTION.FIELD=VALUE, SECTION one of "
                          "data, model, quant, train")
        obj = getattr(cfg, section)
        if not hasattr(obj, name):
            raise QTError(f"bad --set {item!r}: {section} has no field {name!r}")
        setattr(obj, name, _convert(value, getattr(obj, name)))
        done.append(f"{section}.{name}={value}")
    return done


def make_config(dataset: str, bits: str, args: argparse.Namespace) -> BuildConfig:
    cfg = BuildConfig()
    preset = PRESETS[dataset]
    for section, values in preset.items():
        for name, value in values.items():
            setattr(getattr(cfg, section), name, value)
    if dataset == "sst2":
        d = Path(args.sst2_dir)
        cfg.data.dataset = str(d / "train.tsv")
        cfg.data.val_file = str(d / "dev.tsv")
        cfg.data.test_file = str(d / "test.tsv")
    cfg.quant.bits = bits
    cfg.train.seed = args.seed
    if args.epochs is not None:
        cfg.train.epochs = args.epochs
    if args.patience is not None:
        cfg.train.patience = args.patience
    apply_overrides(cfg, args.set or [])
    cfg.quant.bits = parse_bits(cfg.quant.bits)
    cfg.validate()
    return cfg


def run_one(dataset: str, bits: str, args: argparse.Namespace) -> dict:
    import tensorflow as tf

    from qtransformer.pipeline import run_pipeline

    cfg = make_config(dataset, bits, args)
    tf.keras.backend.clear_session()
    name = f"{dataset}-{bits}"
    print(f"=== {name} ===", flush=True)
    with tempfile.TemporaryDirectory(prefix="train_bench_") as tmp:
        if args.keep_models:
            out = Path(args.keep_models) / name
            out.mkdir(parents=True, exist_ok=True)
        else:
            out = Path(tmp)
        report = run_pipeline(copy.deepcopy(cfg), out, name, verbose=not args.quiet)
    tr = report["training"]
    return {
        "dataset": dataset, "bits": bits, "weights": WEIGHT_NAMES.get(bits, f"{bits}-bit int"),
        "act_bits": None if bits == "float" else report["config"]["quant"]["act_bits"],
        "accuracy": report["accuracy"], "f1": report["f1"], "model_bits": report["model_bits"],
        "bops": report["bops"], "params": report["params"],
        "train_seconds": tr["seconds"], "seconds_per_epoch": tr["seconds"] / tr["epochs_run"],
        "epochs_run": tr["epochs_run"], "best_epoch": tr["best_epoch"],
        "best_val_accuracy": tr["best_val_accuracy"], "total_seconds": report["seconds"],
        # Keras' EarlyStopping restores the best weights only when it stops training itself;
        # a run that uses up its epochs keeps the last epoch's weights (whatever best_epoch says).
        "evaluated_epoch": evaluated_epoch(tr["history"].get("val_accuracy", []),
                                           report["config"]["train"]["patience"]),
        "data": report["data"], "config": report["config"], "overrides": list(args.set or []),
        "history": tr["history"],
    }


def evaluated_epoch(val_acc: list[float], patience: int) -> int:
    """Replay Keras 2.14's EarlyStopping(mode=max, restore_best_weights=True) on a history.

    It restores the best epoch's weights only when the patience runs out; if the epoch limit
    comes first, the last epoch's weights stay. Returns the 1-based epoch that was evaluated.
    """
    best, best_epoch, wait = -float("inf"), 0, 0
    for epoch, value in enumerate(val_acc):
        wait += 1
        if value > best:
            best, best_epoch, wait = value, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return best_epoch + 1
    return len(val_acc)


def fmt_md(records: list[dict], context: dict) -> str:
    lines = [
        "# Training benchmark",
        "",
        f"Generated by `benchmarks/train_bench.py` on {context['date']} "
        f"({context['machine']}; {context['cpus']} CPUs; TensorFlow {context['tensorflow']}); "
        "seed in the JSON. Accuracy and macro-F1 on the test split (SST-2: `test.tsv`, GLUE dev, "
        "872 sentences); size = stored parameters at their quantized widths; train seconds = "
        "wall-clock `fit` time incl. per-epoch validation; epochs = epochs run (the epoch whose "
        "weights were evaluated).",
        "",
        "| dataset | weights | accuracy | macro-F1 | size (bits) | train s | epochs (evaluated) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    order = {b: i for i, b in enumerate(ALL_BITS)}
    for r in sorted(records, key=lambda r: (DATASETS.index(r["dataset"])
                                            if r["dataset"] in DATASETS else 99,
                                            order.get(r["bits"], 50), r["bits"])):
        acts = "" if r["act_bits"] is None else f", {r['act_bits']}-bit act."
        lines.append(f"| {r['dataset']} | {r['weights']}{acts} | {100 * r['accuracy']:.2f}% | "
                     f"{r['f1']:.4f} | {r['model_bits']:,} | {r['train_seconds']:.0f} | "
                     f"{r['epochs_run']} ({r.get('evaluated_epoch', r['best_epoch'])}) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    p.add_argument("--bits", nargs="+", default=ALL_BITS,
                   help="weight widths: float, binary, ternary or 2..16 (default: "
                        + " ".join(ALL_BITS) + ")")
    p.add_argument("--epochs", type=int, help="override the preset's maximum epochs")
    p.add_argument("--patience", type=int, help="override the preset's early-stop patience")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                   help="override any config field, e.g. model.pooling=cls (repeatable)")
    p.add_argument("--sst2-dir", default=str(ROOT.parent / "shared" / "data" / "sst2"))
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "results"),
                   help="directory for train_bench.json / train_bench.md")
    p.add_argument("--fresh", action="store_true",
                   help="drop earlier records instead of merging with them")
    p.add_argument("--keep-models", metavar="DIR", help="keep each run's model dir here")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.add_argument("--table-only", action="store_true",
                   help="only rewrite train_bench.md from train_bench.json (no training)")
    args = p.parse_args(argv)
    try:
        bits_list = [parse_bits(b) for b in args.bits]
        for ds in args.datasets:  # fail on bad overrides before any training
            for b in bits_list:
                make_config(ds, b, args)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    results = Path(args.results)
    if args.table_only:
        saved = json.loads((results / "train_bench.json").read_text())
        (results / "train_bench.md").write_text(fmt_md(saved["runs"], saved["context"]))
        print((results / "train_bench.md").read_text())
        return 0

    import tensorflow as tf

    results.mkdir(parents=True, exist_ok=True)
    json_path, md_path = results / "train_bench.json", results / "train_bench.md"
    old = {} if args.fresh or not json_path.exists() else json.loads(json_path.read_text())
    records = {(r["dataset"], r["bits"]): r for r in old.get("runs", [])}
    context = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "machine": platform.platform(), "cpus": os.cpu_count(),
               "python": platform.python_version(), "tensorflow": tf.__version__}
    t0 = time.time()
    for ds in args.datasets:
        for b in bits_list:
            rec = run_one(ds, b, args)
            rec["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            records[(ds, b)] = rec
            print(f"--> {ds} {b}: accuracy {rec['accuracy']:.4f}, F1 {rec['f1']:.4f}, "
                  f"{rec['model_bits']:,} bits, {rec['train_seconds']:.0f} s, "
                  f"{rec['epochs_run']} epochs (best {rec['best_epoch']})", flush=True)
            # write after every run so a long benchmark leaves partial results behind
            runs = list(records.values())
            json_path.write_text(json.dumps({"context": context, "runs": runs}, indent=1))
            md_path.write_text(fmt_md(runs, context))
    print(f"done in {time.time() - t0:.0f} s -> {md_path}", flush=True)
    print(md_path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
