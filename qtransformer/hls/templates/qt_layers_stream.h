// qtransformer HLS layers, streamed (io_stream): one token per beat. A (seq, d) tensor is a
// stream of seq nnet::array<T, d> words (hls4ml's layout); a pooled (d,) vector is one word.
//
// Each layer computes exactly the integer definition of its parallel form in qt_layers.h (the
// same per-token functions where the computation is per token), so C simulation stays bit-exact
// whichever io type a project uses. Nothing is partitioned beyond one token's word.
#ifndef QT_LAYERS_STREAM_H_
#define QT_LAYERS_STREAM_H_

#include "hls_stream.h"
#include "nnet_common.h"
#include "nnet_types.h"
#include "qt_layers.h"

namespace nnet {

// One beat <-> a token's values (the word is the only thing partitioned).
template <class data_T, unsigned N>
void qt_read_word(hls::stream<data_T> &data, typename data_T::value_type x[N]) {
    #pragma HLS INLINE
    data_T in = data.read();
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        x[i] = in[i];
    }
}

template <class res_T, unsigned N, class T>
void qt_write_word(hls::stream<res_T> &res, T y[N]) {
    #pragma HLS INLINE
    res_T out;
    PRAGMA_DATA_PACK(out)
    for (unsigned i = 0; i < N; i++) {
        #pragma HLS UNROLL
        out[i] = y[i];
    }
    res.write(out);
}

// x + table[t]: the position-table row of token t added to beat t.
template <class data_T, class res_T, typename CONFIG_T>
void qt_posembed_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                        typename CONFIG_T::table_t table[CONFIG_T::n_elem]) {
    const unsigned N = data_T::size;
Tokens:
    for (unsigned t = 0; t < CONFIG_T::n_elem / N; t++) {
        #pragma HLS PIPELINE II=1
        data_T in = data.read();
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned i = 0; i < N; i++) {
            #pragma HLS UNROLL
            out[i] = in[i] + table[t * N + i];  // res_T is wide enough: exact
        }
        res.write(out);
    }
}

// LayerNorm, one token a beat (II = reuse factor).
template <class data_T, class res_T, typename CONFIG_T>
void qt_layernorm_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                         typename CONFIG_T::param_t gamma[CONFIG_T::n_in],
                         typename CONFIG_T::param_t beta[CONFIG_T::n_in]) {
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        typename data_T::value_type x[CONFIG_T::n_in];
        typename res_T::value_type y[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        #pragma HLS ARRAY_PARTITION variable=y complete
        qt_read_word<data_T, CONFIG_T::n_in>(data, x);
        qt_layernorm_token<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(
            x, y, gamma, beta);
        qt_write_word<res_T, CONFIG_T::n_in>(res, y);
    }
}

// Attention: the sequence is stored on chip as it arrives (every key and value needs all
// tokens), then the parallel form's computation runs on it and the outputs leave a token a beat.
template <class data_T, class res_T, typename CONFIG_T>
void qt_attention_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                         typename CONFIG_T::weight_t wq[CONFIG_T::d_in * CONFIG_T::d_model],
                         typename CONFIG_T::bias_t bq[CONFIG_T::d_model],
                         typename CONFIG_T::weight_t wk[CONFIG_T::d_in * CONFIG_T::d_model],
                         typename CONFIG_T::bias_t bk[CONFIG_T::d_model],
                         typename CONFIG_T::weight_t wv[CONFIG_T::d_in * CONFIG_T::d_model],
                         typename CONFIG_T::bias_t bv[CONFIG_T::d_model],
                         typename CONFIG_T::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model],
                         typename CONFIG_T::bias_t bo[CONFIG_T::d_model],
                         typename CONFIG_T::table_t exp_table[CONFIG_T::table_size]) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model, DI = CONFIG_T::d_in;
    typename data_T::value_type x[CONFIG_T::seq_len * CONFIG_T::d_in];
    typename res_T::value_type y[CONFIG_T::seq_len * CONFIG_T::d_model];
    #pragma HLS ARRAY_PARTITION variable=x cyclic factor=CONFIG_T::d_in
    #pragma HLS ARRAY_PARTITION variable=y cyclic factor=CONFIG_T::d_model
Store:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        qt_read_word<data_T, CONFIG_T::d_in>(data, x + t * DI);
    }
    qt_attention<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(
        x, y, wq, bq, wk, bk, wv, bv, wo, bo, exp_table);
Emit:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        qt_write_word<res_T, CONFIG_T::d_model>(res, y + t * D);
    }
}

// Mean over tokens: one token a beat into exact accumulators, then the parallel form's
// rounding divide; the pooled vector leaves as one word.
template <class data_T, class res_T, typename CONFIG_T>
void qt_meanpool_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=sum complete
    qt_meanpool_clear<CONFIG_T>(sum);
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        typename data_T::value_type x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        qt_read_word<data_T, CONFIG_T::n_in>(data, x);
        qt_meanpool_add<typename data_T::value_type, CONFIG_T>(sum, x);
    }
    typename res_T::value_type y[CONFIG_T::n_in];
    qt_meanpool_divide<typename res_T::value_type, CONFIG_T>(sum, y);
    qt_write_word<res_T, CONFIG_T::n_in>(res, y);
}

// The first token's word; the others are read and dropped.
template <class data_T, class res_T, typename CONFIG_T>
void qt_clspool_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        typename data_T::value_type x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        qt_read_word<data_T, CONFIG_T::n_in>(data, x);
        if (t == 0) qt_write_word<res_T, CONFIG_T::n_in>(res, x);
    }
}

}  // namespace nnet

#endif
