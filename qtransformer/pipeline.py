"""The stages of a build, in the order data flows. Each prints one progress line."""

from __future__ import annotations

import dataclasses
import platform
import shutil
import subprocess
import time
import warnings
from pathlib import Path

from . import __version__
from .boards import get_board
from .config import BuildConfig
from .data import Dataset, load_dataset
from .errors import QTError
from .evaluate import accuracy_on_test, classification_metrics, model_costs, write_report
from .model import build_model
from .train import seed_everything, train


def _say(verbose: bool, text: str) -> None:
    """Stage lines always print (they are the progress); ``verbose`` adds per-epoch lines."""
    print(text, flush=True)


def stage_data(cfg: BuildConfig, verbose: bool) -> Dataset:
    data = load_dataset(cfg.data, cfg.train.seed)
    cfg.data.seq_len = data.seq_len
    s = data.summary()
    _say(verbose, f"[data] {s['name']}: {s['train']} train / {s['val']} val / {s['test']} test, "
                  f"{s['classes']} classes, sequence {s['seq_len']}"
                  + (f", vocabulary {s['vocab_size']}" if s["vocab_size"] else ""))
    return data


def stage_model(cfg: BuildConfig, data: Dataset, verbose: bool):
    m = cfg.model
    m.seq_len, m.classes = data.seq_len, data.classes
    m.vocab_size = data.vocab_size if data.kind == "tokens" else None
    features = int(data.x_train.shape[-1]) if data.kind == "patches" else None
    if cfg.prune.method == "token":
        from .compress.token_prune import keep_count

        keep_count(cfg.prune.keep_tokens, m.seq_len)   # a bad --keep-tokens fails now
    model = build_model(m, cfg.quant, features)
    _say(verbose, f"[model] {m.layers} blocks, d_model {m.d_model}, {m.heads} heads, FFN "
                  f"{m.ff_dim}; weights {cfg.quant.bits}; {model.count_params():,} parameters")
    return model


def stage_evaluate(model, data: Dataset, verbose: bool) -> tuple[dict, dict]:
    logits = model.predict(data.x_test, batch_size=256, verbose=0)
    metrics = classification_metrics(data.y_test, logits, data.class_names)
    costs = model_costs(model)
    _say(verbose, f"[evaluate] test accuracy {metrics['accuracy']:.4f}, macro-F1 "
                  f"{metrics['f1']:.4f}, {costs['model_bits']:,} bits, {costs['bops']:,} BOPs")
    return metrics, costs


def stage_compress(model, data: Dataset, cfg: BuildConfig, verbose: bool):
    """Pruning or layer drop after QAT; returns the compressed model and a report section."""
    p = cfg.prune
    if p.method is None:
        return model, None
    before = model_costs(model)
    acc_before = accuracy_on_test(model, data)
    model_before = model
    if p.method == "layer-drop":
        model, section = _layer_drop(model, data, cfg, verbose)
    elif p.method == "token":
        model, section = _token_prune(model, data, cfg, verbose)
    else:
        from .compress.prune import prune_and_finetune

        model, section = prune_and_finetune(model, data, p, cfg.train)
    after = model_costs(model)
    acc_after = accuracy_on_test(model, data)
    section.update(method=p.method, accuracy_before=acc_before, accuracy_after=acc_after,
                   macs_before=before["macs"], macs_after=after["macs"],
                   effective_macs_before=before["effective_macs"],
                   effective_macs_after=after["effective_macs"])
    speedup = before["effective_macs"] / max(after["effective_macs"], 1) - 1
    section["mac_speedup_percent_estimate"] = 100 * speedup
    hw = _hardware_effect(model_before, model, data, cfg)
    if hw:
        section["hardware_estimate"] = hw
        speedup = hw["before"]["cycles"] / max(hw["after"]["cycles"], 1) - 1
        section["latency_speedup_percent_estimate"] = 100 * speedup
    if p.method == "layer-drop" and speedup > 0:
        # He et al.'s Speedup Degradation Ratio: accuracy points lost per % speedup (from
        # the HLS latency estimate where the model is quantized, else from MACs).
        section["sdr_estimate"] = 100 * (acc_before - acc_after) / (100 * speedup)
    _say(verbose, f"[compress] {p.method}: test accuracy {acc_before:.4f} -> {acc_after:.4f}, "
                  f"effective MACs {before['effective_macs']:,} -> {after['effective_macs']:,}")
    return model, section


def board_fit(model, data: Dataset, cfg: BuildConfig) -> dict | None:
    """Board-fitted LUT/DSP/BRAM/latency ESTIMATE (no conversion, about a second); None for a
    float model, which has no fixed-point types to estimate."""
    if cfg.quant.weight_family()[0] == "float":
        return None
    from .hls.flow import board_estimate

    fit = board_estimate(model, get_board(cfg.board), data.x_train[:512])
    return {**fit["total"], "fits": fit["fits"], "strategy": fit["strategy"],
            "parallel": fit["parallel"], "label": fit["label"]}


def _hardware_effect(before, after, data: Dataset, cfg: BuildConfig) -> dict | None:
    """The estimate before and after compression."""
    b = board_fit(before, data, cfg)
    if b is None:
        return None
    return {"label": b["label"], "before": b, "after": board_fit(after, data, cfg)}


def _token_prune(model, data: Dataset, cfg: BuildConfig, verbose: bool):
    from .compress.token_prune import prune_tokens

    p = cfg.prune
    features = int(data.x_train.shape[-1]) if data.kind == "patches" else None
    model, new_cfg = prune_tokens(model, cfg.model, cfg.quant, p.keep_tokens, p.token_block,
                                  features)
    _say(verbose, f"[compress] token pruning: keep {new_cfg.token_keep} of "
                  f"{cfg.model.seq_len} tokens after block {p.token_block}'s attention, "
                  f"fine-tuning {p.epochs} epochs")
    if p.epochs:
        train(model, data, dataclasses.replace(cfg.train, epochs=p.epochs), verbose)
    return model, {"tokens_before": cfg.model.seq_len, "tokens_kept": new_cfg.token_keep,
                   "token_block": p.token_block}


def _layer_drop(model, data: Dataset, cfg: BuildConfig, verbose: bool):
    from .compress.layer_drop import choose, drop_modules, importance

    p = cfg.prune
    scores = importance(model, cfg.model, data.x_train[:512])
    attn, mlp = choose(scores, p.drop, p.drop_count)
    features = int(data.x_train.shape[-1]) if data.kind == "patches" else None
    model, _ = drop_modules(model, cfg.model, cfg.quant, attn, mlp, features)
    _say(verbose, f"[compress] layer drop ({p.drop}): importance "
                  + ", ".join(f"{m[:4]}{i} {s:.4f}" for m in ("attention", "mlp")
                              for i, s in scores[m].items())
                  + f"; dropping attention {attn} mlp {mlp}")
    if p.epochs:
        train(model, data, dataclasses.replace(cfg.train, epochs=p.epochs), verbose)
    return model, {"importance": {m: {str(i): s for i, s in v.items()}
                                  for m, v in scores.items()},
                   "dropped_attention": attn, "dropped_mlp": mlp}


def stage_hls(model, data: Dataset, cfg: BuildConfig, board, hls_dir: Path,
              verbose: bool, published_as: Path | None = None) -> dict | None:
    """HLS project + bit-exact co-verification on the whole test split."""
    from .hls.flow import build_hls

    if cfg.quant.bits == "float":
        _say(verbose, "[hls] skipped: a float model has no fixed-point form (choose --bits)")
        return None
    h = cfg.hls
    result = build_hls(model, board, hls_dir, data.x_train, data.x_test,
                       clock_mhz=h.clock_mhz, n_tb=h.tb_examples, backend=h.backend,
                       y_check=data.y_test, printer=print)
    result["project_dir"] = str(published_as or hls_dir)  # where the user will find it
    check = result["coverify"]
    _say(verbose, f"[hls] argmax agreement {check['argmax_agreement']:.4f}, max error "
                  f"{check['max_error_lsb']:g} LSB on {check['n']} test examples; HLS accuracy "
                  f"{check['hls_accuracy']:.4f}")
    if check["argmax_agreement"] < h.min_agreement:
        raise QTError(f"HLS model disagrees with Keras: argmax agreement "
                      f"{check['argmax_agreement']:.4f} < {h.min_agreement} (max error "
                      f"{check['max_error_lsb']:g} LSB); run qtransformer.hls.coverify."
                      "trace_compare to locate the layer")
    return result


def stage_save(model, data: Dataset, cfg: BuildConfig, out: Path) -> None:
    with warnings.catch_warnings():  # Keras calls h5 "legacy"; QKeras and hls4ml read it
        warnings.simplefilter("ignore")
        model.save(out / "model.h5")
    if data.tokenizer is not None:
        data.tokenizer.save_model(str(out))  # vocab.txt, for the host-side tokenizer
    cfg.to_yaml(out / "config.yaml")


def run_pipeline(cfg: BuildConfig, out: Path, run: str, verbose: bool = True,
                 hls_dir: Path | None = None, hls_published_as: Path | None = None) -> dict:
    """Run every stage into ``out`` (the HLS project into ``hls_dir``, default
    ``out/hls``); return the report dict (also written to disk)."""
    t0 = time.time()
    board = get_board(cfg.board)
    seed_everything(cfg.train.seed)
    data = stage_data(cfg, verbose)
    model = stage_model(cfg, data, verbose)
    _say(verbose, f"[train] up to {cfg.train.epochs} epochs, batch {cfg.train.batch_size}")
    distillation = None
    if cfg.teacher:
        from .distill.stage import distill_student

        result, distillation = distill_student(model, data, cfg, verbose)
    else:
        result = train(model, data, cfg.train, verbose)
    model, compression = stage_compress(model, data, cfg, verbose)
    metrics, costs = stage_evaluate(model, data, verbose)
    stage_save(model, data, cfg, out)
    hls = None
    if cfg.hls.enabled:
        hls = stage_hls(model, data, cfg, board, hls_dir or out / "hls", verbose,
                        hls_published_as)
    report = {
        "run": run, "version": __version__, "seed": cfg.train.seed,
        "accuracy": metrics["accuracy"], "precision": metrics["precision"],
        "recall": metrics["recall"], "f1": metrics["f1"], "model_bits": costs["model_bits"],
        "bops": costs["bops"], "params": costs["params"],
        "effective_macs": costs["effective_macs"], "nonzero_bits": costs["nonzero_bits"],
        **{k: costs[k] for k in ("device_params", "device_bits", "device_nonzero_bits")},
        "sparsity": compression.get("sparsity", 0.0) if compression else 0.0,
        "compression": compression, "distillation": distillation,
        "argmax_agreement": hls["coverify"]["argmax_agreement"] if hls else None,
        "max_error_lsb": hls["coverify"]["max_error_lsb"] if hls else None,
        "hls": hls,
        "hardware_estimate": board_fit(model, data, cfg),
        "board": board.to_dict(), "data": data.summary(), "config": cfg.to_dict(),
        "training": {k: v for k, v in vars(result).items()}, "test": metrics, "costs": costs,
        "environment": _environment(),
    }
    report["seconds"] = time.time() - t0
    write_report(report, out)
    _say(verbose, f"[report] {run}/report.json, report.md, model.h5, config.yaml")
    return report


def _environment() -> dict:
    import hls4ml
    import qkeras
    import tensorflow as tf

    gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout \
        if shutil.which("g++") else ""
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "g++": gxx.splitlines()[0] if gxx else "not found",
            "qkeras": getattr(qkeras, "__version__", "?"), "hls4ml": hls4ml.__version__,
            "platform": platform.platform()}
