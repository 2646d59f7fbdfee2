"""The build as a list of named steps over one context, in the order data flows.

    data -> model -> train -> compress -> evaluate -> save -> hls -> vivado -> deploy -> report

Each step reads the :class:`BuildContext` (config, data, model, ...), adds what it makes and
prints one progress line. :func:`run_pipeline` runs them all; the search and the sweep run the
steps they need (:func:`run_steps`) instead of re-implementing them.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .boards import Board, get_board
from .compress.methods import check_config
from .config import BuildConfig, resolve_backend
from .data import Dataset, load_dataset
from .errors import QTError
from .evaluate import accuracy_on_test, classification_metrics, model_costs, write_report
from .evaluate.costs import data_bits
from .evaluate.plot import PLOT_NAME, write_plot
from .model import build_model
from .train import TrainResult, auto_patience, seed_everything, train


@dataclass
class BuildContext:
    """Everything one build has made so far; each step reads and adds to it."""

    cfg: BuildConfig
    out: Path | None = None               # run directory (save, report)
    run: str = ""
    verbose: bool = True                  # per-epoch lines (step lines always print)
    hls_dir: Path | None = None           # where the HLS project is written
    hls_published_as: Path | None = None  # where the user will find it
    published_as: Path | None = None      # where the user will find the run directory
    printer: Callable | None = print      # step lines (None: silent, e.g. search trials)
    board: Board = field(init=False)
    t0: float = field(default_factory=time.time)
    data: Dataset | None = None
    model: object = None
    training: TrainResult | None = None
    distillation: dict | None = None
    compression: dict | None = None
    metrics: dict | None = None
    test_logits: object = None            # the final model's logits on the test split
    costs: dict | None = None
    hls: dict | None = None
    report: dict | None = None

    def __post_init__(self):
        self.board = get_board(self.cfg.board)

    def say(self, text: str) -> None:
        """A step's progress line (printed whatever ``verbose``, unless ``printer`` is None)."""
        if self.printer is not None:
            self.printer(text, flush=True)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[BuildContext], None]


def costs_of(model, data: Dataset) -> dict:
    """Model costs with the input width of the data (digits pixels: 5 bits)."""
    return model_costs(model, data_bits(data.x_train))


def adopt_data(cfg: BuildConfig, data: Dataset) -> None:
    """Settings the data decides, written into ``cfg`` so config.yaml reproduces the run:
    the sequence length, and the default early-stopping patience."""
    cfg.data.seq_len = data.seq_len
    if cfg.train.patience is None:
        cfg.train.patience = auto_patience(len(data.y_train), data.seq_len)


def step_data(ctx: BuildContext) -> None:
    cfg = ctx.cfg
    seed_everything(cfg.train.seed)
    data = ctx.data = load_dataset(cfg.data, cfg.train.seed)
    adopt_data(cfg, data)
    s = data.summary()
    n = {k: f"{s[k]}" + (f" ({s['windows'][k]} windows)" if s["windows"] and
                          s["windows"][k] > s[k] else "") for k in ("train", "val", "test")}
    ctx.say(f"[data] {s['name']}: {n['train']} train / {n['val']} val / {n['test']} test, "
            f"{s['classes']} classes, sequence {s['seq_len']}"
            + (f" ({s['seq_note']})" if s["seq_note"] else "")
            + (f", vocabulary {s['vocab_size']}" if s["vocab_size"] else ""))


def step_model(ctx: BuildContext) -> None:
    """A fresh model for the data (its weights drawn from the seeded global generators)."""
    cfg, data = ctx.cfg, ctx.data
    m = cfg.model
    m.seq_len, m.classes = data.seq_len, data.classes
    m.vocab_size = data.vocab_size if data.kind == "tokens" else None
    check_config(cfg, m.seq_len)   # e.g. a bad --keep-tokens fails now, before training
    ctx.model = build_model(m, cfg.quant, data.features)
    if cfg.embedding_from:
        _pretrained_tables(ctx)
    blocks = f"{m.layers} blocks" if m.ode_steps is None else \
        f"{m.layers} ODE block{'s' * (m.layers > 1)} x {m.ode_steps} Euler steps (shared weights)"
    ctx.say(f"[model] {blocks}, d_model {m.d_model}, {m.heads} heads, FFN "
            f"{m.ff_dim}; weights {cfg.quant.bits}"
            f"{f'; circulant blocks {m.circulant}' if m.circulant > 1 else ''}"
            f"{'; padding masked' if m.vocab_size and m.mask_padding else ''}"
            f"; {ctx.model.count_params():,} parameters")


def _pretrained_tables(ctx: BuildContext) -> None:
    """Token/position tables from ``--embedding-from`` (host-side tables: no board cost)."""
    from .distill.embedding import checkpoint_tables, set_tables

    if ctx.cfg.model.vocab_size is None:
        raise QTError("--embedding-from needs a text data set (token ids)")
    e = set_tables(ctx.model, *checkpoint_tables(ctx.cfg.embedding_from), "the checkpoint's")
    ctx.say(f"[model] embedding tables from {ctx.cfg.embedding_from}: its top "
            f"{ctx.cfg.model.d_model} principal directions ({100 * e['variance_kept']:.1f}% of "
            f"its variance){'' if e['position'] else '; positions learnt from scratch'}")


def step_train(ctx: BuildContext) -> None:
    cfg = ctx.cfg
    ctx.say(f"[train] up to {cfg.train.epochs} epochs, batch {cfg.train.batch_size}, early "
            f"stop after {cfg.train.patience} epochs without a better validation accuracy")
    if cfg.teacher:
        from .distill.stage import distill_student

        ctx.training, ctx.distillation = distill_student(ctx.model, ctx.data, cfg, ctx.verbose)
    else:
        ctx.training = train(ctx.model, ctx.data, cfg.train, ctx.verbose)


def step_compress(ctx: BuildContext) -> None:
    """The configured compression method after QAT (none: nothing to do)."""
    cfg, data, p = ctx.cfg, ctx.data, ctx.cfg.prune
    if p.method is None:
        return
    from .compress.methods import get_method

    model_before = ctx.model
    before, acc_before = costs_of(model_before, data), accuracy_on_test(model_before, data)
    model, section = get_method(p.method).run(model_before, data, cfg, ctx.verbose, ctx.say)
    after, acc_after = costs_of(model, data), accuracy_on_test(model, data)
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
    ctx.say(f"[compress] {p.method}: test accuracy {acc_before:.4f} -> {acc_after:.4f}, "
            f"effective MACs {before['effective_macs']:,} -> {after['effective_macs']:,}")
    ctx.model, ctx.compression = model, section


def step_evaluate(ctx: BuildContext) -> None:
    data = ctx.data
    logits = ctx.test_logits = ctx.model.predict(data.x_test, batch_size=256, verbose=0)
    ctx.metrics = classification_metrics(*data.per_text("test", logits), data.class_names)
    ctx.costs = costs_of(ctx.model, data)
    ctx.say(f"[evaluate] test accuracy {ctx.metrics['accuracy']:.4f}, macro-F1 "
            f"{ctx.metrics['f1']:.4f}, {ctx.costs['model_bits']:,} bits, "
            f"{ctx.costs['bops']:,} BOPs")


def step_save(ctx: BuildContext) -> None:
    with warnings.catch_warnings():  # Keras calls h5 "legacy"; QKeras and hls4ml read it
        warnings.simplefilter("ignore")
        ctx.model.save(ctx.out / "model.h5")
    if ctx.data.tokenizer is not None:
        ctx.data.tokenizer.save_model(str(ctx.out))  # vocab.txt, for the host-side tokenizer
    ctx.cfg.to_yaml(ctx.out / "config.yaml")


def step_hls(ctx: BuildContext) -> None:
    """HLS project + bit-exact co-verification on the whole test split."""
    cfg, data = ctx.cfg, ctx.data
    if not cfg.hls.enabled:
        return
    if cfg.quant.bits == "float":
        ctx.say("[hls] skipped: a float model has no fixed-point form (choose --bits)")
        return
    from .hls.flow import build_hls

    h = cfg.hls
    result = build_hls(ctx.model, ctx.board, ctx.hls_dir or ctx.out / "hls", data.x_train,
                       data.x_test, clock_mhz=h.clock_mhz, n_tb=h.tb_examples,
                       backend=resolve_backend(h.backend), y_check=data.y_test, printer=print,
                       io=h.io_type)
    result["project_dir"] = str(ctx.hls_published_as or ctx.hls_dir or ctx.out / "hls")
    check = result["coverify"]
    ctx.say(f"[hls] argmax agreement {check['argmax_agreement']:.4f}, max error "
            f"{check['max_error_lsb']:g} LSB on {check['n']} test "
            + ("windows (IP calls)" if data.windows else "examples")
            + f"; HLS accuracy {check['hls_accuracy']:.4f}"
            + (" per window" if data.windows else ""))
    if check["argmax_agreement"] < h.min_agreement:
        raise QTError(f"HLS model disagrees with Keras: argmax agreement "
                      f"{check['argmax_agreement']:.4f} < {h.min_agreement} (max error "
                      f"{check['max_error_lsb']:g} LSB); run qtransformer.hls.coverify."
                      "trace_compare to locate the layer")
    ctx.hls = result


def step_vivado(ctx: BuildContext) -> None:
    """The project's own Makefile and scripts, so that ``make -C <project> csim`` (and synth,
    bitstream) works wherever the project is, without a source checkout."""
    if ctx.hls is None:
        return
    from .vivado import install

    install(ctx.hls_dir or ctx.out / "hls", ctx.board)


def step_deploy(ctx: BuildContext) -> None:
    """The run's deploy bundle: what the board's host, or ``--emulate``, needs."""
    if ctx.hls is None:
        return
    from .axi import Layout
    from .deploy.bundle import write_bundle

    published = Path(ctx.hls["project_dir"])
    write_bundle(ctx.model, ctx.data, ctx.test_logits, Layout.from_dict(ctx.hls["axi"]),
                 ctx.hls["core"], published, ctx.out, ctx.published_as)
    ctx.say(f"[deploy] make -C {published} csim | bitstream; python -m qtransformer.deploy "
            f"{ctx.published_as or ctx.out} --emulate")


def step_report(ctx: BuildContext) -> None:
    cfg, data, metrics, costs, hls = ctx.cfg, ctx.data, ctx.metrics, ctx.costs, ctx.hls
    compression = ctx.compression
    report = {
        "run": ctx.run, "run_dir": str(ctx.published_as or ctx.out), "version": __version__,
        "seed": cfg.train.seed,
        "accuracy": metrics["accuracy"], "precision": metrics["precision"],
        "recall": metrics["recall"], "f1": metrics["f1"], "model_bits": costs["model_bits"],
        "bops": costs["bops"], "params": costs["params"],
        "effective_macs": costs["effective_macs"], "nonzero_bits": costs["nonzero_bits"],
        **{k: costs[k] for k in ("device_params", "device_dense_params", "device_bits",
                                 "device_nonzero_bits")},
        "sparsity": compression.get("sparsity", 0.0) if compression else 0.0,
        "compression": compression, "distillation": ctx.distillation,
        "argmax_agreement": hls["coverify"]["argmax_agreement"] if hls else None,
        "max_error_lsb": hls["coverify"]["max_error_lsb"] if hls else None,
        "hls": hls,
        "hardware_estimate": board_fit(ctx.model, data, cfg, fit=hls["estimate"] if hls
                                       else None),
        "board": ctx.board.to_dict(), "data": data.summary(), "config": cfg.to_dict(),
        "training": dict(vars(ctx.training)), "test": metrics, "costs": costs,
        "environment": _environment(),
    }
    report["plot"] = PLOT_NAME
    report["seconds"] = time.time() - ctx.t0
    write_plot(report, ctx.out)
    write_report(report, ctx.out)
    ctx.report = report
    ctx.say(f"[report] {ctx.run}/report.json, report.md, {PLOT_NAME}, model.h5, config.yaml")


STEPS: list[Step] = [Step("data", step_data), Step("model", step_model),
                     Step("train", step_train), Step("compress", step_compress),
                     Step("evaluate", step_evaluate), Step("save", step_save),
                     Step("hls", step_hls), Step("vivado", step_vivado),
                     Step("deploy", step_deploy),
                     Step("report", step_report)]
STEP_NAMES = tuple(s.name for s in STEPS)


def run_steps(ctx: BuildContext, names: tuple[str, ...] | list[str] = STEP_NAMES
              ) -> BuildContext:
    """Run the named steps in the build's order (unknown names are an error)."""
    unknown = [n for n in names if n not in STEP_NAMES]
    if unknown:
        raise QTError(f"unknown build step {unknown[0]!r}; known: {', '.join(STEP_NAMES)}")
    for step in STEPS:
        if step.name in names:
            step.run(ctx)
    return ctx


def run_pipeline(cfg: BuildConfig, out: Path, run: str, verbose: bool = True,
                 hls_dir: Path | None = None, hls_published_as: Path | None = None,
                 published_as: Path | None = None) -> dict:
    """Run every step into ``out`` (the HLS project into ``hls_dir``, default
    ``out/hls``; the user will find them at ``published_as`` and ``hls_published_as``);
    return the report dict (also written to disk)."""
    ctx = BuildContext(cfg, out, run, verbose, hls_dir, hls_published_as,
                       published_as=published_as)
    return run_steps(ctx).report


def board_fit(model, data: Dataset, cfg: BuildConfig, io: str | None = None,
              fit: dict | None = None) -> dict | None:
    """Board-fitted resource and latency ESTIMATE with its verdict (no conversion, about a
    second; :func:`~qtransformer.hls.estimate.verdict`) in the io form ``io`` (default the
    config's); ``fit``: the HLS step's own (the same estimate of the same model, not made
    twice). None for a float model, which has no fixed-point types to estimate."""
    if cfg.quant.weight_family()[0] == "float":
        return None
    from .hls.estimate import verdict
    from .hls.flow import board_estimate

    board = get_board(cfg.board)
    fit = fit or board_estimate(model, board, data.x_train, io or cfg.hls.io_type)
    return {**verdict(fit, board, costs_of(model, data)["macs"], fit["io_type"]),
            "strategy": fit["strategy"], "parallel": fit["parallel"],
            "alternatives": fit["alternatives"]}


def _hardware_effect(before, after, data: Dataset, cfg: BuildConfig) -> dict | None:
    """The estimate before and after compression, both in the io form the compressed model
    gets (a form ``--io auto`` picks for one need not be the other's)."""
    a = board_fit(after, data, cfg)
    if a is None:
        return None
    io = "stream" if a["io_type"] == "io_stream" else "parallel"
    return {"label": a["label"], "before": board_fit(before, data, cfg, io), "after": a}


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


__all__ = ["STEPS", "STEP_NAMES", "BuildContext", "Step", "adopt_data", "board_fit", "costs_of",
           "run_pipeline", "run_steps"]
