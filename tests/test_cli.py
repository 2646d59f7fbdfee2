"""The CLI end to end: the default flow on a tiny model, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qtransformer.build import main
from tests.conftest import REPO, TINY_FLAGS


def _fails(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err
    assert len(err.splitlines()) == 1, err


def test_default_flow_writes_model_report_and_bit_exact_hls(tmp_path):
    out, hls = tmp_path / "run", tmp_path / "hls" / "run"
    flags = [f for f in TINY_FLAGS if f != "--no-hls"]
    proc = subprocess.run([sys.executable, "-m", "qtransformer.build", "--board", "pynq-z2",
                           "--output", str(out), "--hls-output", str(hls), *flags], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    for key in ("accuracy", "precision", "recall", "f1"):
        assert 0 <= report[key] <= 1 and report[key] == report["test"][key]
    assert report["model_bits"] == report["costs"]["model_bits"] > 0
    assert report["accuracy"] > 0.15  # two epochs of a tiny model beat chance (0.10)
    assert report["board"]["part"] == "xc7z020clg400-1"
    assert len(report["test"]["confusion_matrix"]) == 10
    assert {"model.h5", "report.md", "config.yaml", "report.png"} <= \
        {p.name for p in out.iterdir()}
    assert "](report.png)" in (out / "report.md").read_text()
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a CPU-only run shows no TensorFlow start-up noise nor Keras' constraints warning
    for noise in ("Unable to register", "constraints.serialize", "cuda"):
        assert noise not in proc.stderr, proc.stderr[-2000:]
    assert "[train]" in proc.stdout and "  epoch " not in proc.stdout  # --quiet: no epochs
    assert report["argmax_agreement"] == 1.0 and report["max_error_lsb"] == 0
    assert report["hls"]["coverify"]["n"] == report["test"]["n"]
    assert report["hls"]["project_dir"] == str(hls)
    assert (hls / "firmware" / "myproject.cpp").is_file()
    assert (hls / "tb_data" / "tb_input_features.dat").is_file()
    assert "## HLS" in (out / "report.md").read_text()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging left


def test_same_seed_same_metrics_and_config_reproduces(tmp_path, capsys):
    """A second run from the first's config.yaml (same seed) gives the same test figures:
    the seed and the written config both reproduce the build."""
    a, c = tmp_path / "a", tmp_path / "c"
    assert main(["--output", str(a), "--seed", "7", *TINY_FLAGS]) == 0
    assert main(["--config", str(a / "config.yaml"), "--output", str(c), "--quiet"]) == 0
    ra, rc = (json.loads((d / "report.json").read_text()) for d in (a, c))
    assert ra["test"] == rc["test"] and rc["seed"] == 7
    assert ra["model_bits"] == rc["model_bits"]


def test_text_file_flow(tmp_path, text_file):
    out = tmp_path / "t"
    assert main(["--dataset", str(text_file), "--seq-len", "8", "--vocab-size", "60",
                 "--bits", "ternary", "--output", str(out), *TINY_FLAGS]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["kind"] == "tokens" and report["config"]["quant"]["bits"] == "ternary"
    assert (out / "vocab.txt").is_file()


@pytest.mark.parametrize("argv,message", [
    (["--board", "pynq-z9"], "unknown board 'pynq-z9'"),
    (["--bits", "0"], "invalid bits '0'"),
    (["--bits", "33"], "invalid bits '33'"),
    (["--bits", "abc"], "invalid bits 'abc'"),
    (["--bits", "1"], "invalid bits '1': expected float, binary, binary-noscale"),
    (["--seq-len", "0"], "invalid seq_len 0: expected an integer from 3 ([CLS] + [SEP]"),
    (["--seq-len", "2"], "invalid seq_len 2"),
    (["--seq-len", "12"], "--seq-len 12: digits images are 8 tokens each"),
    (["--windows", "0"], "invalid windows 0: expected an integer from 1 (truncate"),
    (["--windows", "65"], "invalid windows 65"),
    (["--heads", "3"], "divisible"),
    (["--patience", "0"], "invalid patience 0"),
    (["--circulant", "3"], "invalid --circulant 3: expected 1 (dense) or a power of two"),
    (["--circulant", "0"], "invalid --circulant 0"),
    (["--circulant", "64"], "block0_attn: circulant block 64 does not divide its shape "
                            "(32 x 32)"),
    (["--circulant", "4", "--prune", "magnitude"], "not offered on circulant layers"),
    (["--config", "/nonexistent/c.yaml"], "config file not found"),
])
def test_bad_flags(tmp_path, capsys, argv, message):
    _fails([*argv, "--output", str(tmp_path / "o")], capsys, message)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("content,message", [
    (None, "not found"), (b"", "empty"), (b"sentence\tlabel\nok\t1\nfine\t1\n", "one class"),
    (b"sentence\tlabel\nok\t1\nbad \xe9\t0\n", "not UTF-8"),
    (b"sentence\tscore\nok\t1\nbad\t0\n", "no label column"),
    (b"sentence\tlabel\nok\t1\nnot\tok\t0\n", "line 3 has 3 field(s), expected 2"),
])
def test_bad_data_files(tmp_path, capsys, content, message):
    path = tmp_path / "d.tsv"
    if content is not None:
        path.write_bytes(content)
    _fails(["--dataset", str(path), "--output", str(tmp_path / "o"), *TINY_FLAGS], capsys,
           message)
    assert not (tmp_path / "o").exists()
    assert [p.name for p in tmp_path.iterdir()] == ([path.name] if content is not None else [])


def test_missing_label_column_flag(tmp_path, capsys, text_file):
    _fails(["--dataset", str(text_file), "--label-column", "target", "--output",
            str(tmp_path / "o"), *TINY_FLAGS], capsys, "'target' not in header")


def test_existing_output_kept_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _fails(["--output", str(out), *TINY_FLAGS], capsys, "already exists; pass --force")
    assert (out / "keep.txt").read_text() == "mine"


def test_force_replaces_only_after_success(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"")
    _fails(["--dataset", str(bad), "--output", str(out), "--force", *TINY_FLAGS], capsys, "empty")
    assert (out / "keep.txt").read_text() == "mine"          # failed run changed nothing
    assert main(["--output", str(out), "--force", *TINY_FLAGS]) == 0
    assert (out / "report.json").is_file() and not (out / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tsv", "run"]  # no leftovers


def test_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _fails(["--output", str(blocker / "run"), *TINY_FLAGS], capsys, "cannot write output")
    _fails(["--output", str(blocker), *TINY_FLAGS], capsys, "not a directory")
    assert blocker.read_text() == "x"


def test_help_documents_flags():
    proc = subprocess.run([sys.executable, "-m", "qtransformer.build", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for flag in ("--board", "--dataset", "--text-column", "--label-column", "--bits", "--epochs",
                 "--seed", "--output", "--config", "--force", "pynq-z2"):
        assert flag in proc.stdout


def test_default_output_paths_with_and_without_hls(tmp_path, monkeypatch, text_file, capsys):
    """No --output: models/<run> (and hls/<run> when the HLS stage runs) under the cwd."""
    monkeypatch.chdir(tmp_path)
    assert main(["--dataset", str(text_file), "--seq-len", "8", "--vocab-size", "60",
                 *TINY_FLAGS]) == 0
    assert (tmp_path / "models" / "reviews-8-pynq-z2" / "report.json").is_file()
    assert not (tmp_path / "hls").exists()
    one = tmp_path / "one.tsv"
    one.write_text("sentence\tlabel\nok\t1\nfine\t1\n")
    _fails(["--dataset", str(one), *TINY_FLAGS], capsys, "one class")
