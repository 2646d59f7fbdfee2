// AXI4-Stream words of the board wrapper (<project>_axi.cpp), shared with its C testbench and
// the ctypes bridge. The layout is defined once, in qtransformer/axi.py (see its docstring):
// 64-bit words, value k in lane k % PER_WORD of word k / PER_WORD, lane 0 in the low bits,
// raw two's-complement bits sign- or zero-extended to the lane; a sample starts on a new word.
#ifndef QT_AXI_H_
#define QT_AXI_H_

#include "ap_int.h"
#include "hls_stream.h"

// Vitis/Vivado HLS ship ap_axiu (TDATA plus the TKEEP/TSTRB/TLAST side channels the AXI DMA
// needs); g++ with hls4ml's ap_types has no such header, so a struct with the same members
// stands in for C simulation and the host bridge.
#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define QT_HAVE_AXI_SDATA 1
#endif
#endif

namespace qt_axi {

static const int WORD_BITS = 64;

#ifdef QT_HAVE_AXI_SDATA
typedef ap_axiu<WORD_BITS, 0, 0, 0> word_t;
#else
struct word_t {
    ap_uint<WORD_BITS> data;
    ap_uint<WORD_BITS / 8> keep;
    ap_uint<WORD_BITS / 8> strb;
    ap_uint<1> last;
};
#endif

// Raw bits of a fixed-point value, extended to the LANE-bit lane (SIGNED: sign-extended).
template <class T, int LANE, bool SIGNED> struct lane_bits {
    static ap_uint<LANE> get(const T &x) {
        ap_int<T::width> raw;
        raw.range() = x.range();
        ap_int<LANE> wide = raw;
        return wide.range();
    }
};
template <class T, int LANE> struct lane_bits<T, LANE, false> {
    static ap_uint<LANE> get(const T &x) {
        ap_uint<T::width> raw = x.range();
        ap_uint<LANE> wide = raw;
        return wide;
    }
};

template <class T, int LANE> T from_lane(const ap_uint<LANE> &bits) {
    T x;
    x.range() = bits.range(T::width - 1, 0);
    return x;
}

// Values are moved one per cycle, a word read (written) every PER_WORD values: a sample costs
// N cycles each way, next to the model's thousands, and needs no buffer of its own.

// One sample of N values into an array (an io_parallel top's input).
template <class T, int N, int LANE> void read_array(hls::stream<word_t> &in, T x[N]) {
    const int PER_WORD = WORD_BITS / LANE;
    ap_uint<WORD_BITS> data = 0;
ReadValues:
    for (int k = 0; k < N; k++) {
#pragma HLS PIPELINE II = 1
        if (k % PER_WORD == 0)
            data = in.read().data;
        x[k] = from_lane<T, LANE>(ap_uint<LANE>(data.range(LANE - 1, 0)));
        data >>= LANE;
    }
}

// One sample of BEATS beats of A (an nnet::array) into a stream (an io_stream top's input).
// The values of a beat gather in a partitioned array (registers), copied whole into the beat.
template <class A, int BEATS, int LANE> void read_stream(hls::stream<word_t> &in, hls::stream<A> &s) {
    typedef typename A::value_type T;
    const int PER_WORD = WORD_BITS / LANE;
    const int D = A::size;
    ap_uint<WORD_BITS> data = 0;
    T vals[D];
#pragma HLS ARRAY_PARTITION variable = vals complete
ReadValues:
    for (int k = 0; k < BEATS * D; k++) {
#pragma HLS PIPELINE II = 1
        if (k % PER_WORD == 0)
            data = in.read().data;
        vals[k % D] = from_lane<T, LANE>(ap_uint<LANE>(data.range(LANE - 1, 0)));
        data >>= LANE;
        if (k % D == D - 1) {
            A beat;
            for (int j = 0; j < D; j++) {
#pragma HLS UNROLL
                beat[j] = vals[j];
            }
            s.write(beat);
        }
    }
}

// Appends value k of a sample of N to the word being filled; writes it when full or at the end.
template <class T, int N, int LANE, bool SIGNED>
void put_value(hls::stream<word_t> &out, ap_uint<WORD_BITS> &data, int k, const T &v, bool last) {
    const int PER_WORD = WORD_BITS / LANE;
    if (k % PER_WORD == 0)
        data = 0;
    ap_uint<WORD_BITS> bits = lane_bits<T, LANE, SIGNED>::get(v);
    data |= bits << ((k % PER_WORD) * LANE);
    if (k % PER_WORD == PER_WORD - 1 || k == N - 1) {
        word_t word;
        word.data = data;
        word.keep = -1;
        word.strb = -1;
        word.last = last && k == N - 1;
        out.write(word);
    }
}

// One sample's N values out of an array; LAST: it ends the batch (TLAST on its last word).
template <class T, int N, int LANE, bool SIGNED>
void write_array(const T y[N], hls::stream<word_t> &out, bool last) {
    ap_uint<WORD_BITS> data = 0;
WriteValues:
    for (int k = 0; k < N; k++) {
#pragma HLS PIPELINE II = 1
        put_value<T, N, LANE, SIGNED>(out, data, k, y[k], last);
    }
}

// One sample of BEATS beats of A out of a stream (each beat copied into registers first).
template <class A, int BEATS, int LANE, bool SIGNED>
void write_stream(hls::stream<A> &s, hls::stream<word_t> &out, bool last) {
    typedef typename A::value_type T;
    const int D = A::size;
    ap_uint<WORD_BITS> data = 0;
    T vals[D];
#pragma HLS ARRAY_PARTITION variable = vals complete
WriteValues:
    for (int k = 0; k < BEATS * D; k++) {
#pragma HLS PIPELINE II = 1
        if (k % D == 0) {
            A beat = s.read();
            for (int j = 0; j < D; j++) {
#pragma HLS UNROLL
                vals[j] = beat[j];
            }
        }
        put_value<T, BEATS * D, LANE, SIGNED>(out, data, k, vals[k % D], last);
    }
}

} // namespace qt_axi

#endif
