// qtransformer HLS layers (io_parallel): position embedding, integer LayerNorm, quantized
// multi-head self-attention with an integer softmax, mean / CLS pooling.
//
// Why raw integers: every step below is the integer definition used by the Keras layers
// (qtransformer/layers/{norm,softmax,attention}.py), so C simulation is bit-exact by
// construction. Values are moved in and out of ap_fixed types by bit copies (qt_raw /
// qt_from_raw); rounding is half-to-even (QKeras' tf.round), saturation is a clip.
#ifndef QT_LAYERS_H_
#define QT_LAYERS_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace nnet {

typedef long long qt_i64;
typedef unsigned long long qt_u64;

// Raw integer (value * 2^frac) of an ap_fixed / ap_ufixed / ap_int / ap_uint value.
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
qt_i64 qt_raw(ap_fixed<W, I, Q, O, N> x) {
    ap_int<W> r;
    r(W - 1, 0) = x(W - 1, 0);
    return r.to_int64();
}
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
qt_i64 qt_raw(ap_ufixed<W, I, Q, O, N> x) {
    ap_uint<W> r;
    r(W - 1, 0) = x(W - 1, 0);
    return (qt_i64)r.to_uint64();
}
template <int W> qt_i64 qt_raw(ap_int<W> x) { return x.to_int64(); }
template <int W> qt_i64 qt_raw(ap_uint<W> x) { return (qt_i64)x.to_uint64(); }

// ap_fixed value from a raw integer already inside the type's range.
template <class T> T qt_from_raw(qt_i64 v) {
    ap_int<T::width> r = v;
    T out;
    out(T::width - 1, 0) = r(T::width - 1, 0);
    return out;
}

// v / 2^s rounded half to even (s <= 0 shifts left).
inline qt_i64 qt_round_shift(qt_i64 v, int s) {
    if (s <= 0) return v * ((qt_i64)1 << (-s));
    qt_i64 q = v >> s;  // arithmetic shift = floor
    qt_i64 r = v - q * ((qt_i64)1 << s);
    qt_i64 half = (qt_i64)1 << (s - 1);
    if (r > half || (r == half && (q & 1))) q += 1;
    return q;
}

inline qt_i64 qt_clip(qt_i64 v, qt_i64 lo, qt_i64 hi) { return v < lo ? lo : (v > hi ? hi : v); }

// floor(sqrt(m)), bit by bit (fixed trip count, synthesizable).
inline qt_u64 qt_isqrt(qt_u64 m) {
    qt_u64 r = 0, bit = (qt_u64)1 << 62;
    for (int i = 0; i < 32; i++) {
        if (m >= r + bit) {
            m -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

// ---------------------------------------------------------------- position embedding
struct qt_posembed_config {
    static const unsigned n_elem = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void qt_posembed(data_T data[CONFIG_T::n_elem], res_T res[CONFIG_T::n_elem],
                 typename CONFIG_T::table_t table[CONFIG_T::n_elem]) {
    #pragma HLS INLINE
    for (unsigned i = 0; i < CONFIG_T::n_elem; i++) {
        #pragma HLS UNROLL
        res[i] = data[i] + table[i];  // res_T is wide enough: exact
    }
}

// ---------------------------------------------------------------- LayerNorm
struct qt_layernorm_config {
    static const unsigned seq_len = 1;
    static const unsigned n_in = 1;
    static const int in_shift = 0;       // F_in - F_out
    static const int param_frac = 0;
    static const int out_frac = 0;
    static const qt_i64 out_min = 0, out_max = 0;
    static const qt_i64 eps_raw = 1;
    static const int sqrt_bits = 8, inv_bits = 48, m_bits = 46;
    static const unsigned reuse_factor = 1;
};

// One token: x (n_in values at the input type) -> LayerNorm(x) at the output type. Shared by
// the parallel form (a pipelined loop over the tokens) and the streamed one (one token a beat).
template <class in_T, class out_T, typename CONFIG_T>
void qt_layernorm_token(in_T data[CONFIG_T::n_in], out_T res[CONFIG_T::n_in],
                        typename CONFIG_T::param_t gamma[CONFIG_T::n_in],
                        typename CONFIG_T::param_t beta[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    const qt_i64 n = CONFIG_T::n_in;
    const int shift = CONFIG_T::inv_bits - CONFIG_T::sqrt_bits;
    ap_int<CONFIG_T::x_bits> x[CONFIG_T::n_in];
    ap_int<CONFIG_T::d_bits> d[CONFIG_T::n_in];
    qt_i64 sum = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        x[i] = qt_round_shift(qt_raw(data[i]), CONFIG_T::in_shift);
        sum += x[i];
    }
    qt_i64 v = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        d[i] = n * (qt_i64)x[i] - sum;
        qt_i64 di = d[i];
        v += di * di;
    }
    qt_u64 m = (qt_u64)(n * (v + CONFIG_T::eps_raw));
    int k = 0;  // wide rows: M >> 2k below 2^m_bits, product shifted back by k (floor)
    for (int j = 0; j < 9; j++)
        if (m >= ((qt_u64)1 << (CONFIG_T::m_bits + 2 * j))) k++;
    m >>= 2 * k;
    qt_u64 root = qt_isqrt(m << (2 * CONFIG_T::sqrt_bits));
    qt_i64 inv = (qt_i64)(((qt_u64)1 << CONFIG_T::inv_bits) / root);
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        qt_i64 z = ((qt_i64)d[i] * n * inv) >> k;  // arithmetic shift = floor
        qt_i64 y = z * qt_raw(gamma[i]) + qt_raw(beta[i]) * ((qt_i64)1 << shift);
        y = qt_round_shift(y, shift + CONFIG_T::param_frac - CONFIG_T::out_frac);
        res[i] = qt_from_raw<out_T>(qt_clip(y, CONFIG_T::out_min, CONFIG_T::out_max));
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_layernorm(data_T data[CONFIG_T::seq_len * CONFIG_T::n_in],
                  res_T res[CONFIG_T::seq_len * CONFIG_T::n_in],
                  typename CONFIG_T::param_t gamma[CONFIG_T::n_in],
                  typename CONFIG_T::param_t beta[CONFIG_T::n_in]) {
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        qt_layernorm_token<data_T, res_T, CONFIG_T>(data + t * CONFIG_T::n_in,
                                                    res + t * CONFIG_T::n_in, gamma, beta);
    }
}

// ---------------------------------------------------------------- attention
struct qt_attention_config {
    static const unsigned seq_len = 1, d_in = 1, d_model = 1, heads = 1, d_head = 1;
    static const int in_frac = 0, w_frac = 0, b_frac = 0, act_frac = 0;
    static const qt_i64 act_min = 0, act_max = 0;
    static const int score_frac = 0;
    static const qt_i64 score_min = 0, score_max = 0;
    static const int prob_frac = 0;
    static const unsigned table_size = 1;
    static const unsigned reuse_factor = 1;
    // token pruning (qt_attention_prune): tokens kept, residual/output fractional bits,
    // width of the received-attention sums
    static const unsigned keep = 1, recv_bits = 32;
    static const int resid_frac = 0, out_frac = 0;
};

// act_quantizer(x W + b) per token; x raw at x_frac, weights raw (ap_int) at w_frac / b_frac.
// Operands keep their narrow raw widths so multipliers stay small; sums are 64-bit adders.
template <typename CONFIG_T, unsigned N_IN, class X_T>
void qt_project(X_T x[CONFIG_T::seq_len][N_IN], int x_frac,
                typename CONFIG_T::weight_t w[N_IN * CONFIG_T::d_model],
                typename CONFIG_T::bias_t b[CONFIG_T::d_model],
                ap_int<CONFIG_T::act_bits> y[CONFIG_T::seq_len][CONFIG_T::d_model]) {
    const int prod_frac = x_frac + CONFIG_T::w_frac;
    const int acc_frac = prod_frac > CONFIG_T::b_frac ? prod_frac : CONFIG_T::b_frac;
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        for (unsigned j = 0; j < CONFIG_T::d_model; j++) {
            qt_i64 acc = 0;
            for (unsigned i = 0; i < N_IN; i++) acc += x[t][i] * w[i * CONFIG_T::d_model + j];
            acc = acc * ((qt_i64)1 << (acc_frac - prod_frac)) +
                  (qt_i64)b[j] * ((qt_i64)1 << (acc_frac - CONFIG_T::b_frac));
            y[t][j] = qt_clip(qt_round_shift(acc, acc_frac - CONFIG_T::act_frac),
                              CONFIG_T::act_min, CONFIG_T::act_max);
        }
    }
}

// The attention computation on raw integers: output o (act raw) and, per key token, the
// attention it received (probability raws summed over heads and queries).
template <class data_T, typename CONFIG_T>
void qt_attention_core(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                       ap_int<CONFIG_T::act_bits> o[CONFIG_T::seq_len][CONFIG_T::d_model],
                       ap_uint<CONFIG_T::recv_bits> received[CONFIG_T::seq_len],
                       typename CONFIG_T::weight_t wq[CONFIG_T::d_in * CONFIG_T::d_model],
                       typename CONFIG_T::bias_t bq[CONFIG_T::d_model],
                       typename CONFIG_T::weight_t wk[CONFIG_T::d_in * CONFIG_T::d_model],
                       typename CONFIG_T::bias_t bk[CONFIG_T::d_model],
                       typename CONFIG_T::weight_t wv[CONFIG_T::d_in * CONFIG_T::d_model],
                       typename CONFIG_T::bias_t bv[CONFIG_T::d_model],
                       typename CONFIG_T::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model],
                       typename CONFIG_T::bias_t bo[CONFIG_T::d_model],
                       typename CONFIG_T::table_t exp_table[CONFIG_T::table_size]) {
    const unsigned S = CONFIG_T::seq_len, H = CONFIG_T::d_head;
    typedef ap_int<CONFIG_T::act_bits> act_raw_t;
    typedef ap_int<CONFIG_T::score_bits + 1> score_raw_t;
    typedef ap_uint<CONFIG_T::exp_bits + CONFIG_T::prob_frac> num_t;  // e * 2^prob_frac
    typedef ap_uint<CONFIG_T::exp_bits + 16> den_t;                     // sum of <= 2^16 e
    typedef ap_uint<CONFIG_T::prob_frac + 1> prob_raw_t;                // p <= 2^prob_frac
    ap_int<CONFIG_T::in_bits> x[CONFIG_T::seq_len][CONFIG_T::d_in];
    act_raw_t q[CONFIG_T::seq_len][CONFIG_T::d_model], k[CONFIG_T::seq_len][CONFIG_T::d_model];
    act_raw_t v[CONFIG_T::seq_len][CONFIG_T::d_model], ctx[CONFIG_T::seq_len][CONFIG_T::d_model];
    for (unsigned t = 0; t < S; t++) {
        received[t] = 0;
        for (unsigned i = 0; i < CONFIG_T::d_in; i++) x[t][i] = qt_raw(data[t * CONFIG_T::d_in + i]);
    }
    qt_project<CONFIG_T, CONFIG_T::d_in>(x, CONFIG_T::in_frac, wq, bq, q);
    qt_project<CONFIG_T, CONFIG_T::d_in>(x, CONFIG_T::in_frac, wk, bk, k);
    qt_project<CONFIG_T, CONFIG_T::d_in>(x, CONFIG_T::in_frac, wv, bv, v);
Heads:
    for (unsigned h = 0; h < CONFIG_T::heads; h++) {
        for (unsigned a = 0; a < S; a++) {
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            score_raw_t s[CONFIG_T::seq_len];
            typename CONFIG_T::table_t e[CONFIG_T::seq_len];
            score_raw_t smax = CONFIG_T::score_min;
            for (unsigned b = 0; b < S; b++) {
                qt_i64 acc = 0;
                for (unsigned c = 0; c < H; c++) acc += q[a][h * H + c] * k[b][h * H + c];
                s[b] = qt_clip(qt_round_shift(acc, 2 * CONFIG_T::act_frac - CONFIG_T::score_frac),
                               CONFIG_T::score_min, CONFIG_T::score_max);
                if (s[b] > smax) smax = s[b];
            }
            den_t total = 0;
            for (unsigned b = 0; b < S; b++) {
                qt_i64 idx = smax - s[b];
                if (idx > (qt_i64)CONFIG_T::table_size - 1) idx = CONFIG_T::table_size - 1;
                e[b] = exp_table[idx];
                total += e[b];
            }
            prob_raw_t p[CONFIG_T::seq_len];
            for (unsigned b = 0; b < S; b++) {
                num_t num = e[b];
                num <<= CONFIG_T::prob_frac;
                p[b] = num / total;  // floor: e, total > 0
                received[b] += p[b];
            }
            for (unsigned c = 0; c < H; c++) {
                qt_i64 acc = 0;
                for (unsigned b = 0; b < S; b++) acc += p[b] * v[b][h * H + c];
                ctx[a][h * H + c] = qt_clip(qt_round_shift(acc, CONFIG_T::prob_frac),
                                            CONFIG_T::act_min, CONFIG_T::act_max);
            }
        }
    }
    qt_project<CONFIG_T, CONFIG_T::d_model>(ctx, CONFIG_T::act_frac, wo, bo, o);
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_attention(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                  res_T res[CONFIG_T::seq_len * CONFIG_T::d_model],
                  typename CONFIG_T::weight_t wq[CONFIG_T::d_in * CONFIG_T::d_model],
                  typename CONFIG_T::bias_t bq[CONFIG_T::d_model],
                  typename CONFIG_T::weight_t wk[CONFIG_T::d_in * CONFIG_T::d_model],
                  typename CONFIG_T::bias_t bk[CONFIG_T::d_model],
                  typename CONFIG_T::weight_t wv[CONFIG_T::d_in * CONFIG_T::d_model],
                  typename CONFIG_T::bias_t bv[CONFIG_T::d_model],
                  typename CONFIG_T::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model],
                  typename CONFIG_T::bias_t bo[CONFIG_T::d_model],
                  typename CONFIG_T::table_t exp_table[CONFIG_T::table_size]) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    ap_int<CONFIG_T::act_bits> o[CONFIG_T::seq_len][CONFIG_T::d_model];
    ap_uint<CONFIG_T::recv_bits> received[CONFIG_T::seq_len];
    qt_attention_core<data_T, CONFIG_T>(data, o, received, wq, bq, wk, bk, wv, bv, wo, bo,
                                        exp_table);
    for (unsigned t = 0; t < S; t++)
        for (unsigned j = 0; j < D; j++) res[t * D + j] = qt_from_raw<res_T>(o[t][j]);
}

// Token pruning: res = the `keep` rows of resid + attention(data) whose tokens received the
// most attention, in their original order; equal sums go to the lower position (TF's
// top_k). A token is kept when fewer than `keep` tokens outrank it: S x S comparators.
template <class data_T, class resid_T, class res_T, typename CONFIG_T>
void qt_attention_prune(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                        resid_T resid[CONFIG_T::seq_len * CONFIG_T::d_model],
                        res_T res[CONFIG_T::keep * CONFIG_T::d_model],
                        typename CONFIG_T::weight_t wq[CONFIG_T::d_in * CONFIG_T::d_model],
                        typename CONFIG_T::bias_t bq[CONFIG_T::d_model],
                        typename CONFIG_T::weight_t wk[CONFIG_T::d_in * CONFIG_T::d_model],
                        typename CONFIG_T::bias_t bk[CONFIG_T::d_model],
                        typename CONFIG_T::weight_t wv[CONFIG_T::d_in * CONFIG_T::d_model],
                        typename CONFIG_T::bias_t bv[CONFIG_T::d_model],
                        typename CONFIG_T::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model],
                        typename CONFIG_T::bias_t bo[CONFIG_T::d_model],
                        typename CONFIG_T::table_t exp_table[CONFIG_T::table_size]) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    ap_int<CONFIG_T::act_bits> o[CONFIG_T::seq_len][CONFIG_T::d_model];
    ap_uint<CONFIG_T::recv_bits> received[CONFIG_T::seq_len];
    qt_attention_core<data_T, CONFIG_T>(data, o, received, wq, bq, wk, bk, wv, bv, wo, bo,
                                        exp_table);
    unsigned slot = 0;
Select:
    for (unsigned t = 0; t < S; t++) {
        unsigned rank = 0;
        for (unsigned u = 0; u < S; u++)
            rank += (received[u] > received[t] || (received[u] == received[t] && u < t)) ? 1 : 0;
        if (rank >= CONFIG_T::keep) continue;
        for (unsigned j = 0; j < D; j++) {
            qt_i64 y = qt_raw(resid[t * D + j]) * ((qt_i64)1 << (CONFIG_T::out_frac - CONFIG_T::resid_frac)) +
                       (qt_i64)o[t][j] * ((qt_i64)1 << (CONFIG_T::out_frac - CONFIG_T::act_frac));
            res[slot * D + j] = qt_from_raw<res_T>(y);  // exact: out type = resid + act
        }
        slot++;
    }
}

// ---------------------------------------------------------------- pooling
struct qt_pool_config {
    static const unsigned seq_len = 1, n_in = 1, sum_bits = 64;
    static const int in_frac = 0, out_frac = 0;
    static const qt_i64 out_min = 0, out_max = 0;
};

// round_half_even(sum * 2^(out_frac - in_frac) / seq_len) per channel, one channel a cycle
// through a single rounding divider; exact when seq_len is a power of two.
template <class res_T, typename CONFIG_T>
void qt_meanpool_divide(ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    const qt_i64 n = CONFIG_T::seq_len;
Channels:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS PIPELINE II=1
        qt_i64 num = (qt_i64)sum[i] * ((qt_i64)1 << (CONFIG_T::out_frac - CONFIG_T::in_frac));
        qt_i64 q = num / n, r = num % n;
        if (r < 0) { q -= 1; r += n; }
        if (2 * r > n || (2 * r == n && (q & 1))) q += 1;
        res[i] = qt_from_raw<res_T>(qt_clip(q, CONFIG_T::out_min, CONFIG_T::out_max));
    }
}

// Mean over tokens, folded like the other layers: one token per cycle into n_in accumulators
// (sum_bits wide: exact), then one channel per cycle through a single rounding divider. A fully
// unrolled pool would be a seq_len-input adder tree and a divider per channel.
template <typename CONFIG_T> void qt_meanpool_clear(ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        sum[i] = 0;
    }
}

// sum += one token's raw values (exact: sum_bits wide).
template <class in_T, typename CONFIG_T>
void qt_meanpool_add(ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in], in_T x[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        sum[i] += qt_raw(x[i]);
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_meanpool(data_T data[CONFIG_T::seq_len * CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=sum complete
    qt_meanpool_clear<CONFIG_T>(sum);
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        qt_meanpool_add<data_T, CONFIG_T>(sum, data + t * CONFIG_T::n_in);
    }
    qt_meanpool_divide<res_T, CONFIG_T>(sum, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_clspool(data_T data[CONFIG_T::seq_len * CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        res[i] = data[i];
    }
}

}  // namespace nnet

#endif
