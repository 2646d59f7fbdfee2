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

// The valid bits of a padding mask stream: one word of seq_len values, 0 = [PAD].
template <class mask_T, unsigned S>
void qt_read_valid(hls::stream<mask_T> &mask, ap_uint<1> valid[S]) {
    #pragma HLS INLINE
    mask_T m = mask.read();
    for (unsigned b = 0; b < S; b++) {
        #pragma HLS UNROLL
        valid[b] = m[b] != 0;
    }
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
void qt_attention_stream_valid(hls::stream<data_T> &data, const ap_uint<1> valid[CONFIG_T::seq_len],
                               hls::stream<res_T> &res, QT_ATTN_WEIGHTS) {
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
            qt_attention_head<CONFIG_T, prob_raw_t>(h, q[a], k, v, valid, exp_table, recip_table, p,
                                                   ctx);
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

template <class data_T, class res_T, typename CONFIG_T>
void qt_attention_stream(hls::stream<data_T> &data, hls::stream<res_T> &res, QT_ATTN_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_all_valid<CONFIG_T::seq_len>(valid);
    qt_attention_stream_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ATTN_ARGS);
}

// Padding masked: the mask (one word of seq_len values, 0 = [PAD]) is read first.
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void qt_attention_stream_masked(hls::stream<data_T> &data, hls::stream<mask_T> &mask,
                                hls::stream<res_T> &res, QT_ATTN_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_read_valid<mask_T, CONFIG_T::seq_len>(mask, valid);
    qt_attention_stream_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ATTN_ARGS);
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
    qt_meanpool_divide<typename res_T::value_type, CONFIG_T>(sum, CONFIG_T::seq_len, y);
    qt_write_word<res_T, CONFIG_T::n_in>(res, y);
}

// Mean over the valid tokens: the mask word first, then the tokens (padding read and dropped).
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void qt_meanpool_stream_masked(hls::stream<data_T> &data, hls::stream<mask_T> &mask,
                               hls::stream<res_T> &res) {
    ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=sum complete
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_read_valid<mask_T, CONFIG_T::seq_len>(mask, valid);
    qt_meanpool_clear<CONFIG_T>(sum);
    ap_uint<CONFIG_T::count_bits> n = 0;
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        typename data_T::value_type x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        qt_read_word<data_T, CONFIG_T::n_in>(data, x);
        if (!valid[t]) continue;
        qt_meanpool_add<typename data_T::value_type, CONFIG_T>(sum, x);
        n++;
    }
    typename res_T::value_type y[CONFIG_T::n_in];
    qt_meanpool_divide<typename res_T::value_type, CONFIG_T>(sum, n > 0 ? n : (ap_uint<CONFIG_T::count_bits>)1, y);
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

// ---------------------------------------------------------------- Neural-ODE block
// The ODE block (qtransformer/layers/ode.py, kinds/ode.py): `steps` Euler steps of one block's
// datapath with the state fed back. The step loop is not unrolled (the kind asks for the
// Resource strategy, so an io_parallel top is a DATAFLOW region, not one PIPELINE): each layer
// below is one instance and the weights are stored once. The layers are the stacked block's
// own functions (qt_layernorm, qt_attention, qt_dense_stream for the FFN), so a step computes
// exactly what the Keras block computes. The sequence buffers hold one token a word.
struct qt_ode_config {
    static const unsigned seq_len = 1, d_model = 1, ff_dim = 1, steps = 1, sum_bits = 2;
    static const int h_raw = 1, h_frac = 0, state_frac = 0, a_frac = 0, m_frac = 0;
    static const int f_frac = 0, upd_frac = 0;
    static const qt_i64 state_min = 0, state_max = 0;
    static const unsigned reuse_factor = 1;
};

#define QT_ODE_WEIGHTS                                                                              \
    typename CONFIG_T::ln1_config::param_t ln1_gamma[CONFIG_T::d_model],                          \
        typename CONFIG_T::ln1_config::param_t ln1_beta[CONFIG_T::d_model],                       \
        typename CONFIG_T::ln1_config::rom_t ln1_rsqrt[CONFIG_T::ln1_config::rom_size],           \
        typename CONFIG_T::attn_config::weight_t wq[CONFIG_T::d_model * CONFIG_T::d_model],       \
        typename CONFIG_T::attn_config::bias_t bq[CONFIG_T::d_model],                             \
        typename CONFIG_T::attn_config::weight_t wk[CONFIG_T::d_model * CONFIG_T::d_model],       \
        typename CONFIG_T::attn_config::bias_t bk[CONFIG_T::d_model],                             \
        typename CONFIG_T::attn_config::weight_t wv[CONFIG_T::d_model * CONFIG_T::d_model],       \
        typename CONFIG_T::attn_config::bias_t bv[CONFIG_T::d_model],                             \
        typename CONFIG_T::attn_config::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model],       \
        typename CONFIG_T::attn_config::bias_t bo[CONFIG_T::d_model],                             \
        typename CONFIG_T::attn_config::table_t exp_table[CONFIG_T::attn_config::table_size],     \
        typename CONFIG_T::attn_config::recip_t recip_table[CONFIG_T::attn_config::recip_size],   \
        typename CONFIG_T::ln2_config::param_t ln2_gamma[CONFIG_T::d_model],                      \
        typename CONFIG_T::ln2_config::param_t ln2_beta[CONFIG_T::d_model],                       \
        typename CONFIG_T::ln2_config::rom_t ln2_rsqrt[CONFIG_T::ln2_config::rom_size],           \
        typename CONFIG_T::ffn1_config::weight_t w1[CONFIG_T::d_model * CONFIG_T::ff_dim],        \
        typename CONFIG_T::ffn1_config::bias_t b1[CONFIG_T::ff_dim],                              \
        typename CONFIG_T::ffn2_config::weight_t w2[CONFIG_T::ff_dim * CONFIG_T::d_model],        \
        typename CONFIG_T::ffn2_config::bias_t b2[CONFIG_T::d_model]

// x <- Q(x + h (a + m)) for every value: a + m exact, h = h_raw 2^-h_frac, the sum exact at
// upd_frac (sum_bits wide), rounded half to even onto the state grid and clipped; one token
// (the FFN's output word) a cycle.
template <typename CONFIG_T>
void qt_ode_update(typename CONFIG_T::state_t x[CONFIG_T::seq_len * CONFIG_T::d_model],
                   typename CONFIG_T::attn_t a[CONFIG_T::seq_len * CONFIG_T::d_model],
                   hls::stream<nnet::array<typename CONFIG_T::ffn2_t, CONFIG_T::d_model> > &m) {
    typedef ap_int<CONFIG_T::sum_bits> sum_t;
    static_assert(CONFIG_T::sum_bits <= 64, "qt_ode_update: the update must fit 64 bits");
    const unsigned D = CONFIG_T::d_model;
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        nnet::array<typename CONFIG_T::ffn2_t, CONFIG_T::d_model> mt = m.read();
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            const unsigned i = t * D + j;
            sum_t f = ((sum_t)qt_raw(a[i]) << (CONFIG_T::f_frac - CONFIG_T::a_frac)) +
                      ((sum_t)qt_raw(mt[j]) << (CONFIG_T::f_frac - CONFIG_T::m_frac));
            sum_t v = ((sum_t)qt_raw(x[i]) << (CONFIG_T::upd_frac - CONFIG_T::state_frac)) +
                      ((sum_t)(f * CONFIG_T::h_raw)
                       << (CONFIG_T::upd_frac - CONFIG_T::f_frac - CONFIG_T::h_frac));
            x[i] = qt_from_raw<typename CONFIG_T::state_t>(
                qt_clip(qt_round_shift(v.to_int64(), CONFIG_T::upd_frac - CONFIG_T::state_frac),
                        CONFIG_T::state_min, CONFIG_T::state_max));
        }
    }
}

// One Euler step on the state x (S x d, one token a word).
template <typename CONFIG_T>
void qt_ode_step(typename CONFIG_T::state_t x[CONFIG_T::seq_len * CONFIG_T::d_model],
                 const ap_uint<1> valid[CONFIG_T::seq_len], QT_ODE_WEIGHTS) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    typename CONFIG_T::ln1_t h1[CONFIG_T::seq_len * CONFIG_T::d_model];
    typename CONFIG_T::attn_t a[CONFIG_T::seq_len * CONFIG_T::d_model];
    typename CONFIG_T::y_t y[CONFIG_T::seq_len * CONFIG_T::d_model];
    typename CONFIG_T::ln2_t h2[CONFIG_T::seq_len * CONFIG_T::d_model];
    #pragma HLS ARRAY_RESHAPE variable=h1 cyclic factor=CONFIG_T::d_model
    #pragma HLS ARRAY_RESHAPE variable=a cyclic factor=CONFIG_T::d_model
    #pragma HLS ARRAY_RESHAPE variable=y cyclic factor=CONFIG_T::d_model
    #pragma HLS ARRAY_RESHAPE variable=h2 cyclic factor=CONFIG_T::d_model
    hls::stream<nnet::array<typename CONFIG_T::ln2_t, CONFIG_T::d_model> > s_in("ode_ffn_in");
    hls::stream<nnet::array<typename CONFIG_T::ffn1_t, CONFIG_T::ff_dim> > s_mid("ode_ffn_mid");
    hls::stream<nnet::array<typename CONFIG_T::ffn2_t, CONFIG_T::d_model> > s_out("ode_ffn_out");
    #pragma HLS STREAM variable=s_in depth=CONFIG_T::seq_len
    #pragma HLS STREAM variable=s_mid depth=CONFIG_T::seq_len
    #pragma HLS STREAM variable=s_out depth=CONFIG_T::seq_len
    qt_layernorm<typename CONFIG_T::state_t, typename CONFIG_T::ln1_t,
                 typename CONFIG_T::ln1_config>(x, h1, ln1_gamma, ln1_beta, ln1_rsqrt);
    qt_attention_valid<typename CONFIG_T::ln1_t, typename CONFIG_T::attn_t,
                       typename CONFIG_T::attn_config>(h1, valid, a, wq, bq, wk, bk, wv, bv, wo,
                                                       bo, exp_table, recip_table);
Residual:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            y[t * D + j] = x[t * D + j] + a[t * D + j];   // y_t is exact
        }
    }
    qt_layernorm<typename CONFIG_T::y_t, typename CONFIG_T::ln2_t,
                 typename CONFIG_T::ln2_config>(y, h2, ln2_gamma, ln2_beta, ln2_rsqrt);
ToStream:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        nnet::array<typename CONFIG_T::ln2_t, CONFIG_T::d_model> w;
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            w[j] = h2[t * D + j];
        }
        s_in.write(w);
    }
    qt_dense_stream<nnet::array<typename CONFIG_T::ln2_t, CONFIG_T::d_model>,
                    nnet::array<typename CONFIG_T::ffn1_t, CONFIG_T::ff_dim>,
                    typename CONFIG_T::ffn1_config>(s_in, s_mid, w1, b1);
    qt_dense_stream<nnet::array<typename CONFIG_T::ffn1_t, CONFIG_T::ff_dim>,
                    nnet::array<typename CONFIG_T::ffn2_t, CONFIG_T::d_model>,
                    typename CONFIG_T::ffn2_config>(s_mid, s_out, w2, b2);
    qt_ode_update<CONFIG_T>(x, a, s_out);
}

// The step loop: one qt_ode_step instance, the state fed back (never unrolled).
template <typename CONFIG_T>
void qt_ode_steps(typename CONFIG_T::state_t x[CONFIG_T::seq_len * CONFIG_T::d_model],
                  const ap_uint<1> valid[CONFIG_T::seq_len], QT_ODE_WEIGHTS) {
Steps:
    for (unsigned k = 0; k < CONFIG_T::steps; k++) {
        qt_ode_step<CONFIG_T>(x, valid, ln1_gamma, ln1_beta, ln1_rsqrt, wq, bq, wk, bk, wv, bv, wo, bo,
                              exp_table, recip_table, ln2_gamma, ln2_beta, ln2_rsqrt, w1, b1,
                              w2, b2);
    }
}

// io_stream: the sequence read into the state (Q(x_0): the cast rounds half to even and
// saturates), the steps, the state written a token a beat.
template <class data_T, class res_T, typename CONFIG_T>
void qt_ode_stream_valid(hls::stream<data_T> &data, const ap_uint<1> valid[CONFIG_T::seq_len],
                         hls::stream<res_T> &res, QT_ODE_WEIGHTS) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    typename CONFIG_T::state_t x[CONFIG_T::seq_len * CONFIG_T::d_model];
    #pragma HLS ARRAY_RESHAPE variable=x cyclic factor=CONFIG_T::d_model
Read:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        data_T in = data.read();
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            x[t * D + j] = (typename CONFIG_T::state_t)in[j];
        }
    }
    qt_ode_steps<CONFIG_T>(x, valid, ln1_gamma, ln1_beta, ln1_rsqrt, wq, bq, wk, bk, wv, bv, wo, bo,
                           exp_table, recip_table, ln2_gamma, ln2_beta, ln2_rsqrt, w1, b1, w2, b2);
Write:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        res_T out;
        PRAGMA_DATA_PACK(out)
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            out[j] = x[t * D + j];
        }
        res.write(out);
    }
}

// io_parallel: the same, the input and output arrays hls4ml's.
template <class data_T, class res_T, typename CONFIG_T>
void qt_ode_valid(data_T data[CONFIG_T::seq_len * CONFIG_T::d_model],
                  const ap_uint<1> valid[CONFIG_T::seq_len],
                  res_T res[CONFIG_T::seq_len * CONFIG_T::d_model], QT_ODE_WEIGHTS) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    typename CONFIG_T::state_t x[CONFIG_T::seq_len * CONFIG_T::d_model];
    #pragma HLS ARRAY_RESHAPE variable=x cyclic factor=CONFIG_T::d_model
In:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            x[t * D + j] = (typename CONFIG_T::state_t)data[t * D + j];
        }
    }
    qt_ode_steps<CONFIG_T>(x, valid, ln1_gamma, ln1_beta, ln1_rsqrt, wq, bq, wk, bk, wv, bv, wo, bo,
                           exp_table, recip_table, ln2_gamma, ln2_beta, ln2_rsqrt, w1, b1, w2, b2);
Out:
    for (unsigned t = 0; t < S; t++) {
        #pragma HLS PIPELINE II=1
        for (unsigned j = 0; j < D; j++) {
            #pragma HLS UNROLL
            res[t * D + j] = x[t * D + j];
        }
    }
}

#define QT_ODE_ARGS                                                                                 \
    ln1_gamma, ln1_beta, ln1_rsqrt, wq, bq, wk, bk, wv, bv, wo, bo, exp_table, recip_table,         \
        ln2_gamma, ln2_beta, ln2_rsqrt, w1, b1, w2, b2

// The entry points: without a mask every token is valid; with one (padding masked), keys
// whose mask value is 0 get probability 0 in every step's attention.
template <class data_T, class res_T, typename CONFIG_T>
void qt_ode_stream(hls::stream<data_T> &data, hls::stream<res_T> &res, QT_ODE_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_all_valid<CONFIG_T::seq_len>(valid);
    qt_ode_stream_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ODE_ARGS);
}

template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void qt_ode_stream_masked(hls::stream<data_T> &data, hls::stream<mask_T> &mask,
                          hls::stream<res_T> &res, QT_ODE_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_read_valid<mask_T, CONFIG_T::seq_len>(mask, valid);
    qt_ode_stream_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ODE_ARGS);
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_ode(data_T data[CONFIG_T::seq_len * CONFIG_T::d_model],
            res_T res[CONFIG_T::seq_len * CONFIG_T::d_model], QT_ODE_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_all_valid<CONFIG_T::seq_len>(valid);
    qt_ode_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ODE_ARGS);
}

template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void qt_ode_masked(data_T data[CONFIG_T::seq_len * CONFIG_T::d_model],
                   mask_T mask[CONFIG_T::seq_len],
                   res_T res[CONFIG_T::seq_len * CONFIG_T::d_model], QT_ODE_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_valid_bits<mask_T, CONFIG_T::seq_len>(mask, valid);
    qt_ode_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ODE_ARGS);
}

}  // namespace nnet

#endif
