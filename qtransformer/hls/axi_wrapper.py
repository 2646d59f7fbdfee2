"""The board wrapper of an HLS project: ``axi/<project>_axi.cpp``, an AXI4-Stream top around the
hls4ml top function (tokens in, logits out, ``s_axilite`` control and sample count), for both
io types, with its C testbench (run by ``make csim``, checked bit for bit like hls4ml's) and a
C bridge the host driver's emulator loads with ctypes.

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


def port_of(var) -> tuple[Port, int]:
    """(:class:`Port`, values per beat) of an hls4ml top-level variable."""
    prec = var.type.precision
    rounding = str(getattr(prec, "rounding_mode", "TRN")).upper()
    saturation = str(getattr(prec, "saturation_mode", "WRAP")).upper()
    if "RND_CONV" in rounding and saturation.endswith("SAT"):
        mode = "conv"
    elif "TRN" in rounding and "WRAP" in saturation:
        mode = "trn"
    else:
        raise QTError(f"top-level port {var.name}: {prec} has no board packing "
                      "(expected round-half-even/saturate or truncate/wrap)")
    shape = [int(s) for s in var.shape]
    port = Port(int(np.prod(shape)), int(prec.width), int(prec.width - prec.integer),
                bool(prec.signed), mode)
    if port.width > 64:
        raise QTError(f"top-level port {var.name}: {port.width}-bit values do not fit a lane")
    return port, shape[-1]


def layout_of(hls_model) -> Layout:
    ins, outs = hls_model.get_input_variables(), hls_model.get_output_variables()
    if len(ins) != 1 or len(outs) != 1:
        raise QTError(f"the board wrapper takes one input and one output (the model has "
                      f"{len(ins)} and {len(outs)})")
    return Layout(port_of(ins[0])[0], port_of(outs[0])[0])


def write_axi(hls_model, project_dir) -> Layout:
    """Write ``axi/`` into an hls4ml project (after ``hls_model.write()``); returns the layout
    (also saved as ``axi/layout.json`` for the driver)."""
    prj = Path(project_dir)
    name = hls_model.config.get_project_name()
    io_stream = hls_model.config.get_config_value("IOType") == "io_stream"
    inp, out = hls_model.get_input_variables()[0], hls_model.get_output_variables()[0]
    layout = layout_of(hls_model)
    (_, d_in), (_, d_out) = port_of(inp), port_of(out)
    axi = prj / AXI_DIR
    axi.mkdir(exist_ok=True)
    shutil.copy(TEMPLATES / "qt_axi.h", axi / "qt_axi.h")
    consts = {"N_IN": layout.inputs.n, "N_OUT": layout.outputs.n,
              "LANE_IN": layout.inputs.lane, "LANE_OUT": layout.outputs.lane,
              "BEATS_IN": layout.inputs.n // d_in, "BEATS_OUT": layout.outputs.n // d_out}
    (axi / f"{name}_axi.h").write_text(_header(name, io_stream, layout, consts))
    (axi / f"{name}_axi.cpp").write_text(_wrapper(name, io_stream, layout))
    (axi / "axi_test.cpp").write_text(_testbench(name, layout))
    (axi / "axi_bridge.cpp").write_text(_bridge(name))
    (axi / LAYOUT_FILE).write_text(json.dumps({"top": f"{name}_axi", "core": name,
                                               "io_type": "io_stream" if io_stream
                                               else "io_parallel", **layout.to_dict()},
                                              indent=1) + "\n")
    return layout


def read_layout(project_dir) -> Layout:
    path = Path(project_dir) / AXI_DIR / LAYOUT_FILE
    if not path.is_file():
        raise QTError(f"{path} missing: the project has no board wrapper (rebuild it)")
    return Layout.from_dict(json.loads(path.read_text()))


def _header(name: str, io_stream: bool, layout: Layout, consts: dict) -> str:
    scalar_in = "input_t::value_type" if io_stream else "input_t"
    scalar_out = "result_t::value_type" if io_stream else "result_t"
    defs = "\n".join(f"static const int QT_{k} = {v};" for k, v in consts.items())
    signed = (f"static const bool QT_SIGNED_IN = {str(layout.inputs.signed).lower()};\n"
              f"static const bool QT_SIGNED_OUT = {str(layout.outputs.signed).lower()};")
    guard = f"{name.upper()}_AXI_H_"
    return f"""// Board wrapper of {name} (written by qtransformer.hls.axi_wrapper): AXI4-Stream words
// in and out, layout as qtransformer/axi.py says; n_samples samples per start.
#ifndef {guard}
#define {guard}

#include "{name}.h"
#include "qt_axi.h"

typedef {scalar_in} qt_in_t;
typedef {scalar_out} qt_out_t;
{defs}
{signed}

void {name}_axi(hls::stream<qt_axi::word_t> &x_in, hls::stream<qt_axi::word_t> &y_out,
{' ' * len(name)}      unsigned n_samples);

#endif
"""


def _wrapper(name: str, io_stream: bool, layout: Layout) -> str:
    if io_stream:
        body = f"""    hls::stream<input_t> x("x");
    hls::stream<result_t> y("y");
    qt_axi::read_stream<input_t, QT_BEATS_IN, QT_LANE_IN>(x_in, x);
    {name}(x, y);
    qt_axi::write_stream<result_t, QT_BEATS_OUT, QT_LANE_OUT, QT_SIGNED_OUT>(y, y_out, last);"""
    else:
        body = f"""    input_t x[QT_N_IN];
    result_t y[QT_N_OUT];
    qt_axi::read_array<input_t, QT_N_IN, QT_LANE_IN>(x_in, x);
    {name}(x, y);
    qt_axi::write_array<result_t, QT_N_OUT, QT_LANE_OUT, QT_SIGNED_OUT>(y, y_out, last);"""
    return f"""#include "{name}_axi.h"

// One sample: words -> the core's input, the core, its output -> words. DATAFLOW overlaps the
// three, so the unpacking (one value a cycle) hides behind the core.
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


def _testbench(name: str, layout: Layout) -> str:
    return f"""// C testbench of {name}_axi (written by qtransformer.hls.axi_wrapper): packs every line of
// tb_data/tb_input_features.dat into words (as the host driver does), runs the whole file as one
// batch, checks the word count and TLAST, unpacks the logits into tb_data/axi_csim_results.log
// (compared with the Keras predictions by tbcheck.py) and logs the words in hex for the layout
// test (tb_data/axi_input_words.log, axi_output_words.log).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "{name}_axi.h"

static void log_words(hls::stream<qt_axi::word_t> &s, std::vector<qt_axi::word_t> &keep,
                      const char *path) {{
    FILE *f = fopen(path, "w");
    while (!s.empty()) {{
        qt_axi::word_t w = s.read();
        fprintf(f, "%016llx %d\\n", (unsigned long long)w.data.to_uint64(), (int)w.last);
        keep.push_back(w);
    }}
    fclose(f);
}}

int main() {{
    std::ifstream fin("tb_data/tb_input_features.dat");
    if (!fin.is_open()) {{
        std::cout << "axi_test: tb_data/tb_input_features.dat missing" << std::endl;
        return 1;
    }}
    std::vector<std::vector<float> > samples;
    for (std::string line; std::getline(fin, line);) {{
        std::istringstream ls(line);
        std::vector<float> v;
        for (std::string tok; ls >> tok;)
            v.push_back(atof(tok.c_str()));
        if (!v.empty())
            samples.push_back(v);
    }}
    const unsigned n = samples.size();
    hls::stream<qt_axi::word_t> x_in("x_in"), y_out("y_out"), packed("packed");
    std::vector<qt_axi::word_t> in_words, out_words;
    for (unsigned s = 0; s < n; s++) {{
        if (samples[s].size() != (size_t)QT_N_IN) {{
            std::cout << "axi_test: line " << s + 1 << " has " << samples[s].size()
                      << " values, expected " << QT_N_IN << std::endl;
            return 1;
        }}
        qt_in_t x[QT_N_IN];
        for (int k = 0; k < QT_N_IN; k++)
            x[k] = samples[s][k];
        qt_axi::write_array<qt_in_t, QT_N_IN, QT_LANE_IN, QT_SIGNED_IN>(x, packed, s + 1 == n);
    }}
    log_words(packed, in_words, "tb_data/axi_input_words.log");
    for (size_t i = 0; i < in_words.size(); i++)
        x_in.write(in_words[i]);
    {name}_axi(x_in, y_out, n);
    log_words(y_out, out_words, "tb_data/axi_output_words.log");
    const size_t words_out = (QT_N_OUT * QT_LANE_OUT + qt_axi::WORD_BITS - 1) / qt_axi::WORD_BITS;
    if (out_words.size() != n * words_out || !x_in.empty()) {{
        std::cout << "axi_test: " << out_words.size() << " output words, expected "
                  << n * words_out << (x_in.empty() ? "" : "; input words left unread") << std::endl;
        return 1;
    }}
    for (size_t i = 0; i < out_words.size(); i++) {{
        if ((int)out_words[i].last != (i + 1 == out_words.size())) {{
            std::cout << "axi_test: TLAST wrong on output word " << i << std::endl;
            return 1;
        }}
    }}
    std::ofstream fout("tb_data/axi_csim_results.log");
    fout.precision(17);
    for (size_t i = 0; i < out_words.size(); i++)
        packed.write(out_words[i]);
    for (unsigned s = 0; s < n; s++) {{
        qt_out_t y[QT_N_OUT];
        qt_axi::read_array<qt_out_t, QT_N_OUT, QT_LANE_OUT>(packed, y);
        for (int k = 0; k < QT_N_OUT; k++)
            fout << y[k].to_double() << (k + 1 < QT_N_OUT ? " " : "\\n");
    }}
    std::cout << "axi_test: " << n << " samples through {name}_axi" << std::endl;
    return 0;
}}
"""


def _bridge(name: str) -> str:
    return f"""// ctypes entry point of the emulated board (qtransformer.deploy --emulate): the driver's
// packed words through {name}_axi exactly as the AXI DMA would move them.
#include "{name}_axi.h"

extern "C" int qt_axi_run(const unsigned long long *in, unsigned long n_in,
                          unsigned long long *out, unsigned long n_out, unsigned n_samples) {{
    hls::stream<qt_axi::word_t> x_in("x_in"), y_out("y_out");
    for (unsigned long i = 0; i < n_in; i++) {{
        qt_axi::word_t w;
        w.data = in[i];
        w.keep = -1;
        w.strb = -1;
        w.last = i + 1 == n_in;
        x_in.write(w);
    }}
    {name}_axi(x_in, y_out, n_samples);
    unsigned long got = 0;
    int bad_last = 0;
    while (!y_out.empty()) {{
        qt_axi::word_t w = y_out.read();
        if (got < n_out)
            out[got] = w.data.to_uint64();
        bad_last |= (int)w.last != (got + 1 == n_out);
        got++;
    }}
    if (!x_in.empty())
        return -3;  // the wrapper read fewer words than were sent
    return got != n_out ? -1 : bad_last ? -2 : 0;
}}
"""
