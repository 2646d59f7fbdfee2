"""``python -m qtransformer.bert``: verify / finetune a local Hugging Face BERT checkpoint;
substitute: the cost of each hardware-friendly operator on a fine-tuned one."""

from __future__ import annotations

import argparse
import sys


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m qtransformer.bert",
                                description="Import Hugging Face BERT checkpoints (local "
                                            "directories only) into the QKeras encoder.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="compare our import with transformers' BertModel "
                                      "(needs torch); the last line is the max abs difference")
    v.add_argument("directory")
    v.add_argument("--seq-len", type=int, default=32)
    f = sub.add_parser("finetune", help="fine-tune with a classification head on a text file; "
                                        "writes a teacher directory for 'build --teacher'")
    f.add_argument("directory", help="Hugging Face BERT checkpoint directory")
    f.add_argument("--dataset", required=True, help="TSV/CSV training file (text, label)")
    f.add_argument("--val-file")
    f.add_argument("--test-file")
    f.add_argument("--text-column")
    f.add_argument("--label-column")
    f.add_argument("--seq-len", type=int, default=64)
    f.add_argument("--epochs", type=int, default=2)
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--lr", type=float, default=3e-5)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--max-examples", type=int, help="use only the first N training examples")
    f.add_argument("--pooling", choices=["cls", "mean"], default="cls")
    f.add_argument("--activation", help="FFN activation: gelu, gelu_new, gelu_pwl, relu "
                                        "(default: the checkpoint's)")
    f.add_argument("--keep-layers", type=int, help="keep only the first N encoder layers")
    f.add_argument("--drop-layers", type=int, default=0,
                   help="then drop the N layers that change their input least (1 - cos "
                        "importance, He et al. 2024) before fine-tuning")
    f.add_argument("--bits", default="float",
                   help="fine-tune with quantized weights (QAT): any build --bits value")
    f.add_argument("--prune", choices=["magnitude", "block"],
                   help="after fine-tuning, prune the encoder's weights (TF-MOT) and fine-tune "
                        "again")
    f.add_argument("--sparsity", type=float, default=0.5, help="--prune target (default 0.5)")
    f.add_argument("--prune-epochs", type=int, default=1,
                   help="fine-tuning epochs while pruning (default 1)")
    f.add_argument("--output", required=True, help="teacher run directory to write")
    f.add_argument("--force", action="store_true", help="replace an existing output directory")
    s = sub.add_parser("substitute", help="test accuracy of a fine-tuned teacher with each "
                                          "hardware-friendly substitution (GELU -> gelu_pwl / "
                                          "relu, HLS softmax, HLS LayerNorm), no retraining")
    s.add_argument("teacher", help="teacher run directory ('finetune' output)")
    s.add_argument("--test-file", required=True, help="labelled TSV/CSV (text, label)")
    s.add_argument("--text-column")
    s.add_argument("--label-column")
    return p


def _finetune(args) -> None:
    from pathlib import Path

    from ..config import DataConfig, TrainConfig, parse_bits
    from ..outputs import check_output, staged
    from .finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(
        checkpoint=args.directory, output=args.output, seq_len=args.seq_len,
        pooling=args.pooling, activation=args.activation, keep_layers=args.keep_layers,
        drop_layers=args.drop_layers, bits=parse_bits(args.bits), force=args.force,
        prune=args.prune, sparsity=args.sparsity, prune_epochs=args.prune_epochs,
        data=DataConfig(dataset=args.dataset, val_file=args.val_file, test_file=args.test_file,
                        text_column=args.text_column, label_column=args.label_column,
                        max_examples=args.max_examples),
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                          learning_rate=args.lr, patience=1, seed=args.seed))
    cfg.train.validate()
    if args.prune:
        from ..config import PruneConfig, QuantConfig
        from ..errors import QTError

        PruneConfig(method=args.prune, sparsity=args.sparsity, epochs=args.prune_epochs).validate()
        if not QuantConfig(bits=cfg.bits).has_zero_weight():
            raise QTError(f"--prune needs weights with a zero level (an integer width, ternary "
                          f"or float); {cfg.bits} has none")
    out = Path(args.output)
    check_output(out, args.force)
    with staged(out) as stage:
        r = finetune(cfg, stage)
    print(f"done: teacher test accuracy {r['accuracy']:.4f} -> {out}/report.md")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from ..tfenv import load_tensorflow

    load_tensorflow()
    from ..errors import QTError

    try:
        if args.command == "verify":
            from .verify import verify

            r = verify(args.directory, args.seq_len)
            print(f"checked {r['tokens']} tokens in {r['sentences']} sentences (seq_len "
                  f"{r['seq_len']}): mean abs diff {r['mean_abs_diff']:.3g}")
            print(f"max abs diff {r['max_abs_diff']:.3g}")
        elif args.command == "finetune":
            _finetune(args)
        elif args.command == "substitute":
            import json

            from .substitute import substitution_costs

            r = substitution_costs(args.teacher, args.test_file, args.text_column,
                                   args.label_column)
            print(json.dumps(r))
    except QTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
