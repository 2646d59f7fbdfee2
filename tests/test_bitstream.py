"""bitstream.tcl (PYNQ-Z2 block design + bitstream) run in plain tclsh against stand-in procs
that only record which Vivado commands it calls and with what; a few stand-ins return values
(board parts, run status, file paths). This checks the script's wiring (order of steps, cell
configuration, stream connections, clock, where outputs are copied, one-line failures); it is
NOT a block design validation, synthesis or place and route."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qtransformer.boards import get_board
from qtransformer.vivado import write_board as install_board

SCRIPTS = Path(__file__).resolve().parents[1] / "qtransformer" / "vivado"
SCRIPT = SCRIPTS / "bitstream.tcl"
TOOLS = ["set_param", "get_board_parts", "create_project", "current_project", "set_property",
         "update_ip_catalog", "create_bd_design", "create_bd_cell", "apply_bd_automation",
         "get_bd_cells", "get_bd_pins", "get_bd_intf_pins", "connect_bd_intf_net",
         "connect_bd_net", "get_property", "assign_bd_address", "validate_bd_design",
         "save_bd_design", "get_files", "generate_target", "make_wrapper", "add_files",
         "current_fileset", "update_compile_order", "launch_runs", "wait_on_run", "get_runs",
         "open_run", "report_utilization", "report_timing_summary", "get_timing_paths"]
BOARD = "tul.com.tw:pynq-z2:part0:1.0"
IP_REPO = "myproject_axi_prj/solution1/impl/ip"  # bitstream.tcl's ip_repo for project myproject

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh")

# set_property's -dict pairs, one "STUB PROP <object> <key>=<value>" line each.
SET_PROPERTY = (
    'if {[lindex $args 0] eq "-dict"} {'
    ' foreach {k v} [lindex $args 1] { puts "STUB PROP [lindex $args 2] $k=$v";'
    ' if {$k eq "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ"} { set ::fclk $v } }'
    ' } else { puts "STUB PROP [lindex $args end] [lindex $args 0]=[lindex $args 1]" }')
# Property values by "<property> <object>", then by property; FREQ_HZ follows the FCLK asked.
GET_PROPERTY = (
    'lassign $args prop obj; '
    'if {$prop eq "CONFIG.FREQ_HZ"} { return [expr {int($::fclk * 1000000)}] }; '
    'if {[dict exists $::props "$prop $obj"]} { return [dict get $::props "$prop $obj"] }; '
    'if {[dict exists $::props $prop]} { return [dict get $::props $prop] }; return ""')
# The handoff Vivado writes while generating the block design's output products.
WRITE_HWH = ('file mkdir [file dirname $::hwh_path]; set fh [open $::hwh_path w]; '
             'puts $fh {<hwh/>}; close $fh')


def _props(run_dir: Path, **over: str) -> dict[str, str]:
    props = {"STATUS impl_1": "write_bitstream Complete!", "PROGRESS impl_1": "100%",
             "STATUS synth_1": "synth_design Complete!", "PROGRESS synth_1": "100%",
             "DIRECTORY impl_1": str(run_dir / "impl_1"),
             "DIRECTORY synth_1": str(run_dir / "synth_1"), "SLACK": "0.412"}
    props.update(over)
    return props


def _tcl_dict(d: dict[str, str]) -> str:
    return " ".join(f"{{{k}}} {{{v}}}" for k, v in d.items())


def _run(prj: Path, *args: str, rc: int = 0, env: dict[str, str] | None = None,
         props: dict[str, str] | None = None, boards: str = BOARD,
         hwh: str | None = "gen") -> list[str]:
    """CALL lines of bitstream.tcl run under stand-ins (`hwh`: where the handoff appears,
    "gen" (2020.2+), "srcs" (older) or None)."""
    stubs = {
        "get_board_parts": f"return {{{boards}}}",
        "set_property": SET_PROPERTY,
        "get_property": GET_PROPERTY,
        "current_project": "return prj0",
        "current_fileset": "return sources_1",
        "get_files": "return [file join [pwd] bd [lindex $args end]]",
        "make_wrapper": "return [file join [pwd] bd hdl qt_bd_wrapper.v]",
        "get_runs": "return [lindex $args end]",
        "get_timing_paths": "return path0",
        "generate_target": WRITE_HWH if hwh else "",
    }
    for getter in ("get_bd_cells", "get_bd_pins", "get_bd_intf_pins"):
        stubs[getter] = "return [lindex $args end]"
    procs = "".join(f"proc {t} {{args}} {{ puts \"CALL {t} $args\"; {stubs.get(t, '')} }}\n"
                    for t in TOOLS)
    run_dir = prj / "runs"
    (run_dir / "impl_1").mkdir(parents=True, exist_ok=True)
    (run_dir / "impl_1" / "qt_bd_wrapper.bit").write_bytes(b"\x00\x09bit")
    kind = "gen" if hwh == "gen" else "srcs"
    hwh_path = prj / "myproject_pynq" / f"myproject_pynq.{kind}" / "sources_1" / "bd" / \
        "qt_bd" / "hw_handoff" / "qt_bd.hwh"
    driver = prj / "driver.tcl"
    driver.write_text(
        procs + "rename exit _real_exit\nproc exit {{code 0}} { _real_exit $code }\n"
        f"set ::fclk 100\nset ::props [dict create {_tcl_dict(props or _props(run_dir))}]\n"
        f"set ::hwh_path {{{hwh_path}}}\n"
        f"set argv [list {' '.join(args)}]\nset argc [llength $argv]\n"
        f"source {{{SCRIPT}}}\n")
    full_env = {k: v for k, v in os.environ.items() if k not in ("BOARD_REPO", "QT_JOBS")}
    full_env.update(env or {})
    run = subprocess.run(["tclsh", str(driver)], cwd=prj, capture_output=True, text=True,
                         timeout=60, env=full_env)
    assert run.returncode == rc, run.stdout + run.stderr
    _run.stdout = run.stdout  # type: ignore[attr-defined]
    return [ln[5:].strip() for ln in run.stdout.splitlines() if ln.startswith("CALL ")]


def _messages() -> list[str]:
    """What the script itself printed (neither stand-in records nor stub output)."""
    return [ln for ln in _run.stdout.splitlines()  # type: ignore[attr-defined]
            if not ln.startswith(("CALL ", "STUB "))]


def _props_set() -> list[str]:
    return [ln[len("STUB PROP "):] for ln in _run.stdout.splitlines()  # type: ignore
            if ln.startswith("STUB PROP ")]


def _first(calls: list[str], prefix: str) -> int:
    return next(i for i, c in enumerate(calls) if c.startswith(prefix))


@pytest.fixture
def prj(tmp_path):
    (tmp_path / "project.tcl").write_text('set part "xc7z020clg400-1"\nset clock_period 10\n')
    install_board(tmp_path, get_board("pynq-z2"))
    ip = tmp_path / IP_REPO
    ip.mkdir(parents=True)
    (ip / "component.xml").write_text("<component/>\n")
    return tmp_path


def test_happy_path_order_cells_and_outputs(prj):
    calls = _run(prj, "myproject", '""')
    order = [_first(calls, p) for p in (
        "create_project -force myproject_pynq myproject_pynq -part xc7z020clg400-1",
        f"set_property board_part {BOARD}", "create_bd_design qt_bd", "create_bd_cell",
        "apply_bd_automation", "validate_bd_design", "make_wrapper", "launch_runs",
        "wait_on_run impl_1")]
    assert order == sorted(order)
    assert _first(calls, "get_board_parts") < _first(calls, "create_project")
    cells = [c for c in calls if c.startswith("create_bd_cell")]
    assert "create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 " \
           "processing_system7_0" in cells
    assert "create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma_0" in cells
    assert "create_bd_cell -type ip -vlnv xilinx.com:hls:myproject_axi:1.0 myproject_axi_0" \
        in cells
    assert not any(c.startswith(("group_bd_cells", "create_bd_cell -type hier")) for c in calls)
    ipdir = prj / IP_REPO
    assert f"set_property ip_repo_paths {ipdir} prj0" in calls
    assert calls.index(f"set_property ip_repo_paths {ipdir} prj0") < _first(
        calls, "create_bd_cell -type ip -vlnv xilinx.com:hls")
    # PS: board preset through the automation, DDR/FIXED_IO external, then our settings
    ps_auto = _first(calls, "apply_bd_automation -rule xilinx.com:bd_rule:processing_system7")
    assert 'apply_board_preset "1"' in calls[ps_auto] and "FIXED_IO, DDR" in calls[ps_auto]
    props = _props_set()
    for key, val in (("PCW_USE_S_AXI_HP0", "1"), ("PCW_FPGA0_PERIPHERAL_FREQMHZ", "100")):
        assert f"processing_system7_0 CONFIG.{key}={val}" in props
    # DMA: simple mode, 64-bit everywhere, 26-bit length register
    for key, val in (("c_include_sg", "0"), ("c_sg_length_width", "26"),
                     ("c_m_axi_mm2s_data_width", "64"), ("c_m_axis_mm2s_tdata_width", "64"),
                     ("c_m_axi_s2mm_data_width", "64"), ("c_s_axis_s2mm_tdata_width", "64"),
                     ("c_mm2s_burst_size", "256"), ("c_s2mm_burst_size", "256")):
        assert f"axi_dma_0 CONFIG.{key}={val}" in props
    # streams: DMA -> x_in, y_out -> DMA
    assert "connect_bd_intf_net axi_dma_0/M_AXIS_MM2S myproject_axi_0/x_in" in calls
    assert "connect_bd_intf_net myproject_axi_0/y_out axi_dma_0/S_AXIS_S2MM" in calls
    # clocks and resets come with the AXI automation (one clock, FCLK_CLK0), no clkrst rule
    assert not any("bd_rule:clkrst" in c for c in calls)
    axi = [c for c in calls if c.startswith("apply_bd_automation -rule xilinx.com:bd_rule:axi4")]
    for master, slave in (("/processing_system7_0/M_AXI_GP0", "/axi_dma_0/S_AXI_LITE"),
                          ("/processing_system7_0/M_AXI_GP0", "/myproject_axi_0/s_axi_control"),
                          ("/axi_dma_0/M_AXI_MM2S", "/processing_system7_0/S_AXI_HP0"),
                          ("/axi_dma_0/M_AXI_S2MM", "/processing_system7_0/S_AXI_HP0")):
        assert any(f"Master {master} " in c and f"Slave {slave} " in c for c in axi), master
    assert not any("introut" in c or "IRQ_F2P" in c for c in calls)   # the driver polls
    assert calls.index("assign_bd_address") < calls.index("validate_bd_design") \
        < calls.index("save_bd_design")
    # wrapper from the .bd file object, set top, default 4 jobs
    bd = str(prj / "bd" / "qt_bd.bd")
    assert f"make_wrapper -files {bd} -top" in calls
    wrapper = str(prj / "bd" / "hdl" / "qt_bd_wrapper.v")
    assert calls.index(f"add_files -norecurse {wrapper}") < calls.index(
        "set_property top qt_bd_wrapper sources_1") < _first(calls, "launch_runs")
    assert "launch_runs impl_1 -to_step write_bitstream -jobs 4" in calls
    # outputs and post-route reports
    out = prj / "bitstream"
    assert (out / "myproject.bit").read_bytes() == b"\x00\x09bit"
    assert (out / "myproject.hwh").read_text() == "<hwh/>\n"
    assert calls.index("open_run impl_1") < calls.index(
        "report_utilization -file bitstream/utilization.rpt")
    assert "report_timing_summary -file bitstream/timing.rpt" in calls
    assert "get_timing_paths -max_paths 1 -nworst 1 -setup" in calls
    msgs = _messages()
    assert msgs[-1] == "qtransformer: bitstream/myproject.bit and .hwh written (WNS 0.412 ns)"
    assert not any("note:" in m for m in msgs)


def test_clock_argument_overrides_project_clock(prj):
    calls = _run(prj, "myproject", "125", env={"QT_JOBS": "8"})
    assert "processing_system7_0 CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ=125" in _props_set()
    assert "125 MHz" in _messages()[-2]
    assert "launch_runs impl_1 -to_step write_bitstream -jobs 8" in calls


def test_project_clock_period_sets_fclk(prj):
    (prj / "project.tcl").write_text('set part "xc7z020clg400-1"\nset clock_period 8\n')
    _run(prj, "myproject", '""')
    assert "processing_system7_0 CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ=125" in _props_set()


def test_older_vivado_hwh_under_srcs(prj):
    _run(prj, "myproject", '""', hwh="srcs")
    assert (prj / "bitstream" / "myproject.hwh").read_text() == "<hwh/>\n"


def test_missing_exported_ip_fails_with_one_line(prj):
    shutil.rmtree(prj / IP_REPO)
    calls = _run(prj, "myproject", '""', rc=1)
    msgs = _messages()
    assert len(msgs) == 1 and msgs[0].startswith("qtransformer:")
    assert "make bitstream" in msgs[0] and IP_REPO in msgs[0]
    assert not any(c.startswith(("create_project", "get_board_parts")) for c in calls)


def test_missing_board_files_fail_with_one_line(prj):
    calls = _run(prj, "myproject", '""', rc=1, boards="")
    msgs = _messages()
    assert len(msgs) == 1 and msgs[0].startswith("qtransformer:")
    assert "BOARD_REPO=" in msgs[0] and "pynq-z2" in msgs[0]
    assert not any(c.startswith("create_project") for c in calls)


def test_board_repo_is_set_before_the_project(prj):
    repo = prj / "boards"
    calls = _run(prj, "myproject", '""', env={"BOARD_REPO": str(repo)})
    param = calls.index(f"set_param board.repoPaths {repo}")
    assert param < _first(calls, "get_board_parts") < _first(calls, "create_project")
    assert not any(c.startswith("set_param") for c in _run(prj, "myproject", '""'))


@pytest.mark.parametrize("synth_ok,blamed", [(True, "impl_1"), (False, "synth_1")])
def test_incomplete_run_fails_with_one_line(prj, synth_ok, blamed):
    runs = prj / "runs"
    over = {"STATUS impl_1": "route_design ERROR", "PROGRESS impl_1": "71%"}
    if not synth_ok:
        over = {"STATUS impl_1": "Not started", "PROGRESS impl_1": "0%",
                "STATUS synth_1": "synth_design ERROR", "PROGRESS synth_1": "40%"}
    calls = _run(prj, "myproject", '""', rc=1, props=_props(runs, **over))
    msgs = _messages()
    assert len(msgs) == 1 and msgs[0].startswith("qtransformer:")
    assert blamed in msgs[0] and str(runs / blamed) in msgs[0]
    assert "open_run impl_1" not in calls
    assert not (prj / "bitstream" / "myproject.bit").exists()


def test_missing_hwh_fails_with_one_line(prj):
    calls = _run(prj, "myproject", '""', rc=1, hwh=None)
    msgs = _messages()
    assert len(msgs) == 1 and msgs[0].startswith("qtransformer:") and "qt_bd.hwh" in msgs[0]
    assert "open_run impl_1" not in calls
    assert not (prj / "bitstream" / "myproject.bit").exists()


def test_negative_slack_is_reported(prj):
    _run(prj, "myproject", '""', props=_props(prj / "runs", SLACK="-0.250"))
    msgs = _messages()
    assert any("timing NOT met" in m for m in msgs)
    assert msgs[-1].endswith("(WNS -0.250 ns)")


def test_board_without_block_design_fails_with_one_line(prj):
    install_board(prj, get_board("zedboard"))
    calls = _run(prj, "myproject", '""', rc=1)
    msgs = _messages()
    assert len(msgs) == 1 and "no block design for board 'zedboard'" in msgs[0]
    assert not any(c.startswith("create_project") for c in calls)


def test_script_parses():
    checker = SCRIPTS / "tcl_syntax.tcl"
    run = subprocess.run(["tclsh", str(checker), str(SCRIPT)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
