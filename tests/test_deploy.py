"""Onto the board without a board: the self-contained HLS project (its own Makefile), the AXI
wrapper's testbench, the word layout shared by the C++ and the Python driver, the plain-Python
WordPiece the board's host runs, and the driver's emulator (the C simulation through ctypes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qtransformer.axi import Layout, Port, pack_inputs, pack_raw, unpack_raw
from qtransformer.deploy.__main__ import main as deploy_main
from qtransformer.deploy.bundle import load_bundle
from qtransformer.deploy.wordpiece import WordPiece
from tests.conftest import REPO, SST2, TINY_FLAGS

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None,
                               reason="needs g++ and make")


# --- the word layout ------------------------------------------------------------------------

@pytest.mark.parametrize("width,signed", [(3, True), (8, True), (9, True), (17, True),
                                          (7, False), (16, False), (33, True)])
def test_pack_unpack_round_trip(width, signed):
    port = Port(n=11, width=width, frac=2, signed=signed)
    lo, hi = port.raw_range()
    raw = np.random.default_rng(width).integers(lo, hi + 1, (5, 11))
    raw[0, :2] = lo, hi
    words = pack_raw(port, raw)
    assert words.dtype == np.uint64 and len(words) == 5 * port.words
    assert np.array_equal(unpack_raw(port, words, 5), raw)
    # value k sits in lane k % per_word of word k // per_word, lane 0 lowest
    k = 3
    lane = (int(words[k // port.per_word]) >> (port.lane * (k % port.per_word))) & \
        ((1 << port.lane) - 1)
    assert lane == raw[0, k] % (1 << port.lane)


def test_to_raw_rounds_like_the_cpp_types():
    conv = Port(n=1, width=4, frac=1)                   # ap_fixed<4,3,AP_RND_CONV,AP_SAT>
    assert conv.to_raw([0.25, 0.75, -0.25, 3.6, -9.0]).tolist() == [0, 2, 0, 7, -8]
    trn = Port(n=1, width=4, frac=1, rounding="trn")    # ap_fixed<4,3>: floor and wrap
    assert trn.to_raw([0.75, -0.25, 4.0]).tolist() == [1, -1, -8]
    with pytest.raises(ValueError):
        pack_raw(conv, [[8]])


@pytest.mark.parametrize("rounding,saturation,width,ok", [
    ("RND_CONV", "SAT", 8, True), ("TRN", "WRAP", 17, True), ("TRN_ZERO", "WRAP", 8, False),
    ("RND", "SAT", 8, False), ("TRN", "WRAP", 40, False)])
def test_ports_only_for_types_the_driver_reproduces(rounding, saturation, width, ok):
    from types import SimpleNamespace

    from hls4ml.model.types import FixedPrecisionType

    from qtransformer.errors import QTError
    from qtransformer.hls.axi_wrapper import port_of

    prec = FixedPrecisionType(width, 3, True, rounding, saturation)
    var = SimpleNamespace(name="x", shape=[4, 6], type=SimpleNamespace(precision=prec))
    if ok:
        port, beat = port_of(var)
        assert (port.n, port.width, port.frac, beat) == (24, width, width - 3, 6)
    else:
        with pytest.raises(QTError, match="board packing"):
            port_of(var)


# --- plain-Python WordPiece against tokenizers ----------------------------------------------

ODD_TEXTS = ["Café déjà vu — “quoted” … naïve", "日本語のテキスト and 中文",
             "tab\there\x00nul\ufffd", "a" * 150 + " word", "emoji 😀 ok",
             "x\u200by zero width", "ﬁne ligature",
             "İstanbul straße", "\u00a0nbsp\u3000ideo", "$5.00 #1 @me ^_^ ~tilde `bt`",
             "\x0b\x0cvt ff", "", "   ",
             # special tokens written in the text keep their ids (a literal [PAD] is masked)
             "see [PAD] here", "x[SEP]y [pad] [ PAD ]", "[CLS][CLS] a [MASK]b [UNK]"]


def test_wordpiece_knows_the_special_tokens_the_build_registers():
    from qtransformer.data.tokenize import SPECIAL as BUILD_SPECIAL
    from qtransformer.deploy.wordpiece import SPECIAL

    assert sorted(SPECIAL) == sorted(BUILD_SPECIAL)


@pytest.mark.skipif(not SST2.is_dir(), reason="needs ../shared/data/sst2")
def test_wordpiece_matches_tokenizers_id_for_id(tmp_path):
    from qtransformer.data.tokenize import encode, train_tokenizer

    rows = (SST2 / "train.tsv").read_text(encoding="utf-8").splitlines()[1:4001]
    texts = [r.split("\t")[0] for r in rows]
    test = [r.split("\t")[0] for r in (SST2 / "test.tsv").read_text(
        encoding="utf-8").splitlines()[1:]]
    tok = train_tokenizer(texts, 800)
    tok.save_model(str(tmp_path))
    wp = WordPiece.from_file(tmp_path / "vocab.txt")
    sample = test + ODD_TEXTS
    for seq_len in (48, 5, 2):
        ref = encode(tok, sample, seq_len)
        assert [list(r) for r in ref] == wp.encode(sample, seq_len), seq_len


# --- built runs (text streamed, digits parallel): make csim, the layout, the emulated driver --

def _build(d: Path, out: Path, *args: str) -> Path:
    flags = [f for f in TINY_FLAGS if f != "--no-hls"]
    proc = subprocess.run([sys.executable, "-m", "qtransformer.build", *args,
                           "--output", str(out), *flags], cwd=d, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode in (0, 3), proc.stderr[-2000:]   # 3: fits only at the estimate
    return out


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("deploy_digits")
    return _build(d, d / "run", "--io", "parallel")


@pytest.fixture(scope="module", params=["text-stream", "digits-parallel"])
def any_run(request):
    return request.getfixturevalue("text_run" if request.param == "text-stream"
                                   else "digits_run")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("deploy")
    data = d / "reviews.tsv"
    good = ["a fine , warm film", "great fun and moving", "a charming delight", "smart , funny"]
    bad = ["dull and lifeless", "a boring mess", "painfully slow", "flat , tired jokes"]
    data.write_text("sentence\tlabel\n" + "".join(f"{s}\t1\n" for s in good * 6)
                    + "".join(f"{s}\t0\n" for s in bad * 6), encoding="utf-8")
    return _build(d, d / "run", "--dataset", str(data), "--seq-len", "6", "--vocab-size", "60",
                  "--io", "stream")


def _make(prj: Path, target: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(prj), target, f"PYTHON={sys.executable}"],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


@needs_gxx
def test_project_makes_csim_from_anywhere(any_run, tmp_path):
    prj = any_run / "hls"
    assert (prj / "Makefile").is_file() and (prj / "scripts" / "tbcheck.py").is_file()
    run = _make(prj, "csim", tmp_path)   # from an unrelated directory, no checkout involved
    assert run.returncode == 0, run.stdout + run.stderr
    assert "csim OK" in run.stdout and "csim (AXI wrapper) OK" in run.stdout
    # the AXI testbench's words are the driver's: pack the same inputs in Python
    layout = Layout.from_dict(json.loads((prj / "axi" / "layout.json").read_text()))
    x = np.loadtxt(prj / "tb_data" / "tb_input_features.dat", ndmin=2)
    logged = np.loadtxt(prj / "tb_data" / "axi_input_words.log", dtype=str, ndmin=2)
    n_in = layout.inputs.n    # a line: the input's values, then the padding mask's
    mask = x[:, n_in:].astype(np.int64) if layout.mask else None
    assert (layout.mask is not None) == (load_bundle(any_run).kind == "tokens")
    assert np.array_equal(pack_inputs(layout, layout.inputs.to_raw(x[:, :n_in]), mask),
                          np.array([int(w, 16) for w in logged[:, 0]], np.uint64))
    x = x[:, :n_in]
    assert logged[:, 1].tolist() == ["0"] * (len(logged) - 1) + ["1"]   # TLAST at the end
    out = np.loadtxt(prj / "tb_data" / "axi_output_words.log", dtype=str, ndmin=2)
    words = np.array([int(w, 16) for w in out[:, 0]], np.uint64)
    y = layout.outputs.from_raw(unpack_raw(layout.outputs, words, len(x)))
    assert np.array_equal(y, np.loadtxt(prj / "tb_data" / "axi_csim_results.log", ndmin=2))
    # a wrong reference fails the AXI check too
    ref = prj / "tb_data" / "tb_output_predictions.dat"
    saved = ref.read_text()
    try:
        y_ref = np.loadtxt(ref, ndmin=2)
        y_ref[0, 0] += 1.0
        np.savetxt(ref, y_ref, fmt="%.17g")
        assert _make(prj, "csim", tmp_path).returncode != 0
    finally:
        ref.write_text(saved)


def _printed(capsys) -> list[str]:
    """The driver's stdout lines: results only (a first emulation's note that it compiles
    the IP goes to stderr, whichever test compiles a project first)."""
    lines = capsys.readouterr().out.strip().split("\n")
    assert not any("compiling" in ln for ln in lines), lines
    return lines


@needs_gxx
def test_emulated_driver_agrees_with_keras_on_the_test_split(any_run, capsys):
    assert deploy_main([str(any_run), "--emulate"]) == 0
    lines = _printed(capsys)
    summary = json.loads(lines[-1])
    assert summary["backend"] == "emulate" and summary["n"] > 0
    assert summary["agreement"] == 1.0 and summary["max_error_lsb"] == 0.0
    assert summary["accuracy"] == summary["keras_accuracy"]
    assert summary["us_per_sample"]["host"] > 0
    # per text, as the build reported it; a text longer than the sequence: several IP calls
    report = json.loads((any_run / "report.json").read_text())
    assert summary["keras_accuracy"] == pytest.approx(report["accuracy"])
    assert summary["n"] == report["data"]["test"]
    if load_bundle(any_run).kind == "tokens":
        assert summary["rows"] > summary["n"] == sum(map(sum, report["test"]["confusion_matrix"]))


@needs_gxx
def test_emulated_driver_on_new_inputs(text_run, digits_run, tmp_path, capsys):
    # texts on the command line, after the flag: one line each, then the summary
    assert deploy_main([str(text_run), "--emulate", "a warm film", "a boring mess"]) == 0
    lines = _printed(capsys)
    assert len(lines) == 3 and lines[0].endswith("\ta warm film")
    assert lines[0].split("\t")[0] in ("0", "1") and json.loads(lines[-1])["n"] == 2
    # arrays from a .npy file: the same labels as the stored test split gives
    x = np.load(digits_run / "deploy" / "test_inputs.npy")[:7]
    np.save(tmp_path / "x.npy", x)
    assert deploy_main([str(digits_run), "--emulate", "--file", str(tmp_path / "x.npy")]) == 0
    lines = _printed(capsys)
    keras = np.load(digits_run / "deploy" / "test_keras_logits.npy")[:7].argmax(-1)
    assert [int(ln.split("\t")[0]) for ln in lines[:-1]] == keras.tolist()
    np.save(tmp_path / "bad.npy", x[:, :3])
    assert deploy_main([str(digits_run), "--emulate", "--file", str(tmp_path / "bad.npy")]) == 2
    assert "the model takes" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--emulate", "--file", "/nonexistent.txt"], "input file not found"),
    (["--emulate", "--file", "/dev/null", "a text"], "not both"),
    (["--emulate", "--batch", "0"], "--batch 0"),
    ([], "no PYNQ board here"),
])
def test_driver_bad_input_one_line(text_run, capsys, argv, message):
    assert deploy_main([str(text_run), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


@needs_gxx
def test_driver_reads_one_text_a_line(text_run, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("a warm film\u2028still one line\r\n\nboring\n", encoding="utf-8")
    assert deploy_main([str(text_run), "--emulate", "--file", str(texts)]) == 0
    lines = _printed(capsys)
    assert [ln.split("\t")[2] for ln in lines[:-1]] == ["a warm film\u2028still one line", "",
                                                      "boring"]
    texts.write_text("")
    assert deploy_main([str(text_run), "--emulate", "--file", str(texts)]) == 2
    assert "no texts" in capsys.readouterr().err


def test_driver_on_a_directory_that_is_no_run(tmp_path, capsys):
    assert deploy_main([str(tmp_path), "--emulate"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a qtransformer run" in err


def test_make_bitstream_without_tools_one_line(text_run, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(["make", "-s", "-C", str(text_run / "hls"), "bitstream"],
                         capture_output=True, text=True, timeout=60, env=env)
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1 and "vitis_hls not found" in lines[0]


def test_report_names_the_commands_that_work(text_run):
    md = (text_run / "report.md").read_text()
    assert f"make -C {text_run / 'hls'} csim" in md
    assert "cd vivado" not in md and "qtransformer.deploy" in md


def test_checkout_makefile_runs_a_project(text_run, tmp_path):
    """vivado/ of a source checkout still drives any project (scripts read in place)."""
    run = subprocess.run(["make", "-s", "-C", str(REPO / "vivado"), "tcl-check",
                          f"PRJ={text_run / 'hls'}"], capture_output=True, text=True)
    assert run.returncode == 0 and "all scripts parse" in run.stdout


class _FakePynq:
    """A stand-in for the pynq package (NOT a board): allocate gives numpy arrays, the Overlay
    has the block design's cells, and the DMA's receive channel fills its buffer by running the
    emulated IP on what was sent, once the IP was started with its sample count."""

    def __init__(self, emulator, stall: bool = False):
        self.emulator, self.stall, self.calls = emulator, stall, []
        fake = self

        class Channel:
            def __init__(self, name):
                self.name, self.buf = name, None

            def transfer(self, buf):
                fake.calls.append(f"{self.name}.transfer")
                self.buf = buf

            @property
            def idle(self):
                return not fake.stall

            def wait(self):
                if self.name == "recv":
                    regs = fake.overlay.myproject_axi_0.register_map
                    assert regs.CTRL.AP_START == 1
                    src = fake.overlay.axi_dma_0.sendchannel.buf
                    self.buf[:] = fake.emulator.run(np.asarray(src), regs.n_samples,
                                                    len(self.buf))

        class Overlay:
            def __init__(self, path):
                fake.calls.append(f"Overlay {Path(path).name}")
                fake.overlay = self
                ctrl = type("Ctrl", (), {"AP_START": 0})()
                regs = type("Regs", (), {"n_samples": 0, "CTRL": ctrl})()
                self.myproject_axi_0 = type("Ip", (), {"register_map": regs})()
                self.axi_dma_0 = type("Dma", (), {"sendchannel": Channel("send"),
                                                  "recvchannel": Channel("recv")})()

        self.Overlay = Overlay

    def allocate(self, shape, dtype):
        self.calls.append(f"allocate {shape[0]}")
        return np.zeros(shape, dtype)


@needs_gxx
def test_the_ip_masks_padding(text_run):
    """The emulated IP reads the padding mask: the driver's mask gives the Keras logits, an
    all-ones mask (padding attended and averaged) gives others for padded texts."""
    from qtransformer.deploy.driver import Driver

    drv = Driver(text_run, emulate=True, say=lambda *_: None)
    texts = ["a warm film", "dull", "fun"]
    raw, mask = drv.encode(texts)      # a row per window: a long text has several
    assert drv.layout.mask is not None and mask.sum(1).min() < 6   # padded texts
    assert all(row.tolist() == sorted(row.tolist(), reverse=True) for row in mask)
    lout, n = drv.layout.outputs, len(raw)

    def logits(m):
        words = drv.device.run(pack_inputs(drv.layout, raw, m), n, n * lout.words)
        return lout.from_raw(unpack_raw(lout, words, n))

    assert np.array_equal(logits(mask), drv.predict(texts).logits)
    assert not np.array_equal(logits(np.ones_like(mask)), logits(mask))


@needs_gxx
def test_board_backend_wiring_with_a_stand_in_pynq(text_run, tmp_path, monkeypatch):
    from qtransformer.deploy.backends import Emulator
    from qtransformer.deploy.driver import Driver
    from qtransformer.errors import QTError

    emu = Emulator(text_run / "hls", "myproject", say=lambda *_: None)
    fake = _FakePynq(emu)
    monkeypatch.setitem(sys.modules, "pynq", fake)
    bit = tmp_path / "myproject.bit"
    bit.write_bytes(b"bit")
    board = Driver(text_run, bitstream=bit)
    texts = ["a warm film", "a boring mess", "great fun"]
    got = board.predict(texts, batch=2)
    want = Driver(text_run, emulate=True, say=lambda *_: None).predict(texts, batch=2)
    assert np.array_equal(got.logits, want.logits)
    assert fake.calls[0] == "Overlay myproject.bit"
    assert fake.calls[1:5] == [f"allocate {2 * board.layout.words_in}",
                               f"allocate {2 * board.layout.outputs.words}",
                               "recv.transfer", "send.transfer"]
    again = len([c for c in fake.calls if c.startswith("allocate")])
    board.predict(texts[:2], batch=2)                       # same size: buffers reused
    assert len([c for c in fake.calls if c.startswith("allocate")]) == again
    fake.stall = True
    board.device.timeout_s = 0.05
    with pytest.raises(QTError, match="did not answer"):
        board.predict(texts[:1])
