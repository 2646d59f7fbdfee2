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

// floor(v / 2^s) for a compile-time shift of either sign (a left shift is exact).
template <int S, class T> T qt_shift_floor(T v) {
    #pragma HLS INLINE
    if (S >= 0) return v >> (S >= 0 ? S : 0);
    return v << (S < 0 ? -S : 0);
}

// Bits of an unsigned value (0 for 0): a priority encoder.
template <int W> int qt_bit_length(ap_uint<W> v) {
    #pragma HLS INLINE
    int len = 0;
    for (int b = 0; b < W; b++) {
        #pragma HLS UNROLL
        if (v[b]) len = b + 1;
    }
    return len;
}

// ROM index of positive v (qtransformer/layers/intmath.py): v >> s with s = bit_length(v) -
// BITS (made even when EVEN), i.e. v's leading BITS bits, and s.
template <int BITS, bool EVEN, int W> ap_uint<BITS> qt_normalize(ap_uint<W> v, int &s) {
    #pragma HLS INLINE
    s = qt_bit_length<W>(v) - BITS;
    if (EVEN) s += s & 1;
    ap_uint<W + BITS> wide = v;
    return s >= 0 ? ap_uint<BITS>(wide >> s) : ap_uint<BITS>(wide << (-s));
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
    static const unsigned reuse_factor = 1;
};

// One token: x (n_in values at the input type) -> LayerNorm(x) at the output type, the integer
// definition of qtransformer/layers/norm.py. Shared by the parallel form (a pipelined loop over
// the tokens) and the streamed one (one token a beat). Every width comes from the planner
// (kinds/layernorm.py): x_bits, d_bits, sum_bits, v_bits, m_bits, inv_bits, z_bits. 1/sqrt(M) is
// one ROM read (rsqrt_bits-bit index) and one shift per token: no divider, no square root.
template <class in_T, class out_T, typename CONFIG_T>
void qt_layernorm_token(in_T data[CONFIG_T::n_in], out_T res[CONFIG_T::n_in],
                        typename CONFIG_T::param_t gamma[CONFIG_T::n_in],
                        typename CONFIG_T::param_t beta[CONFIG_T::n_in],
                        typename CONFIG_T::rom_t rsqrt_table[CONFIG_T::rom_size]) {
    #pragma HLS INLINE
    const ap_int<CONFIG_T::n_bits> n = CONFIG_T::n_in;
    ap_int<CONFIG_T::x_bits> x[CONFIG_T::n_in];
    ap_int<CONFIG_T::d_bits> d[CONFIG_T::n_in];
    ap_int<CONFIG_T::sum_bits> sum = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        x[i] = qt_round_shift(qt_raw(data[i]), CONFIG_T::in_shift);
        sum += x[i];
    }
    ap_uint<CONFIG_T::v_bits> v = 0;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        d[i] = n * x[i] - sum;
        v += d[i] * d[i];
    }
    ap_uint<CONFIG_T::m_bits> m = (v + CONFIG_T::eps_raw) * CONFIG_T::n_in;
    int s;
    ap_uint<CONFIG_T::rsqrt_bits> idx = qt_normalize<CONFIG_T::rsqrt_bits, true>(m, s);
    // 1/sqrt(M) ~ r 2^-(rsqrt_frac + s/2) = inv 2^-(rsqrt_frac + k_max): one shift per token
    ap_uint<CONFIG_T::inv_bits> inv = rsqrt_table[idx - (1 << (CONFIG_T::rsqrt_bits - 2))];
    inv <<= (int)CONFIG_T::k_max - s / 2;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        ap_int<CONFIG_T::d_bits + CONFIG_T::n_bits + CONFIG_T::inv_bits> prod = d[i] * n * inv;
        ap_int<CONFIG_T::z_bits> z = qt_shift_floor<CONFIG_T::z_shift>(prod);
        qt_i64 y = (qt_i64)z * qt_raw(gamma[i]) + qt_raw(beta[i]) * ((qt_i64)1 << CONFIG_T::z_frac);
        y = qt_round_shift(y, CONFIG_T::z_frac + CONFIG_T::param_frac - CONFIG_T::out_frac);
        res[i] = qt_from_raw<out_T>(qt_clip(y, CONFIG_T::out_min, CONFIG_T::out_max));
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_layernorm(data_T data[CONFIG_T::seq_len * CONFIG_T::n_in],
                  res_T res[CONFIG_T::seq_len * CONFIG_T::n_in],
                  typename CONFIG_T::param_t gamma[CONFIG_T::n_in],
                  typename CONFIG_T::param_t beta[CONFIG_T::n_in],
                  typename CONFIG_T::rom_t rsqrt_table[CONFIG_T::rom_size]) {
    #pragma HLS ALLOCATION instances=mul limit=CONFIG_T::multipliers operation
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        qt_layernorm_token<data_T, res_T, CONFIG_T>(data + t * CONFIG_T::n_in,
                                                    res + t * CONFIG_T::n_in, gamma, beta,
                                                    rsqrt_table);
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
    static const unsigned circ_block = 1;   // block-circulant projections (1: dense)
    // token pruning (qt_attention_prune): tokens kept, residual/output fractional bits,
    // width of the received-attention sums
    static const unsigned keep = 1, recv_bits = 32;
    static const int resid_frac = 0, out_frac = 0;
};

// Where weight (i, j) of an n_in x n_out matrix is stored: dense, row-major; block-circulant
// (B > 1, a power of two), only each B x B block's defining vector, [block row][block column]
// [offset], and W[i][j] = w[(j - i) mod B] of its block (qtransformer/layers/circulant.py:
// circulant_index). Unsigned wrap-around keeps (j - i) mod B right for any i, j.
template <unsigned N_OUT, unsigned B>
inline unsigned qt_weight_index(unsigned i, unsigned j) {
    #pragma HLS INLINE
    if (B == 1) return i * N_OUT + j;
    return ((i / B) * (N_OUT / B) + j / B) * B + ((j - i) % B);
}

// act_quantizer(x W + b) per token; x raw at x_frac, weights raw (ap_int) at w_frac / b_frac.
// Operands keep their narrow raw widths so multipliers stay small; sums are proj_bits wide
// (the planner's bound: exact).
template <typename CONFIG_T, unsigned N_IN, class X_T>
void qt_project_token(X_T x[N_IN], int x_frac,
                      typename CONFIG_T::weight_t w[N_IN * CONFIG_T::d_model / CONFIG_T::circ_block],
                      typename CONFIG_T::bias_t b[CONFIG_T::d_model],
                      ap_int<CONFIG_T::act_bits> y[CONFIG_T::d_model]) {
    #pragma HLS INLINE
    const int prod_frac = x_frac + CONFIG_T::w_frac;
    const int acc_frac = prod_frac > CONFIG_T::b_frac ? prod_frac : CONFIG_T::b_frac;
    for (unsigned j = 0; j < CONFIG_T::d_model; j++) {
        ap_int<CONFIG_T::proj_bits> acc = 0;
        for (unsigned i = 0; i < N_IN; i++) acc += x[i] * w[qt_weight_index<CONFIG_T::d_model, CONFIG_T::circ_block>(i, j)];
        acc = (acc << (acc_frac - prod_frac)) + ((ap_int<CONFIG_T::proj_bits>)b[j]
                                                 << (acc_frac - CONFIG_T::b_frac));
        y[j] = qt_clip(qt_round_shift(acc.to_int64(), acc_frac - CONFIG_T::act_frac),
                       CONFIG_T::act_min, CONFIG_T::act_max);
    }
}

template <typename CONFIG_T, unsigned N_IN, class X_T>
void qt_project(X_T x[CONFIG_T::seq_len][N_IN], int x_frac,
                typename CONFIG_T::weight_t w[N_IN * CONFIG_T::d_model / CONFIG_T::circ_block],
                typename CONFIG_T::bias_t b[CONFIG_T::d_model],
                ap_int<CONFIG_T::act_bits> y[CONFIG_T::seq_len][CONFIG_T::d_model]) {
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        qt_project_token<CONFIG_T, N_IN, X_T>(x[t], x_frac, w, b, y[t]);
    }
}

// One softmax row of the integer definition (qtransformer/layers/softmax.py): the exp-table
// lookups of s - max(s), their sum, one reciprocal from the ROM (one shift to the fixed scale
// of the largest sum), then p = min(e * rec >> shift, 2^prob_frac) per key: no divider. A key
// whose valid bit is 0 (padding) has e = 0, so p = 0 (smax is the kept keys' maximum).
template <typename CONFIG_T, class score_raw_t, class prob_raw_t>
void qt_softmax_row(score_raw_t s[CONFIG_T::seq_len], score_raw_t smax,
                    const ap_uint<1> valid[CONFIG_T::seq_len],
                    typename CONFIG_T::table_t exp_table[CONFIG_T::table_size],
                    typename CONFIG_T::recip_t recip_table[CONFIG_T::recip_size],
                    prob_raw_t p[CONFIG_T::seq_len]) {
    #pragma HLS INLINE
    const unsigned S = CONFIG_T::seq_len;
    typename CONFIG_T::table_t e[CONFIG_T::seq_len];
    ap_uint<CONFIG_T::den_bits> total = 0;
    for (unsigned b = 0; b < S; b++) {
        ap_int<CONFIG_T::score_bits + 2> idx = smax - s[b];
        if (idx < 0) idx = 0;   // a padding key above the kept maximum (its e is 0 anyway)
        if (idx > (int)CONFIG_T::table_size - 1) idx = CONFIG_T::table_size - 1;
        e[b] = valid[b] ? exp_table[idx] : (typename CONFIG_T::table_t)0;
        total += e[b];
    }
    if (total == 0) total = 1;   // no kept key: the ROM index stays in range, p = 0 (Keras too)
    int sh;
    ap_uint<CONFIG_T::recip_bits> idx = qt_normalize<CONFIG_T::recip_bits, false>(total, sh);
    ap_uint<CONFIG_T::rec_bits> rec = recip_table[idx - (1 << (CONFIG_T::recip_bits - 1))];
    rec <<= (int)CONFIG_T::s_max - sh;
    for (unsigned b = 0; b < S; b++) {
        ap_uint<CONFIG_T::exp_bits + CONFIG_T::rec_bits> prod = e[b] * rec;
        ap_uint<CONFIG_T::exp_bits + CONFIG_T::rec_bits> q = qt_shift_floor<CONFIG_T::p_shift>(prod);
        p[b] = q > (1 << CONFIG_T::prob_frac) ? (prob_raw_t)(1 << CONFIG_T::prob_frac) : (prob_raw_t)q;
    }
}

// One query's row in head h: scores against every key, the softmax row over the kept keys
// (valid: 0 = padding), and the head's slice of the context (ctx[h H .. h H + H)); p returns the
// row's probabilities (token pruning sums them). Shared by the parallel core and the streamed
// form.
template <typename CONFIG_T, class prob_raw_t>
void qt_attention_head(unsigned h, ap_int<CONFIG_T::act_bits> qa[CONFIG_T::d_model],
                       ap_int<CONFIG_T::act_bits> k[CONFIG_T::seq_len][CONFIG_T::d_model],
                       ap_int<CONFIG_T::act_bits> v[CONFIG_T::seq_len][CONFIG_T::d_model],
                       const ap_uint<1> valid[CONFIG_T::seq_len],
                       typename CONFIG_T::table_t exp_table[CONFIG_T::table_size],
                       typename CONFIG_T::recip_t recip_table[CONFIG_T::recip_size],
                       prob_raw_t p[CONFIG_T::seq_len],
                       ap_int<CONFIG_T::act_bits> ctx[CONFIG_T::d_model]) {
    #pragma HLS INLINE
    const unsigned S = CONFIG_T::seq_len, H = CONFIG_T::d_head;
    typedef ap_int<CONFIG_T::score_bits + 1> score_raw_t;
    score_raw_t s[CONFIG_T::seq_len];
    score_raw_t smax = CONFIG_T::score_min;
    for (unsigned b = 0; b < S; b++) {
        ap_int<CONFIG_T::qk_bits> acc = 0;
        for (unsigned c = 0; c < H; c++) acc += qa[h * H + c] * k[b][h * H + c];
        s[b] = qt_clip(qt_round_shift(acc.to_int64(), 2 * CONFIG_T::act_frac - CONFIG_T::score_frac),
                       CONFIG_T::score_min, CONFIG_T::score_max);
        if (valid[b] && s[b] > smax) smax = s[b];
    }
    qt_softmax_row<CONFIG_T, score_raw_t, prob_raw_t>(s, smax, valid, exp_table, recip_table, p);
    for (unsigned c = 0; c < H; c++) {
        ap_int<CONFIG_T::ctx_bits> acc = 0;
        for (unsigned b = 0; b < S; b++) acc += p[b] * v[b][h * H + c];
        ctx[h * H + c] = qt_clip(qt_round_shift(acc.to_int64(), CONFIG_T::prob_frac),
                                 CONFIG_T::act_min, CONFIG_T::act_max);
    }
}

// The attention's weight parameters and their names, shared by its entry points.
#define QT_ATTN_WEIGHTS                                                                             \
    typename CONFIG_T::weight_t wq[CONFIG_T::d_in * CONFIG_T::d_model / CONFIG_T::circ_block],    \
        typename CONFIG_T::bias_t bq[CONFIG_T::d_model],                                          \
        typename CONFIG_T::weight_t wk[CONFIG_T::d_in * CONFIG_T::d_model / CONFIG_T::circ_block], \
        typename CONFIG_T::bias_t bk[CONFIG_T::d_model],                                          \
        typename CONFIG_T::weight_t wv[CONFIG_T::d_in * CONFIG_T::d_model / CONFIG_T::circ_block], \
        typename CONFIG_T::bias_t bv[CONFIG_T::d_model],                                          \
        typename CONFIG_T::weight_t wo[CONFIG_T::d_model * CONFIG_T::d_model / CONFIG_T::circ_block], \
        typename CONFIG_T::bias_t bo[CONFIG_T::d_model],                                          \
        typename CONFIG_T::table_t exp_table[CONFIG_T::table_size],                               \
        typename CONFIG_T::recip_t recip_table[CONFIG_T::recip_size]
#define QT_ATTN_ARGS wq, bq, wk, bk, wv, bv, wo, bo, exp_table, recip_table

// The valid bits of a padding mask input (1 = token, 0 = [PAD]; qtransformer/layers/masking.py),
// or all ones for a model without one.
template <class mask_T, unsigned S>
void qt_valid_bits(mask_T mask[S], ap_uint<1> valid[S]) {
    #pragma HLS INLINE
    for (unsigned b = 0; b < S; b++) {
        #pragma HLS UNROLL
        valid[b] = mask[b] != 0;
    }
}
template <unsigned S> void qt_all_valid(ap_uint<1> valid[S]) {
    #pragma HLS INLINE
    for (unsigned b = 0; b < S; b++) {
        #pragma HLS UNROLL
        valid[b] = 1;
    }
}

// The padding mask of the rows a token-pruning attention keeps (qt_attention_prune_valid):
// padding ranks below every token and equal scores go to the lower position, so the kept rows
// are the tokens (all, or `keep` of them), then the first padding positions, in order. Row j
// is a token when mask[j] is, or when the tokens plus the padding before j reach `keep`
// (layers/masking.py: KeptMask).
struct qt_kept_mask_config {
    static const unsigned seq_len = 1, keep = 1, count_bits = 1;
};

template <class mask_T, class res_T, typename CONFIG_T>
void qt_kept_mask(mask_T mask[CONFIG_T::seq_len], res_T res[CONFIG_T::keep]) {
    #pragma HLS INLINE
    static_assert((1u << CONFIG_T::count_bits) > CONFIG_T::seq_len, "count_bits too narrow");
    ap_uint<CONFIG_T::count_bits> reach = 0;   // the tokens, then + the padding before j
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS UNROLL
        reach += mask[t] != 0 ? 1 : 0;
    }
    for (unsigned j = 0; j < CONFIG_T::keep; j++) {
        #pragma HLS UNROLL
        const bool token = mask[j] != 0;
        res[j] = (token || reach >= CONFIG_T::keep) ? 1 : 0;
        if (!token) reach++;
    }
}

// The attention computation on raw integers: output o (act raw) and, per key token, the
// attention it received (probability raws summed over heads and queries).
template <class data_T, typename CONFIG_T>
void qt_attention_core(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                       const ap_uint<1> valid[CONFIG_T::seq_len],
                       ap_int<CONFIG_T::act_bits> o[CONFIG_T::seq_len][CONFIG_T::d_model],
                       ap_uint<CONFIG_T::recv_bits> received[CONFIG_T::seq_len],
                       QT_ATTN_WEIGHTS) {
    const unsigned S = CONFIG_T::seq_len, H = CONFIG_T::d_head;
    typedef ap_int<CONFIG_T::act_bits> act_raw_t;
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
            prob_raw_t p[CONFIG_T::seq_len];
            qt_attention_head<CONFIG_T, prob_raw_t>(h, q[a], k, v, valid, exp_table, recip_table,
                                                   p, ctx[a]);
            // the tokens' queries only (layers/attention.py: received_attention)
            if (valid[a])
                for (unsigned b = 0; b < S; b++) received[b] += p[b];
        }
    }
    qt_project<CONFIG_T, CONFIG_T::d_model>(ctx, CONFIG_T::act_frac, wo, bo, o);
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_attention_valid(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                        const ap_uint<1> valid[CONFIG_T::seq_len],
                        res_T res[CONFIG_T::seq_len * CONFIG_T::d_model], QT_ATTN_WEIGHTS) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    ap_int<CONFIG_T::act_bits> o[CONFIG_T::seq_len][CONFIG_T::d_model];
    ap_uint<CONFIG_T::recv_bits> received[CONFIG_T::seq_len];
    qt_attention_core<data_T, CONFIG_T>(data, valid, o, received, QT_ATTN_ARGS);
    for (unsigned t = 0; t < S; t++)
        for (unsigned j = 0; j < D; j++) res[t * D + j] = qt_from_raw<res_T>(o[t][j]);
}

template <class data_T, class res_T, typename CONFIG_T>
void qt_attention(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                  res_T res[CONFIG_T::seq_len * CONFIG_T::d_model], QT_ATTN_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_all_valid<CONFIG_T::seq_len>(valid);
    qt_attention_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ATTN_ARGS);
}

// Padding masked: keys whose mask value is 0 get probability 0.
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void qt_attention_masked(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                         mask_T mask[CONFIG_T::seq_len],
                         res_T res[CONFIG_T::seq_len * CONFIG_T::d_model], QT_ATTN_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_valid_bits<mask_T, CONFIG_T::seq_len>(mask, valid);
    qt_attention_valid<data_T, res_T, CONFIG_T>(data, valid, res, QT_ATTN_ARGS);
}

// Token pruning: res = the `keep` rows of resid + attention(data) whose tokens received the
// most attention, in their original order; equal sums go to the lower position (TF's
// top_k), and padding ranks below every token (layers/attention.py: received_attention). A
// token is kept when fewer than `keep` tokens outrank it: S x S comparators.
template <class data_T, class resid_T, class res_T, typename CONFIG_T>
void qt_attention_prune_valid(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                              resid_T resid[CONFIG_T::seq_len * CONFIG_T::d_model],
                              const ap_uint<1> valid[CONFIG_T::seq_len],
                              res_T res[CONFIG_T::keep * CONFIG_T::d_model], QT_ATTN_WEIGHTS) {
    const unsigned S = CONFIG_T::seq_len, D = CONFIG_T::d_model;
    ap_int<CONFIG_T::act_bits> o[CONFIG_T::seq_len][CONFIG_T::d_model];
    ap_uint<CONFIG_T::recv_bits> received[CONFIG_T::seq_len];
    ap_uint<CONFIG_T::recv_bits + 1> score[CONFIG_T::seq_len];
    qt_attention_core<data_T, CONFIG_T>(data, valid, o, received, QT_ATTN_ARGS);
    for (unsigned t = 0; t < S; t++) score[t] = valid[t] ? (ap_uint<CONFIG_T::recv_bits + 1>)(received[t] + 1) : (ap_uint<CONFIG_T::recv_bits + 1>)0;
    unsigned slot = 0;
Select:
    for (unsigned t = 0; t < S; t++) {
        unsigned rank = 0;
        for (unsigned u = 0; u < S; u++)
            rank += (score[u] > score[t] || (score[u] == score[t] && u < t)) ? 1 : 0;
        if (rank >= CONFIG_T::keep) continue;
        for (unsigned j = 0; j < D; j++) {
            qt_i64 y = qt_raw(resid[t * D + j]) * ((qt_i64)1 << (CONFIG_T::out_frac - CONFIG_T::resid_frac)) +
                       (qt_i64)o[t][j] * ((qt_i64)1 << (CONFIG_T::out_frac - CONFIG_T::act_frac));
            res[slot * D + j] = qt_from_raw<res_T>(y);  // exact: out type = resid + act
        }
        slot++;
    }
}

template <class data_T, class resid_T, class res_T, typename CONFIG_T>
void qt_attention_prune(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                        resid_T resid[CONFIG_T::seq_len * CONFIG_T::d_model],
                        res_T res[CONFIG_T::keep * CONFIG_T::d_model], QT_ATTN_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_all_valid<CONFIG_T::seq_len>(valid);
    qt_attention_prune_valid<data_T, resid_T, res_T, CONFIG_T>(data, resid, valid, res, QT_ATTN_ARGS);
}

template <class data_T, class resid_T, class mask_T, class res_T, typename CONFIG_T>
void qt_attention_prune_masked(data_T data[CONFIG_T::seq_len * CONFIG_T::d_in],
                               resid_T resid[CONFIG_T::seq_len * CONFIG_T::d_model],
                               mask_T mask[CONFIG_T::seq_len],
                               res_T res[CONFIG_T::keep * CONFIG_T::d_model], QT_ATTN_WEIGHTS) {
    ap_uint<1> valid[CONFIG_T::seq_len];
    #pragma HLS ARRAY_PARTITION variable=valid complete
    qt_valid_bits<mask_T, CONFIG_T::seq_len>(mask, valid);
    qt_attention_prune_valid<data_T, resid_T, res_T, CONFIG_T>(data, resid, valid, res, QT_ATTN_ARGS);
}

// ---------------------------------------------------------------- pooling
struct qt_pool_config {
    static const unsigned seq_len = 1, n_in = 1, sum_bits = 64, count_bits = 1;
    static const int in_frac = 0, out_frac = 0;
    static const qt_i64 out_min = 0, out_max = 0;
};

// round_half_even(sum * 2^(out_frac - in_frac) / n) per channel, one channel a cycle through
// a single rounding divider; n = seq_len (exact when a power of two), or the count of valid
// tokens for a masked mean.
// The numerator is sum_bits + (out_frac - in_frac) bits and the divisor count_bits, the
// planner's widths (inlined, so a constant seq_len stays a constant divisor).
template <class res_T, typename CONFIG_T>
void qt_meanpool_divide(ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in],
                        ap_uint<CONFIG_T::count_bits> n, res_T res[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    // a config from a planner without count_bits would truncate the divisor, silently
    static_assert(CONFIG_T::seq_len < (1ull << CONFIG_T::count_bits),
                  "qt_meanpool: count_bits cannot hold seq_len (config from an older planner?)");
    typedef ap_int<CONFIG_T::sum_bits + CONFIG_T::out_frac - CONFIG_T::in_frac> num_t;
    typedef ap_int<CONFIG_T::count_bits + 2> den_t;
    const den_t d = n;
Channels:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS PIPELINE II=1
        num_t num = (num_t)sum[i] << (CONFIG_T::out_frac - CONFIG_T::in_frac);
        num_t q = num / d;
        den_t r = num % d;
        if (r < 0) { q -= 1; r += d; }
        if (2 * r > d || (2 * r == d && (q & 1))) q += 1;
        res[i] = qt_from_raw<res_T>(qt_clip(q.to_int64(), CONFIG_T::out_min, CONFIG_T::out_max));
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
    qt_meanpool_divide<res_T, CONFIG_T>(sum, CONFIG_T::seq_len, res);
}

// Mean over the valid tokens (mask 1; layers/masking.py MaskedMeanPooling): padding adds
// nothing and the divisor is the valid count (at least 1: [CLS] is never padding).
template <class data_T, class mask_T, class res_T, typename CONFIG_T>
void qt_meanpool_masked(data_T data[CONFIG_T::seq_len * CONFIG_T::n_in],
                        mask_T mask[CONFIG_T::seq_len], res_T res[CONFIG_T::n_in]) {
    ap_int<CONFIG_T::sum_bits> sum[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=sum complete
    qt_meanpool_clear<CONFIG_T>(sum);
    ap_uint<CONFIG_T::count_bits> n = 0;
Tokens:
    for (unsigned t = 0; t < CONFIG_T::seq_len; t++) {
        #pragma HLS PIPELINE II=1
        if (mask[t] == 0) continue;
        qt_meanpool_add<data_T, CONFIG_T>(sum, data + t * CONFIG_T::n_in);
        n++;
    }
    qt_meanpool_divide<res_T, CONFIG_T>(sum, n > 0 ? n : (ap_uint<CONFIG_T::count_bits>)1, res);
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
