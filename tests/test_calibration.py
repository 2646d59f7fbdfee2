"""The calibration: public reports' layers through our estimator, the shipped bands on a
build's verdict, a project synthesized here added to the set."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qtransformer.boards import get_board
from qtransformer.errors import QTError
from qtransformer.hls.bands import calibrated, load_calibration
from qtransformer.hls.calibrate import (
    add_project,
    estimate_record,
    fit_scales,
    parse_type,
    record_plans,
)
from qtransformer.hls.estimate import headline, utilization, verdict

ROOT = Path(__file__).resolve().parents[1]
RECORDS = json.loads((ROOT / "benchmarks" / "calibration" / "records.json").read_text())
BY_ID = {r["id"]: r for r in RECORDS}
MLP = "pominiq-dnnonsilicon-dummy_rf16_pruning75-0465558"


def test_records_name_their_source_and_measurements():
    assert len(RECORDS) >= 20
    for r in RECORDS:
        assert r["source"]["repo"] and r["source"].get("commit"), r["id"]
        assert r["measured"].get("csynth") or r["measured"].get("vivado"), r["id"]
    assert sum(1 for r in RECORDS if r["measured"].get("vivado")) >= 10


def test_parse_type():
    t = parse_type("ap_ufixed<8,0,AP_RND_CONV,AP_SAT>", "x")
    assert (t.width, t.integer, t.signed, t.quantizing) == (8, 0, False, True)
    assert parse_type("ap_int<6>", "x").integer == 6
    with pytest.raises(QTError, match="not recorded"):
        parse_type(None, "fc1 weight")


def test_record_through_our_estimator():
    """A 4-128-3 MLP at reuse 16, Latency strategy, 75% zeros: hls4ml allocates
    ceil(512/16) - 384/16 = 8 and 24 - 288/16 = 6 multipliers (its csynth report: 8 and 6
    DSPs; the whole design 17 with the softmax's 3)."""
    plans, io = record_plans(BY_ID[MLP])
    assert io == "io_parallel"
    assert [p.kind for p in plans.values()] == ["dense", "act", "dense", "hls4ml_softmax"]
    est = estimate_record(BY_ID[MLP])
    assert est["dsp"] == 8 + 6 + 3


def test_zeros_keep_their_multipliers_under_resource():
    rec = copy.deepcopy(BY_ID[MLP])
    latency = estimate_record(rec)
    for layer in rec["layers"]:
        layer["strategy"] = "resource"
    resource = estimate_record(rec)
    assert resource["dsp"] == 32 + 24 + 3 > latency["dsp"]


def test_unknown_layer_kind_is_an_error():
    rec = copy.deepcopy(BY_ID[MLP])
    rec["layers"][1]["kind"] = "leaky_relu"
    with pytest.raises(QTError, match="has no estimate"):
        estimate_record(rec)


def test_fit_scales_and_bands():
    pairs = [({"lut": 100, "ff": 10, "dsp": 0, "bram18": 1},
              {"lut": 150, "ff": 20, "dsp": 0, "bram18": 1})] * 3
    s = fit_scales(pairs)
    assert s["lut"] == 1.5 and s["ff"] == 2.0 and s["dsp"] == 1.0
    cal = {"scales": {"lut": 2.0}, "n_records": 3, "n_projects": 2,
           "bands": {"lut": {"median": 0.1, "p90": 0.5, "n": 3}}}
    c = calibrated({"lut": 1000, "ff": 10, "dsp": 1, "bram36": 2}, cal)
    assert c["lut"]["value"] == 2000 and c["lut"]["pessimistic"] == 3000
    assert c["ff"]["median_error"] is None and c["ff"]["value"] == 10


def test_shipped_calibration_is_the_benchmarks():
    cal = load_calibration()
    assert cal is not None and cal["n_records"] >= 5
    assert set(cal["bands"]) == {"lut", "ff", "dsp", "bram18"}
    assert all(b["median"] is not None and b["p90"] >= b["median"]
               for b in cal["bands"].values())


def test_verdict_states_both_ends():
    board = get_board("pynq-z2")
    total = {"lut": 30000, "ff": 40000, "dsp": 60, "bram36": 30, "cycles": 1000}
    fit = {"total": total, "layers": [], "utilization": utilization(total, board),
           "fits": True, "label": "x"}
    v = verdict(fit, board, 10_000, "io_stream")
    lines = headline(v, board.name)
    assert v["fits"] and not v["fits_pessimistic"]   # 56% LUT, p90 above 43% -> over 80%
    assert lines[0].startswith("FITS") and "median error" in lines[0]
    assert lines[1].startswith("DOES NOT FIT at the pessimistic end")


def _project(tmp_path, synth):
    prj = tmp_path / "hls"
    (prj / "reports").mkdir(parents=True)
    (prj / "estimate.json").write_text(json.dumps(
        {"part": "xc7z020clg400-1", "io_type": "io_stream",
         "total": {"lut": 30000, "ff": 40000, "dsp": 60, "bram36": 30, "cycles": 1000}}))
    if synth is not None:
        (prj / "reports" / "synth.json").write_text(json.dumps(synth))
    return prj


def test_add_project_appends_a_record(tmp_path):
    prj = _project(tmp_path, {"hls": {"lut": 41000, "ff": 30000, "dsp": 55, "bram18": 50},
                              "vivado": {"lut": 35000, "ff": 28000, "dsp": 55, "bram36": 24.5}})
    target = tmp_path / "records.json"
    target.write_text(json.dumps([{"id": "other"}]))
    rec = add_project(prj, target)
    saved = json.loads(target.read_text())
    assert [r["id"] for r in saved] == ["other", rec["id"]]
    assert rec["measured"]["vivado"] == {"lut": 35000, "ff": 28000, "dsp": 55, "bram18": 49}
    assert estimate_record(rec)["bram18"] == 60
    add_project(prj, target)                       # the same project again: replaced
    assert len(json.loads(target.read_text())) == 2


def test_add_project_without_synthesis_is_one_line(tmp_path):
    prj = _project(tmp_path, None)
    run = subprocess.run([sys.executable, "-m", "qtransformer.hls.calibrate", "add", str(prj),
                          str(tmp_path / "r.json")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "run make synth first" in run.stderr
    assert not (tmp_path / "r.json").exists()
