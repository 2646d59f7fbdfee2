"""The board wrapper of an HLS project: ``axi/<project>_axi.cpp``, an AXI4-Stream top around the
hls4ml top function (tokens in, logits out, ``s_axilite`` control and sample count), for both
io types, with its C testbench (run by ``make csim``, checked bit for bit like hls4ml's) and a
C bridge the host driver's emulator loads with ctypes (both hand-written, in ``templates/``).

The word layout is :mod:`qtransformer.axi`'s; the port types are read from the hls4ml model's
own variables, so they are the ones the C++ top was written with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..axi import Layout, Port
from ..errors import QTError

TEMPLATES = Path(__file__).parent / "templates"
AXI_DIR = "axi"
LAYOUT_FILE = "layout.json"
# hand-written files copied as they are: the packing, the C testbench, the ctypes bridge (the
# last two call QT_AXI_TOP through axi/qt_axi_top.h, written per project)
STATIC_FILES = {"qt_axi.h": "qt_axi.h", "qt_axi_test.cpp": "axi_test.cpp",
                "qt_axi_bridge.cpp": "axi_bridge.cpp"}


# hls4ml's (rounding, saturation) mode names -> how Port.to_raw converts a real value
MODES = {("RND_CONV", "SAT"): "conv", ("TRN", "WRAP"): "trn"}
MAX_WIDTH = 32   # the driver converts through float64 and int64: exact up to here


def _mode_name(mode) -> str:
    return str(getattr(mode, "name", mode)).upper()


def port_of(var) -> tuple[Port, int]:
    """(:class:`Port`, values per beat) of an hls4ml top-level variable: the type the C++
    top was written with, which the driver must reproduce exactly."""
    prec = var.type.precision
    key = (_mode_name(getattr(prec, "rounding_mode", "TRN")),
           _mode_name(getattr(prec, "saturation_mode", "WRAP")))
    mode = MODES.get(key)
    if mode is None or getattr(prec, "saturation_bits", 0):
        raise QTError(f"top-level port {var.name}: {prec} has no board packing "
                      "(expected RND_CONV/SAT, a quantizer's type, or TRN/WRAP)")
    shape = [int(s) for s in var.shape]
    port = Port(int(np.prod(shape)), int(prec.width), int(prec.width - prec.integer),
                bool(prec.signed), mode)
    if port.width > MAX_WIDTH:
        raise QTError(f"top-level port {var.name}: {port.width}-bit values are wider than the "
                      f"board packing's {MAX_WIDTH}")
    return port, shape[-1]


def top_ports(hls_model) -> tuple[Layout, int, int]:
    """The wrapper's layout and the values per beat of its input and output, for an hls4ml
    model with one input (and, padding masked, the mask: ``seq_len`` one-bit values) and
    one output."""
    ins, outs = hls_model.get_input_variables(), hls_model.get_output_variables()
    if not 1 <= len(ins) <= 2 or len(outs) != 1:
        raise QTError(f"the board wrapper takes one input (and a padding mask) and one output "
                      f"(the model has {len(ins)} and {len(outs)})")
    (p_in, d_in), (p_out, d_out) = port_of(ins[0]), port_of(outs[0])
    mask = None
    if len(ins) == 2:
        mask, _ = port_of(ins[1])
        if mask.width != 1 or mask.signed:
            raise QTError(f"top-level port {ins[1].name}: a second input must be the padding "
                          f"mask (1-bit unsigned), not {ins[1].type.precision}")
    return Layout(p_in, p_out, mask=mask), d_in, d_out


def write_axi(hls_model, project_dir) -> Layout:
    """Write ``axi/`` into an hls4ml project (after ``hls_model.write()``); returns the layout
    (also saved as ``axi/layout.json`` for the driver)."""
    prj = Path(project_dir)
    name = hls_model.config.get_project_name()
    io_stream = hls_model.config.get_config_value("IOType") == "io_stream"
    layout, d_in, d_out = top_ports(hls_model)
    axi = prj / AXI_DIR
    axi.mkdir(exist_ok=True)
    for src, dest in STATIC_FILES.items():
        shutil.copy(TEMPLATES / src, axi / dest)
    consts = {"N_IN": layout.inputs.n, "N_OUT": layout.outputs.n,
              "LANE_IN": layout.inputs.lane, "LANE_OUT": layout.outputs.lane,
              "WORDS_IN": layout.inputs.words, "WORDS_OUT": layout.outputs.words,
              "BEATS_IN": layout.inputs.n // d_in, "BEATS_OUT": layout.outputs.n // d_out}
    mask_type = None
    if layout.mask is not None:
        consts.update(N_MASK=layout.mask.n, LANE_MASK=layout.mask.lane,
                      WORDS_MASK=layout.mask.words)
        mask_type = hls_model.get_input_variables()[1].type.name
    (axi / f"{name}_axi.h").write_text(_header(name, io_stream, layout, consts, mask_type))
    (axi / "qt_axi_top.h").write_text(f'// the board wrapper the testbench and the bridge call\n'
                                      f'#include "{name}_axi.h"\n')
    (axi / f"{name}_axi.cpp").write_text(_wrapper(name, io_stream, mask_type))
    (axi / LAYOUT_FILE).write_text(json.dumps({"top": f"{name}_axi", "core": name,
                                               "io_type": "io_stream" if io_stream
                                               else "io_parallel", **layout.to_dict()},
                                              indent=1) + "\n")
    return layout


def _header(name: str, io_stream: bool, layout: Layout, consts: dict,
            mask_type: str | None = None) -> str:
    scalar_in = "input_t::value_type" if io_stream else "input_t"
    scalar_out = "result_t::value_type" if io_stream else "result_t"
    defs = "\n".join(f"static const int QT_{k} = {v};" for k, v in consts.items())
    if mask_type:   # the padding mask: its words come first in each sample
        scalar = f"{mask_type}::value_type" if io_stream else mask_type
        defs += f"\n#define QT_HAS_MASK 1\ntypedef {mask_type} qt_mask_port_t;\n" \
                f"typedef {scalar} qt_mask_t;"
    signed = (f"static const bool QT_SIGNED_IN = {str(layout.inputs.signed).lower()};\n"
              f"static const bool QT_SIGNED_OUT = {str(layout.outputs.signed).lower()};")
    guard = f"{name.upper()}_AXI_H_"
    return f"""// Board wrapper of {name} (written by qtransformer.hls.axi_wrapper): AXI4-Stream
// words in and out, laid out as qtransformer/axi.py says; n_samples samples per start.
#ifndef {guard}
#define {guard}

#include "{name}.h"
#include "qt_axi.h"

typedef {scalar_in} qt_in_t;
typedef {scalar_out} qt_out_t;
{defs}
{signed}
#define QT_AXI_TOP {name}_axi

void {name}_axi(hls::stream<qt_axi::word_t> &x_in, hls::stream<qt_axi::word_t> &y_out,
{' ' * len(name)}      unsigned n_samples);

#endif
"""


def _wrapper(name: str, io_stream: bool, mask_type: str | None = None) -> str:
    """The wrapper's C++; with a padding mask, one reader takes the mask's words and then
    the input's (a DATAFLOW region allows one reader per stream), and the core gets both."""
    if io_stream:
        decl = """    hls::stream<input_t> x("x");
    hls::stream<result_t> y("y");"""
        read = "qt_axi::read_stream<input_t, QT_BEATS_IN, QT_LANE_IN>(x_in, x);"
        mread = "qt_axi::read_stream<qt_mask_port_t, 1, QT_LANE_MASK>(x_in, m);"
        mdecl = """    hls::stream<qt_mask_port_t> m("m");"""
        write = "qt_axi::write_stream<result_t, QT_BEATS_OUT, QT_LANE_OUT, QT_SIGNED_OUT>(y, y_out, last);"
        ref, mref = "hls::stream<input_t> &x", "hls::stream<qt_mask_port_t> &m"
    else:
        decl = """    input_t x[QT_N_IN];
    result_t y[QT_N_OUT];"""
        read = "qt_axi::read_array<input_t, QT_N_IN, QT_LANE_IN>(x_in, x);"
        mread = "qt_axi::read_array<qt_mask_t, QT_N_MASK, QT_LANE_MASK>(x_in, m);"
        mdecl = """    qt_mask_t m[QT_N_MASK];"""
        write = "qt_axi::write_array<result_t, QT_N_OUT, QT_LANE_OUT, QT_SIGNED_OUT>(y, y_out, last);"
        ref, mref = "input_t x[QT_N_IN]", "qt_mask_t m[QT_N_MASK]"
    reader = ""
    if mask_type:
        reader = f"""// The padding mask's words, then the input's: one process reads the input stream.
static void {name}_read(hls::stream<qt_axi::word_t> &x_in, {mref}, {ref}) {{
    {mread}
    {read}
}}

"""
        body = f"""{decl}
{mdecl}
    {name}_read(x_in, m, x);
    {name}(x, m, y);
    {write}"""
    else:
        body = f"""{decl}
    {read}
    {name}(x, y);
    {write}"""
    return f"""#include "{name}_axi.h"

{reader}// One sample: words -> the core's input, the core, its output -> words, as a DATAFLOW region.
// Streamed, the core takes each token as soon as it is unpacked; in parallel it waits for its
// whole input (QT_N_IN cycles, a ping-pong buffer), little next to the core's own latency.
// Samples follow one another (no overlap between them).
static void {name}_sample(hls::stream<qt_axi::word_t> &x_in, hls::stream<qt_axi::word_t> &y_out,
{' ' * len(name)}                bool last) {{
#pragma HLS DATAFLOW
{body}
}}

void {name}_axi(hls::stream<qt_axi::word_t> &x_in, hls::stream<qt_axi::word_t> &y_out,
{' ' * len(name)}      unsigned n_samples) {{
#pragma HLS INTERFACE axis port = x_in
#pragma HLS INTERFACE axis port = y_out
#pragma HLS INTERFACE s_axilite port = n_samples bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
Samples:
    for (unsigned i = 0; i < n_samples; i++) {{
        {name}_sample(x_in, y_out, i + 1 == n_samples);
    }}
}}
"""

