"""``python -m qtransformer.search``: mixed-precision bit-width search (AutoQKeras-style).

Each trial picks weight widths for the attention projections, the FFN layers and
patch_proj/classifier, and widths for activations, attention scores and softmax
probabilities; trains the model for ``--epochs``; and scores it as
``val_accuracy + ff * log2(ref_cost / cost)`` (see :mod:`qtransformer.compress.autoq`).
The output directory gets ``best_config.yaml`` (rebuild it with
``python -m qtransformer.build --config OUTPUT/best_config.yaml``), ``trials.json``,
``search.md`` and KerasTuner's own state under ``tuner/``.

Distributed search (KerasTuner's gRPC mode): run the same command in several processes
with these environment variables:

* ``KERASTUNER_TUNER_ID``: ``chief`` for the one process that serves the oracle and writes
  the outputs; ``tuner0``, ``tuner1``... for the workers that run trials;
* ``KERASTUNER_ORACLE_IP``: the chief's address (``127.0.0.1`` on one machine);
* ``KERASTUNER_ORACLE_PORT``: a free TCP port on the chief.

The chief returns once every trial has ended and every worker has been told to stop; workers
write nothing but their progress lines (their KerasTuner state goes to a temporary directory).
Without ``KERASTUNER_ORACLE_IP`` the search runs in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..boards import get_board
from ..compress.methods import check_config
from ..config import BuildConfig, load_config
from ..errors import QTError
from ..outputs import check_output, staged
from ..tfenv import load_tensorflow

EPILOG = """examples:
  python -m qtransformer.search --trials 20 --epochs 10 --output models/search
  python -m qtransformer.search --cost lut --board pynq-z2 --max-minutes 30
  python -m qtransformer.build --config models/search/best_config.yaml

distributed (one chief, N workers; same command line for all):
  KERASTUNER_TUNER_ID=chief   KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
      python -m qtransformer.search --trials 40 --output models/search &
  KERASTUNER_TUNER_ID=tuner0  KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
      python -m qtransformer.search --trials 40 &
  KERASTUNER_TUNER_ID=tuner1  ... (the same)

KERASTUNER_TUNER_ID: "chief" serves the oracle and writes the outputs; any other id
(tuner0, tuner1...) is a worker that runs trials. KERASTUNER_ORACLE_IP / _PORT: where the
chief listens. Without these variables the search runs in this one process."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (exit 2), like every other bad input."""

    def error(self, message: str):
        self.exit(2, f"error: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m qtransformer.search", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Search per-role bit widths with KerasTuner and write the best "
                            "BuildConfig.")
    a = p.add_argument
    a("--config", help="base YAML config (as for build); its quant section is the reference")
    a("--dataset", help="data set (default: the config's, digits)")
    a("--board", help="board, for --cost lut (default pynq-z2)")
    a("--max-examples", type=int, help="use only the first N training examples")
    a("--epochs", type=int, help="training epochs per trial (default: the config's)")
    a("--trials", type=int, default=20, help="trial budget (default 20)")
    a("--max-minutes", type=float, help="start no trial after this many minutes")
    a("--cost", default="bits", help="cost in the score: bits (model size, default), bops, or "
                                     "lut (HLS LUT estimate of the fully parallel design; the "
                                     "board-fitted estimate is recorded too)")
    a("--forgiving-factor", type=float, default=0.02,
      help="accuracy worth one halving of the cost (default 0.02)")
    a("--oracle", default="random", help="random (default) or bayesian")
    a("--no-uniform-start", action="store_true",
      help="do not start with the uniform presets (one trial per --weights choice in every "
           "role); by default they are the first trials")
    a("--seed", type=int, help="seed of the oracle and of every trial (default: config's, 0)")
    a("--weights", nargs="+", default=None,
      help="weight-width choices per role (default binary ternary 2 4 8)")
    a("--act-bits", nargs="+", type=int, help="activation-width choices (default 4 6 8)")
    a("--score-bits", nargs="+", type=int, help="attention-score choices (default 6 8 10)")
    a("--prob-bits", nargs="+", type=int, help="softmax-probability choices (default 5 7 9)")
    a("--output", default="models/search", help="output directory (chief / single process)")
    a("--force", action="store_true", help="replace an existing output directory")
    return p


def resolve(args: argparse.Namespace):
    """Base config, search space and checked options; raises QTError on any bad input."""
    from .autoq import COSTS, ORACLES, SearchSpace

    if args.trials < 1:
        raise QTError(f"invalid --trials {args.trials}: expected at least 1")
    if args.cost not in COSTS:
        raise QTError(f"unknown --cost {args.cost!r}; known: {', '.join(COSTS)}")
    if args.oracle not in ORACLES:
        raise QTError(f"unknown --oracle {args.oracle!r}; known: {', '.join(ORACLES)}")
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise QTError(f"invalid --max-minutes {args.max_minutes}: expected > 0")
    if args.forgiving_factor < 0:
        raise QTError(f"invalid --forgiving-factor {args.forgiving_factor}: expected >= 0")
    base = load_config(args.config) if args.config else BuildConfig()
    for value, section, name in ((args.dataset, base.data, "dataset"),
                                 (args.max_examples, base.data, "max_examples"),
                                 (args.epochs, base.train, "epochs"),
                                 (args.seed, base.train, "seed"), (args.board, base, "board")):
        if value is not None:
            setattr(section, name, value)
    base.output, base.force = None, False
    base.validate()
    check_config(base)
    if base.quant.bits == "float":
        raise QTError("the base config must be quantized (quant.bits float is the float model)")
    get_board(base.board)
    space = SearchSpace(**{k: v for k, v in (("weights", args.weights), ("act", args.act_bits),
                                              ("score", args.score_bits),
                                              ("prob", args.prob_bits)) if v is not None})
    space.validate(base)
    return base, space


def write_results(result: dict, base: BuildConfig, args: argparse.Namespace, out: Path) -> dict:
    """best_config.yaml, trials.json and search.md; returns the best row."""
    from .autoq import apply_values, best_row

    rows = result["rows"]
    best = best_row(rows)
    if best is None:
        raise QTError("no trial completed; see the messages in the chief's/workers' output")
    apply_values(base, best["values"]).to_yaml(out / "best_config.yaml")
    settings = {"trials": args.trials, "cost": args.cost, "forgiving_factor":
                args.forgiving_factor, "oracle": args.oracle, "seed": base.train.seed,
                "uniform_start": not args.no_uniform_start,
                "epochs_per_trial": base.train.epochs, "max_minutes": args.max_minutes,
                "time_limited": result["time_limited"]}
    (out / "trials.json").write_text(json.dumps({"settings": settings, "best": best["trial"],
                                                 "trials": rows}, indent=2))
    (out / "search.md").write_text(search_md(rows, best, settings))
    return best


def search_md(rows: list[dict], best: dict, settings: dict) -> str:
    from .autoq import describe

    ref = best["metrics"]["ref_cost"]
    lines = [f"# Bit-width search ({settings['oracle']}, cost {settings['cost']}, forgiving "
             f"factor {settings['forgiving_factor']})", "",
             f"{len(rows)} trials of {settings['trials']}"
             + (" (stopped by the time limit)" if settings["time_limited"] else "")
             + f", {settings['epochs_per_trial']} epochs each, seed {settings['seed']}; "
             f"reference cost {ref:,.0f} (the base config's uniform quantization). "
             "score = val accuracy + ff * log2(ref / cost).", "",
             "| trial id | widths | val acc. | test acc. | cost | cost / ref | score | best |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    done = [r for r in rows if "score" in r["metrics"]]
    for r in sorted(done, key=lambda r: -r["metrics"]["score"]):
        m = r["metrics"]
        lines.append(f"| {r['trial']} | {describe(r['values'])} | {m['val_accuracy']:.4f} | "
                     f"{m['test_accuracy']:.4f} | {m['cost']:,.0f} | {m['cost'] / ref:.1%} | "
                     f"{m['score']:.4f} | {'yes' if r is best else ''} |")
    failed = [r for r in rows if "score" not in r["metrics"]]
    if failed:
        lines += ["", f"{len(failed)} trial(s) failed: " + ", ".join(r["trial"] for r in failed)]
    return "\n".join(lines) + "\n"


def _search(base, space, args, tuner_dir: str) -> dict:
    from .autoq import run_search

    return run_search(base, space, trials=args.trials, cost=args.cost,
                      ff=args.forgiving_factor, oracle_kind=args.oracle,
                      max_minutes=args.max_minutes, tuner_dir=tuner_dir,
                      seed_uniform=not args.no_uniform_start)


def _worker(base, space, args) -> int:
    """A worker writes no outputs: its KerasTuner state lives in a temporary directory."""
    tmp = tempfile.mkdtemp(prefix="qt-search-worker-")
    try:
        _search(base, space, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"done: worker {os.environ.get('KERASTUNER_TUNER_ID')} stopped by the chief")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    load_tensorflow()  # first: config checks import the layers, hence TensorFlow
    try:
        base, space = resolve(args)
        from .autoq import role

        who = role()
        out = Path(args.output)
        if who != "worker":
            check_output(out, args.force)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if who == "worker":
        return _worker(base, space, args)
    try:
        with staged(out) as stage:
            result = _search(base, space, args, str(stage))
            best = write_results(result, base, args, stage)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = best["metrics"]
    print(f"done: best trial {best['trial']} (score {m['score']:.4f}, val accuracy "
          f"{m['val_accuracy']:.4f}, cost {m['cost']:,.0f}) -> {out}/best_config.yaml, "
          "search.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
