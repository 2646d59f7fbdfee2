"""The compression methods, one registry entry each: the CLIs check ``prune.method`` against
it (:func:`check_config`), list its names and help, and the pipeline's compress step runs the
entry.

This module imports nothing heavy at load time (the CLI checks a config before TensorFlow
loads); each ``run`` imports its implementation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import QTError
from ..registry import Registry

if TYPE_CHECKING:
    from ..config import BuildConfig
    from ..data import Dataset


@dataclass(frozen=True)
class CompressionMethod:
    """One method. ``run(model, data, cfg, verbose, say) -> (model, report section)`` after
    QAT (``verbose``: per-epoch lines; ``say``: prints a progress line);
    ``check(cfg, seq_len)`` fails a bad config before any training (``seq_len`` None: the
    data's sequence length is not known yet)."""

    name: str
    help: str
    run: Callable
    check: Callable[[BuildConfig, int | None], None] = lambda cfg, seq_len: None


METHODS: Registry[CompressionMethod] = Registry("pruning method")


def register_method(method: CompressionMethod) -> CompressionMethod:
    return METHODS.add(method.name, method)


def get_method(name: str) -> CompressionMethod:
    return METHODS.lookup(name)


def check_config(cfg: BuildConfig, seq_len: int | None = None) -> None:
    """Fail a config whose compression method is unknown or cannot apply, before training."""
    if cfg.prune.method is not None:
        get_method(cfg.prune.method).check(cfg, seq_len)


def _finetune(model, data: Dataset, cfg: BuildConfig, verbose: bool) -> None:
    from ..train import train

    if cfg.prune.epochs:
        train(model, data, dataclasses.replace(cfg.train, epochs=cfg.prune.epochs), verbose)


def _weights(model, data: Dataset, cfg: BuildConfig, verbose: bool, say: Callable):
    from .prune import prune_and_finetune

    return prune_and_finetune(model, data, cfg.prune, cfg.train, verbose=verbose,
                              printer=lambda text, **_: say(text))


def _weights_check(cfg: BuildConfig, seq_len: int | None) -> None:
    """Weight pruning needs dense weights (no circulant blocks) with a zero level."""
    if cfg.model.uses_circulant():
        raise QTError(f"--prune {cfg.prune.method} is not offered on circulant layers (their "
                      "weights are already b times fewer); use --circulant 1, or token "
                      "pruning / layer drop")
    if not cfg.quant.has_zero_weight():
        raise QTError(f"--prune {cfg.prune.method} needs weights with a zero level (an "
                      f"integer width, ternary or float); {cfg.quant.bits} has none")


def _token(model, data: Dataset, cfg: BuildConfig, verbose: bool, say: Callable):
    from .token_prune import prune_tokens

    p = cfg.prune
    model, new_cfg = prune_tokens(model, cfg.model, cfg.quant, p.keep_tokens, p.token_block,
                                  data.features)
    say(f"[compress] token pruning: keep {new_cfg.token_keep} of {cfg.model.seq_len} tokens "
        f"after block {p.token_block}'s attention, fine-tuning {p.epochs} epochs")
    _finetune(model, data, cfg, verbose)
    return model, {"tokens_before": cfg.model.seq_len, "tokens_kept": new_cfg.token_keep,
                   "token_block": p.token_block}


def _no_ode(cfg: BuildConfig, why: str) -> None:
    if cfg.model.ode_steps is not None:
        raise QTError(f"--prune {cfg.prune.method} is not offered on an ODE encoder "
                      f"(--ode-steps): {why}")


def _token_check(cfg: BuildConfig, seq_len: int | None) -> None:
    _no_ode(cfg, "its block keeps every token on every step; use fewer --seq-len tokens")
    if cfg.hls.io_type == "stream":
        raise QTError("--prune token has no streamed HLS form yet: use --io parallel or auto")
    probe = dataclasses.replace(cfg.model, token_keep=1, token_block=cfg.prune.token_block)
    probe._validate_token_pruning()
    if seq_len:
        from .token_prune import keep_count

        keep_count(cfg.prune.keep_tokens, seq_len)


def _layer_drop_check(cfg: BuildConfig, seq_len: int | None) -> None:
    _no_ode(cfg, "its one block is iterated, so dropping a module drops it from every step; "
                 "evaluate fewer steps instead (benchmarks/ode_bench.py reports accuracy per "
                 "step count)")


def _layer_drop(model, data: Dataset, cfg: BuildConfig, verbose: bool, say: Callable):
    from .layer_drop import choose, drop_modules, importance

    p = cfg.prune
    scores = importance(model, cfg.model, data.x_train[:512])
    attn, mlp = choose(scores, p.drop, p.drop_count)
    model, _ = drop_modules(model, cfg.model, cfg.quant, attn, mlp, data.features)
    say(f"[compress] layer drop ({p.drop}): importance "
        + ", ".join(f"{m[:4]}{i} {s:.4f}" for m in ("attention", "mlp")
                    for i, s in scores[m].items())
        + f"; dropping attention {attn} mlp {mlp}")
    _finetune(model, data, cfg, verbose)
    return model, {"importance": {m: {str(i): s for i, s in v.items()}
                                  for m, v in scores.items()},
                   "dropped_attention": attn, "dropped_mlp": mlp}


register_method(CompressionMethod(
    "magnitude", "TF-MOT unstructured magnitude pruning of every quantized dense layer", _weights,
    _weights_check))
register_method(CompressionMethod(
    "block", "TF-MOT block-structured pruning (--block ROWSxCOLS)", _weights, _weights_check))
register_method(CompressionMethod(
    "token", "token pruning: keep the top-k tokens by received attention", _token, _token_check))
register_method(CompressionMethod(
    "layer-drop", "drop attention / MLP modules by cosine importance", _layer_drop,
    _layer_drop_check))
