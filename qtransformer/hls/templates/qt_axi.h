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

#if defined(QT_HAVE_AXI_SDATA) && defined(QT_AXI_SIDEBAND)
// Vivado HLS <= 2020.1 does not take zero-width TUSER/TID/TDEST (hls_axi_export.tcl sets this).
typedef ap_axiu<WORD_BITS, 1, 1, 1> word_t;
#elif defined(QT_HAVE_AXI_SDATA)
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
// N cycles each way, next to the model's thousands, and needs no buffer of its own. Counters
// wrap instead of k % PER_WORD and k % D (D need not be a power of two: 10 classes).

// One sample of N values into an array (an io_parallel top's input).
template <class T, int N, int LANE> void read_array(hls::stream<word_t> &in, T x[N]) {
    const int PER_WORD = WORD_BITS / LANE;
    ap_uint<WORD_BITS> data = 0;
    unsigned lane = 0;
ReadValues:
    for (unsigned k = 0; k < N; k++) {
#pragma HLS PIPELINE II = 1
        if (lane == 0)
            data = in.read().data;
        x[k] = from_lane<T, LANE>(ap_uint<LANE>(data.range(LANE - 1, 0)));
        data >>= LANE;
        lane = lane == PER_WORD - 1 ? 0 : lane + 1;
    }
}

// One sample of BEATS beats of A (an nnet::array) into a stream (an io_stream top's input).
// The values of a beat gather in a partitioned array (registers), copied whole into the beat.
template <class A, int BEATS, int LANE> void read_stream(hls::stream<word_t> &in, hls::stream<A> &s) {
    typedef typename A::value_type T;
    const int PER_WORD = WORD_BITS / LANE;
    const unsigned D = A::size;
    ap_uint<WORD_BITS> data = 0;
    unsigned lane = 0, j = 0;
    T vals[D];
#pragma HLS ARRAY_PARTITION variable = vals complete
ReadValues:
    for (unsigned k = 0; k < BEATS * D; k++) {
#pragma HLS PIPELINE II = 1
        if (lane == 0)
            data = in.read().data;
        vals[j] = from_lane<T, LANE>(ap_uint<LANE>(data.range(LANE - 1, 0)));
        data >>= LANE;
        lane = lane == PER_WORD - 1 ? 0 : lane + 1;
        if (j == D - 1) {
            A beat;
            for (unsigned i = 0; i < D; i++) {
#pragma HLS UNROLL
                beat[i] = vals[i];
            }
            s.write(beat);
            j = 0;
        } else {
            j++;
        }
    }
}

// Packs the values of one sample into words: put() one value at a time; a word goes out when
// full or with the sample's last value (TLAST there when the sample ends the batch).
template <class T, int N, int LANE, bool SIGNED> struct packer {
    static const int PER_WORD = WORD_BITS / LANE;
    ap_uint<WORD_BITS> data;
    unsigned lane, k;
    packer() : data(0), lane(0), k(0) {}
    void put(hls::stream<word_t> &out, const T &v, bool last) {
        ap_uint<WORD_BITS> bits = lane_bits<T, LANE, SIGNED>::get(v);
        data |= bits << (lane * LANE);
        if (lane == PER_WORD - 1 || k == N - 1) {
            word_t word;
            word.data = data;
            word.keep = -1;
            word.strb = -1;
            word.last = last && k == N - 1;
            out.write(word);
            data = 0;
            lane = 0;
        } else {
            lane++;
        }
        k++;
    }
};

// One sample's N values out of an array; LAST: it ends the batch (TLAST on its last word).
template <class T, int N, int LANE, bool SIGNED>
void write_array(const T y[N], hls::stream<word_t> &out, bool last) {
    packer<T, N, LANE, SIGNED> p;
WriteValues:
    for (unsigned k = 0; k < N; k++) {
#pragma HLS PIPELINE II = 1
        p.put(out, y[k], last);
    }
}

// One sample of BEATS beats of A out of a stream (each beat copied into registers first).
template <class A, int BEATS, int LANE, bool SIGNED>
void write_stream(hls::stream<A> &s, hls::stream<word_t> &out, bool last) {
    typedef typename A::value_type T;
    const unsigned D = A::size;
    packer<T, BEATS * D, LANE, SIGNED> p;
    unsigned j = 0;
    T vals[D];
#pragma HLS ARRAY_PARTITION variable = vals complete
WriteValues:
    for (unsigned k = 0; k < BEATS * D; k++) {
#pragma HLS PIPELINE II = 1
        if (j == 0) {
            A beat = s.read();
            for (unsigned i = 0; i < D; i++) {
#pragma HLS UNROLL
                vals[i] = beat[i];
            }
        }
        p.put(out, vals[j], last);
        j = j == D - 1 ? 0 : j + 1;
    }
}

} // namespace qt_axi

#endif
