"""One call for the build CLI: fit the board, convert, compile, co-verify, write tb_data.

Returns a JSON-ready dict for the report (precision table, estimate, co-verification).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..boards import Board
from ..errors import QTError
from ..kinds import IO_PARALLEL, IO_STREAM
from .axi_wrapper import write_axi
from .convert import check_io, convert_model, model_input_fx
from .coverify import coverify, range_check, write_tb_data
from .estimate import choose_reuse, estimate, over_budget, totals
from .precision import plan_model


def build_hls(model: tf.keras.Model, board: Board, output_dir, x_calibration: np.ndarray,
              x_check: np.ndarray, clock_mhz: float | None = None, n_tb: int = 100,
              backend: str = "Vivado", y_check: np.ndarray | None = None,
              printer=None, io: str = "parallel") -> dict:
    """Write the HLS project for ``board`` and check it bit for bit against Keras.

    ``x_calibration`` (training data) sizes the input type and feeds the range check;
    ``x_check`` (e.g. the test split) is used for co-verification and the first ``n_tb``
    samples become the C testbench data for ``make csim`` (hls4ml's testbench and the board
    wrapper's, :mod:`.axi_wrapper`). ``io``: see :func:`board_estimate`.
    """
    def say(text: str) -> None:
        if printer is not None:
            printer(text, flush=True)

    fit = board_estimate(model, board, x_calibration, io)
    say(f"[hls] {backend} backend, {fit['io_type']}, reuse factors chosen for {board.name} "
        f"(estimate {fit['total']['lut']:,} LUT, "
        f"{fit['total']['dsp']:,} DSP, {fit['total']['bram36']} BRAM36, "
        f"{fit['total']['cycles']:,} cycles; fits: {fit['fits']})")
    if not fit["fits"]:
        say(f"[hls] {over_budget(fit)}")
    t0 = time.time()
    with warnings.catch_warnings():  # hls4ml's optimizer passes warn about node creation
        warnings.simplefilter("ignore")
        conv = convert_model(model, board.part, clock_mhz or board.clock_mhz, output_dir,
                             backend=backend, io_type=fit["io_type"],
                             calibration_x=x_calibration, reuse=fit["reuse"],
                             strategy=fit["strategy"])
    t1 = time.time()
    say("[hls] compiling the C++ model with g++")
    conv.hls_model.compile()
    t2 = time.time()
    say(f"[hls] converted in {t1 - t0:.1f} s, compiled in {t2 - t1:.1f} s; co-verifying "
        f"{len(x_check)} examples")
    check = coverify(model, conv, x_check, y=y_check)
    write_tb_data(model, x_check[:n_tb], output_dir)
    layout = write_axi(conv.hls_model, output_dir)
    write_estimate(fit, board, output_dir)
    ranges = range_check(model, conv.plans, x_calibration[:512])
    return {"project_dir": str(Path(output_dir)), "board": board.name, "part": board.part,
            "clock_mhz": clock_mhz or board.clock_mhz, "strategy": fit["strategy"],
            "io_type": fit["io_type"], "axi": layout.to_dict(),
            "core": conv.hls_model.config.get_project_name(),
            "precision": conv.precision_table(), "estimate": fit, "coverify": check,
            "ranges": ranges, "convert_s": round(t1 - t0, 2), "compile_s": round(t2 - t1, 2)}


def write_estimate(fit: dict, board: Board, output_dir) -> Path:
    """The project's own ``estimate.json`` (raw totals, layers, reuse factors, part): what
    ``python -m qtransformer.hls.calibrate add`` compares with a synthesis of the project."""
    dest = Path(output_dir) / "estimate.json"
    keep = ("total", "utilization", "reuse", "strategy", "io_type", "layers", "label")
    dest.write_text(json.dumps({"part": board.part, "board": board.name,
                                **{k: fit[k] for k in keep}}, indent=1, default=str) + "\n")
    return dest


IO_CHOICES = {"auto": None, "parallel": IO_PARALLEL, "stream": IO_STREAM}


def board_estimate(model: tf.keras.Model, board: Board, x_calibration=None,
                   io: str = "parallel") -> dict:
    """The fitted resource and latency ESTIMATE of a quantized model on ``board`` (reuse
    factors chosen as the HLS stage would) without converting it: cheap enough to compare
    a model before and after compression.

    ``io``: ``parallel``, ``stream``, or ``auto``: both are fitted, and the form that fits
    with the lower latency wins (neither fits: the one whose scarcest resource is least over);
    a form the model cannot take (e.g. token pruning streamed) is left out. The result says
    which (``io_type``) and what the other gave (``alternatives``)."""
    if io not in IO_CHOICES:
        raise QTError(f"unknown --io {io!r}; known: {', '.join(IO_CHOICES)}")
    in_fx = model_input_fx(model, x_calibration)
    forms = [IO_CHOICES[io]] if IO_CHOICES[io] else [IO_PARALLEL, IO_STREAM]
    fits, refused = {}, {}
    for io_type in forms:
        plans = plan_model(model, in_fx, io_type=io_type)
        try:
            check_io(plans, io_type)
        except QTError as exc:
            if len(forms) == 1:
                raise
            refused[io_type] = str(exc)
            continue
        parallel = totals(estimate(plans, io_type), io_type)   # every reuse factor 1
        fits[io_type] = {**choose_reuse(plans, board, io_type=io_type), "parallel": parallel}
    best = min(fits.values(), key=lambda f: (not f["fits"], f["total"]["cycles"] if f["fits"]
                                             else max(f["utilization"].values())))
    best["alternatives"] = {
        **{k: {"fits": f["fits"], "total": f["total"]} for k, f in fits.items()},
        **{k: {"refused": why} for k, why in refused.items()}}
    return best
