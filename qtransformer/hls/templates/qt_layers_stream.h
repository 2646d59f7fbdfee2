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
                         typename CONFIG_T::param_t beta[CONFIG_T::n_in],
                         typename CONFIG_T::rom_t rsqrt_table[CONFIG_T::rom_size]) {
    #pragma HLS ALLOCATION instances=mul limit=CONFIG_T::multipliers operation
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        typename data_T::value_type x[CONFIG_T::n_in];
        typename res_T::value_type y[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        #pragma HLS ARRAY_PARTITION variable=y complete
        qt_read_word<data_T, CONFIG_T::n_in>(data, x);
        qt_layernorm_token<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(
            x, y, gamma, beta, rsqrt_table);
        qt_write_word<res_T, CONFIG_T::n_in>(res, y);
    }
}

// Attention, streamed: as each token arrives its query, key and value are projected and stored
// (II = reuse factor per token; every key and value needs all tokens), then one query token per
// row (II = reuse factor): every head's scores, softmax and context, the output projection, and
// the output word. The Q/K/V memories hold words of kv_word values (at most 72 bits: one BRAM
// port; reshaped, never partitioned element by element); the keys and values are split over
// kv_banks memories so that one row can read every token's words within its II.
template <class data_T, class res_T, typename CONFIG_T>
void qt_attention_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                         typename CONFIG_T::weight_t wq[CONFIG_T::d_in * CONFIG_T::d_model / CONFIG_T::circ_block],
                         typename CONFIG_T::bias_t bq[CONFIG_T::d_model],
                         typename CONFIG_T::weight_t wk[CONFIG_T::d_in * CONFIG_T::d_model / CONFIG_T::circ_block],
                         typename CONFIG_T::bias_t bk[CONFIG_T::d_model],
                         typename CONFIG_T::weight_t wv[CONFIG_T::d_in * CONFIG_T::d_model / CONFIG_T::circ_block],
                         typename CONFIG_T::bias_t bv[CONFIG_T::d_model],
                         typename CONFIG_T::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model / CONFIG_T::circ_block],
                         typename CONFIG_T::bias_t bo[CONFIG_T::d_model],
                         typename CONFIG_T::table_t exp_table[CONFIG_T::table_size],
                         typename CONFIG_T::recip_t recip_table[CONFIG_T::recip_size]) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model, DI = CONFIG_T::d_in;
    typedef ap_int<CONFIG_T::act_bits> act_raw_t;
    typedef ap_uint<CONFIG_T::prob_frac + 1> prob_raw_t;
    act_raw_t q[CONFIG_T::seq_len][CONFIG_T::d_model];
    act_raw_t k[CONFIG_T::seq_len][CONFIG_T::d_model];
    act_raw_t v[CONFIG_T::seq_len][CONFIG_T::d_model];
    #pragma HLS ARRAY_RESHAPE variable=q cyclic factor=CONFIG_T::kv_word dim=2
    #pragma HLS ARRAY_RESHAPE variable=k cyclic factor=CONFIG_T::kv_word dim=2
    #pragma HLS ARRAY_RESHAPE variable=v cyclic factor=CONFIG_T::kv_word dim=2
    #pragma HLS ARRAY_PARTITION variable=k cyclic factor=CONFIG_T::kv_banks dim=1
    #pragma HLS ARRAY_PARTITION variable=v cyclic factor=CONFIG_T::kv_banks dim=1
    #pragma HLS ALLOCATION instances=mul limit=CONFIG_T::multipliers operation
Project:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        typename data_T::value_type in[CONFIG_T::d_in];
        ap_int<CONFIG_T::in_bits> x[CONFIG_T::d_in];
        #pragma HLS ARRAY_PARTITION variable=in complete
        #pragma HLS ARRAY_PARTITION variable=x complete
        qt_read_word<data_T, CONFIG_T::d_in>(data, in);
        for (unsigned i = 0; i < DI; i++) x[i] = qt_raw(in[i]);
        qt_project_token<CONFIG_T, CONFIG_T::d_in>(x, CONFIG_T::in_frac, wq, bq, q[t]);
        qt_project_token<CONFIG_T, CONFIG_T::d_in>(x, CONFIG_T::in_frac, wk, bk, k[t]);
        qt_project_token<CONFIG_T, CONFIG_T::d_in>(x, CONFIG_T::in_frac, wv, bv, v[t]);
    }
Rows:
    for (unsigned a = 0; a < S; a++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        act_raw_t ctx[CONFIG_T::d_model], o[CONFIG_T::d_model];
        #pragma HLS ARRAY_PARTITION variable=ctx complete
        #pragma HLS ARRAY_PARTITION variable=o complete
        for (unsigned h = 0; h < CONFIG_T::heads; h++) {
            prob_raw_t p[CONFIG_T::seq_len];
            qt_attention_head<CONFIG_T, prob_raw_t>(h, q[a], k, v, exp_table, recip_table, p, ctx);
        }
        qt_project_token<CONFIG_T, CONFIG_T::d_model>(ctx, CONFIG_T::act_frac, wo, bo, o);
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            out[j] = qt_from_raw<typename res_T::value_type>(o[j]);
        }
        res.write(out);
    }
}

// ---------------------------------------------------------------- Dense on a sequence
struct qt_dense_config {
    static const unsigned seq_len = 1, n_in = 1, n_out = 1, multipliers = 1, relu = 0;
    static const unsigned reuse_factor = 1;
    static const unsigned circ_block = 1, rom_word = 1;   // block-circulant (1: dense)
};

// One token a beat, its n_in x n_out products folded over reuse_factor cycles (RF) with
// `multipliers` (M = n_in n_out / RF) products a cycle, as hls4ml's Resource kernel folds them.
// Product k = r M + m of token cycle r: with RF <= n_in, rows t = r (n_in / RF) + c for every
// output; with RF > n_in, row t = r / B for the outputs of block r % B (B = RF / n_in). Either
// way cycle r reads the weights of its rows (the weights reshaped to words of rom_word). The
// sums are exact at accum_t (the planner's bound), so their order does not change a bit: the
// result is hls4ml's Dense cast to res_T (a fused quantizer's rounding and saturation included;
// with relu, hls4ml's ReLU after it).
//
// Dense (circ_block C = 1): row t is input t, weight (t, j) at t n_out + j.
// Block-circulant (C > 1, the direct form): row t = p C + d is diagonal d of block row p, whose
// block (p, q) holds one value v[p][q][d] for the C products x[p C + (j - d) mod C] W[.][j]
// (j in block q). So the weights are stored once per block, n_in n_out / C of them as
// [p][d][q] (row t, column q), and a cycle reads one word of them (rom_word = M / C values, or
// one value when a cycle's outputs are part of one block), each value feeding up to C
// multipliers. The weights are never rotated; a multiplier selects one of RF inputs, as in the
// dense fold, but a cycle reads up to C inputs per row (x is a token's registers).
template <class data_T, class res_T, typename CONFIG_T>
void qt_dense_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                     typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out / CONFIG_T::circ_block],
                     typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    const unsigned NI = CONFIG_T::n_in, NO = CONFIG_T::n_out, RF = CONFIG_T::reuse_factor;
    const unsigned C = CONFIG_T::circ_block;
    const unsigned B = RF > NI ? RF / NI : 1;            // output blocks per row
    const unsigned IN_PER = RF > NI ? 1 : NI / RF;        // rows a cycle
    const unsigned OUT_PER = NO / B;                      // outputs a cycle
    const unsigned X_BANKS = C > 1 ? NI : IN_PER;         // inputs read a cycle, at most
    static_assert((RF <= NI && NI % RF == 0) || (RF > NI && RF % NI == 0 && NO % B == 0),
                  "qt_dense_stream: the reuse factor must divide n_in, or be n_in times a "
                  "divisor of n_out");
    static_assert(C >= 1 && (C & (C - 1)) == 0 && NI % C == 0 && NO % C == 0,
                  "qt_dense_stream: the circulant block must be a power of two dividing "
                  "n_in and n_out");
    static_assert(C == 1 || RF <= NI || OUT_PER % C == 0 || C % OUT_PER == 0,
                  "qt_dense_stream: a cycle's outputs must be whole circulant blocks or part "
                  "of one (one ROM word a cycle)");
    #pragma HLS ARRAY_RESHAPE variable=weights cyclic factor=CONFIG_T::rom_word
    #pragma HLS ARRAY_PARTITION variable=biases cyclic factor=OUT_PER
    typename data_T::value_type x[CONFIG_T::n_in];
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    res_T out;
    PRAGMA_DATA_PACK(out)
    #pragma HLS ARRAY_PARTITION variable=x cyclic factor=X_BANKS
    #pragma HLS ARRAY_PARTITION variable=acc cyclic factor=OUT_PER
    #pragma HLS DEPENDENCE variable=acc inter false
    #pragma HLS ALLOCATION instances=mul limit=CONFIG_T::multipliers operation
Fold:
    for (unsigned k = 0; k < CONFIG_T::seq_len * RF; k++) {
        #pragma HLS PIPELINE II=1
        const unsigned r = k % RF;
        if (r == 0) {
            data_T in = data.read();
            for (unsigned i = 0; i < NI; i++) {
                #pragma HLS UNROLL
                x[i] = in[i];
            }
        }
        for (unsigned c = 0; c < IN_PER; c++) {
            #pragma HLS UNROLL
            for (unsigned o = 0; o < OUT_PER; o++) {
                #pragma HLS UNROLL
                const unsigned t = RF > NI ? r / B : r * IN_PER + c;
                const unsigned j = RF > NI ? (r % B) * OUT_PER + o : o;
                const unsigned i = C == 1 ? t : (t / C) * C + ((j - t) % C);
                const unsigned w = C == 1 ? t * NO + j : t * (NO / C) + j / C;
                typename CONFIG_T::accum_t prod = x[i] * weights[w];
                typename CONFIG_T::accum_t base = (r < B && c == 0) ? (typename CONFIG_T::accum_t)biases[j]
                                                                    : acc[j];
                acc[j] = base + prod;
                if (r >= RF - B && c == IN_PER - 1)   // a fused ReLU: hls4ml's relu, cast
                    out[j] = (CONFIG_T::relu && !(acc[j] > 0)) ? typename res_T::value_type(0)
                                                                : typename res_T::value_type(acc[j]);
            }
        }
        if (r == RF - 1) res.write(out);
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

// The ODE block in io_stream: the sequence read into the state buffer (every step reads all
// of it), the parallel form's steps (qt_ode), the result written a token a beat.
template <class data_T, class res_T, typename CONFIG_T>
void qt_ode_stream(hls::stream<data_T> &data, hls::stream<res_T> &res,
                   typename CONFIG_T::ln1_config::param_t ln1_gamma[CONFIG_T::d_model],
                   typename CONFIG_T::ln1_config::param_t ln1_beta[CONFIG_T::d_model],
                   typename CONFIG_T::ln1_config::rom_t ln1_rsqrt[CONFIG_T::ln1_config::rom_size],
                   typename CONFIG_T::attn_config::weight_t wq[CONFIG_T::d_model * CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::bias_t bq[CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::weight_t wk[CONFIG_T::d_model * CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::bias_t bk[CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::weight_t wv[CONFIG_T::d_model * CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::bias_t bv[CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::bias_t bo[CONFIG_T::d_model],
                   typename CONFIG_T::attn_config::table_t exp_table[CONFIG_T::attn_config::table_size],
                   typename CONFIG_T::attn_config::recip_t recip_table[CONFIG_T::attn_config::recip_size],
                   typename CONFIG_T::ln2_config::param_t ln2_gamma[CONFIG_T::d_model],
                   typename CONFIG_T::ln2_config::param_t ln2_beta[CONFIG_T::d_model],
                   typename CONFIG_T::ln2_config::rom_t ln2_rsqrt[CONFIG_T::ln2_config::rom_size],
                   typename CONFIG_T::ffn1_config::weight_t w1[CONFIG_T::d_model * CONFIG_T::ff_dim],
                   typename CONFIG_T::ffn1_config::bias_t b1[CONFIG_T::ff_dim],
                   typename CONFIG_T::ffn2_config::weight_t w2[CONFIG_T::ff_dim * CONFIG_T::d_model],
                   typename CONFIG_T::ffn2_config::bias_t b2[CONFIG_T::d_model]) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    typename data_T::value_type in[CONFIG_T::seq_len * CONFIG_T::d_model];
    typename res_T::value_type out[CONFIG_T::seq_len * CONFIG_T::d_model];
    #pragma HLS ARRAY_RESHAPE variable=in cyclic factor=CONFIG_T::d_model
    #pragma HLS ARRAY_RESHAPE variable=out cyclic factor=CONFIG_T::d_model
Read:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        qt_read_word<data_T, CONFIG_T::d_model>(data, in + t * D);
    }
    qt_ode<typename data_T::value_type, typename res_T::value_type, CONFIG_T>(
        in, out, ln1_gamma, ln1_beta, ln1_rsqrt, wq, bq, wk, bk, wv, bv, wo, bo, exp_table,
        recip_table, ln2_gamma, ln2_beta, ln2_rsqrt, w1, b1, w2, b2);
Write:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        qt_write_word<res_T, CONFIG_T::d_model>(res, out + t * D);
    }
}

}  // namespace nnet

#endif
