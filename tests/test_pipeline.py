"""The build's steps end to end: layer drop through HLS, the --min-agreement failure,
a Resource-strategy project with reuse > 1, the fit verdict, unknown steps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from qtransformer.build import main, parser, verdict_exit
from qtransformer.config import BuildConfig, ModelConfig, QuantConfig
from qtransformer.errors import QTError
from qtransformer.hls.convert import convert_model
from qtransformer.hls.coverify import coverify
from qtransformer.hls.estimate import valid_dense_reuse
from qtransformer.model import build_model
from qtransformer.pipeline import BuildContext, run_steps
from qtransformer.train import compile_model
from tests.conftest import TINY_FLAGS

HLS_FLAGS = [f for f in TINY_FLAGS if f != "--no-hls"]


def test_layer_drop_end_to_end_through_hls(tmp_path):
    out = tmp_path / "run"
    flags = ["--d-model", "8", "--heads", "2", "--ff-dim", "16", "--layers", "2", "--epochs",
             "1", "--quiet"]
    assert main(["--output", str(out), "--hls-output", str(tmp_path / "hls"), "--prune",
                 "layer-drop", "--drop", "mlp", "--prune-epochs", "1", "--max-examples", "256",
                 *flags]) == 0
    report = json.loads((out / "report.json").read_text())
    c = report["compression"]
    assert c["method"] == "layer-drop" and len(c["dropped_mlp"]) == 1
    assert c["effective_macs_after"] < c["effective_macs_before"]
    dropped = c["dropped_mlp"][0]
    names = {row["name"] for row in report["hls"]["precision"]}
    assert f"block{dropped}_ffn1" not in names and f"block{1 - dropped}_ffn1" in names
    assert report["argmax_agreement"] == 1.0 and report["max_error_lsb"] == 0


def test_min_agreement_failure_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import qtransformer.hls.flow as flow

    def disagreeing(model, board, output_dir, x_calibration, x_check, **kwargs):
        """The HLS step's result for a project that agrees with Keras on half the examples
        (the conversion itself is tested bit-exact elsewhere)."""
        return {"coverify": {"argmax_agreement": 0.5, "max_abs_error": 1.0,
                             "max_error_lsb": 64.0, "n": len(x_check), "hls_accuracy": 0.1}}

    monkeypatch.setattr(flow, "build_hls", disagreeing)
    out, hls = tmp_path / "run", tmp_path / "hls"
    assert main(["--output", str(out), "--hls-output", str(hls), "--min-agreement", "0.9",
                 *HLS_FLAGS]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: HLS model disagrees with Keras: argmax agreement 0.5000 < 0.9")
    assert len(err.splitlines()) == 1
    assert not out.exists() and not hls.exists()


def test_resource_strategy_with_reuse_above_one_is_bit_exact(tmp_path):
    cfg = ModelConfig(d_model=8, heads=2, ff_dim=16, layers=1, seq_len=4, classes=3)
    x = np.random.default_rng(0).integers(0, 17, (48, 4, 6)).astype("float32") / 16
    tf.keras.utils.set_random_seed(0)
    model = build_model(cfg, QuantConfig(bits="4"), features=6)
    compile_model(model, 1e-3)
    model.fit(x, np.random.default_rng(1).integers(0, 3, len(x)), epochs=2, batch_size=16,
              verbose=0)
    rf_ffn1 = valid_dense_reuse(8, 16, True)[2]
    assert rf_ffn1 > 1
    reuse = {"block0_ffn1": rf_ffn1, "block0_ffn2": valid_dense_reuse(16, 8, True)[1],
             "block0_attn": 2, "block0_ln1": 2}
    conv = convert_model(model, "xc7z020clg400-1", 100.0, tmp_path / "prj", calibration_x=x,
                         reuse=reuse, strategy="Resource")
    params = (tmp_path / "prj" / "firmware" / "parameters.h").read_text()
    assert f"reuse_factor = {rf_ffn1};" in params and "resource" in params.lower()
    conv.hls_model.compile()
    r = coverify(model, conv, x)
    assert r["argmax_agreement"] == 1.0 and r["max_error_lsb"] == 0.0


def test_unknown_step_is_an_error():
    with pytest.raises(QTError, match="unknown build step 'tune'"):
        run_steps(BuildContext(BuildConfig()), ["data", "tune"])


def test_a_design_that_does_not_fit_exits_3_unless_allowed(tmp_path, capsys, text_file):
    """An SST-2-sized encoder (48 tokens, d_model 64) forced into io_parallel (its unrolled
    (48, 64) tensors do not fit): the verdict is the last lines, the outputs are written, the
    exit status is 3 (0 with --allow-overfit)."""
    flags = ["--dataset", str(text_file), "--seq-len", "48", "--vocab-size", "60", "--d-model",
             "64", "--ff-dim", "128", "--heads", "4", "--layers", "1", "--epochs", "1",
             "--io", "parallel", "--quiet", "--no-hls"]
    out = tmp_path / "big"
    assert main(["--output", str(out), *flags]) == 3
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("exit status 3: the design does not fit")
    verdict = [i for i, line in enumerate(lines) if line.startswith("DOES NOT FIT pynq-z2")]
    assert verdict and "median error" in lines[verdict[0]]          # the calibration band
    assert lines[verdict[0] + 1].startswith("DOES NOT FIT at the pessimistic end")
    assert lines[verdict[0] + 2].startswith("latency ")
    assert len([line for line in lines[verdict[0]:] if "; shrink with " in line]) == 3
    report = json.loads((out / "report.json").read_text())
    v = report["hardware_estimate"]
    assert v["fits"] is False and v["io_type"] == "io_parallel" and v["lut"] > 53_200
    assert {"ff", "dsp", "bram36", "cycles", "latency_us", "bound_cycles", "calibration",
            "fits_pessimistic", "pessimistic"} <= set(v)
    assert v["latency_us"] == v["cycles"] / 100.0 and len(v["largest"]) == 3
    assert (out / "report.md").read_text().splitlines()[2].startswith("**DOES NOT FIT** on")
    assert verdict_exit(report, allow_overfit=True) == 0          # --allow-overfit
    assert "--allow-overfit" in parser().format_help()
