"""The report parser on real report files of public projects (tests/data/reports, each with its
source in SOURCES.json): every value a correct parser must read, for every format."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qtransformer.hls.reports import collect, parse_file

DATA = Path(__file__).parent / "data" / "reports"
SOURCES = json.loads((DATA / "SOURCES.json").read_text())
REPORTS = Path(__file__).resolve().parents[1] / "qtransformer" / "hls" / "reports.py"


@pytest.mark.parametrize("src", SOURCES, ids=[s["file"] for s in SOURCES])
def test_real_report_values(src):
    got = parse_file(DATA / src["file"])
    assert {k: got.get(k) for k in src["expected"]} == src["expected"]


def test_every_format_is_covered():
    kinds = {parse_file(DATA / s["file"])["kind"] for s in SOURCES}
    assert kinds == {"utilization", "timing", "csynth_rpt", "csynth_xml"}
    families = {s["family"].split()[0] for s in SOURCES if s["kind"] == "vivado_utilization"}
    assert families == {"7series", "UltraScale+"}   # Slice LUTs and CLB LUTs* tables


def test_slr_table_does_not_override_the_totals():
    """The UltraScale reports repeat CLB LUTs / Registers / Block RAM Tile / DSPs in a per-SLR
    table of zeros after the real one (the old parser returned 0 LUT there)."""
    text = (DATA / "vivado_util_ultrascale_2019.rpt").read_text()
    assert "SLR CLB Logic" in text and "CLB LUTs*" in text
    got = parse_file(DATA / "vivado_util_ultrascale_2019.rpt")
    assert got["lut"] == 264101 and got["dsp"] == 4752 and got["bram18"] == 754


def test_cli_prints_files_and_rejects_unknown(tmp_path):
    run = subprocess.run([sys.executable, str(REPORTS), str(DATA / "csynth_vitis_2023.rpt"),
                          str(DATA / "timing_summary.rpt")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out[0]["lut"] == 339116 and out[1]["wns_ns"] == 5.96
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    run = subprocess.run([sys.executable, str(REPORTS), str(junk)], capture_output=True,
                         text=True)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "not a report" in run.stderr


def test_collect_project_reports(tmp_path):
    """A project after make synth and make impl: reports/ as the Tcl writes it."""
    rep = tmp_path / "reports"
    rep.mkdir()
    shutil.copy(DATA / "csynth_vivadohls.xml", rep / "csynth.xml")
    shutil.copy(DATA / "vivado_util_7series_2022.rpt", rep / "vivado_synth_utilization.rpt")
    shutil.copy(DATA / "timing_summary_2020.rpt", rep / "vivado_impl_timing.rpt")
    shutil.copy(DATA / "vivado_util_7series_2017.rpt", rep / "vivado_impl_utilization.rpt")
    (tmp_path / "estimate.json").write_text(json.dumps(
        {"total": {"lut": 20000, "ff": 9000, "dsp": 4, "bram36": 12.0, "cycles": 10}}))
    out = collect(tmp_path)
    cmp = out["estimate_vs_measured"]
    assert cmp["against"] == "vivado_impl" and cmp["lut"]["measured"] == 18577
    assert cmp["bram18"] == {"estimate": 24, "measured": 49, "error": round(-25 / 49, 3)}
    assert out["hls"]["lut"] == 33365 and out["hls"]["part"].startswith("xc7z020")
    assert out["vivado"]["lut"] == 5417 and out["vivado"]["bram18"] == 20
    assert out["vivado_impl"]["lut"] == 18577 and out["vivado_impl"]["wns_ns"] == 2.458
    assert out["vivado_impl"]["fmax_mhz"] > 0
