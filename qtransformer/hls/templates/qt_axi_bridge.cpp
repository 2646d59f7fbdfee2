// ctypes entry point of the emulated board (qtransformer.deploy --emulate): the driver's
// packed words through the board wrapper exactly as the AXI DMA would move them.
#include "qt_axi_top.h"

extern "C" int qt_axi_run(const unsigned long long *in, unsigned long n_in,
                          unsigned long long *out, unsigned long n_out, unsigned n_samples) {
    hls::stream<qt_axi::word_t> x_in("x_in"), y_out("y_out");
    for (unsigned long i = 0; i < n_in; i++) {
        qt_axi::word_t w;
        w.data = in[i];
        w.keep = -1;
        w.strb = -1;
        w.last = i + 1 == n_in;
        x_in.write(w);
    }
    QT_AXI_TOP(x_in, y_out, n_samples);
    unsigned long got = 0;
    int bad_last = 0;
    while (!y_out.empty()) {
        qt_axi::word_t w = y_out.read();
        if (got < n_out)
            out[got] = w.data.to_uint64();
        bad_last |= (int)w.last != (got + 1 == n_out);
        got++;
    }
    if (!x_in.empty())
        return -3;  // the wrapper read fewer words than were sent
    return got != n_out ? -1 : bad_last ? -2 : 0;
}
