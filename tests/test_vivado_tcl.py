"""The synthesis Tcl flow's logic, run in plain tclsh against stand-in procs that only record
which Vitis HLS / Vivado commands the scripts call (and with what). This checks the flow's
wiring (project opened, part and clock applied, reports written); it is NOT synthesis."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

VIVADO = Path(__file__).resolve().parents[1] / "vivado"
TOOLS = ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock",
         "csynth_design", "export_design", "csim_design", "read_verilog", "synth_design",
         "report_utilization", "report_timing_summary", "get_ports"]

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh")


def _run(script: str, prj: Path, *args: str) -> list[str]:
    stubs = "".join(f"proc {t} {{args}} {{ puts \"CALL {t} $args\" }}\n" for t in TOOLS)
    driver = prj / "driver.tcl"
    driver.write_text(
        stubs + "rename exit _real_exit\nproc exit {args} { _real_exit 0 }\n"
        f"set argv [list {' '.join(args)}]\nset argc [llength $argv]\n"
        f"source {VIVADO / script}\n")
    run = subprocess.run(["tclsh", str(driver)], cwd=prj, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return [ln[5:].strip() for ln in run.stdout.splitlines() if ln.startswith("CALL ")]


@pytest.fixture
def prj(tmp_path):
    (tmp_path / "project.tcl").write_text('set part "xc7z020clg400-1"\nset clock_period 10\n')
    return tmp_path


def test_hls_synth_flow_uses_project_part_and_clock(prj):
    calls = _run("hls_synth.tcl", prj, "myproject", '""', '""')
    assert calls[0] == "open_project -reset myproject_prj"
    assert "set_top myproject" in calls
    assert "set_part xc7z020clg400-1" in calls
    assert "create_clock -period 10 -name default" in calls
    assert calls.index("csynth_design") < calls.index("export_design -format ip_catalog")
    assert any("WEIGHTS_DIR" in c for c in calls if c.startswith("add_files -tb"))


def test_hls_synth_overrides_part_and_clock(prj):
    calls = _run("hls_synth.tcl", prj, "myproject", "xczu3eg-sbva484-1-i", "200")
    assert "set_part xczu3eg-sbva484-1-i" in calls
    assert "create_clock -period 5.0 -name default" in calls


def test_vivado_synth_flow(prj):
    calls = _run("vivado_synth.tcl", prj, "myproject", '""', "125")
    assert "synth_design -top myproject -part xc7z020clg400-1 -mode out_of_context" in calls
    assert any(c.startswith("create_clock -period 8.0") for c in calls)
    assert any(c.startswith("report_utilization") for c in calls)
    assert any(c.startswith("report_timing_summary") for c in calls)


def test_csim_flow(prj):
    calls = _run("hls_csim.tcl", prj, "myproject")
    assert calls[-1] == "csim_design" and "set_part xc7z020clg400-1" in calls
