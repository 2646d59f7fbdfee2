"""Bit-width search: a tiny search end to end, bad input, and KerasTuner's distributed mode."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from qtransformer.config import BuildConfig, load_config
from qtransformer.search import main
from qtransformer.search.autoq import SearchSpace, apply_values, forgiving_score, make_oracle

from .conftest import REPO

TINY = ("model: {d_model: 8, heads: 2, ff_dim: 16, layers: 1}\n"
        "data: {max_examples: 256}\ntrain: {epochs: 1}\nhls: {enabled: false}\n")


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_apply_values_and_score():
    values = {"attn_bits": "4", "ffn_bits": "ternary", "io_bits": "8", "act_bits": 6,
              "score_bits": 8, "prob_bits": 7}
    cfg = apply_values(BuildConfig(), values)
    cfg.validate()
    q = cfg.quant
    assert q.act_bits == 6
    assert q.for_layer("block1_attn").bits == "4"
    assert q.for_layer("block0_attn").score_bits == 8
    assert q.for_layer("block0_attn").prob_bits == 7
    assert q.for_layer("block0_ffn2").bits == "ternary"
    assert q.for_layer("block0_ffn1_act").bits == "8"  # the activation keeps the base width
    assert q.for_layer("classifier").bits == "8"
    assert apply_values(BuildConfig(), {**values, "act_bits": 4}).quant.act_int == 1
    assert forgiving_score(0.9, 50, 100, 0.02) == pytest.approx(0.92)
    SearchSpace().validate(BuildConfig())


def test_lut_cost_of_a_tiny_model(tiny_config):
    from qtransformer.boards import get_board
    from qtransformer.search.autoq import TrialRunner, model_cost

    base = load_config(tiny_config)
    runner = TrialRunner(base, "lut", 0.02)
    costs = model_cost(runner.build(base), "lut", get_board(base.board), runner.data().x_train)
    assert costs["cost"] == costs["lut"] >= costs["board_lut"] > 0
    assert costs["fits"] == 1.0 and costs["model_bits"] > 0   # a d_model-8 model fits a pynq-z2


def test_search_two_trials(tmp_path, tiny_config, capsys):
    out = tmp_path / "search"
    t0 = time.time()
    assert main(["--config", str(tiny_config), "--trials", "2", "--output", str(out)]) == 0
    assert time.time() - t0 < 120
    lines = [s for s in capsys.readouterr().out.splitlines() if s.startswith("[search] trial")]
    assert [s.split(":")[0] for s in lines] == ["[search] trial 1/2", "[search] trial 2/2"]
    report = json.loads((out / "trials.json").read_text())
    scores = {r["trial"]: r["metrics"]["score"] for r in report["trials"]}
    assert len(scores) == 2
    assert scores[report["best"]] == max(scores.values())
    # the search starts from the uniform presets, in the order of the weight choices
    first = [r["values"] for r in report["trials"]]
    assert [(v["attn_bits"], v["ffn_bits"], v["io_bits"]) for v in first] == \
        [("binary",) * 3, ("ternary",) * 3]
    assert report["settings"]["uniform_start"] is True
    best = next(r for r in report["trials"] if r["trial"] == report["best"])
    cfg = load_config(out / "best_config.yaml")
    cfg.validate()
    assert cfg.model.d_model == 8 and cfg.train.epochs == 1
    assert cfg.quant.for_layer("block0_attn").bits == best["values"]["attn_bits"]
    assert cfg.quant.act_bits == best["values"]["act_bits"]
    assert "| yes |" in (out / "search.md").read_text()


@pytest.mark.parametrize("flags, message", [
    (["--trials", "0"], "invalid --trials 0"),
    (["--cost", "watts"], "unknown --cost 'watts'"),
    (["--weights", "4", "float"], "weight choices must be quantized"),
    (["--trials", "two"], "invalid int value"),
    (["--oracle", "grid"], "unknown --oracle 'grid'"),
])
def test_search_bad_input(tmp_path, capsys, flags, message):
    try:
        code = main(flags + ["--output", str(tmp_path / "s")])
    except SystemExit as exc:  # argparse type errors exit from parse_args
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("kind", ["random", "bayesian"])
def test_oracle_time_limit_and_parking(tmp_path, kind):
    """Past the deadline no trial starts; out of trials, a second worker waits (IDLE) for
    the last trial instead of stopping, then stops."""
    oracle = make_oracle(kind, SearchSpace(), trials=1, seed=0, max_minutes=5, announce=False)
    oracle._set_project_dir(str(tmp_path), "tuner")
    first = oracle.create_trial("tuner0")
    assert first.status == "RUNNING" and oracle.ran_by == {first.trial_id: "tuner0"}
    assert oracle.create_trial("tuner1").status == "IDLE"
    oracle.update_trial(first.trial_id, {"score": 0.5})
    first.status = "COMPLETED"
    oracle.end_trial(first)
    assert oracle.create_trial("tuner1").status == "STOPPED"
    late = make_oracle(kind, SearchSpace(), trials=3, seed=0, max_minutes=1, announce=False)
    late._set_project_dir(str(tmp_path), "late")
    late.deadline = time.time() - 1
    assert late.create_trial("tuner0").status == "STOPPED" and late.time_limited


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers(tmp_path, tiny_config):
    """One chief serves the oracle on 127.0.0.1; two workers share 4 trials: each trial id
    runs exactly once and the chief writes the outputs."""
    port, out = _free_port(), tmp_path / "dist"
    cmd = [sys.executable, "-m", "qtransformer.search", "--config", str(tiny_config),
           "--trials", "4", "--output", str(out)]
    procs, logs = {}, {}
    try:
        for who in ("chief", "tuner0", "tuner1"):
            env = {**os.environ, "PYTHONPATH": str(REPO), "KERASTUNER_TUNER_ID": who,
                   "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port),
                   "TF_CPP_MIN_LOG_LEVEL": "3"}
            logs[who] = open(tmp_path / f"{who}.log", "w+")
            procs[who] = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=logs[who],
                                          stderr=subprocess.STDOUT)
        deadline = time.time() + 170
        for who, proc in procs.items():
            assert proc.wait(timeout=max(1, deadline - time.time())) == 0, _log(logs[who])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        for log in logs.values():
            log.close()
    ran = []
    for who in ("tuner0", "tuner1"):
        text = (tmp_path / f"{who}.log").read_text()
        ran += [(int(k), who) for k in re.findall(rf"\[search\] trial (\d)/4 \({who}\)", text)]
    assert sorted(k for k, _ in ran) == [1, 2, 3, 4], ran
    report = json.loads((out / "trials.json").read_text())
    assert [r["status"] for r in report["trials"]] == ["COMPLETED"] * 4
    assert {r["trial"]: r["tuner"] for r in report["trials"]} == \
        {str(k - 1): who for k, who in ran}
    assert load_config(out / "best_config.yaml").model.d_model == 8


def _log(handle) -> str:
    handle.seek(0)
    return handle.read()[-2000:]
