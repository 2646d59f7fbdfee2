"""``python -m qtransformer.build``: the command line around the build's named steps.

    data -> model -> train (QAT) -> compress -> evaluate -> save -> hls -> report

Each step (``qtransformer/pipeline.py``) reads its part of the
:class:`~qtransformer.config.BuildConfig` from one build context and adds its artefacts to it;
this module resolves the config, checks the outputs and runs the steps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .boards import BOARDS, get_board
from .compress.methods import METHODS, check_config
from .config import (
    BACKENDS,
    BIAS_KINDS,
    FFN_ACTS,
    IO_FORMS,
    LAYER_DROP_MODES,
    LR_SCHEDULES,
    POOLINGS,
    BuildConfig,
    load_config,
    parse_bits,
)
from .errors import QTError
from .outputs import check_output, publish, staged
from .tfenv import load_tensorflow

DOES_NOT_FIT = 3   # exit status of a build whose design does not fit the board (2: an error)

EPILOG = """examples:
  python -m qtransformer.build --board pynq-z2
  python -m qtransformer.build --dataset reviews.tsv --bits ternary --epochs 20
  python -m qtransformer.build --config models/digits-8-pynq-z2/config.yaml --output rerun

Outputs go to models/<run>/ (report.json, report.md, model.h5, config.yaml).
Exit status: 0 done, 2 an error (one line), 3 done but the design does not fit the board
(the outputs are written; --allow-overfit exits 0).
Known boards: """ + ", ".join(sorted(BOARDS))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m qtransformer.build", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a quantized transformer classifier for an FPGA board, evaluate it "
                    "and write the model and a report.")
    a = p.add_argument
    a("--board", help="target board (default pynq-z2)")
    a("--dataset", help="built-in data set (digits, digits-patches) or a TSV/CSV file "
                        "with text and label columns (default digits)")
    a("--val-file", help="separate validation file (default: split from --dataset)")
    a("--test-file", help="separate test file (default: split from --dataset)")
    a("--text-column", help="text column: header name or 0-based index (default: detect)")
    a("--label-column", help="label column: header name or 0-based index (default: detect)")
    a("--header", choices=["auto", "yes", "no"], help="does the file have a header line")
    a("--max-examples", type=int, help="use only the first N training examples")
    a("--vocab-size", type=int, help="WordPiece vocabulary trained on the training split "
                                    "(default: up to 30000, entries seen at least twice)")
    a("--vocab-file", help="use this BERT vocab.txt instead of training a vocabulary")
    a("--seq-len", type=int, help="tokens per example (default: text, the 95th percentile "
                                  "of the training lengths, x8, 8..256; digits 8)")
    a("--windows", type=int, help="a text longer than --seq-len is cut into up to N windows, "
                                  "one IP call each, its class from their mean scores; 1 "
                                  "truncates it (default 8; 1 with --teacher)")
    a("--bits", help="weight quantization: float, binary (po2 scale), binary-noscale (+-1), "
                     "ternary, stochastic-binary, stochastic-ternary, po2-N (power-of-two, "
                     "N=2..8) or an integer 2..16 (default 8); per-layer overrides go in the "
                     "YAML quant.overrides section")
    a("--act-bits", type=int, help="activation width in bits (default 8)")
    a("--bias-quant", choices=list(BIAS_KINDS),
      help="bias quantizer: bits (quantized_bits) or po2 (quantized_po2) (default bits)")
    a("--bias-bits", type=int, help="bias width in bits (default 8; po2: 3..6)")
    a("--ffn-act", choices=list(FFN_ACTS),
      help="FFN hidden activation: relu or hardtanh (binary nets) (default relu)")
    a("--d-model", type=int, help="embedding width (default 32)")
    a("--heads", type=int, help="attention heads (default 4)")
    a("--ff-dim", type=int, help="FFN hidden width (default 64)")
    a("--layers", type=int, help="encoder blocks (default 2)")
    a("--circulant", type=int, help="block-circulant weights (CirCNN) for the attention "
                                    "projections and the FFN: block size B, a power of two "
                                    "2..64 dividing their shapes; 1 = dense (default 1); "
                                    "per-layer: YAML model.circulant_overrides")
    a("--ode-steps", type=int, help="Neural-ODE encoder: each of the --layers blocks is one "
                                    "weight-shared block iterated as N Euler steps, h = 1/N "
                                    "(1..64; default: stacked blocks)")
    a("--pooling", choices=list(POOLINGS), help="sequence pooling (default mean)")
    a("--no-pad-mask", action="store_true",
      help="text: attend to [PAD] and average it (default: padding masked in the attention "
           "and the mean, in Keras and in the IP, whose second input is the mask)")
    a("--dropout", type=float, help="dropout after attention and FFN (default 0.1)")
    a("--prune", choices=list(METHODS),
      help="compress after QAT: " + "; ".join(f"{m.name}: {m.help}" for m in METHODS.values()))
    a("--sparsity", type=float, help="pruning target sparsity, 0..1 (default 0.5)")
    a("--block", help="block size for --prune block, ROWSxCOLS (default 4x4)")
    a("--drop", choices=list(LAYER_DROP_MODES),
      help="layer-drop mode (default attention)")
    a("--drop-count", type=int, help="modules to drop (default 1)")
    a("--keep-tokens", type=float, help="--prune token: fraction (< 1) or number of tokens "
                                        "kept (default 0.5)")
    a("--token-block", type=int, help="--prune token: prune after this block's attention "
                                      "(default 0)")
    a("--prune-epochs", type=int, help="fine-tuning epochs after pruning/dropping (default 10)")
    a("--epochs", type=int, help="maximum training epochs (default 100; early stopping, "
                                 "see --patience)")
    a("--patience", type=int, help="early stopping: epochs without a better validation "
                                   "accuracy (default: the epochs that train on ~200,000 "
                                   "tokens, 3..20; digits 20, text sets 3)")
    a("--batch-size", type=int, help="batch size (default 64)")
    a("--lr", type=float, help="learning rate (default 2e-3)")
    a("--lr-schedule", choices=list(LR_SCHEDULES),
      help="constant, or cosine decay to 0 over --epochs, per step (default constant)")
    a("--seed", type=int, help="seed for split, initialisation and shuffling (default 0)")
    a("--teacher", help="distil from this fine-tuned teacher run directory (made by "
                        "'python -m qtransformer.bert finetune'); text data sets only")
    a("--distill", help="what the student learns from --teacher, comma-separated: logits "
                        "(always), embedding (token/position tables from the teacher's, PCA), "
                        "hidden, attention (intermediate layers, teacher run on the fly); "
                        "the last three use the teacher's vocab.txt (default logits)")
    a("--distill-augment", type=float,
      help="transfer set: this many times the training set of augmented texts (phrases "
           "concatenated, words masked, n-grams cut) labelled by the teacher (default 0)")
    a("--distill-alpha", type=float, help="weight of the label loss; 1 - alpha goes to the "
                                          "teacher's logits (default 0.5)")
    a("--distill-temperature", type=float, help="softmax temperature of the logit loss "
                                                "(default 2)")
    a("--no-hls", action="store_true", help="skip the HLS stage (conversion, g++ compile, "
                                             "co-verification)")
    a("--hls-output", help="HLS project directory (default hls/<run>, or <--output>/hls "
                           "when --output is given)")
    a("--backend", choices=list(BACKENDS),
      help="hls4ml backend the project is generated for (default auto: Vitis, or Vivado "
           "where only vivado_hls is on PATH)")
    a("--io", choices=list(IO_FORMS),
      help="HLS form: parallel (hls4ml io_parallel: every tensor at once), stream (io_stream: "
           "one token a beat) or auto, the form that fits the board with the lower latency "
           "(default auto)")
    a("--min-agreement", type=float, help="fail the build when HLS/Keras argmax agreement "
                                          "is below this (default 0.995)")
    a("--output", help="output directory (default models/<dataset>-<bits>-<board>)")
    a("--config", help="YAML config with any of the settings above (flags override it); "
                       "every run writes its resolved config.yaml")
    a("--force", action="store_true", help="replace an existing output directory")
    a("--quiet", action="store_true", help="no per-epoch lines (stage lines still print)")
    a("--allow-overfit", action="store_true",
      help="exit 0 even when the design does not fit the board (default: exit status 3)")
    a("--embedding-from", metavar="DIR",
      help="start the token and position tables from a local BERT checkpoint's (its top "
           "d_model principal directions) and use its vocab.txt; no teacher needed")
    a("--version", action="version", version=f"qtransformer {__version__}")
    return p


_FLAGS = {  # flag dest -> (section, field)
    "board": (None, "board"), "output": (None, "output"), "teacher": (None, "teacher"),
    "embedding_from": (None, "embedding_from"),
    "dataset": ("data", "dataset"), "val_file": ("data", "val_file"),
    "test_file": ("data", "test_file"), "text_column": ("data", "text_column"),
    "label_column": ("data", "label_column"), "header": ("data", "header"),
    "max_examples": ("data", "max_examples"), "vocab_size": ("data", "vocab_size"),
    "vocab_file": ("data", "vocab_file"),
    "seq_len": ("data", "seq_len"), "windows": ("data", "windows"),
    "bits": ("quant", "bits"), "act_bits": ("quant", "act_bits"),
    "bias_quant": ("quant", "bias"), "bias_bits": ("quant", "bias_bits"),
    "ffn_act": ("quant", "ffn_act"),
    "d_model": ("model", "d_model"), "heads": ("model", "heads"), "ff_dim": ("model", "ff_dim"),
    "layers": ("model", "layers"), "pooling": ("model", "pooling"),
    "circulant": ("model", "circulant"), "ode_steps": ("model", "ode_steps"),
    "dropout": ("model", "dropout"),
    "epochs": ("train", "epochs"), "patience": ("train", "patience"),
    "batch_size": ("train", "batch_size"),
    "lr": ("train", "learning_rate"), "lr_schedule": ("train", "lr_schedule"),
    "seed": ("train", "seed"),
    "distill_alpha": ("train", "distill_alpha"), "distill_augment": ("train", "distill_augment"),
    "distill_temperature": ("train", "distill_temperature"),
    "prune": ("prune", "method"), "sparsity": ("prune", "sparsity"), "drop": ("prune", "drop"),
    "drop_count": ("prune", "drop_count"), "prune_epochs": ("prune", "epochs"),
    "keep_tokens": ("prune", "keep_tokens"), "token_block": ("prune", "token_block"),
    "hls_output": ("hls", "output"), "backend": ("hls", "backend"), "io": ("hls", "io_type"),
    "min_agreement": ("hls", "min_agreement"),
}


def _parse_block(text: str) -> list[int]:
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise QTError(f"invalid --block {text!r}: expected ROWSxCOLS, e.g. 4x4") from None
    return [rows, cols]


def resolve_config(args: argparse.Namespace) -> BuildConfig:
    """YAML (if any), then the flags given on the command line, then validation."""
    cfg = load_config(args.config) if args.config else BuildConfig()
    for dest, (section, name) in _FLAGS.items():
        value = getattr(args, dest)
        if value is not None:
            setattr(getattr(cfg, section) if section else cfg, name, value)
    if args.block is not None:
        cfg.prune.block = _parse_block(args.block)
    cfg.force = cfg.force or args.force
    if args.no_hls:
        cfg.hls.enabled = False
    if args.no_pad_mask:
        cfg.model.mask_padding = False
    if args.distill is not None:
        cfg.train.distill = [p.strip() for p in args.distill.split(",") if p.strip()]
    cfg.quant.bits = parse_bits(cfg.quant.bits)
    get_board(cfg.board)
    cfg.validate()
    check_config(cfg)
    from .distill.teacher import resolve_teacher

    resolve_teacher(cfg)
    return cfg


def run_name(cfg: BuildConfig) -> str:
    stem = Path(cfg.data.dataset).stem if cfg.data.dataset not in ("digits", "digits-patches") \
        else cfg.data.dataset
    return f"{stem}-{cfg.quant.bits}-{cfg.board}"


def output_dir(cfg: BuildConfig) -> Path:
    return Path(cfg.output) if cfg.output else Path("models") / run_name(cfg)


def hls_dir(cfg: BuildConfig) -> Path:
    if cfg.hls.output:
        return Path(cfg.hls.output)
    return Path(cfg.output) / "hls" if cfg.output else Path("hls") / run_name(cfg)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    load_tensorflow()  # first: config checks import the layers, hence TensorFlow
    try:
        cfg = resolve_config(args)
        out, hls_out = output_dir(cfg), hls_dir(cfg)
        check_output(out, cfg.force)
        separate_hls = cfg.hls.enabled and out.resolve() not in hls_out.resolve().parents
        if separate_hls:
            check_output(hls_out, cfg.force)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .pipeline import run_pipeline  # the build's own modules only after the checks

    try:
        with staged(out) as stage:
            if not cfg.hls.enabled:
                hls_stage = None
            elif separate_hls:
                hls_stage = stage / "hls"
            else:  # the HLS project lives inside the output directory
                hls_stage = stage / hls_out.resolve().relative_to(out.resolve())
            report = run_pipeline(cfg, stage, out.name, verbose=not args.quiet,
                                  hls_dir=hls_stage, hls_published_as=hls_out,
                                  published_as=out)
            if separate_hls and hls_stage is not None and hls_stage.exists():
                publish(hls_stage, hls_out)
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done in {report['seconds']:.0f} s: accuracy {report['accuracy']:.4f}, macro-F1 "
          f"{report['f1']:.4f}, {report['model_bits']:,} bits -> {out}/report.md")
    return verdict_exit(report, args.allow_overfit)


def verdict_exit(report: dict, allow_overfit: bool) -> int:
    """Print the fit verdict as the last lines; the exit status is :data:`DOES_NOT_FIT` for a
    design that does not fit the board, unless ``--allow-overfit``."""
    v = report.get("hardware_estimate")
    if not v:
        print("no hardware verdict: a float model has no fixed-point form (choose --bits)")
        return 0
    from .hls.estimate import headline

    for line in headline(v, report["board"]["name"]):
        print(line)
    if v["fits"] or allow_overfit:
        return 0
    print(f"exit status {DOES_NOT_FIT}: the design does not fit (outputs written; "
          "--allow-overfit exits 0)")
    return DOES_NOT_FIT


if __name__ == "__main__":
    sys.exit(main())
