"""report.json (machine-readable, flat headline keys) and report.md (for people)."""

from __future__ import annotations

import json
from pathlib import Path


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _metrics_md(r: dict) -> list[str]:
    m = r["test"]
    lines = ["## Test metrics", "",
             f"- accuracy: **{_pct(m['accuracy'])}** on {m['n']} examples",
             f"- macro precision / recall / F1: {_pct(m['precision'])} / {_pct(m['recall'])} / "
             f"{_pct(m['f1'])}", "",
             "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, c in m["per_class"].items():
        lines.append(f"| {name} | {_pct(c['precision'])} | {_pct(c['recall'])} | "
                     f"{_pct(c['f1'])} | {c['support']} |")
    names = list(m["per_class"])
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", "",
              "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, m["confusion_matrix"]):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    return lines


def float32_ratio(c: dict) -> float:
    """How many times smaller the FPGA part's non-zero bits are than float32 weights of the
    same shapes, dense (circulant layers count the matrix they stand for)."""
    return 32 * c.get("device_dense_params", c["device_params"]) / \
        max(c["device_nonzero_bits"], 1)


def _costs_md(r: dict) -> list[str]:
    c = r["costs"]
    lines = ["", "## Size and operations", "",
             f"- parameters: {c['params']:,}; size: {c['model_bits']:,} bits "
             f"({c['model_kib']:.2f} KiB); MACs: {c['macs']:,}; BOPs: {c['bops']:,}",
             f"- on the FPGA (without a host-side token table): {c['device_params']:,} "
             f"parameters, {c['device_bits']:,} bits, {c['device_nonzero_bits']:,} of them "
             f"non-zero ({float32_ratio(c):.1f}x smaller than float32 with dense weights)", "",
             "| layer | type | params | vs dense (biases incl.) | bits | MACs | BOPs | "
             "output bits |", "|---|---|---|---|---|---|---|---|"]
    for lay in c["layers"]:
        dense = lay.get("dense_params", lay["params"])
        ratio = f"{dense / lay['params']:.2f}x fewer" if lay["params"] and \
            dense != lay["params"] else "-"
        lines.append(f"| {lay['name']} | {lay['type']} | {lay['params']:,} | {ratio} | "
                     f"{lay['bits']:,} | {lay['macs']:,} | {lay['bops']:,} | "
                     f"{lay['output_bits']} |")
    return lines


def _compression_md(r: dict) -> list[str]:
    c = r.get("compression")
    if not c:
        return []
    lines = ["", f"## Compression: {c['method']}", "",
             "| | before | after |", "|---|---|---|",
             f"| test accuracy | {_pct(c['accuracy_before'])} | {_pct(c['accuracy_after'])} |",
             f"| MACs | {c['macs_before']:,} | {c['macs_after']:,} |",
             f"| effective MACs (non-zero weights) | {c['effective_macs_before']:,} | "
             f"{c['effective_macs_after']:,} |"]
    hw = c.get("hardware_estimate")
    if hw:
        b, a = hw["before"], hw["after"]
        lines += [f"| LUT / DSP, fully parallel ({hw['label']}) | {b['parallel']['lut']:,} / "
                  f"{b['parallel']['dsp']:,} | {a['parallel']['lut']:,} / "
                  f"{a['parallel']['dsp']:,} |",
                  f"| LUT / DSP fitted to {r['board']['name']} (estimate) | {b['lut']:,} / "
                  f"{b['dsp']:,} | {a['lut']:,} / {a['dsp']:,} |",
                  f"| latency, cycles fitted to the board (estimate) | {b['cycles']:,} | "
                  f"{a['cycles']:,} |"]
    if "sparsity" in c:
        lines += ["", f"Weight sparsity of the pruned kernels: {_pct(c['sparsity'])} "
                      f"({c['zero_weights']:,} of {c['prunable_weights']:,} zero)."]
    if "importance" in c:
        lines += ["", "| module | block | importance 1 - cos(X, Y) |", "|---|---|---|"]
        for module in ("attention", "mlp"):
            for i, v in c["importance"][module].items():
                lines.append(f"| {module} | {i} | {v:.5f} |")
        lines += ["", f"Dropped attention {c['dropped_attention']}, MLP {c['dropped_mlp']}. "
                      + (f"Speedup (estimate from HLS latency cycles): "
                         f"{c['latency_speedup_percent_estimate']:.1f}%"
                         if "latency_speedup_percent_estimate" in c else
                         f"Speedup (estimate from effective MACs): "
                         f"{c['mac_speedup_percent_estimate']:.1f}%")
                  + (f"; SDR (estimate) {c['sdr_estimate']:.3f} points per % speedup."
                     if "sdr_estimate" in c else ".")]
    return lines


def _hls_md(r: dict) -> list[str]:
    h = r.get("hls")
    if not h:
        return []
    c, e, b = h["coverify"], h["estimate"], r["board"]
    lines = ["", "## HLS (hls4ml, " + h["strategy"] + " strategy)", "",
             f"- project: `{h['project_dir']}` for {h['part']} at {h['clock_mhz']:g} MHz, "
             f"self-contained (its own Makefile and scripts): `make -C {h['project_dir']} csim` "
             "re-runs the C simulation (hls4ml's testbench and the AXI wrapper's) with g++; "
             "`make synth` / `impl` / `bitstream` need Vitis HLS and Vivado",
             f"- co-verification (compiled C++ vs Keras, {c['n']} test examples): argmax "
             f"agreement **{_pct(c['argmax_agreement'])}**, max error {c['max_error_lsb']:g} "
             f"LSB ({c['max_abs_error']:g}); accuracy HLS {_pct(c['hls_accuracy'])} vs Keras "
             f"{_pct(c['keras_accuracy'])}",
             f"- convert {h['convert_s']:.1f} s, g++ compile {h['compile_s']:.1f} s",
             f"- onto the board: `make -C {h['project_dir']} bitstream` (Vitis HLS, Vivado and "
             "the PYNQ-Z2 board files) writes "
             f"`bitstream/{h.get('core', 'myproject')}.bit` and `.hwh`; "
             f"`python -m qtransformer.deploy {r.get('run_dir', '<run>')}` then classifies on "
             "the board (PYNQ), and with `--emulate` runs the same driver against the C "
             "simulation on any machine with g++", "",
             f"Resources, **{e['label']}**, against the {b['name']} budget:", "",
             "| resource | estimate | board | utilisation |", "|---|---|---|---|"]
    for key, budget in (("lut", b["lut"]), ("ff", b["ff"]), ("dsp", b["dsp"]),
                        ("bram36", b["bram36"])):
        lines.append(f"| {key.upper()} | {e['total'][key]:,} | {budget:,} | "
                     f"{_pct(e['utilization'][key])} |")
    lines += ["", "| layer | type | output | weight | accum | reuse |", "|---|---|---|---|---|---|"]
    for p in h["precision"]:
        lines.append(f"| {p['name']} | {p['type']} | `{p['output']}` | `{p.get('weight', '')}` | "
                     f"`{p.get('accum', '')}` | {p['reuse_factor']} |")
    return lines


def _verdict_md(r: dict) -> list[str]:
    """The fit verdict first: what a hardware user looks for."""
    v = r.get("hardware_estimate")
    if not v:
        return ["**No hardware verdict**: a float model has no fixed-point form (choose --bits).",
                ""]
    u = v["utilization"]
    words = "FITS" if v["fits"] else "DOES NOT FIT"
    lines = [f"**{words}** on {r['board']['name']} ({v['io_type']}; {v['label']}; budget "
             f"{v['margin']:.0%} of each resource): "
             + ", ".join(v["resource_text"][k] if "resource_text" in v else
                         f"{k.upper()} {v[k]:,} ({_pct(u[k])})"
                         for k in ("lut", "ff", "bram36", "dsp")) + "."]
    if "fits_pessimistic" in v:
        up = v["utilization_pessimistic"]
        lines += ["", f"At the pessimistic end (each resource plus its 90th-percentile error): "
                  f"**{'FITS' if v['fits_pessimistic'] else 'DOES NOT FIT'}**, "
                  + ", ".join(f"{k.upper()} {v['pessimistic'][k]:,} ({_pct(up[k])})"
                              for k in ("lut", "ff", "bram36", "dsp")) + ". The bands are "
                  "the estimate's errors on public hls4ml projects' Vivado reports (README, "
                  "\"HLS: what is exact and what is estimated\"); our attention and LayerNorm "
                  "kernels have no Vivado reference yet."]
    lines += ["", f"Latency {v['cycles']:,} cycles = {v['latency_us']:,.1f} us at "
              f"{v['clock_mhz']:g} MHz; bound {v['bound_cycles']:,} cycles (MACs / DSPs).", ""]
    if v["largest"]:
        lines += ["Largest users of the scarcest resource, and what shrinks them:", ""]
        lines += [f"- `{x['name']}` ({x['kind']}): {x['amount']:,} {x['resource'].upper()}; "
                  f"{x['shrink']}" for x in v["largest"]] + [""]
    return lines


def _windows_md(data: dict) -> list[str]:
    """Where long texts were cut: rows per split, and what that means on the board."""
    w = data.get("windows")
    if not w or all(w[k] == data[k] for k in w):
        return []
    return [f"- long texts in windows: {w['train']:,} train / {w['val']:,} val / "
            f"{w['test']:,} test rows; a text's class is its windows' mean score, and each "
            "window is one call of the IP (the latency below is per window)"]


def render_markdown(r: dict) -> str:
    b, q, mo, t = r["board"], r["config"]["quant"], r["config"]["model"], r["training"]
    lines = [f"# qtransformer run `{r['run']}`", "", *_verdict_md(r),
             f"- data set: {r['data']['name']} ({r['data']['train']} train / {r['data']['val']} "
             f"val / {r['data']['test']} test, {r['data']['classes']} classes, sequence "
             f"{r['data']['seq_len']}"
             + (f": {r['data']['seq_note']}" if r['data'].get("seq_note") else "") + ")",
             *_windows_md(r["data"]),
             f"- model: {mo['layers']} layers, d_model {mo['d_model']}, {mo['heads']} heads, "
             f"FFN {mo['ff_dim']}, {mo['pooling']} pooling",
             f"- quantization: weights `{q['bits']}`, activations {q['act_bits']} bits, scores "
             f"{q['score_bits']} bits, probabilities {q['prob_bits']} bits",
             f"- board: {b['name']} ({b['part']}, {b['clock_mhz']:g} MHz; {b['lut']:,} LUT, "
             f"{b['ff']:,} FF, {b['bram36']} BRAM36, {b['dsp']} DSP)",
             f"- training: {t['epochs_run']} epochs (best {t['best_epoch']}, val acc "
             f"{_pct(t['best_val_accuracy'])}) in {t['seconds']:.0f} s; seed {r['seed']}",
             f"- total run time: {r['seconds']:.0f} s", ""]
    if r.get("plot"):
        lines += [f"![training curves and test confusion matrix]({r['plot']})", ""]
    lines += _metrics_md(r) + _compression_md(r) + _hls_md(r) + _costs_md(r)
    for section in r.get("extra_markdown", []):
        lines += ["", section]
    return "\n".join(lines) + "\n"


def write_report(r: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write report.json and report.md into ``out_dir``."""
    jpath, mpath = out_dir / "report.json", out_dir / "report.md"
    body = {k: v for k, v in r.items() if k != "extra_markdown"}
    jpath.write_text(json.dumps(body, indent=2) + "\n")
    mpath.write_text(render_markdown(r))
    return jpath, mpath
