"""The synthesis Tcl flow's logic, run in plain tclsh against stand-in procs that only record
which Vitis HLS / Vivado commands the scripts call (and with what). This checks the flow's
wiring (project opened, part and clock applied, files added, reports written, call order); it
is NOT synthesis, simulation or place and route. The Makefile tests use no Xilinx tool either:
missing tools must fail with one line, and a stand-in shell script checks what make passes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qtransformer.boards import get_board
from qtransformer.vivado import install

REPO = Path(__file__).resolve().parents[1]
VIVADO = REPO / "qtransformer" / "vivado"   # the scripts, as the build copies them
TOOLS = ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock",
         "set_clock_uncertainty", "config_compile", "config_schedule", "config_array_partition",
         "csynth_design", "export_design", "csim_design", "cosim_design", "read_verilog",
         "read_xdc", "create_project", "create_ip", "generate_target", "synth_ip", "get_ips",
         "synth_design", "opt_design", "place_design", "route_design", "report_utilization",
         "report_timing_summary", "get_ports"]

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh")


def _run(script: str, prj: Path, *args: str, flavour: str = "vitis", rc: int = 0,
         stubs: dict[str, str] | None = None) -> list[str]:
    """CALL lines of `script` run under stand-ins; `stubs` adds Tcl after a tool's record."""
    extra = stubs or {}
    procs = "".join(f"proc {t} {{args}} {{ puts \"CALL {t} $args\"; {extra.get(t, '')} }}\n"
                    for t in TOOLS)
    driver = prj / "driver.tcl"
    driver.write_text(
        procs + "rename exit _real_exit\nproc exit {{code 0}} { _real_exit $code }\n"
        f"set argv [list {' '.join(args)}]\nset argc [llength $argv]\n"
        f"source {VIVADO / script}\n")
    env = {**os.environ, "HLS_FLAVOUR": flavour}
    run = subprocess.run(["tclsh", str(driver)], cwd=prj, capture_output=True, text=True,
                         timeout=60, env=env)
    assert run.returncode == rc, run.stdout + run.stderr
    _run.stdout = run.stdout  # type: ignore[attr-defined]
    return [ln[5:].strip() for ln in run.stdout.splitlines() if ln.startswith("CALL ")]


def _first(calls: list[str], prefix: str) -> int:
    return next(i for i, c in enumerate(calls) if c.startswith(prefix))


@pytest.fixture
def prj(tmp_path):
    (tmp_path / "project.tcl").write_text('set part "xc7z020clg400-1"\nset clock_period 10\n')
    tb = tmp_path / "tb_data"
    tb.mkdir()
    (tb / "tb_input_features.dat").write_text("".join(f"{i} {i + 1}\n" for i in range(20)))
    (tb / "tb_output_predictions.dat").write_text("".join(f"{i * 0.5}\n" for i in range(20)))
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "defines.h").write_text("typedef ap_fixed<16,6> result_t;\n")
    (tmp_path / "myproject_test.cpp").write_text("// test bench\n")
    return tmp_path


def _rtl(prj: Path, roms: bool = True, ip: bool = False) -> Path:
    rtl = prj / "myproject_prj" / "solution1" / "syn" / "verilog"
    rtl.mkdir(parents=True)
    (rtl / "myproject.v").write_text("module myproject(); endmodule\n")
    (rtl / "layer2.v").write_text("module layer2(); endmodule\n")
    if roms:
        (rtl / "w2_rom.dat").write_text("0f\n")
    if ip:
        (rtl / "fadd_ip.tcl").write_text("create_ip -name floating_point -module_name fadd\n")
    return rtl


def test_hls_synth_flow_uses_project_part_and_clock(prj):
    calls = _run("hls_synth.tcl", prj, "myproject", '""', '""')
    assert calls[0] == "open_project -reset myproject_prj"
    assert "set_top myproject" in calls
    assert "set_part xc7z020clg400-1" in calls
    assert "create_clock -period 10 -name default" in calls
    assert "set_clock_uncertainty 12.5% default" in calls
    assert "config_compile -name_max_length 80" in calls
    assert "config_schedule -enable_dsp_full_reg=false" in calls
    assert _first(calls, "open_solution") < _first(calls, "set_part") \
        < _first(calls, "set_clock_uncertainty") < calls.index("csynth_design")
    assert any("WEIGHTS_DIR" in c for c in calls if c.startswith("add_files -tb"))
    assert "add_files -tb tb_data" in calls
    assert not any(c.startswith("export_design") for c in calls)
    assert calls[-1] == "csynth_design"


def test_hls_synth_copies_reports(prj):
    rep = prj / "myproject_prj" / "solution1" / "syn" / "report"
    rep.mkdir(parents=True)
    for name in ("csynth.rpt", "csynth.xml", "layer2_csynth.rpt", "layer2_csynth.xml"):
        (rep / name).write_text("x")
    _run("hls_synth.tcl", prj, "myproject", '""', '""')
    assert sorted(p.name for p in (prj / "reports").iterdir()) == [
        "csynth.rpt", "csynth.xml", "layer2_csynth.rpt", "layer2_csynth.xml"]


def test_hls_synth_overrides_part_and_clock(prj):
    calls = _run("hls_synth.tcl", prj, "myproject", "xczu3eg-sbva484-1-i", "200")
    assert "set_part xczu3eg-sbva484-1-i" in calls
    assert "create_clock -period 5.0 -name default" in calls


def test_array_partition_only_for_vivado_hls(prj):
    vivado = _run("hls_synth.tcl", prj, "myproject", '""', '""', flavour="vivado")
    vitis = _run("hls_synth.tcl", prj, "myproject", '""', '""', flavour="vitis")
    assert "config_array_partition -maximum_size 4096" in vivado
    assert vivado.index("config_array_partition -maximum_size 4096") < vivado.index(
        "csynth_design")
    assert not any(c.startswith("config_array_partition") for c in vitis)


def test_vivado_synth_flow(prj):
    _rtl(prj)
    calls = _run("vivado_synth.tcl", prj, "myproject", '""', "125")
    xdc = prj / "reports" / "myproject_ooc.xdc"
    assert xdc.read_text().strip() == "create_clock -period 8.0 -name ap_clk [get_ports ap_clk]"
    synth = "synth_design -top myproject -part xc7z020clg400-1 -mode out_of_context"
    assert calls.index(f"read_xdc {xdc.relative_to(prj)}") < calls.index(synth)
    add = calls[_first(calls, "add_files")]
    assert "layer2.v" in add and "myproject.v" in add and "w2_rom.dat" in add
    assert _first(calls, "add_files") < calls.index(synth)
    assert calls[calls.index(synth) + 1:] == [
        "report_utilization -file reports/vivado_synth_utilization.rpt",
        "report_timing_summary -file reports/vivado_synth_timing.rpt"]
    assert not any(c.startswith(("create_project", "opt_design", "place_design")) for c in calls)


def test_vivado_synth_without_roms_or_with_ip(prj):
    _rtl(prj, roms=False, ip=True)
    calls = _run("vivado_synth.tcl", prj, "myproject", '""', '""')
    assert ".dat" not in calls[_first(calls, "add_files")]
    order = [_first(calls, p) for p in ("create_project -in_memory -part xc7z020clg400-1",
                                        "create_ip -name floating_point", "generate_target all",
                                        "synth_ip", "read_xdc", "synth_design")]
    assert order == sorted(order)


def test_vivado_synth_without_rtl_fails(prj):
    calls = _run("vivado_synth.tcl", prj, "myproject", '""', '""', rc=1)
    assert not any(c.startswith("synth_design") for c in calls)
    assert "run the HLS synthesis" in _run.stdout  # type: ignore[attr-defined]


def test_vivado_impl_flow(prj):
    _rtl(prj)
    calls = _run("vivado_impl.tcl", prj, "myproject", "xcku115-flvb2104-2-i", "200")
    synth = "synth_design -top myproject -part xcku115-flvb2104-2-i -mode out_of_context"
    assert _first(calls, "read_xdc") < calls.index(synth)
    assert calls[calls.index(synth) + 1:] == [
        "opt_design", "place_design", "route_design",
        "report_utilization -file reports/vivado_impl_utilization.rpt",
        "report_utilization -hierarchical -file reports/vivado_impl_utilization_hier.rpt",
        "report_timing_summary -file reports/vivado_impl_timing.rpt"]
    assert "period 5.0 " in (prj / "reports" / "myproject_ooc.xdc").read_text()


COSIM_WRITES_LOG = (  # what HLS's post-check run leaves when it copies the tb folder
    "file mkdir myproject_prj/solution1/sim/wrapc_pc/tb_data; "
    "set fh [open myproject_prj/solution1/sim/wrapc_pc/tb_data/rtl_cosim_results.log w]; "
    "puts $fh {0.0}; close $fh")


def test_cosim_trims_tb_data_and_collects_results(prj):
    _rtl(prj)
    before = {p.name: p.read_bytes() for p in (prj / "tb_data").iterdir()}
    calls = _run("hls_cosim.tcl", prj, "myproject", "3", stubs={"cosim_design": COSIM_WRITES_LOG})
    tb = prj / "cosim_tb" / "tb_data"
    assert (tb / "tb_input_features.dat").read_text() == "0 1\n1 2\n2 3\n"
    assert (tb / "tb_output_predictions.dat").read_text() == "0.0\n0.5\n1.0\n"
    assert (tb / "rtl_cosim_results.log").read_text() == "0.0\n"
    assert (prj / "cosim_tb" / "firmware" / "defines.h").is_file()  # tbcheck's output LSB
    assert {p.name: p.read_bytes() for p in (prj / "tb_data").iterdir()} == before
    assert calls[0] == "open_project -reset myproject_prj"
    assert "add_files -tb cosim_tb/tb_data" in calls and "add_files -tb tb_data" not in calls
    assert any("-DRTL_SIM" in c for c in calls if c.startswith("add_files -tb myproject_test"))
    assert "open_solution solution1" in calls  # reopened: the csynth result is kept
    assert "csynth_design" not in calls
    assert calls[-1] == "cosim_design -tool xsim -trace_level none"


def test_cosim_default_samples_and_synthesises_when_needed(prj):
    calls = _run("hls_cosim.tcl", prj, "myproject", stubs={"cosim_design": COSIM_WRITES_LOG})
    lines = (prj / "cosim_tb" / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    assert len(lines) == 5
    assert "open_solution -reset solution1" in calls
    assert _first(calls, "set_part") < calls.index("csynth_design") < _first(calls, "cosim")


def test_cosim_without_results_log_fails(prj):
    _rtl(prj)
    _run("hls_cosim.tcl", prj, "myproject", rc=1)
    assert "rtl_cosim_results.log" in _run.stdout  # type: ignore[attr-defined]


def test_export_flow(prj):
    _rtl(prj)
    calls = _run("hls_export.tcl", prj, "myproject")
    assert calls == ["open_project myproject_prj", "open_solution solution1",
                     "export_design -format ip_catalog"]


def test_export_failure_names_the_y2k22_patch(prj):
    _rtl(prj)
    _run("hls_export.tcl", prj, "myproject", rc=1,
         stubs={"export_design": "error {bad lexical cast}"})
    out = [ln for ln in _run.stdout.splitlines() if not ln.startswith("CALL ")]  # type: ignore
    assert len(out) == 1 and "AR 76960" in out[0] and "Y2K22" in out[0]


def _csim_writes(hls_prj: str, *logs: str) -> str:
    """A csim_design stand-in leaving results where HLS runs the testbench."""
    d = f"{hls_prj}/solution1/csim/build/tb_data"
    return f"file mkdir {d}; " + "".join(
        f"set fh [open {d}/{log} w]; puts $fh {{1.5 2}}; close $fh; " for log in logs)


def test_csim_flow_copies_results_back(prj):
    (prj / "tb_data" / "csim_results.log").write_text("stale\n")
    calls = _run("hls_csim.tcl", prj, "myproject",
                 stubs={"csim_design": _csim_writes("myproject_prj", "csim_results.log")})
    assert calls[-1] == "csim_design" and "set_part xc7z020clg400-1" in calls
    assert (prj / "tb_data" / "csim_results.log").read_text() == "1.5 2\n"


def test_csim_without_results_fails_and_removes_the_stale_ones(prj):
    (prj / "tb_data" / "csim_results.log").write_text("stale\n")
    _run("hls_csim.tcl", prj, "myproject", rc=1)
    assert not (prj / "tb_data" / "csim_results.log").exists()
    assert "wrote no" in _run.stdout  # type: ignore[attr-defined]


# --- Makefile -----------------------------------------------------------------------------

def _make(target: str, prj: Path, checkout: bool = False, **tools: str
          ) -> subprocess.CompletedProcess:
    """make in the project, as a pip user runs it (its own copy of the Makefile and scripts),
    or (``checkout``) through a source checkout's vivado/Makefile with PRJ=."""
    env = {k: v for k, v in os.environ.items() if k != "HLS_FLAVOUR"}
    env["PATH"] = "/usr/bin:/bin"  # no Xilinx tool on PATH
    args = [f"{k}={v}" for k, v in {"VITIS_HLS": "", "VIVADO_HLS": "", "VIVADO": "",
                                    **tools}.items()]
    if checkout:
        cmd = ["make", "-s", "-C", str(REPO / "vivado"), target, f"PRJ={prj}"]
    else:
        install(prj, get_board("pynq-z2"))
        cmd = ["make", "-s", "-C", str(prj), target]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target,tool,var", [("synth", "vitis_hls", "VITIS_HLS"),
                                             ("impl", "vivado", "VIVADO"),
                                             ("cosim", "vitis_hls", "VITIS_HLS"),
                                             ("export", "vitis_hls", "VITIS_HLS"),
                                             ("bitstream", "vitis_hls", "VITIS_HLS")])
@pytest.mark.parametrize("checkout", [False, True])
def test_make_without_tools_fails_with_one_line(prj, target, tool, var, checkout):
    run = _make(target, prj, checkout=checkout)
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode != 0
    assert len(lines) == 1 and f"{tool} not found" in lines[0] and f"{var}=" in lines[0]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_synth_needs_vivado_too(prj, tmp_path_factory):
    fake = tmp_path_factory.mktemp("bin") / "vitis_hls"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    run = _make("synth", prj, VITIS_HLS=str(fake))
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1 and "VIVADO=" in lines[0]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_impl_needs_hls_result(prj):
    run = _make("impl", prj, VIVADO="/bin/true")
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1 and "make synth" in lines[0]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("name,flavour", [("vivado_hls", "vivado"), ("vitis_hls", "vitis")])
def test_make_passes_hls_flavour(prj, tmp_path_factory, name, flavour):
    # A stand-in HLS binary that records its environment and arguments (not an HLS run).
    _rtl(prj)
    fake = tmp_path_factory.mktemp("bin") / name
    fake.write_text('#!/bin/sh\necho "flavour=$HLS_FLAVOUR args=$*" > "$PWD/fake_hls.txt"\n')
    fake.chmod(0o755)
    run = _make("export", prj, **{"VIVADO_HLS" if name == "vivado_hls" else "VITIS_HLS":
                                  str(fake)})
    assert run.returncode == 0, run.stderr
    rec = (prj / "fake_hls.txt").read_text()
    assert rec.startswith(f"flavour={flavour} ") and "hls_export.tcl -tclargs myproject" in rec


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("checkout", [False, True])
def test_make_tcl_check(prj, checkout):
    run = _make("tcl-check", prj, checkout=checkout)
    assert run.returncode == 0 and "all scripts parse" in run.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_bitstream_needs_the_board_wrapper(prj, tmp_path_factory):
    fake = tmp_path_factory.mktemp("bin") / "vitis_hls"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    run = _make("bitstream", prj, VITIS_HLS=str(fake), VIVADO="/bin/true")
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1 and "axi/myproject_axi.cpp missing" in lines[0]


def test_install_copies_every_script(prj):
    install(prj, get_board("pynq-z2"))
    copied = {p.name for p in (prj / "scripts").iterdir()}
    assert {s.name for s in VIVADO.glob("*.tcl")} | {"tbcheck.py", "reports.py"} == copied
    assert 'set qt_board_part "tul.com.tw:pynq-z2:part0:1.0"' in (prj / "qt_board.tcl").read_text()


def test_csim_of_the_board_wrapper(prj):
    logs = ("axi_csim_results.log", "axi_input_words.log", "axi_output_words.log")
    calls = _run("hls_csim.tcl", prj, "myproject", "axi",
                 stubs={"csim_design": _csim_writes("myproject_axi_prj", *logs)})
    assert all((prj / "tb_data" / log).is_file() for log in logs)
    assert calls[0] == "open_project -reset myproject_axi_prj"
    assert "set_top myproject_axi" in calls and "set_top myproject" not in calls
    assert any(c.startswith("add_files axi/myproject_axi.cpp") and "-I" in c for c in calls)
    assert any(c.startswith("add_files -tb axi/axi_test.cpp") for c in calls)
    assert calls[-1] == "csim_design"
    vivado = _run("hls_csim.tcl", prj, "myproject", "axi", flavour="vivado",
                  stubs={"csim_design": _csim_writes("myproject_axi_prj", *logs)})
    assert any("-DQT_AXI_SIDEBAND" in c for c in vivado if "myproject_axi.cpp" in c)
    assert not any("-DQT_AXI_SIDEBAND" in c for c in calls)


def test_board_wrapper_synthesis_and_export(prj):
    (prj / "axi").mkdir()
    (prj / "axi" / "myproject_axi.cpp").write_text("// wrapper\n")
    calls = _run("hls_axi_export.tcl", prj, "myproject", "125")
    assert calls[0] == "open_project -reset myproject_axi_prj"
    assert "set_top myproject_axi" in calls and "create_clock -period 8.0 -name default" in calls
    assert calls.index("csynth_design") < calls.index("export_design -format ip_catalog")
    assert "IP exported to myproject_axi_prj/solution1/impl/ip" in _run.stdout  # type: ignore


def test_board_wrapper_export_without_wrapper_fails(prj):
    calls = _run("hls_axi_export.tcl", prj, "myproject", rc=1)
    out = [ln for ln in _run.stdout.splitlines() if not ln.startswith("CALL ")]  # type: ignore
    assert len(out) == 1 and "axi/myproject_axi.cpp missing" in out[0] and not calls


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_checkout_makefile_takes_a_relative_project(prj):
    """`make -C vivado csim PRJ=<relative>` means relative to where make was started."""
    env = {**os.environ, "PWD": str(prj.parent)}
    run = subprocess.run(["make", "-n", "-C", str(REPO / "vivado"), "csim-gxx",
                          f"PRJ={prj.name}"], cwd=prj.parent, capture_output=True, text=True,
                         timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    assert f"{prj}/firmware/myproject.cpp" in run.stdout
