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
        data_T in = data.read();
        typename data_T::value_type x[CONFIG_T::n_in];
        typename res_T::value_type y[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        #pragma HLS ARRAY_PARTITION variable=y complete
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            x[i] = in[i];
        }
        qt_layernorm_token<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(
            x, y, gamma, beta);
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            out[i] = y[i];
        }
        res.write(out);
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
        data_T in = data.read();
        for (unsigned i = 0; i < DI; i++) x[t * DI + i] = in[i];
    }
    qt_attention<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(
        x, y, wq, bq, wk, bk, wv, bv, wo, bo, exp_table);
Emit:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned j = 0; j < D; j++) out[j] = y[t * D + j];
        res.write(out);
    }
}

// Mean over tokens: one token a beat into exact accumulators, then the parallel form's
// rounding divide; the pooled vector leaves as one word.
template <class data_T, class res_T, typename CONFIG_T>
void qt_meanpool_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=sum complete
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        sum[i] = 0;
    }
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        data_T in = data.read();
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) sum[i] += qt_raw(in[i]);
    }
    typename res_T::value_type y[CONFIG_T::n_in];
    qt_meanpool_divide<typename res_T::value_type, CONFIG_T>(sum, y);
    res_T out;
    PRAGMA_DATA_PACK(out)
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) out[i] = y[i];
    res.write(out);
}

// The first token's word; the others are read and dropped.
template <class data_T, class res_T, typename CONFIG_T>
void qt_clspool_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        data_T in = data.read();
        if (t == 0) {
            res_T out;
            PRAGMA_DATA_PACK(out)
            for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
                #pragma HLS UNROLL
                out[i] = in[i];
            }
            res.write(out);
        }
    }
}

}  // namespace nnet

#endif
