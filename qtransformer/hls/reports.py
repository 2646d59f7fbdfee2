"""Parse HLS (csynth.xml) and Vivado (utilization / timing .rpt) reports into one JSON.

``make synth`` runs ``python -m qtransformer.hls.reports <project>`` after the tools; it writes
``<project>/reports/synth.json`` and prints it.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

_VIVADO_ROWS = {"lut": ("Slice LUTs", "CLB LUTs"), "ff": ("Slice Registers", "CLB Registers"),
                "bram36": ("Block RAM Tile",), "dsp": ("DSPs",)}


def _num(text: str | None):
    try:
        return float(text) if text is not None and "." in text else int(text)  # type: ignore
    except (TypeError, ValueError):
        return None


def parse_csynth(path: Path) -> dict:
    """Latency, interval, estimated clock and resources from Vitis/Vivado HLS ``csynth.xml``."""
    root = ET.parse(path).getroot()
    perf = root.find("PerformanceEstimates")
    out: dict = {"source": str(path)}
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
    res = root.find("AreaEstimates/Resources")
    if res is not None:
        for key, tags in (("bram18", ("BRAM_18K",)), ("dsp", ("DSP", "DSP48E")), ("ff", ("FF",)),
                          ("lut", ("LUT",)), ("uram", ("URAM",))):
            for tag in tags:
                if res.findtext(tag) is not None:
                    out[key] = _num(res.findtext(tag))
                    break
    return out


def parse_utilization(path: Path) -> dict:
    """Used LUT/FF/BRAM36/DSP from a Vivado ``report_utilization`` text report."""
    out: dict = {"source": str(path)}
    for line in path.read_text(errors="replace").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        for key, names in _VIVADO_ROWS.items():
            if key not in out and cells[0] in names:
                out[key] = _num(cells[1])
    return out


def parse_timing(path: Path) -> dict:
    """Worst negative slack (ns) from ``report_timing_summary``."""
    text = path.read_text(errors="replace")
    m = re.search(r"WNS\(ns\).*?\n[-\s]+\n\s*(-?[\d.]+)", text)
    return {"wns_ns": float(m.group(1)) if m else None, "source": str(path)}


def collect(project_dir) -> dict:
    """Everything found under the project's ``reports/`` and HLS solution folders."""
    prj = Path(project_dir)
    out: dict = {"project": str(prj)}
    xmls = sorted(prj.glob("reports/*csynth.xml")) or sorted(prj.glob("*_prj/solution1/syn/"
                                                                      "report/*csynth.xml"))
    top = [p for p in xmls if p.name == "csynth.xml"] or xmls
    if top:
        out["hls"] = parse_csynth(top[0])
    util = prj / "reports" / "vivado_utilization.rpt"
    if util.is_file():
        out["vivado"] = parse_utilization(util)
    timing = prj / "reports" / "vivado_timing.rpt"
    if timing.is_file():
        out.setdefault("vivado", {}).update(parse_timing(timing))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m qtransformer.hls.reports <project dir>", file=sys.stderr)
        return 2
    data = collect(args[0])
    dest = Path(args[0]) / "reports" / "synth.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(data, indent=2))
    print(json.dumps(data, indent=2))
    return 0 if "hls" in data else 1


if __name__ == "__main__":
    sys.exit(main())
