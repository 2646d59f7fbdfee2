"""Parse real HLS and Vivado reports into one JSON.

Formats read (tested on report files of public projects, ``tests/data/reports``):

- Vivado ``report_utilization`` text, 7-series (``Slice LUTs``, ``Slice Registers``) and
  UltraScale(+) (``CLB LUTs*``, ``CLB Registers``), 2017-2024: the first table that names each
  row wins (a later per-SLR table repeats the names with zeros); ``Block RAM Tile`` counts
  RAMB36 tiles (``bram18`` = twice that);
- Vivado ``report_timing_summary``: WNS/TNS/WHS of the Design Timing Summary table (not the
  per-clock tables after it), the clock period, and Fmax = 1000 / (period - WNS);
- Vivado HLS / Vitis HLS ``csynth.rpt`` text (``DSP48E`` or ``DSP`` columns; the first
  ``Total`` row of the utilization summary, not the per-instance ones) and ``csynth.xml``.

``make synth`` / ``make impl`` run ``reports.py <project>``: it writes
``<project>/reports/synth.json`` and prints it, with the build's estimate (the project's
``estimate.json``) against what the tools measured (``estimate_vs_measured``); ``python -m
qtransformer.hls.calibrate add <project>`` then adds the pair to the calibration set. ``python -m qtransformer.hls.reports FILE...``
prints what it reads from report files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

_VIVADO_ROWS = {"lut": ("Slice LUTs", "CLB LUTs"), "ff": ("Slice Registers", "CLB Registers"),
                "bram36": ("Block RAM Tile",), "ramb36": ("RAMB36/FIFO",), "ramb18": ("RAMB18",),
                "dsp": ("DSPs",), "uram": ("URAM",)}


# result key -> column / tag names in the HLS reports (Vivado HLS: DSP48E, Vitis HLS: DSP)
_HLS_RESOURCES = (("bram18", ("BRAM_18K",)), ("dsp", ("DSP48E", "DSP")), ("ff", ("FF",)),
                  ("lut", ("LUT",)), ("uram", ("URAM",)))


def _num(text: str | None):
    text = (text or "").strip()
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_utilization(path: Path) -> dict:
    """Used LUT/FF/BRAM/DSP/URAM from a Vivado ``report_utilization`` text report."""
    text = Path(path).read_text(errors="replace")
    out: dict = {"source": str(path)}
    m = re.search(r"\| Device\s*:\s*(\S+)", text)
    if m:
        out["part"] = m.group(1)
    m = re.search(r"\| Tool Version\s*:\s*(.+?)\s*$", text, re.M)
    if m:
        out["tool"] = m.group(1)
    for line in text.splitlines():
        cells = _cells(line)
        if len(cells) < 2:
            continue
        name = cells[0].rstrip("*").strip()
        for key, names in _VIVADO_ROWS.items():
            if key not in out and name in names and _num(cells[1]) is not None:
                out[key] = _num(cells[1])
    if "bram36" in out:
        out["bram18"] = int(round(2 * out["bram36"]))
    return out


def parse_timing(path: Path) -> dict:
    """WNS/TNS/WHS (ns) of the Design Timing Summary, the clock period and Fmax."""
    text = Path(path).read_text(errors="replace")
    out: dict = {"source": str(path), "wns_ns": None}
    start = text.find("Design Timing Summary")
    m = re.search(r"WNS\(ns\)\s+TNS\(ns\).*?\n[-\s]+\n\s*(-?[\d.]+)\s+(-?[\d.]+)\s+\d+\s+\d+\s+"
                  r"(-?[\d.]+)\s+(-?[\d.]+)\s+\d+\s+\d+\s+(-?[\d.]+)\s+(-?[\d.]+)",
                  text[start:], re.S) if start >= 0 else None
    if m:
        out.update(zip(("wns_ns", "tns_ns", "whs_ns", "ths_ns", "wpws_ns", "tpws_ns"),
                       map(float, m.groups())))
    clk = re.search(r"^\s*(\S+)\s+\{[\d.\s]+\}\s+([\d.]+)\s+([\d.]+)\s*$", text, re.M)
    if clk:
        out["clock"], out["period_ns"] = clk.group(1), float(clk.group(2))
        if out["wns_ns"] is not None and out["period_ns"] > out["wns_ns"]:
            out["fmax_mhz"] = round(1000.0 / (out["period_ns"] - out["wns_ns"]), 2)
    out["timing_met"] = out["wns_ns"] is not None and out["wns_ns"] >= 0
    return out


def parse_csynth_rpt(path: Path) -> dict:
    """Totals, latency, interval and clock from a Vivado/Vitis HLS ``csynth.rpt``."""
    text = Path(path).read_text(errors="replace")
    out: dict = {"source": str(path)}
    m = re.search(r"== (Vivado|Vitis) HLS Report for '([^']+)'", text)
    if m:
        out["tool"], out["top"] = f"{m.group(1)} HLS", m.group(2)
    for key, pat in (("version", r"\* Version:\s*(\S+)"), ("part", r"\* Target device:\s*(\S+)")):
        m = re.search(pat, text)
        if m:
            out[key] = m.group(1)
    m = re.search(r"\|\s*ap_clk\s*\|\s*([\d.]+)\s*ns\s*\|\s*([\d.]+)\s*ns\s*\|\s*([\d.]+)\s*ns",
                  text)
    if m:
        out.update(target_clock_ns=float(m.group(1)), estimated_clock_ns=float(m.group(2)),
                   clock_uncertainty_ns=float(m.group(3)))
    lat = text.find("+ Latency")
    header, rows = None, []
    for line in text[lat:].splitlines()[1:] if lat >= 0 else []:
        if line.strip().startswith("|") and "min" in line:
            header = _cells(line)
        elif header and line.strip().startswith("|"):
            rows = _cells(line)
            break
    if header and rows:
        ints = [_num(c) for c in rows]
        iv = 4 if len(header) >= 7 else 2   # Vitis: cycles, absolute time, interval
        out.update(latency_best=ints[0], latency_worst=ints[1], interval_min=ints[iv],
                   interval_max=ints[iv + 1], pipeline_type=rows[iv + 2])
    util = text.find("== Utilization Estimates")
    columns = None
    for line in text[util:].splitlines() if util >= 0 else []:
        cells = _cells(line)
        if cells and cells[0] == "Name":
            columns = cells
        elif columns and cells and cells[0] == "Total":
            for key, names in _HLS_RESOURCES:
                col = next((columns.index(n) for n in names if n in columns), None)
                if col is not None and col < len(cells):
                    out[key] = _num(cells[col])
            break
    return out


def parse_csynth(path: Path) -> dict:
    """Latency, interval, clock, part and resources from Vivado/Vitis HLS ``csynth.xml``."""
    root = ET.parse(path).getroot()
    out: dict = {"source": str(path)}
    for key, tag in (("version", "ReportVersion/Version"), ("part", "UserAssignments/Part"),
                     ("target_clock_ns", "UserAssignments/TargetClockPeriod"),
                     ("top", "UserAssignments/TopModelName")):
        if root.findtext(tag) is not None:
            out[key] = _num(root.findtext(tag)) if key == "target_clock_ns" else \
                root.findtext(tag).strip()
    perf = root.find("PerformanceEstimates")
    if perf is not None:
        lat = perf.find("SummaryOfOverallLatency")
        if lat is not None:
            for key, tag in (("latency_best", "Best-caseLatency"),
                             ("latency_worst", "Worst-caseLatency"),
                             ("interval_min", "Interval-min"), ("interval_max", "Interval-max")):
                out[key] = _num(lat.findtext(tag))
        timing = perf.find("SummaryOfTimingAnalysis")
        if timing is not None:
            out["estimated_clock_ns"] = _num(timing.findtext("EstimatedClockPeriod"))
    if root.findtext("UserAssignments/ClockUncertainty") is not None:
        out["clock_uncertainty_ns"] = _num(root.findtext("UserAssignments/ClockUncertainty"))
    res = root.find("AreaEstimates/Resources")
    if res is not None:
        for key, tags in _HLS_RESOURCES:
            for tag in tags:
                if res.findtext(tag) is not None:
                    out[key] = _num(res.findtext(tag))
                    break
    return out


def parse_file(path) -> dict:
    """Whatever report ``path`` is, by its content."""
    path = Path(path)
    head = path.read_text(errors="replace")[:20000]
    if head.lstrip().startswith("<?xml") or "<profile" in head[:500]:
        return {"kind": "csynth_xml", **parse_csynth(path)}
    if re.search(r"== (Vivado|Vitis) HLS Report for", head):
        return {"kind": "csynth_rpt", **parse_csynth_rpt(path)}
    if "Design Timing Summary" in head or "report_timing_summary" in head:
        return {"kind": "timing", **parse_timing(path)}
    if "report_utilization" in head or "Utilization Design Information" in head:
        return {"kind": "utilization", **parse_utilization(path)}
    raise ValueError(f"{path}: not a report this parser knows (csynth .rpt/.xml, Vivado "
                     "report_utilization or report_timing_summary)")


def collect(project_dir) -> dict:
    """Everything found under the project's ``reports/`` and HLS solution folders: ``hls``
    (C synthesis), ``vivado`` (``make synth``), ``vivado_impl`` (``make impl``)."""
    prj = Path(project_dir)
    out: dict = {"project": str(prj)}
    xmls = sorted(prj.glob("reports/*csynth.xml")) or sorted(prj.glob("*_prj/solution1/syn/"
                                                                      "report/*csynth.xml"))
    top = [p for p in xmls if p.name == "csynth.xml"] or xmls
    if top:
        out["hls"] = parse_csynth(top[0])
    rep = prj / "reports"
    # make synth: vivado_synth_*.rpt (vivado_*.rpt before the rename); make impl: vivado_impl_*
    for key, names in (("vivado", ("vivado_synth", "vivado")), ("vivado_impl", ("vivado_impl",))):
        for stem in names:
            util, timing = rep / f"{stem}_utilization.rpt", rep / f"{stem}_timing.rpt"
            if util.is_file() or timing.is_file():
                if util.is_file():
                    out[key] = parse_utilization(util)
                if timing.is_file():
                    out.setdefault(key, {}).update(parse_timing(timing))
                break
    est = prj / "estimate.json"
    if est.is_file():
        out["estimate_vs_measured"] = compare_estimate(json.loads(est.read_text())["total"],
                                                       out)
    return out


def compare_estimate(total: dict, measured: dict) -> dict:
    """The build's estimate (``estimate.json``) against the most final measurement there is
    (place and route, else synthesis, else the HLS report), per resource: both figures and
    the error (estimate - measured) / measured."""
    source = next((k for k in ("vivado_impl", "vivado", "hls") if measured.get(k)), None)
    if source is None:
        return {}
    m = measured[source]
    est = {"lut": total["lut"], "ff": total["ff"], "dsp": total["dsp"],
           "bram18": round(2 * total["bram36"])}
    rows = {}
    for key, value in est.items():
        got = m.get(key)
        rows[key] = {"estimate": value, "measured": got,
                     "error": round((value - got) / got, 3) if got else None}
    return {"against": source, **rows}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m qtransformer.hls.reports",
        description="Vivado / Vitis reports as JSON: an HLS project directory (its csynth "
                    "and vivado_synth reports; also written to <dir>/reports/synth.json), or "
                    "report files (.rpt, .xml).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="project directory or report files")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv).paths
    if len(args) == 1 and Path(args[0]).is_dir():
        data = collect(args[0])
        dest = Path(args[0]) / "reports" / "synth.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(data, indent=2))
        print(json.dumps(data, indent=2))
        return 0 if "hls" in data else 1
    try:
        data = [parse_file(a) for a in args]
    except (OSError, ValueError, ET.ParseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data if len(data) > 1 else data[0], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
