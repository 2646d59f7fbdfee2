// C testbench of the board wrapper (axi/, copied in by qtransformer.hls.axi_wrapper): packs
// every line of tb_data/tb_input_features.dat into words (as the host driver does: with a
// padding mask, the line's last QT_N_MASK values, sent before the input's words), runs the
// whole file as one batch, checks the word count and TLAST, unpacks the logits into
// tb_data/axi_csim_results.log (compared with the Keras predictions by tbcheck.py) and logs the
// words in hex for the layout test (tb_data/axi_input_words.log, axi_output_words.log).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "qt_axi_top.h"

static void log_words(hls::stream<qt_axi::word_t> &s, std::vector<qt_axi::word_t> &keep,
                      const char *path) {
    FILE *f = fopen(path, "w");
    while (!s.empty()) {
        qt_axi::word_t w = s.read();
        fprintf(f, "%016llx %d\n", (unsigned long long)w.data.to_uint64(), (int)w.last);
        keep.push_back(w);
    }
    fclose(f);
}

int main() {
    std::ifstream fin("tb_data/tb_input_features.dat");
    if (!fin.is_open()) {
        std::cout << "axi_test: tb_data/tb_input_features.dat missing" << std::endl;
        return 1;
    }
    std::vector<std::vector<float> > samples;
    for (std::string line; std::getline(fin, line);) {
        std::istringstream ls(line);
        std::vector<float> v;
        for (std::string tok; ls >> tok;)
            v.push_back(atof(tok.c_str()));
        if (!v.empty())
            samples.push_back(v);
    }
    const unsigned n = samples.size();
    hls::stream<qt_axi::word_t> x_in("x_in"), y_out("y_out"), packed("packed");
    std::vector<qt_axi::word_t> in_words, out_words;
#ifdef QT_HAS_MASK
    const size_t line_values = QT_N_IN + QT_N_MASK;
#else
    const size_t line_values = QT_N_IN;
#endif
    for (unsigned s = 0; s < n; s++) {
        if (samples[s].size() != line_values) {
            std::cout << "axi_test: line " << s + 1 << " has " << samples[s].size()
                      << " values, expected " << line_values << std::endl;
            return 1;
        }
#ifdef QT_HAS_MASK
        qt_mask_t m[QT_N_MASK];
        for (int k = 0; k < QT_N_MASK; k++)
            m[k] = samples[s][QT_N_IN + k];
        qt_axi::write_array<qt_mask_t, QT_N_MASK, QT_LANE_MASK, false>(m, packed, false);
#endif
        qt_in_t x[QT_N_IN];
        for (int k = 0; k < QT_N_IN; k++)
            x[k] = samples[s][k];
        qt_axi::write_array<qt_in_t, QT_N_IN, QT_LANE_IN, QT_SIGNED_IN>(x, packed, s + 1 == n);
    }
    log_words(packed, in_words, "tb_data/axi_input_words.log");
    for (size_t i = 0; i < in_words.size(); i++)
        x_in.write(in_words[i]);
    QT_AXI_TOP(x_in, y_out, n);
    log_words(y_out, out_words, "tb_data/axi_output_words.log");
    const size_t words_out = QT_WORDS_OUT;
    if (out_words.size() != n * words_out || !x_in.empty()) {
        std::cout << "axi_test: " << out_words.size() << " output words, expected "
                  << n * words_out << (x_in.empty() ? "" : "; input words left unread") << std::endl;
        return 1;
    }
    for (size_t i = 0; i < out_words.size(); i++) {
        if ((int)out_words[i].last != (i + 1 == out_words.size())) {
            std::cout << "axi_test: TLAST wrong on output word " << i << std::endl;
            return 1;
        }
    }
    std::ofstream fout("tb_data/axi_csim_results.log");
    fout.precision(17);
    for (size_t i = 0; i < out_words.size(); i++)
        packed.write(out_words[i]);
    for (unsigned s = 0; s < n; s++) {
        qt_out_t y[QT_N_OUT];
        qt_axi::read_array<qt_out_t, QT_N_OUT, QT_LANE_OUT>(packed, y);
        for (int k = 0; k < QT_N_OUT; k++)
            fout << y[k].to_double() << (k + 1 < QT_N_OUT ? " " : "\n");
    }
    std::cout << "axi_test: " << n << " samples through the board wrapper" << std::endl;
    return 0;
}
